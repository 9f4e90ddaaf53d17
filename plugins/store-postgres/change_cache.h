/*
 * The recent change feed, kept in memory, so that read_changes() usually
 * needs no round trip.
 *
 * With several replicas most catch-ups follow this instance's own commits:
 * a commit's revision is not the catalog's next one because another replica
 * committed in between, or a commit lost a race; either way the core reads
 * the changes since its revision before it answers the API call. Each
 * commit_batch() transaction hands back every change committed after the
 * cache's newest revision (its own and other replicas', read under the
 * commit lock, so complete), and reads from the database extend the cache
 * too. The cache holds a window (base, head] in which it has every change;
 * read_changes(since) is answered from it when base <= since and head is at
 * least the newest revision this instance knows to exist (from
 * notifications, commits and reads), else from the database.
 *
 * Bounded (changes and bytes): the oldest revisions go first. Loop thread.
 */
#ifndef STORE_POSTGRES_CHANGE_CACHE_H
#define STORE_POSTGRES_CHANGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/store.h>

typedef struct cached_change {
    uint64_t revision;
    uint64_t version;
    char *key;
    char *value; /* NULL: the key was deleted */
    size_t value_len;
} cached_change;

typedef struct change_cache {
    cached_change *items; /* a ring, oldest first */
    size_t start;
    size_t count;
    size_t capacity;
    size_t bytes;
    size_t max_items;
    size_t max_bytes;
    bool valid; /* else it covers nothing */
    uint64_t base; /* every change in (base, head] is here */
    uint64_t head;
} change_cache;

void change_cache_init(change_cache *c, size_t max_items, size_t max_bytes);
void change_cache_free(change_cache *c);

/* Forgets everything; covers nothing until the next reset_at. */
void change_cache_invalidate(change_cache *c);
/* Starts an empty window at `head` (a read_all, a fresh session). */
void change_cache_reset_at(change_cache *c, uint64_t head);

/*
 * Adds the changes of (from, to], given in revision order, all of them.
 * Continues the window when `from` reaches back to the cache's head; after
 * a gap the window starts again at `from`. Changes already held are
 * skipped. On allocation failure the cache invalidates itself.
 */
typedef struct change_input {
    uint64_t revision;
    uint64_t version;
    const char *key;
    size_t key_len;
    const char *value; /* NULL: deleted */
    size_t value_len;
} change_input;

void change_cache_add(change_cache *c, uint64_t from, uint64_t to, const change_input *changes,
                      size_t count);

/* Whether read_changes(since) can be answered here as of `newest_known`. */
bool change_cache_covers(const change_cache *c, uint64_t since, uint64_t newest_known);

/* Visits the changes after `since` in revision order; returns the newest
 * revision visited, or `since`. Only when covered. */
uint64_t change_cache_visit(const change_cache *c, uint64_t since, trellis_store_visit_fn visit,
                            void *arg);

#endif
