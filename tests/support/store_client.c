#include "store_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_client_bind(store_client *c, harness *h, harness_instance *hi)
{
    commit_answer *all = c->all;
    uint64_t answers = c->answers;
    struct read_result *reads = c->reads;
    *c = (store_client){.h = h, .hi = hi, .answers = answers, .all = all, .reads = reads};
    if (hi != NULL) {
        c->ops = harness_ops(hi);
        c->store = harness_plugin_instance(hi);
    }
}

int store_client_finish(store_client *c)
{
    /* Late or duplicate answers get a chance to show up. */
    harness_run_for(c->h, 20);
    int breaches = 0;
    while (c->all != NULL) {
        commit_answer *a = c->all;
        c->all = a->next_made;
        int expected = a->returned == TRELLIS_OK ? 1 : 0;
        if (a->calls != expected) {
            fprintf(stderr, "commit answered %d times, expected %d (commit() returned %d)\n",
                    a->calls, expected, (int)a->returned);
            breaches++;
        }
        free(a);
    }
    while (c->reads != NULL) {
        read_result *r = c->reads;
        c->reads = r->next_made;
        int expected = r->returned == TRELLIS_OK ? 1 : 0;
        if (r->done_calls != expected || r->visit_after_done) {
            fprintf(stderr, "read answered %d times, expected %d%s\n", r->done_calls, expected,
                    r->visit_after_done ? ", and visited after done()" : "");
            breaches++;
        }
        free(r);
    }
    return breaches;
}

static void on_commit_done(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    commit_answer *a = arg;
    a->calls++;
    a->status = status;
    a->revision = revision;
    a->order = ++a->client->answers;
    snprintf(a->message, sizeof(a->message), "%s", message ? message : "");
}

commit_answer *store_commit_async(store_client *c, const trellis_store_op *ops, size_t n)
{
    commit_answer *a = calloc(1, sizeof(*a));
    if (a == NULL)
        abort();
    a->client = c;
    a->next_made = c->all;
    c->all = a;
    a->returned = c->ops != NULL ? c->ops->commit(c->store, ops, n, on_commit_done, a)
                                 : TRELLIS_ERR_UNAVAILABLE;
    return a;
}

typedef struct wait_set {
    commit_answer *const *a;
    size_t n;
} wait_set;

static bool all_answered(void *arg)
{
    wait_set *w = arg;
    for (size_t i = 0; i < w->n; i++) {
        if (w->a[i]->returned == TRELLIS_OK && w->a[i]->calls == 0)
            return false;
    }
    return true;
}

bool store_wait(store_client *c, commit_answer *const *a, size_t n)
{
    wait_set w = {a, n};
    return harness_run_until(c->h, all_answered, &w, STORE_CLIENT_WAIT_MS);
}

commit_answer store_commit(store_client *c, const trellis_store_op *ops, size_t n)
{
    commit_answer *a = store_commit_async(c, ops, n);
    if (a->returned == TRELLIS_OK && !store_wait(c, &a, 1)) {
        fprintf(stderr, "store_commit: no answer within %d ms\n", STORE_CLIENT_WAIT_MS);
        a->status = TRELLIS_ERR;
    }
    commit_answer copy = *a;
    if (copy.returned != TRELLIS_OK)
        copy.status = copy.returned;
    return copy;
}

trellis_status store_commit1(store_client *c, trellis_store_op op, uint64_t *revision)
{
    commit_answer a = store_commit(c, &op, 1);
    if (revision != NULL)
        *revision = a.revision;
    return a.status;
}

/* ---- reads ---- */

static void on_visit(void *arg, const trellis_store_record *rec)
{
    read_result *r = arg;
    if (r->done_calls > 0) {
        r->visit_after_done = true;
        return;
    }
    read_record *grown = realloc(r->records, (r->count + 1) * sizeof(*grown));
    if (grown == NULL)
        abort();
    r->records = grown;
    read_record *out = &r->records[r->count++];
    *out = (read_record){.key = strdup(rec->key),
                         .value_len = rec->value_len,
                         .version = rec->version,
                         .revision = rec->revision};
    if (rec->value != NULL) {
        out->value = malloc(rec->value_len + 1);
        if (out->value == NULL)
            abort();
        memcpy(out->value, rec->value, rec->value_len);
        out->value[rec->value_len] = '\0';
    }
}

static void on_read_done(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    read_result *r = arg;
    r->done_calls++;
    r->status = status;
    r->revision = revision;
    snprintf(r->message, sizeof(r->message), "%s", message ? message : "");
}

static bool read_finished(void *arg)
{
    return ((read_result *)arg)->done_calls > 0;
}

/* Waits for done(); hands the records to the returned copy and keeps the
 * record itself until store_client_finish() for the exactly-once check. */
static read_result finish_read(store_client *c, read_result *r)
{
    r->next_made = c->reads;
    c->reads = r;
    if (r->returned == TRELLIS_OK &&
        !harness_run_until(c->h, read_finished, r, STORE_CLIENT_WAIT_MS)) {
        fprintf(stderr, "store read: no answer within %d ms\n", STORE_CLIENT_WAIT_MS);
        r->status = TRELLIS_ERR;
    }
    read_result out = *r;
    if (out.returned != TRELLIS_OK)
        out.status = out.returned;
    r->records = NULL;
    r->count = 0;
    return out;
}

read_result store_read_all(store_client *c)
{
    /* Heap-allocated: the visit callbacks hold a pointer to it. */
    read_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->returned = c->ops != NULL ? c->ops->read_all(c->store, on_visit, on_read_done, r)
                                 : TRELLIS_ERR_UNAVAILABLE;
    return finish_read(c, r);
}

read_result store_read_changes(store_client *c, uint64_t since)
{
    read_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    r->returned = c->ops != NULL ? c->ops->read_changes(c->store, since, on_visit, on_read_done, r)
                                 : TRELLIS_ERR_UNAVAILABLE;
    return finish_read(c, r);
}

void read_result_free(read_result *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->records[i].key);
        free(r->records[i].value);
    }
    free(r->records);
    r->records = NULL;
    r->count = 0;
}

const read_record *read_result_find(const read_result *r, const char *key)
{
    for (size_t i = 0; i < r->count; i++) {
        if (strcmp(r->records[i].key, key) == 0)
            return &r->records[i];
    }
    return NULL;
}
