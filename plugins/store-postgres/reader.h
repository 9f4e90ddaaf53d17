/*
 * Reads: read_all() and read_changes() on a pool of pool_size connections,
 * apart from the writer so a catch-up never waits behind a commit batch.
 *
 * Each read is one statement, so one snapshot: the records (or the changes)
 * together with the revision they reflect. Results arrive in binary form
 * (values are raw bytes) and are visited only once the whole result is in,
 * so a connection lost half-way never leaves the catalog with half a
 * revision. A read whose connection is lost is sent again on another (reads
 * change nothing); one that finds no connection within read_timeout_ms is
 * answered TRELLIS_ERR_UNAVAILABLE. Reads wait for a connection rather than
 * failing at once: the catalog's first read_all comes while the store is
 * still connecting.
 *
 * read_changes(since) answers TRELLIS_ERR_NOT_FOUND when history no longer
 * reaches `since` (pruned: history_revisions) and when `since` is beyond
 * the database's newest revision (a database restored from an older
 * backup): either way the core reads everything again.
 */
#ifndef STORE_POSTGRES_READER_H
#define STORE_POSTGRES_READER_H

#include <stdbool.h>
#include <stdint.h>

#include <trellis/store.h>

#include "store_postgres.h"

reader_pool *reader_pool_new(store_pg *s);
void reader_pool_start(reader_pool *r);
void reader_pool_free(reader_pool *r);

trellis_status reader_read_all(reader_pool *r, trellis_store_visit_fn visit,
                               trellis_store_read_done_fn done, void *arg);
trellis_status reader_read_changes(reader_pool *r, uint64_t since, trellis_store_visit_fn visit,
                                   trellis_store_read_done_fn done, void *arg);

/* Connections up; why none is, for /readyz. */
unsigned reader_pool_up(const reader_pool *r);
const char *reader_pool_problem(const reader_pool *r);
bool reader_pool_drained(const reader_pool *r);

/* stop(): refuse new reads, finish the accepted ones. */
void reader_pool_stop(reader_pool *r);
/* Answers every open read with TRELLIS_ERR_UNAVAILABLE (`why`), closes. */
void reader_pool_close(reader_pool *r, const char *why);

#endif
