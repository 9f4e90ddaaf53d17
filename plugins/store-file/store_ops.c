/*
 * The store ops: commit() checks limits and conditions and queues the
 * commit for the pipeline; reads are answered from the durable state.
 *
 * Conditions are checked when commit() is called, against the durable state
 * overlaid with every earlier accepted commit (the `pending` table), so
 * pipelined commits see each other in call order. Within one commit the ops
 * apply in order too: an op sees the effect of earlier ops of the same commit
 * on the same key. Each key a commit changes becomes one record in the
 * journal and in the change feed (its final state after the commit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_file.h"
#include "store_ops_check.h"

/* ---- staging one commit ---- */

/* A key's state as the commit's ops see it, and what they make of it. */
typedef struct staged_key {
    const char *key;
    size_t key_len;
    bool existed; /* present before this commit */
    bool present;
    bool changed; /* a PUT or DELETE touched it */
    uint64_t version;
    const char *value;
    size_t value_len;
} staged_key;

typedef struct staging {
    staged_key keys[TRELLIS_STORE_OPS_MAX];
    size_t count;
} staging;

static staged_key *stage_key(store_file *s, staging *st, const char *key, size_t key_len)
{
    for (size_t i = 0; i < st->count; i++) {
        if (st->keys[i].key_len == key_len && memcmp(st->keys[i].key, key, key_len) == 0)
            return &st->keys[i];
    }
    const store_record *r = table_get(&s->pending, key, key_len);
    if (r == NULL)
        r = table_get(&s->current, key, key_len);
    bool present = r != NULL && record_present(r);
    staged_key *k = &st->keys[st->count++];
    *k = (staged_key){.key = key,
                      .key_len = key_len,
                      .existed = present,
                      .present = present,
                      .version = present ? r->version : 0};
    return k;
}

static const char *op_name(uint32_t type)
{
    return type == TRELLIS_STORE_PUT ? "PUT" : type == TRELLIS_STORE_DELETE ? "DELETE" : "CHECK";
}

/* Checks one op's condition and applies it to the staged key. false with the
 * reason in `why` when the commit must fail. */
static bool stage_op(staged_key *k, const trellis_store_op *op, size_t index, char *why, size_t n)
{
    int shown = (int)(k->key_len > 200 ? 200 : k->key_len);
    uint64_t expected = op->expected_version;
    if (expected == TRELLIS_STORE_ABSENT && k->present) {
        snprintf(why, n, "op %zu (%s): key '%.*s' exists (version %llu), expected absent", index,
                 op_name(op->type), shown, k->key, (unsigned long long)k->version);
        return false;
    }
    if (expected != TRELLIS_STORE_ABSENT && expected != TRELLIS_STORE_ANY_VERSION &&
        (!k->present || k->version != expected)) {
        if (k->present)
            snprintf(why, n, "op %zu (%s): key '%.*s' is at version %llu, expected %llu", index,
                     op_name(op->type), shown, k->key, (unsigned long long)k->version,
                     (unsigned long long)expected);
        else
            snprintf(why, n, "op %zu (%s): key '%.*s' does not exist, expected version %llu", index,
                     op_name(op->type), shown, k->key, (unsigned long long)expected);
        return false;
    }
    switch (op->type) {
    case TRELLIS_STORE_PUT:
        k->version = k->present ? k->version + 1 : 1;
        k->present = true;
        k->changed = true;
        k->value = op->value;
        k->value_len = op->value_len;
        break;
    case TRELLIS_STORE_DELETE:
        if (!k->present) {
            snprintf(why, n, "op %zu (DELETE): key '%.*s' does not exist", index, shown, k->key);
            return false;
        }
        k->present = false;
        k->version = 0;
        k->changed = true;
        break;
    default: break;
    }
    return true;
}

static pending_commit *new_conflict(const char *why, trellis_store_commit_done_fn done, void *arg)
{
    pending_commit *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->message = strdup(why);
    if (c->message == NULL) {
        free(c);
        return NULL;
    }
    c->status = TRELLIS_ERR_CONFLICT;
    c->done = done;
    c->arg = arg;
    return c;
}

/* The accepted commit: one record per changed key, revision assigned. */
static pending_commit *new_write(store_file *s, const staging *st,
                                 trellis_store_commit_done_fn done, void *arg)
{
    size_t changes = 0;
    for (size_t i = 0; i < st->count; i++) {
        /* Created and deleted within the commit: nothing to record. */
        if (st->keys[i].changed && (st->keys[i].existed || st->keys[i].present))
            changes++;
    }
    pending_commit *c = calloc(1, sizeof(*c) + changes * sizeof(c->changes[0]));
    if (c == NULL)
        return NULL;
    c->status = TRELLIS_OK;
    c->revision = s->next_revision;
    c->done = done;
    c->arg = arg;
    c->journal_bytes = JOURNAL_COMMIT_OVERHEAD;
    for (size_t i = 0; i < st->count; i++) {
        const staged_key *k = &st->keys[i];
        if (!k->changed || (!k->existed && !k->present))
            continue;
        store_record *r = record_new(k->key, k->key_len, k->present, k->value, k->value_len,
                                     k->version, c->revision);
        if (r == NULL) {
            pending_commit_free(c);
            return NULL;
        }
        c->changes[c->change_count++] = r;
        c->journal_bytes += JOURNAL_CHANGE_OVERHEAD + r->key_len + r->value_len;
    }
    if (!table_reserve(&s->pending, c->change_count)) {
        pending_commit_free(c);
        return NULL;
    }
    for (size_t i = 0; i < c->change_count; i++)
        table_put(&s->pending, record_ref(c->changes[i]));
    s->next_revision++;
    return c;
}

