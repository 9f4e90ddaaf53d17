#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *key;       /* NULL: empty; TOMBSTONE: deleted */
    void *value;
    uint64_t hash;
} slot;

struct strmap {
    slot *slots;
    size_t capacity; /* power of two */
    size_t live;
    size_t used;     /* live + tombstones */
};

static char tombstone_marker;
#define TOMBSTONE (&tombstone_marker)

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ^ (h >> 29);
}

strmap *strmap_new(void)
{
    return calloc(1, sizeof(strmap));
}

void strmap_free(strmap *map)
{
    if (map == NULL)
        return;
    for (size_t i = 0; i < map->capacity; i++) {
        if (map->slots[i].key != NULL && map->slots[i].key != TOMBSTONE)
            free(map->slots[i].key);
    }
    free(map->slots);
    free(map);
}

static slot *find_slot(const strmap *map, const char *key, uint64_t hash)
{
    if (map->capacity == 0)
        return NULL;
    size_t mask = map->capacity - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        slot *s = &map->slots[i];
        if (s->key == NULL)
            return NULL;
        if (s->key != TOMBSTONE && s->hash == hash && strcmp(s->key, key) == 0)
            return s;
    }
}

void *strmap_get(const strmap *map, const char *key)
{
    slot *s = find_slot(map, key, hash_key(key));
    return s ? s->value : NULL;
}

static bool grow(strmap *map)
{
    size_t capacity = map->capacity ? map->capacity * 2 : 16;
    if (map->live * 4 < map->capacity)
        capacity = map->capacity; /* mostly tombstones: rehash in place size */
    slot *slots = calloc(capacity, sizeof(slot));
    if (slots == NULL)
        return false;
    size_t mask = capacity - 1;
    for (size_t i = 0; i < map->capacity; i++) {
        slot *old = &map->slots[i];
        if (old->key == NULL || old->key == TOMBSTONE)
            continue;
        size_t j = old->hash & mask;
        while (slots[j].key != NULL)
            j = (j + 1) & mask;
        slots[j] = *old;
    }
    free(map->slots);
    map->slots = slots;
    map->capacity = capacity;
    map->used = map->live;
    return true;
}

bool strmap_put(strmap *map, const char *key, void *value)
{
    uint64_t hash = hash_key(key);
    slot *existing = find_slot(map, key, hash);
    if (existing != NULL) {
        existing->value = value;
        return true;
    }
    if ((map->used + 1) * 4 >= map->capacity * 3 && !grow(map))
        return false;
    char *copy = strdup(key);
    if (copy == NULL)
        return false;
    size_t mask = map->capacity - 1;
    size_t i = hash & mask;
    while (map->slots[i].key != NULL && map->slots[i].key != TOMBSTONE)
        i = (i + 1) & mask;
    if (map->slots[i].key == NULL)
        map->used++;
    map->slots[i] = (slot){copy, value, hash};
    map->live++;
    return true;
}

void *strmap_remove(strmap *map, const char *key)
{
    slot *s = find_slot(map, key, hash_key(key));
    if (s == NULL)
        return NULL;
    void *value = s->value;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    map->live--;
    return value;
}

size_t strmap_count(const strmap *map)
{
    return map->live;
}

void strmap_foreach(const strmap *map, void (*fn)(const char *key, void *value, void *arg),
                    void *arg)
{
    for (size_t i = 0; i < map->capacity; i++) {
        const slot *s = &map->slots[i];
        if (s->key != NULL && s->key != TOMBSTONE)
            fn(s->key, s->value, arg);
    }
}
