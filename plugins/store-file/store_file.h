/*
 * store.file's instance and the pieces of it the other files share.
 *
 * State, all on the loop thread unless noted:
 *   current/hist/revision  what is durable: only acknowledged commits
 *   pending                the newest not-yet-durable record per key, so a
 *                          commit's conditions see every earlier accepted one
 *   queue                  accepted commits waiting for the next batch
 *   job                    the one offload job in flight (a batch write or a
 *                          snapshot); one at a time keeps the journal in
 *                          commit order, and a snapshot job may read
 *                          `current` from its worker because nothing changes
 *                          `current` until that job's completion runs
 */
#ifndef STORE_FILE_STORE_FILE_H
#define STORE_FILE_STORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>
#include <trellis/store.h>

#include "frame.h"
#include "history.h"
#include "journal.h"
#include "record.h"

/* A batch stops growing past this many journal bytes (one commit always fits). */
#define STORE_BATCH_SOFT_MAX_BYTES (16u << 20)

/* One accepted commit() call, answered exactly once. */
typedef struct pending_commit {
    struct pending_commit *next;
    trellis_status status; /* TRELLIS_OK: to be written; TRELLIS_ERR_CONFLICT: answer only */
    uint64_t revision;     /* TRELLIS_OK entries */
    size_t journal_bytes;  /* what its changes add to a batch frame */
    trellis_store_commit_done_fn done;
    void *arg;
    char *message; /* CONFLICT: why (owned) */
    size_t change_count;
    store_record *changes[]; /* owned references, one per key it changes */
} pending_commit;

typedef struct commit_list {
    pending_commit *head;
    pending_commit *tail;
    size_t count;
} commit_list;

typedef enum store_job_kind { JOB_NONE = 0, JOB_BATCH, JOB_SNAPSHOT } store_job_kind;

/* The offload job in flight. The worker writes `error`, `what` and the
 * timings; the loop reads them in the completion (the host's queue orders
 * the two). */
typedef struct store_job {
    store_job_kind kind;
    commit_list commits;           /* BATCH: its entries in call order */
    uint64_t first_revision;       /* BATCH */
    uint32_t write_count;          /* BATCH: entries with status OK */
    size_t change_count;           /* BATCH: changes over all its entries */
    uint64_t snapshot_revision;    /* SNAPSHOT: the revision it captures */
    journal_segment fresh_segment; /* SNAPSHOT: the segment that follows it */
    char warning[256];             /* SNAPSHOT: a cleanup problem worth a log line */
    uint64_t duration_ns;          /* SNAPSHOT */
    byte_buffer frame;             /* BATCH encoding buffer, kept across batches */
    int error;                     /* errno, 0 on success */
    bool fatal;                    /* SNAPSHOT: failed after the point of no return */
    char what[256];                /* the failed call and file */
    uint64_t sync_ns;              /* BATCH: write + fdatasync time */
} store_job;

typedef struct store_metrics {
    trellis_metric *commits; /* acknowledged commits */
    trellis_metric *conflicts;
    trellis_metric *batches;       /* journal writes, each one sync */
    trellis_metric *batch_commits; /* histogram: commits per batch */
    trellis_metric *sync_seconds;  /* histogram: write + fdatasync */
    trellis_metric *journal_bytes; /* gauge: current segment size */
    trellis_metric *snapshots;
    trellis_metric *revision; /* gauge: newest durable revision */
    trellis_metric *records;  /* gauge: current record count */
} store_metrics;

typedef struct store_file {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    const trellis_config *config;

    /* Settings. */
    char *dir_path; /* absolute once started (owned) */
    bool sync;
    uint64_t snapshot_every_commits;
    uint64_t snapshot_journal_bytes;
    size_t max_pending_commits;
    size_t max_pending_bytes;

    /* Files. */
    int dir_fd;
    int lock_fd;
    journal_segment segment; /* the worker appends here during a BATCH job */

    /* Lifecycle. */
    bool started;
    bool stopping;
    bool failed;        /* a write or sync failed: no more commits */
    bool stop_reported; /* host->stopped() called */
    bool kick_scheduled;

    /* Durable state. */
    record_table current;
    history hist;
    uint64_t revision;
    uint64_t snapshot_revision; /* newest snapshot on disk (0: none) */
    uint64_t commits_since_snapshot;
    uint64_t snapshot_bytes_base; /* segment size at the last snapshot attempt */

    /* Accepted, not yet durable. */
    record_table pending;
    uint64_t next_revision;
    commit_list queue;
    size_t outstanding; /* accepted and not yet answered: queue + job */
    size_t outstanding_bytes;

    store_job job;
    store_metrics metrics;
} store_file;

/* ---- store_ops.c: the trellis_store_ops table ---- */
extern const trellis_store_ops store_file_ops;

/* ---- pipeline.c: group commit and snapshots ---- */

/* Queues an accepted commit; a batch starts after the current callback. */
void pipeline_enqueue(store_file *s, pending_commit *c);
/* Makes sure the pipeline runs after the current callback. false on NOMEM. */
bool pipeline_schedule(store_file *s);
/* Nothing queued and no job in flight. */
bool pipeline_idle(const store_file *s);
/* Answers every commit not yet written with TRELLIS_ERR_UNAVAILABLE (destroy). */
void pipeline_abandon(store_file *s, const char *why);

void pending_commit_free(pending_commit *c);

#endif
