#include "strmap.h"

#include <stdlib.h>
#include <string.h>

static char tombstone_marker;
#define STRMAP_TOMBSTONE (&tombstone_marker)

uint64_t strmap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void strmap_init(strmap *m)
{
    memset(m, 0, sizeof(*m));
}

void strmap_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != NULL && m->slots[i].key != STRMAP_TOMBSTONE)
            free(m->slots[i].key);
    free(m->slots);
    strmap_init(m);
}

static strmap_slot *find(const strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = strmap_hash(key) & mask;; i = (i + 1) & mask) {
        strmap_slot *s = &m->slots[i];
        if (s->key == NULL)
            return NULL;
        if (s->key != STRMAP_TOMBSTONE && strcmp(s->key, key) == 0)
            return s;
    }
}

void **strmap_get(const strmap *m, const char *key)
{
    strmap_slot *s = find(m, key);
    return s ? &s->value : NULL;
}

static bool rehash(strmap *m, size_t cap)
{
    strmap_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        strmap_slot *s = &m->slots[i];
        if (s->key == NULL || s->key == STRMAP_TOMBSTONE)
            continue;
        size_t j = strmap_hash(s->key) & (cap - 1);
        while (slots[j].key != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->count;
    return true;
}

const char *strmap_put(strmap *m, const char *key, void *value)
{
    strmap_slot *existing = find(m, key);
    if (existing != NULL) {
        existing->value = value;
        return existing->key;
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap : 8;
        while ((m->count + 1) * 2 > cap)
            cap *= 2;
        if (!rehash(m, cap))
            return NULL;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = strmap_hash(key) & mask;
    while (m->slots[i].key != NULL && m->slots[i].key != STRMAP_TOMBSTONE)
        i = (i + 1) & mask;
    if (m->slots[i].key == NULL)
        m->used++;
    m->slots[i].key = copy;
    m->slots[i].value = value;
    m->count++;
    return copy;
}

void *strmap_remove(strmap *m, const char *key)
{
    strmap_slot *s = find(m, key);
    if (s == NULL)
        return NULL;
    void *value = s->value;
    free(s->key);
    s->key = STRMAP_TOMBSTONE;
    s->value = NULL;
    m->count--;
    if (m->count == 0) {
        /* An emptied map releases its table (a delta stream's type went idle). */
        free(m->slots);
        strmap_init(m);
    }
    return value;
}

bool strmap_next(const strmap *m, size_t *cursor, const char **key, void **value)
{
    while (*cursor < m->cap) {
        strmap_slot *s = &m->slots[(*cursor)++];
        if (s->key != NULL && s->key != STRMAP_TOMBSTONE) {
            *key = s->key;
            *value = s->value;
            return true;
        }
    }
    return false;
}
