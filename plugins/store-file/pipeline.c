/*
 * Group commit. Accepted commits queue up; whenever no job is in flight the
 * queue (up to a byte bound) becomes one batch: one journal frame, one
 * pwrite and one fdatasync on an offload worker. Commits arriving meanwhile
 * form the next batch, so under load one sync covers many commits and the
 * loop never blocks on the disk. Snapshots run as jobs of the same single
 * lane between batches, which keeps the journal in commit order and lets the
 * snapshot read the durable state without locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"
#include "store_file.h"

static void pump(store_file *s);

/* ---- lists and answers ---- */

static void list_push(commit_list *l, pending_commit *c)
{
    c->next = NULL;
    if (l->tail != NULL)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

static pending_commit *list_pop(commit_list *l)
{
    pending_commit *c = l->head;
    if (c != NULL) {
        l->head = c->next;
        if (l->head == NULL)
            l->tail = NULL;
        l->count--;
    }
    return c;
}

static commit_list list_take(commit_list *l)
{
    commit_list taken = *l;
    *l = (commit_list){0};
    return taken;
}

void pending_commit_free(pending_commit *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->change_count; i++)
        record_unref(c->changes[i]);
    free(c->message);
    free(c);
}

/* Answers one commit (its done() runs exactly once, here) and frees it. */
static void answer(store_file *s, pending_commit *c, trellis_status status, uint64_t revision,
                   const char *message)
{
    s->outstanding--;
    s->outstanding_bytes -= c->journal_bytes;
    c->done(c->arg, status, revision, message);
    pending_commit_free(c);
}

static void answer_all(store_file *s, commit_list *l, trellis_status status, const char *message)
{
    pending_commit *c;
    while ((c = list_pop(l)) != NULL)
        answer(s, c, status, 0, message);
}

/* Forgets every accepted commit that is not durable. Their answers follow;
 * the caller detaches them first so callbacks see a consistent store. */
static void drop_pending_state(store_file *s)
{
    table_clear(&s->pending);
    s->next_revision = s->revision + 1;
}

/* A write or sync failed: nothing written after it can be trusted, so the
 * store refuses every further commit until an operator restarts it. */
static void enter_failed_state(store_file *s, const char *what, int error)
{
    char detail[512];
    snprintf(detail, sizeof(detail), "%s failed: %s; commits are refused until a restart", what,
             strerror(error));
    s->failed = true;
    drop_pending_state(s);
    s->host->log(s->ctx, TRELLIS_LOG_ERROR, "store_failed", "%s", detail);
    s->host->set_ready(s->ctx, false, detail);
}

/* ---- scheduling ---- */

static void on_kick(void *arg)
{
    store_file *s = arg;
    s->kick_scheduled = false;
    pump(s);
}

bool pipeline_schedule(store_file *s)
{
    if (s->kick_scheduled || s->job.kind != JOB_NONE)
        return true;
    if (s->host->defer(s->ctx, on_kick, s) != TRELLIS_OK)
        return false;
    s->kick_scheduled = true;
    return true;
}

void pipeline_enqueue(store_file *s, pending_commit *c)
{
    s->outstanding++;
    s->outstanding_bytes += c->journal_bytes;
    list_push(&s->queue, c);
}

bool pipeline_idle(const store_file *s)
{
    return s->queue.head == NULL && s->job.kind == JOB_NONE && !s->kick_scheduled;
}

void pipeline_abandon(store_file *s, const char *why)
{
    commit_list left = list_take(&s->queue);
    drop_pending_state(s);
    answer_all(s, &left, TRELLIS_ERR_UNAVAILABLE, why);
}

/* ---- batches ---- */

static void batch_work(void *arg)
{
    store_file *s = arg;
    store_job *job = &s->job;
    byte_buffer *b = &job->frame;
    bb_reset(b);
    size_t at = journal_batch_begin(b, job->first_revision, job->write_count);
    for (const pending_commit *c = job->commits.head; c != NULL; c = c->next) {
        if (c->status == TRELLIS_OK)
            journal_batch_add_commit(b, c->changes, c->change_count);
    }
    journal_batch_end(b, at);
    if (b->failed) {
        job->error = ENOMEM;
        snprintf(job->what, sizeof(job->what), "encoding a batch for %s/%s", s->dir_path,
                 s->segment.name);
        return;
    }
    uint64_t started = s->host->monotonic_ns();
    const char *call;
    job->error = journal_append(&s->segment, b->data, b->len, s->sync, &call);
    job->sync_ns = s->host->monotonic_ns() - started;
    if (job->error != 0)
        snprintf(job->what, sizeof(job->what), "%s %s/%s", call, s->dir_path, s->segment.name);
}

