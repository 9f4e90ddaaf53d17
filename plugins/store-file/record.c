#include "record.h"

#include <stdlib.h>
#include <string.h>

struct table_slot {
    uint64_t hash;
    store_record *record; /* NULL: empty */
};

store_record *record_new(const char *key, size_t key_len, bool present, const void *value,
                         size_t value_len, uint64_t version, uint64_t revision)
{
    size_t value_room = present ? value_len + 1 : 0;
    store_record *r = malloc(sizeof(*r) + key_len + 1 + value_room);
    if (r == NULL)
        return NULL;
    r->refs = 1;
    r->version = present ? version : 0;
    r->revision = revision;
    r->key_len = key_len;
    memcpy(r->key, key, key_len);
    r->key[key_len] = '\0';
    if (present) {
        r->value = r->key + key_len + 1;
        r->value_len = value_len;
        if (value_len > 0)
            memcpy(r->value, value, value_len);
        r->value[value_len] = '\0';
    } else {
        r->value = NULL;
        r->value_len = 0;
    }
    return r;
}

store_record *record_ref(store_record *r)
{
    r->refs++;
    return r;
}

void record_unref(store_record *r)
{
    if (r != NULL && --r->refs == 0)
        free(r);
}

/* FNV-1a: keys are short, mostly ASCII, and the table is never exposed to
 * untrusted key sets large enough for collision attacks to matter more than
 * the core's quotas allow. */
static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3u;
    }
    return h;
}

void table_init(record_table *t)
{
    *t = (record_table){0};
}

void table_clear(record_table *t)
{
    for (size_t i = 0; i < t->capacity; i++)
        record_unref(t->slots[i].record);
    free(t->slots);
    table_init(t);
}

static size_t slot_find(const record_table *t, uint64_t hash, const char *key, size_t key_len)
{
    size_t mask = t->capacity - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const struct table_slot *s = &t->slots[i];
        if (s->record == NULL)
            return i;
        if (s->hash == hash && s->record->key_len == key_len &&
            memcmp(s->record->key, key, key_len) == 0)
            return i;
    }
}

store_record *table_get(const record_table *t, const char *key, size_t key_len)
{
    if (t->count == 0)
        return NULL;
    return t->slots[slot_find(t, key_hash(key, key_len), key, key_len)].record;
}

bool table_reserve(record_table *t, size_t extra)
{
    /* Load factor at most 1/2 keeps probe sequences short. */
    size_t needed = t->count + extra;
    if (needed < t->count || needed > SIZE_MAX / 4)
        return false;
    if (t->capacity >= needed * 2)
        return true;
    size_t capacity = t->capacity ? t->capacity : 16;
    while (capacity < needed * 2)
        capacity *= 2;
    struct table_slot *slots = calloc(capacity, sizeof(*slots));
    if (slots == NULL)
        return false;
    record_table grown = {.slots = slots, .capacity = capacity, .count = t->count};
    for (size_t i = 0; i < t->capacity; i++) {
        struct table_slot *s = &t->slots[i];
        if (s->record != NULL)
            slots[slot_find(&grown, s->hash, s->record->key, s->record->key_len)] = *s;
    }
    free(t->slots);
    *t = grown;
    return true;
}

void table_put(record_table *t, store_record *r)
{
    uint64_t hash = key_hash(r->key, r->key_len);
    struct table_slot *s = &t->slots[slot_find(t, hash, r->key, r->key_len)];
    if (s->record != NULL)
        record_unref(s->record);
    else
        t->count++;
    s->hash = hash;
    s->record = r;
}

/* Backward-shift deletion: pull later members of the probe run into the hole
 * so lookups never need tombstones. */
static void slot_delete(record_table *t, size_t hole)
{
    size_t mask = t->capacity - 1;
    record_unref(t->slots[hole].record);
    t->slots[hole].record = NULL;
    t->count--;
    for (size_t i = (hole + 1) & mask; t->slots[i].record != NULL; i = (i + 1) & mask) {
        size_t home = t->slots[i].hash & mask;
        /* Move slot i into the hole unless its home lies cyclically in (hole, i]. */
        bool home_after_hole = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!home_after_hole) {
            t->slots[hole] = t->slots[i];
            t->slots[i].record = NULL;
            hole = i;
        }
    }
}

bool table_remove(record_table *t, const char *key, size_t key_len)
{
    if (t->count == 0)
        return false;
    size_t i = slot_find(t, key_hash(key, key_len), key, key_len);
    if (t->slots[i].record == NULL)
        return false;
    slot_delete(t, i);
    return true;
}

bool table_remove_if(record_table *t, const store_record *r)
{
    if (t->count == 0)
        return false;
    size_t i = slot_find(t, key_hash(r->key, r->key_len), r->key, r->key_len);
    if (t->slots[i].record != r)
        return false;
    slot_delete(t, i);
    return true;
}

store_record *table_next(const record_table *t, size_t *cursor)
{
    while (*cursor < t->capacity) {
        store_record *r = t->slots[(*cursor)++].record;
        if (r != NULL)
            return r;
    }
    return NULL;
}
