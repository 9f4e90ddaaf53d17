#include "change_cache.h"

#include <stdlib.h>
#include <string.h>

void change_cache_init(change_cache *c, size_t max_items, size_t max_bytes)
{
    memset(c, 0, sizeof(*c));
    c->max_items = max_items ? max_items : 1;
    c->max_bytes = max_bytes;
}

static cached_change *at(const change_cache *c, size_t i)
{
    return &c->items[(c->start + i) % c->capacity];
}

static void drop_oldest(change_cache *c)
{
    cached_change *old = at(c, 0);
    c->bytes -= strlen(old->key) + old->value_len;
    free(old->key);
    free(old->value);
    c->start = (c->start + 1) % c->capacity;
    c->count--;
}

static void clear(change_cache *c)
{
    while (c->count > 0)
        drop_oldest(c);
    c->start = 0;
}

void change_cache_free(change_cache *c)
{
    clear(c);
    free(c->items);
    memset(c, 0, sizeof(*c));
}

void change_cache_invalidate(change_cache *c)
{
    clear(c);
    c->valid = false;
    c->base = c->head = 0;
}

void change_cache_reset_at(change_cache *c, uint64_t head)
{
    clear(c);
    c->valid = true;
    c->base = c->head = head;
}

/* Keeps whole revisions: after dropping a change, its revision's remaining
 * changes go too, and base moves past it. */
static void shrink(change_cache *c)
{
    while (c->count > 0 && (c->count > c->max_items || c->bytes > c->max_bytes)) {
        uint64_t revision = at(c, 0)->revision;
        while (c->count > 0 && at(c, 0)->revision == revision)
            drop_oldest(c);
        c->base = revision;
    }
}

static bool push(change_cache *c, const change_input *in)
{
    if (c->count == c->capacity) {
        size_t capacity = c->capacity ? c->capacity * 2 : 64;
        cached_change *grown = malloc(capacity * sizeof(*grown));
        if (grown == NULL)
            return false;
        for (size_t i = 0; i < c->count; i++)
            grown[i] = *at(c, i);
        free(c->items);
        c->items = grown;
        c->capacity = capacity;
        c->start = 0;
    }
    cached_change *slot = &c->items[(c->start + c->count) % c->capacity];
    slot->key = malloc(in->key_len + 1);
    slot->value = NULL;
    if (slot->key == NULL)
        return false;
    memcpy(slot->key, in->key, in->key_len);
    slot->key[in->key_len] = '\0';
    if (in->value != NULL) {
        /* One byte more so an empty value is not NULL (NULL means deleted). */
        slot->value = malloc(in->value_len + 1);
        if (slot->value == NULL) {
            free(slot->key);
            return false;
        }
        memcpy(slot->value, in->value, in->value_len);
        slot->value[in->value_len] = '\0';
    }
    slot->value_len = in->value ? in->value_len : 0;
    slot->revision = in->revision;
    slot->version = in->version;
    c->bytes += in->key_len + slot->value_len;
    c->count++;
    return true;
}

void change_cache_add(change_cache *c, uint64_t from, uint64_t to, const change_input *changes,
                      size_t count)
{
    if (!c->valid || from > c->head) {
        /* A gap (or nothing to continue): a new window starts at `from`. */
        change_cache_reset_at(c, from);
    }
    if (to <= c->head)
        return; /* nothing new */
    for (size_t i = 0; i < count; i++) {
        if (changes[i].revision <= c->head)
            continue;
        if (!push(c, &changes[i])) {
            change_cache_invalidate(c);
            return;
        }
    }
    c->head = to;
    shrink(c);
}

bool change_cache_covers(const change_cache *c, uint64_t since, uint64_t newest_known)
{
    return c->valid && c->base <= since && since <= c->head && c->head >= newest_known;
}

uint64_t change_cache_visit(const change_cache *c, uint64_t since, trellis_store_visit_fn visit,
                            void *arg)
{
    uint64_t newest = since;
    for (size_t i = 0; i < c->count; i++) {
        const cached_change *ch = at(c, i);
        if (ch->revision <= since)
            continue;
        trellis_store_record rec = {.key = ch->key,
                                    .value = ch->value,
                                    .value_len = ch->value_len,
                                    .version = ch->version,
                                    .revision = ch->revision};
        visit(arg, &rec);
        newest = ch->revision;
    }
    return newest;
}