static void batch_done(void *arg)
{
    store_file *s = arg;
    store_job *job = &s->job;
    commit_list batch = list_take(&job->commits);
    job->kind = JOB_NONE;
    if (job->frame.cap > 2 * STORE_BATCH_SOFT_MAX_BYTES)
        bb_free(&job->frame); /* do not keep a giant buffer for one giant commit */

    if (job->error != 0) {
        enter_failed_state(s, job->what, job->error);
        commit_list rest = list_take(&s->queue);
        char message[600];
        snprintf(message, sizeof(message), "%s failed: %s; the commit may or may not be durable",
                 job->what, strerror(job->error));
        for (pending_commit *c; (c = list_pop(&batch)) != NULL;)
            answer(s, c, c->status == TRELLIS_OK ? TRELLIS_ERR_IO : TRELLIS_ERR_UNAVAILABLE, 0,
                   c->status == TRELLIS_OK ? message : "the store failed; nothing was applied");
        answer_all(s, &rest, TRELLIS_ERR_UNAVAILABLE, "the store failed; nothing was applied");
        pump(s);
        return;
    }

    /* Durable: make it visible, in commit order. Room was reserved at start. */
    for (pending_commit *c = batch.head; c != NULL; c = c->next) {
        if (c->status != TRELLIS_OK)
            continue;
        for (size_t i = 0; i < c->change_count; i++) {
            store_record *r = c->changes[i];
            if (record_present(r))
                table_put(&s->current, record_ref(r));
            else
                table_remove(&s->current, r->key, r->key_len);
            history_append(&s->hist, r);
            table_remove_if(&s->pending, r);
        }
        s->revision = c->revision;
    }
    s->commits_since_snapshot += job->write_count;

    const trellis_host *h = s->host;
    h->metric_add(s->metrics.batches, 1);
    h->metric_add(s->metrics.commits, job->write_count);
    h->metric_observe(s->metrics.batch_commits, job->write_count);
    h->metric_observe(s->metrics.sync_seconds, (double)job->sync_ns / 1e9);
    h->metric_set(s->metrics.journal_bytes, (double)s->segment.size);
    h->metric_set(s->metrics.revision, (double)s->revision);
    h->metric_set(s->metrics.records, (double)s->current.count);

    for (pending_commit *c; (c = list_pop(&batch)) != NULL;) {
        if (c->status == TRELLIS_OK)
            answer(s, c, TRELLIS_OK, c->revision, NULL);
        else
            answer(s, c, c->status, 0, c->message);
    }
    pump(s);
}

/* Hands the head of the queue to a worker as one batch. false if the host
 * refused the job; every queued commit has then been answered. */
static bool start_batch(store_file *s)
{
    store_job *job = &s->job;
    job->first_revision = s->queue.head->revision;
    job->write_count = 0;
    job->change_count = 0;
    job->error = 0;
    job->sync_ns = 0;
    job->what[0] = '\0';
    size_t bytes = JOURNAL_BATCH_OVERHEAD;
    while (s->queue.head != NULL) {
        pending_commit *c = s->queue.head;
        if (c->status == TRELLIS_OK && job->write_count > 0 &&
            bytes + c->journal_bytes > STORE_BATCH_SOFT_MAX_BYTES)
            break;
        list_push(&job->commits, list_pop(&s->queue));
        if (c->status == TRELLIS_OK) {
            job->write_count++;
            job->change_count += c->change_count;
            bytes += c->journal_bytes;
        }
    }
    /* Reserve now, while no job runs, so applying the durable batch cannot fail. */
    const char *why = NULL;
    if (!table_reserve(&s->current, job->change_count) ||
        !history_reserve(&s->hist, job->change_count))
        why = "out of memory; nothing was applied";
    else if (s->host->offload(s->ctx, batch_work, batch_done, s) != TRELLIS_OK)
        why = "the host's offload queue is full; nothing was applied";
    if (why == NULL) {
        job->kind = JOB_BATCH;
        return true;
    }
    /* Nothing is in flight, so every pending record belongs to these commits. */
    commit_list refused = list_take(&job->commits);
    commit_list rest = list_take(&s->queue);
    drop_pending_state(s);
    s->host->log(s->ctx, TRELLIS_LOG_WARN, "batch_refused", "%zu commits refused: %s",
                 refused.count + rest.count, why);
    answer_all(s, &refused, TRELLIS_ERR_UNAVAILABLE, why);
    answer_all(s, &rest, TRELLIS_ERR_UNAVAILABLE, why);
    return false;
}

/* ---- snapshots ---- */

static bool snapshot_due(const store_file *s)
{
    if (s->stopping || s->failed || s->revision == s->hist.base_revision)
        return false;
    return s->commits_since_snapshot >= s->snapshot_every_commits ||
           s->segment.size - s->snapshot_bytes_base >= s->snapshot_journal_bytes;
}

/* Worker: snapshot, then a fresh segment, then the files they replace. The
 * order makes every crash point recoverable: until the rename the old
 * snapshot and journal are complete; after it the new snapshot is, and the
 * old segment holds nothing past it. */
