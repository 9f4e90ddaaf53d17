/*
 * store.file — the embedded default store: one data directory, an
 * append-only journal with checksums, periodic atomic snapshots, fdatasync
 * before a commit is acknowledged (group commit), and a lock so two servers
 * never share a directory. See README.md for the format and the guarantees.
 *
 * This file is the plugin glue: configuration, lifecycle and metrics.
 * store_ops.c implements the store ops, pipeline.c the group commit,
 * recovery.c the start-up replay, journal.c/snapshot.c/frame.c the files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dir_lock.h"
#include "recovery.h"
#include "store_file.h"

static const trellis_config_field store_file_schema[] = {
    {"dir", TRELLIS_CONFIG_STRING, 0, "\"./data\"", 1, 3800, NULL,
     "data directory, relative to the working directory; created (mode 0700) if missing. "
     "One server per directory: it is locked while in use"},
    {"sync", TRELLIS_CONFIG_BOOLEAN, 0, "true", 0, 0, NULL,
     "fdatasync the journal before acknowledging a commit. false survives a crash of "
     "trellis but not of the machine (power loss, kernel panic): for tests and benchmarks only"},
    {"snapshot_every_commits", TRELLIS_CONFIG_INTEGER, 0, "10000", 1, 1000000000, NULL,
     "write a snapshot and start a new journal segment after this many commits"},
    {"snapshot_journal_bytes", TRELLIS_CONFIG_INTEGER, 0, "67108864", 4096, 1099511627776.0, NULL,
     "write a snapshot once the journal segment has grown by this many bytes"},
    {"max_pending_commits", TRELLIS_CONFIG_INTEGER, 0, "10000", 1, 1000000, NULL,
     "commits accepted but not yet answered; more are refused with TRELLIS_ERR_LIMIT"},
    {"max_pending_bytes", TRELLIS_CONFIG_INTEGER, 0, "268435456", 1048576, 17179869184.0, NULL,
     "journal bytes of the commits accepted but not yet answered; more are refused with "
     "TRELLIS_ERR_LIMIT (a single commit is always accepted when nothing is pending)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static trellis_status file_check_config(const trellis_host *host, const trellis_config *config,
                                        trellis_error *err)
{
    const char *dir = host->config_get0_string(config, "dir");
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        host->error_set(err, "dir", "%s exists and is not a directory", dir);
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}

/* ---- metrics ---- */

static void create_metrics(store_file *s)
{
    const trellis_host *h = s->host;
    static const double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    static const double sync_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
    store_metrics *m = &s->metrics;
    m->commits = h->metric_new(s->ctx, TRELLIS_METRIC_COUNTER, "trellis_store_file_commits_total",
                               "Commits made durable and acknowledged.", NULL, NULL, 0);
    m->conflicts =
        h->metric_new(s->ctx, TRELLIS_METRIC_COUNTER, "trellis_store_file_conflicts_total",
                      "Commits refused because a condition failed.", NULL, NULL, 0);
    m->batches = h->metric_new(s->ctx, TRELLIS_METRIC_COUNTER, "trellis_store_file_batches_total",
                               "Journal writes (group commits), each made durable by one sync.",
                               NULL, NULL, 0);
    m->batch_commits =
        h->metric_new(s->ctx, TRELLIS_METRIC_HISTOGRAM, "trellis_store_file_batch_commits",
                      "Commits per journal write.", NULL, batch_buckets,
                      sizeof(batch_buckets) / sizeof(batch_buckets[0]));
    m->sync_seconds =
        h->metric_new(s->ctx, TRELLIS_METRIC_HISTOGRAM, "trellis_store_file_sync_seconds",
                      "Time to write one batch and fdatasync it.", NULL, sync_buckets,
                      sizeof(sync_buckets) / sizeof(sync_buckets[0]));
    m->journal_bytes =
        h->metric_new(s->ctx, TRELLIS_METRIC_GAUGE, "trellis_store_file_journal_bytes",
                      "Size of the current journal segment.", NULL, NULL, 0);
    m->snapshots =
        h->metric_new(s->ctx, TRELLIS_METRIC_COUNTER, "trellis_store_file_snapshots_total",
                      "Snapshots written since start.", NULL, NULL, 0);
    m->revision = h->metric_new(s->ctx, TRELLIS_METRIC_GAUGE, "trellis_store_file_revision",
                                "Newest durable revision.", NULL, NULL, 0);
    m->records = h->metric_new(s->ctx, TRELLIS_METRIC_GAUGE, "trellis_store_file_records",
                               "Records in the store.", NULL, NULL, 0);
}

/* ---- lifecycle ---- */

static trellis_status file_create(const trellis_host *host, trellis_host_ctx *ctx,
                                  const trellis_config *config, void **instance_out,
                                  trellis_error *err)
{
    store_file *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    s->host = host;
    s->ctx = ctx;
    s->config = config;
    s->dir_fd = -1;
    s->lock_fd = -1;
    s->sync = host->config_get_bool(config, "sync");
    s->snapshot_every_commits = (uint64_t)host->config_get_int(config, "snapshot_every_commits");
    s->snapshot_journal_bytes = (uint64_t)host->config_get_int(config, "snapshot_journal_bytes");
    s->max_pending_commits = (size_t)host->config_get_int(config, "max_pending_commits");
    s->max_pending_bytes = (size_t)host->config_get_int(config, "max_pending_bytes");
    table_init(&s->current);
    table_init(&s->pending);
    history_init(&s->hist, 0);
    journal_segment_init(&s->segment);
    journal_segment_init(&s->job.fresh_segment);
    bb_init(&s->job.frame, (size_t)FRAME_BODY_MAX + FRAME_HEADER_SIZE);
    create_metrics(s);
    *instance_out = s;
    return TRELLIS_OK;
}

