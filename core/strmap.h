/*
 * A string-keyed hash map (open addressing, linear probing) owning copies of
 * its keys and borrowing its values. For the core's indexes.
 */
#ifndef TRELLIS_CORE_STRMAP_H
#define TRELLIS_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strmap strmap;

strmap *strmap_new(void);
/* Frees the map and its key copies (not the values). */
void strmap_free(strmap *map);

void *strmap_get(const strmap *map, const char *key);
/* Inserts or replaces; false on allocation failure. */
bool strmap_put(strmap *map, const char *key, void *value);
/* Removes a key; returns its value or NULL. */
void *strmap_remove(strmap *map, const char *key);
size_t strmap_count(const strmap *map);

/* Visits every entry (unspecified order); the map must not change meanwhile. */
void strmap_foreach(const strmap *map, void (*fn)(const char *key, void *value, void *arg),
                    void *arg);

#endif
