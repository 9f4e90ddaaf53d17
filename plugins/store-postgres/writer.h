/*
 * The writer: every commit of the instance goes through one connection,
 * one batch at a time, so commits apply in call order and each sees the
 * ones before it.
 *
 * Group commit: commits accepted while a batch is on the wire form the next
 * batch (up to max_batch_commits / 16 MiB): one round trip, one transaction,
 * one WAL flush for all of them; each commit still applies or conflicts on
 * its own inside <schema>.commit_batch().
 *
 * Outcomes, each commit answered exactly once, on the loop thread:
 *   - the batch's answer arrived: TRELLIS_OK with the commit's revision, or
 *     TRELLIS_ERR_CONFLICT naming the key;
 *   - the server refused the statement (an ERROR: nothing applied):
 *     TRELLIS_ERR_UNAVAILABLE for transient causes, TRELLIS_ERR otherwise;
 *   - not sent yet when the connection dropped, or not sent by its deadline:
 *     TRELLIS_ERR_UNAVAILABLE (nothing applied);
 *   - sent, then the connection was lost: the outcome is unknown. After
 *     reconnecting the writer looks the commit's id up
 *     (<schema>.resolve_commits(): found -> TRELLIS_OK with its revision;
 *     not found -> a tombstone takes the id, so the commit can never apply
 *     later, and the answer is TRELLIS_ERR_UNAVAILABLE). Nothing else is
 *     sent until that is settled. If the deadline (commit_timeout_ms) comes
 *     first, the answer is TRELLIS_ERR_IO, "outcome unknown"; the lookup
 *     still happens once the database is back, is logged, and a commit
 *     found applied reaches the catalog through the change feed.
 *
 * While the connection is known to be down (after a failed attempt, until
 * the next one) commit() refuses at once with TRELLIS_ERR_UNAVAILABLE rather
 * than queueing behind an outage; while an attempt is under way (at start,
 * or reconnecting) commits queue, and are answered unavailable if it fails.
 */
#ifndef STORE_POSTGRES_WRITER_H
#define STORE_POSTGRES_WRITER_H

#include <stdbool.h>

#include <trellis/store.h>

#include "store_postgres.h"

writer *writer_new(store_pg *s);
void writer_start(writer *w);
void writer_free(writer *w);

trellis_status writer_commit(writer *w, const trellis_store_op *ops, size_t op_count,
                             trellis_store_commit_done_fn done, void *arg);

/* Connected, and no earlier commit's outcome left to settle. */
bool writer_ready(const writer *w);
/* Why not ready, for /readyz. Borrowed until the next call. */
const char *writer_problem(writer *w);
/* Nothing accepted is waiting for an answer or a lookup. */
bool writer_drained(const writer *w);

/* stop(): refuse new commits, finish the accepted ones. */
void writer_stop(writer *w);
/* Answers everything still open and closes the connection: `why` goes to
 * commits that were never sent; sent ones of unknown outcome get
 * TRELLIS_ERR_IO. No callback afterwards. */
void writer_close(writer *w, const char *why);

#endif
