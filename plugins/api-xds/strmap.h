/*
 * A string-keyed hash map (open addressing, linear probing) with owned keys
 * and borrowed void* values. Used for per-identity connection counts and,
 * per delta stream and type, for the resource versions the client holds.
 */
#ifndef TRELLIS_XDS_STRMAP_H
#define TRELLIS_XDS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct strmap_slot {
    char *key;      /* NULL: empty; STRMAP_TOMBSTONE: deleted */
    void *value;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots;
    size_t cap;     /* a power of two, or 0 */
    size_t count;   /* live entries */
    size_t used;    /* live + tombstones */
} strmap;

void strmap_init(strmap *m);
/* Frees the keys and the table; values are the caller's. */
void strmap_free(strmap *m);
void **strmap_get(const strmap *m, const char *key);  /* the value slot, or NULL */
/* Inserts or replaces. Returns the map's own copy of the key (stable until
 * the entry is removed), or NULL on allocation failure. */
const char *strmap_put(strmap *m, const char *key, void *value);
/* Removes; returns the old value (NULL if absent). */
void *strmap_remove(strmap *m, const char *key);

/* Iteration: for (size_t i = 0; strmap_next(m, &i, &key, &value);) ... */
bool strmap_next(const strmap *m, size_t *cursor, const char **key, void **value);

uint64_t strmap_hash(const char *s);

#endif