/* Creates the directory if missing (and makes its entry durable), then opens
 * it. 0 or errno, with the failed step in `what`. */
static int open_data_dir(const char *dir, int *fd_out, const char **what)
{
    *what = "create";
    if (mkdir(dir, 0700) == 0) {
        /* The new entry must survive a crash along with what goes inside. */
        (void)fs_fsync_parent(dir);
    } else if (errno != EEXIST) {
        return errno;
    }
    *what = "open";
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    *fd_out = fd;
    return 0;
}

static trellis_status file_start(void *instance, trellis_error *err)
{
    store_file *s = instance;
    const trellis_host *h = s->host;
    uint64_t started = h->monotonic_ns();
    const char *dir = h->config_get0_string(s->config, "dir");
    const char *what;
    int rc = open_data_dir(dir, &s->dir_fd, &what);
    if (rc != 0) {
        h->error_set(err, "dir", "cannot %s the data directory %s: %s", what, dir, strerror(rc));
        return TRELLIS_ERR_IO;
    }
    s->dir_path = realpath(dir, NULL);
    if (s->dir_path == NULL) {
        h->error_set(err, "dir", "cannot resolve the data directory %s: %s", dir, strerror(errno));
        return TRELLIS_ERR_IO;
    }

    char reason[1024];
    s->lock_fd = dir_lock_acquire(s->dir_fd, s->dir_path, reason, sizeof(reason));
    if (s->lock_fd < 0) {
        h->log(s->ctx, TRELLIS_LOG_ERROR, "lock_refused", "%s", reason);
        h->error_set(err, NULL, "%s", reason);
        return TRELLIS_ERR_UNAVAILABLE;
    }

    recovery_result rec;
    recovery_result_init(&rec);
    if (!recovery_run(h, s->ctx, s->dir_fd, s->dir_path, s->sync, &rec, reason, sizeof(reason))) {
        recovery_result_free(&rec);
        h->log(s->ctx, TRELLIS_LOG_ERROR, "recovery_failed", "%s", reason);
        h->error_set(err, NULL, "%s", reason);
        return TRELLIS_ERR_IO;
    }
    /* Take over what recovery built. */
    s->current = rec.current;
    s->hist = rec.hist;
    s->segment = rec.segment;
    s->revision = rec.revision;
    s->snapshot_revision = rec.snapshot_revision;
    s->commits_since_snapshot = rec.revision - rec.snapshot_revision;
    s->next_revision = s->revision + 1;
    s->started = true;

    h->metric_set(s->metrics.revision, (double)s->revision);
    h->metric_set(s->metrics.records, (double)s->current.count);
    h->metric_set(s->metrics.journal_bytes, (double)s->segment.size);
    h->log(s->ctx, TRELLIS_LOG_INFO, "recovered",
           "%s: %zu records at revision %llu (snapshot at %llu + %llu journal commits%s) in "
           "%.1f ms",
           s->dir_path, s->current.count, (unsigned long long)s->revision,
           (unsigned long long)s->snapshot_revision, (unsigned long long)rec.journal_commits,
           rec.truncated_bytes ? ", torn tail dropped" : "",
           (double)(h->monotonic_ns() - started) / 1e6);
    if (!s->sync)
        h->log(s->ctx, TRELLIS_LOG_WARN, "sync_disabled",
               "sync is false: acknowledged commits survive a crash of trellis but not of the "
               "machine; use this for tests and benchmarks only");
    return TRELLIS_OK;
}

static trellis_status file_stop(void *instance)
{
    store_file *s = instance;
    s->stopping = true;
    /* Accepted commits are finished, not dropped: the pipeline reports
     * host->stopped() once the last one is durable and answered. */
    return pipeline_idle(s) ? TRELLIS_OK : TRELLIS_AGAIN;
}

static void file_destroy(void *instance)
{
    store_file *s = instance;
    /* Only reachable with commits left if stop() was skipped or timed out
     * before a job could start; the host has finished every job already. */
    pipeline_abandon(s, "the store was shut down before the commit was written");
    table_clear(&s->current);
    table_clear(&s->pending);
    history_free(&s->hist);
    bb_free(&s->job.frame);
    journal_segment_close(&s->segment);
    journal_segment_close(&s->job.fresh_segment);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the directory lock */
    free(s->dir_path);
    free(s);
}

static const trellis_plugin_descriptor store_file_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "store.file",
    .version = TRELLIS_PLUGIN_VERSION,
    .summary = "embedded store: journal + snapshots in a local directory, fsync before ack",
    .kind = TRELLIS_KIND_STORE,
    .ops = &store_file_ops,
    .config_schema = store_file_schema,
    .check_config = file_check_config,
    .create = file_create,
    .start = file_start,
    .stop = file_stop,
    .destroy = file_destroy,
};

TRELLIS_PLUGIN_ENTRY(store_file_descriptor)