/* ---- ops ---- */

static trellis_status file_commit(void *instance, const trellis_store_op *ops, size_t op_count,
                                  trellis_store_commit_done_fn done, void *arg)
{
    store_file *s = instance;
    if (!s->started || s->stopping || s->failed)
        return TRELLIS_ERR_UNAVAILABLE;
    size_t payload;
    if (done == NULL || !store_ops_check(ops, op_count, &payload, NULL, 0))
        return TRELLIS_ERR_INVALID;
    /* What the commit will take in the journal, at most (every op a change). */
    size_t bytes = JOURNAL_COMMIT_OVERHEAD + op_count * JOURNAL_CHANGE_OVERHEAD + payload;
    if (s->outstanding >= s->max_pending_commits ||
        (s->outstanding > 0 && s->outstanding_bytes + bytes > s->max_pending_bytes))
        return TRELLIS_ERR_LIMIT;
    if (!pipeline_schedule(s))
        return TRELLIS_ERR_NOMEM;

    /* About 12 KiB (TRELLIS_STORE_OPS_MAX keys): too much for the loop thread's stack. */
    staging *st = malloc(sizeof(*st));
    if (st == NULL)
        return TRELLIS_ERR_NOMEM;
    st->count = 0;
    char why[512] = "";
    for (size_t i = 0; i < op_count && why[0] == '\0'; i++) {
        staged_key *k = stage_key(s, st, ops[i].key, strlen(ops[i].key));
        stage_op(k, &ops[i], i, why, sizeof(why));
    }
    pending_commit *c = why[0] != '\0' ? new_conflict(why, done, arg) : new_write(s, st, done, arg);
    free(st);
    if (c == NULL)
        return TRELLIS_ERR_NOMEM;
    if (c->status == TRELLIS_ERR_CONFLICT)
        s->host->metric_add(s->metrics.conflicts, 1);
    pipeline_enqueue(s, c);
    return TRELLIS_OK;
}

static trellis_status file_read_all(void *instance, trellis_store_visit_fn visit,
                                    trellis_store_read_done_fn done, void *arg)
{
    store_file *s = instance;
    if (!s->started)
        return TRELLIS_ERR_UNAVAILABLE;
    if (visit == NULL || done == NULL)
        return TRELLIS_ERR_INVALID;
    /* `current` only changes when a batch completes, never inside a visit. */
    size_t cursor = 0;
    const store_record *r;
    while ((r = table_next(&s->current, &cursor)) != NULL) {
        trellis_store_record out = {.key = r->key,
                                    .value = r->value,
                                    .value_len = r->value_len,
                                    .version = r->version,
                                    .revision = r->revision};
        visit(arg, &out);
    }
    done(arg, TRELLIS_OK, s->revision, NULL);
    return TRELLIS_OK;
}

static trellis_status file_read_changes(void *instance, uint64_t since,
                                        trellis_store_visit_fn visit,
                                        trellis_store_read_done_fn done, void *arg)
{
    store_file *s = instance;
    if (!s->started)
        return TRELLIS_ERR_UNAVAILABLE;
    if (visit == NULL || done == NULL || since > s->revision)
        return TRELLIS_ERR_INVALID;
    if (since < s->hist.base_revision) {
        char message[200];
        snprintf(message, sizeof(message),
                 "history starts after revision %llu (the last snapshot); read everything with "
                 "read_all()",
                 (unsigned long long)s->hist.base_revision);
        done(arg, TRELLIS_ERR_NOT_FOUND, 0, message);
        return TRELLIS_OK;
    }
    uint64_t newest = since;
    /* The history only grows when a batch completes, never inside a visit;
     * `count` is read once so a visit cannot extend this read either. */
    size_t end = s->hist.count;
    for (size_t i = history_first_after(&s->hist, since); i < end; i++) {
        const store_record *r = s->hist.changes[i];
        trellis_store_record out = {.key = r->key,
                                    .value = r->value,
                                    .value_len = r->value_len,
                                    .version = r->version,
                                    .revision = r->revision};
        visit(arg, &out);
        newest = r->revision;
    }
    done(arg, TRELLIS_OK, newest, NULL);
    return TRELLIS_OK;
}

/* One writer per directory (the lock), so nobody else ever commits: there is
 * nothing to be told about, and notify is never called. */
static void file_watch(void *instance, trellis_store_notify_fn notify, void *arg)
{
    (void)instance;
    (void)notify;
    (void)arg;
}

const trellis_store_ops store_file_ops = {
    TRELLIS_STORE_OPS_HEADER,          .commit = file_commit, .read_all = file_read_all,
    .read_changes = file_read_changes, .watch = file_watch,
};
