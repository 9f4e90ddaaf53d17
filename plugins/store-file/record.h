/*
 * Records and the record table.
 *
 * A record is immutable once made and reference-counted: the same object is
 * held by the current-state table, the change history and the commit that
 * wrote it, and a snapshot job may read it from a worker thread while the
 * loop thread keeps running. A PUT therefore never edits a record in place; it
 * makes a new one and swaps the table's pointer. Reference counts are only
 * touched on the loop thread (or during recovery, before any worker exists).
 *
 * The table maps key -> record (open addressing, linear probing). It never
 * shrinks or moves while nothing inserts or removes, which is what lets a
 * snapshot job iterate it while the loop only reads it.
 */
#ifndef STORE_FILE_RECORD_H
#define STORE_FILE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_record {
    size_t refs;
    uint64_t version;  /* >= 1 for a present record; 0 for a tombstone (a DELETE) */
    uint64_t revision; /* revision of the commit that wrote it */
    size_t key_len;
    size_t value_len;
    char *value; /* NULL for a tombstone; otherwise NUL-terminated after value_len */
    char key[];  /* NUL-terminated */
} store_record;

/* A present record (value copied; `value` may be NULL when value_len is 0),
 * or a tombstone when `present` is false. Returns NULL on allocation failure.
 * The new record holds one reference, owned by the caller. */
store_record *record_new(const char *key, size_t key_len, bool present, const void *value,
                         size_t value_len, uint64_t version, uint64_t revision);
store_record *record_ref(store_record *r);
void record_unref(store_record *r);

static inline bool record_present(const store_record *r)
{
    return r->value != NULL;
}

typedef struct record_table {
    struct table_slot *slots; /* owned; NULL while empty */
    size_t capacity;          /* power of two, or 0 */
    size_t count;
} record_table;

void table_init(record_table *t);
/* Drops every reference the table holds. */
void table_clear(record_table *t);

store_record *table_get(const record_table *t, const char *key, size_t key_len);
/* Makes room so that `extra` more inserts cannot fail. false on allocation failure. */
bool table_reserve(record_table *t, size_t extra);
/* Stores `r` under its key, taking over the caller's reference, and drops the
 * reference to the record it replaces. Room must have been reserved. */
void table_put(record_table *t, store_record *r);
/* Removes the key; drops the table's reference. true if it was there. */
bool table_remove(record_table *t, const char *key, size_t key_len);
/* Removes the key only if it maps to exactly `r`. */
bool table_remove_if(record_table *t, const store_record *r);

/* Iteration: for (size_t i = 0; (r = table_next(t, &i)) != NULL;) */
store_record *table_next(const record_table *t, size_t *cursor);

#endif