static void snapshot_work(void *arg)
{
    store_file *s = arg;
    store_job *job = &s->job;
    uint64_t started = s->host->monotonic_ns();
    uint64_t revision = job->snapshot_revision;
    bool renamed = false;
    job->error = snapshot_write(s->dir_fd, revision, &s->current, s->sync, &renamed, job->what,
                                sizeof(job->what));
    if (job->error != 0) {
        job->fatal = renamed;
        return;
    }
    job->error = journal_segment_create(s->dir_fd, revision + 1, s->sync, &job->fresh_segment);
    if (job->error != 0) {
        char name[STORE_NAME_MAX];
        journal_segment_name(name, revision + 1);
        snprintf(job->what, sizeof(job->what), "creating %s/%s", s->dir_path, name);
        job->fatal = true;
        return;
    }
    /* The old segment and snapshot are now redundant. Failing to remove them
     * costs disk space only: recovery skips and removes them. */
    char old_snapshot[STORE_NAME_MAX];
    snapshot_file_name(old_snapshot, s->snapshot_revision);
    if (unlinkat(s->dir_fd, s->segment.name, 0) != 0 ||
        (s->snapshot_revision > 0 && unlinkat(s->dir_fd, old_snapshot, 0) != 0))
        snprintf(job->warning, sizeof(job->warning), "cannot remove an obsolete file: %s",
                 strerror(errno));
    else if (s->sync)
        (void)fs_fsync(s->dir_fd);
    job->duration_ns = s->host->monotonic_ns() - started;
}

static void snapshot_done(void *arg)
{
    store_file *s = arg;
    store_job *job = &s->job;
    job->kind = JOB_NONE;
    if (job->error != 0 && job->fatal) {
        enter_failed_state(s, job->what, job->error);
        commit_list rest = list_take(&s->queue);
        answer_all(s, &rest, TRELLIS_ERR_UNAVAILABLE, "the store failed; nothing was applied");
        pump(s);
        return;
    }
    if (job->error != 0) {
        /* The journal still holds everything; try again after another interval. */
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "snapshot_failed",
                     "snapshot at revision %llu not taken: %s: %s; the journal keeps growing "
                     "and the next attempt follows after another %llu commits",
                     (unsigned long long)job->snapshot_revision, job->what, strerror(job->error),
                     (unsigned long long)s->snapshot_every_commits);
        s->commits_since_snapshot = 0;
        s->snapshot_bytes_base = s->segment.size;
        pump(s);
        return;
    }
    journal_segment_close(&s->segment);
    s->segment = job->fresh_segment;
    journal_segment_init(&job->fresh_segment);
    s->snapshot_revision = job->snapshot_revision;
    s->commits_since_snapshot = 0;
    s->snapshot_bytes_base = 0;
    history_reset(&s->hist, job->snapshot_revision);
    if (job->warning[0] != '\0')
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "snapshot_cleanup", "%s", job->warning);
    s->host->metric_add(s->metrics.snapshots, 1);
    s->host->metric_set(s->metrics.journal_bytes, 0);
    s->host->log(s->ctx, TRELLIS_LOG_INFO, "snapshot_taken",
                 "snapshot at revision %llu: %zu records in %.1f ms; journal continues in %s",
                 (unsigned long long)job->snapshot_revision, s->current.count,
                 (double)job->duration_ns / 1e6, s->segment.name);
    pump(s);
}

/* false when the host refused the job (the attempt is postponed). */
static bool start_snapshot(store_file *s)
{
    store_job *job = &s->job;
    job->snapshot_revision = s->revision;
    job->error = 0;
    job->fatal = false;
    job->what[0] = '\0';
    job->warning[0] = '\0';
    journal_segment_init(&job->fresh_segment);
    if (s->host->offload(s->ctx, snapshot_work, snapshot_done, s) != TRELLIS_OK) {
        s->commits_since_snapshot = 0;
        s->snapshot_bytes_base = s->segment.size;
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "snapshot_postponed",
                     "the host's offload queue is full; snapshot postponed");
        return false;
    }
    job->kind = JOB_SNAPSHOT;
    return true;
}

/* ---- the pump ---- */

/* Starts whatever comes next. When stopping and nothing is left it tells the
 * host, which may destroy the instance right there: nothing may touch `s`
 * after pump() in that case, so every caller returns right after it. */
static void pump(store_file *s)
{
    for (;;) {
        if (s->job.kind != JOB_NONE)
            return;
        if (snapshot_due(s) && start_snapshot(s))
            return;
        /* Conflicts at the head wait for nothing once earlier commits are answered. */
        while (s->queue.head != NULL && s->queue.head->status != TRELLIS_OK) {
            pending_commit *c = list_pop(&s->queue);
            answer(s, c, c->status, 0, c->message);
        }
        if (s->queue.head == NULL) {
            if (s->stopping && !s->stop_reported && pipeline_idle(s)) {
                s->stop_reported = true;
                s->host->stopped(s->ctx);
            }
            return;
        }
        if (start_batch(s))
            return;
    }
}
