#include "catalog_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_key.h"
#include "log.h"

/* A continuation waiting for the catalog to catch up with the store. */
typedef struct waiter {
    struct waiter *next;
    catalog_done_fn done;
    void *arg;
    trellis_status status;       /* what to report once caught up */
    uint64_t revision;
    char message[256];
} waiter;

/* A change collected during catch-up, published per revision. */
typedef struct pending_change {
    char *key;
    char *mesh;
    resource_kind kind;
    bool deleted;
} pending_change;

struct catalog_store {
    catalog *cat;
    const trellis_store_ops *ops;
    void *instance;
    bool loaded;

    bool catching_up;
    bool catch_up_again;         /* a notification arrived during catch-up */
    waiter *waiters;             /* run when the current catch-up ends */
    waiter *next_waiters;        /* run after the next one */

    /* Changes of the revision being visited during catch-up. */
    uint64_t visit_revision;
    pending_change *visit_changes;
    size_t visit_count;
    size_t visit_capacity;
    bool visit_failed;
    char visit_error[256];

    catalog_done_fn load_done;
    void *load_arg;
};

typedef struct inflight_commit {
    catalog_store *cs;
    catalog_done_fn done;
    void *arg;
    size_t op_count;
    struct {
        trellis_store_op_type type;
        char *key;
        json_t *record;
        char *raw;
        size_t raw_len;
        uint64_t expected_version;
    } ops[];
} inflight_commit;

static void catch_up(catalog_store *cs);

catalog_store *catalog_store_new(catalog *cat, const trellis_store_ops *ops,
                                 void *store_instance)
{
    catalog_store *cs = calloc(1, sizeof(*cs));
    if (cs == NULL)
        return NULL;
    cs->cat = cat;
    cs->ops = ops;
    cs->instance = store_instance;
    return cs;
}

static void free_waiters(waiter *w)
{
    while (w != NULL) {
        waiter *next = w->next;
        free(w);
        w = next;
    }
}

static void clear_visit(catalog_store *cs)
{
    for (size_t i = 0; i < cs->visit_count; i++) {
        free(cs->visit_changes[i].key);
        free(cs->visit_changes[i].mesh);
    }
    cs->visit_count = 0;
}

void catalog_store_free(catalog_store *cs)
{
    if (cs == NULL)
        return;
    free_waiters(cs->waiters);
    free_waiters(cs->next_waiters);
    clear_visit(cs);
    free(cs->visit_changes);
    free(cs);
}

/* ---- publishing ---- */

static void publish_visited(catalog_store *cs)
{
    if (cs->visit_count == 0)
        return;
    catalog_change changes[cs->visit_count];
    for (size_t i = 0; i < cs->visit_count; i++) {
        changes[i] = (catalog_change){cs->visit_changes[i].key, cs->visit_changes[i].kind,
                                      cs->visit_changes[i].mesh, cs->visit_changes[i].deleted};
    }
    catalog_publish(cs->cat, cs->visit_revision, changes, cs->visit_count);
    clear_visit(cs);
}

static void remember_change(catalog_store *cs, const char *key, bool deleted)
{
    if (cs->visit_count == cs->visit_capacity) {
        size_t capacity = cs->visit_capacity ? cs->visit_capacity * 2 : 16;
        pending_change *grown = realloc(cs->visit_changes, capacity * sizeof(*grown));
        if (grown == NULL) {
            cs->visit_failed = true;
            snprintf(cs->visit_error, sizeof(cs->visit_error), "out of memory");
            return;
        }
        cs->visit_changes = grown;
        cs->visit_capacity = capacity;
    }
    resource_kind kind;
    char mesh[CATALOG_KEY_MAX], parent[CATALOG_KEY_MAX], name[CATALOG_KEY_MAX];
    if (!catalog_key_parse(key, &kind, mesh, parent, name, sizeof(name)))
        kind = RESOURCE_SYSTEM;
    pending_change *pc = &cs->visit_changes[cs->visit_count];
    pc->key = strdup(key);
    pc->mesh = kind == RESOURCE_SYSTEM ? NULL : strdup(mesh);
    pc->kind = kind;
    pc->deleted = deleted;
    if (pc->key == NULL) {
        free(pc->mesh);
        cs->visit_failed = true;
        return;
    }
    cs->visit_count++;
}

/* Applies one record read from the store; false (with visit_error) on a bad one. */
static bool apply_record(catalog_store *cs, const trellis_store_record *rec)
{
    char reason[256];
    if (rec->value == NULL) {
        catalog_remove(cs->cat, rec->key);
        return true;
    }
    if (!catalog_put(cs->cat, rec->key, rec->version, rec->revision, NULL, rec->value,
                     rec->value_len, reason, sizeof(reason))) {
        cs->visit_failed = true;
        snprintf(cs->visit_error, sizeof(cs->visit_error), "%s", reason);
        return false;
    }
    return true;
}

/* ---- initial load ---- */

static void on_load_visit(void *arg, const trellis_store_record *rec)
{
    catalog_store *cs = arg;
    if (!cs->visit_failed)
        apply_record(cs, rec);
}

static void on_store_notify(void *arg)
{
    catalog_store *cs = arg;
    if (cs->loaded)
        catch_up(cs);
}

static void on_load_done(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    catalog_store *cs = arg;
    if (status == TRELLIS_OK && cs->visit_failed) {
        status = TRELLIS_ERR;
        message = cs->visit_error;
    }
    if (status == TRELLIS_OK) {
        catalog_set_revision(cs->cat, revision);
        cs->loaded = true;
        cs->ops->watch(cs->instance, on_store_notify, cs);
        log_core(TRELLIS_LOG_INFO, "catalog_loaded", "catalog loaded: %zu records at revision %llu",
                 catalog_count(cs->cat), (unsigned long long)revision);
    } else {
        catalog_clear(cs->cat);
    }
    cs->visit_failed = false;
    cs->load_done(cs->load_arg, status, revision, message ? message : "");
}

void catalog_store_load(catalog_store *cs, catalog_done_fn done, void *arg)
{
    cs->load_done = done;
    cs->load_arg = arg;
    cs->visit_failed = false;
    catalog_clear(cs->cat);
    trellis_status st = cs->ops->read_all(cs->instance, on_load_visit, on_load_done, cs);
    if (st != TRELLIS_OK)
        done(arg, st, 0, "the store refused to read its records");
}

/* ---- catch-up with the change feed ---- */

static void run_waiters(waiter *list)
{
    /* Waiters were pushed in LIFO order; reverse to keep call order. */
    waiter *ordered = NULL;
    while (list != NULL) {
        waiter *next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    while (ordered != NULL) {
        waiter *next = ordered->next;
        ordered->done(ordered->arg, ordered->status, ordered->revision, ordered->message);
        free(ordered);
        ordered = next;
    }
}

static void on_change_visit(void *arg, const trellis_store_record *rec)
{
    catalog_store *cs = arg;
    if (cs->visit_failed)
        return;
    if (rec->revision != cs->visit_revision) {
        publish_visited(cs);
        catalog_set_revision(cs->cat, cs->visit_revision);
        cs->visit_revision = rec->revision;
    }
    if (apply_record(cs, rec))
        remember_change(cs, rec->key, rec->value == NULL);
}

/* Moves the commits of `next_waiters` that the catalog already reflects
 * (their revision is applied) onto `done`, keeping call order: with several
 * writers a commit that lands during a catch-up is often covered by it, and
 * need not wait for another read. Conflicts stay: the revision that beat
 * them is not known. */
static waiter *take_covered(catalog_store *cs, waiter *done)
{
    uint64_t applied = catalog_revision(cs->cat);
    waiter *moved = NULL, **moved_tail = &moved;
    waiter *kept = NULL, **kept_tail = &kept;
    for (waiter *w = cs->next_waiters, *next; w != NULL; w = next) {
        next = w->next;
        w->next = NULL;
        if (w->status == TRELLIS_OK && w->revision <= applied) {
            *moved_tail = w;
            moved_tail = &w->next;
        } else {
            *kept_tail = w;
            kept_tail = &w->next;
        }
    }
    cs->next_waiters = kept;
    /* Both lists are newest first; the moved ones are newer than `done`. */
    *moved_tail = done;
    return moved;
}

static void finish_catch_up(catalog_store *cs, trellis_status status, const char *message)
{
    waiter *done = cs->waiters;
    cs->waiters = NULL;
    cs->catching_up = false;
    if (status == TRELLIS_OK)
        done = take_covered(cs, done);
    if (status != TRELLIS_OK) {
        log_core(TRELLIS_LOG_ERROR, "catalog_catch_up_failed", "following the store failed: %s",
                 message);
        /* Waiters asked for a retry (conflict) or a result; a failed catch-up
         * turns them into "unavailable" so no caller acts on stale state. */
        for (waiter *w = done; w != NULL; w = w->next) {
            w->status = TRELLIS_ERR_UNAVAILABLE;
            snprintf(w->message, sizeof(w->message), "the store is unavailable: %s", message);
        }
    }
    run_waiters(done);
    if (cs->catch_up_again || cs->next_waiters != NULL) {
        cs->catch_up_again = false;
        cs->waiters = cs->next_waiters;
        cs->next_waiters = NULL;
        catch_up(cs);
    }
}

static void on_reload_done(void *arg, trellis_status status, uint64_t revision,
                           const char *message)
{
    catalog_store *cs = arg;
    if (status == TRELLIS_OK && cs->visit_failed) {
        status = TRELLIS_ERR;
        message = cs->visit_error;
    }
    cs->visit_failed = false;
    if (status == TRELLIS_OK) {
        catalog_set_revision(cs->cat, revision);
        /* Everything may have changed: an empty change list says so. */
        catalog_publish(cs->cat, revision, NULL, 0);
        log_core(TRELLIS_LOG_WARN, "catalog_reloaded",
                 "store history did not reach our revision; reloaded %zu records at revision %llu",
                 catalog_count(cs->cat), (unsigned long long)revision);
    }
    finish_catch_up(cs, status, message ? message : "");
}

static void on_changes_done(void *arg, trellis_status status, uint64_t revision,
                            const char *message)
{
    catalog_store *cs = arg;
    if (status == TRELLIS_OK && cs->visit_failed) {
        status = TRELLIS_ERR;
        message = cs->visit_error;
    }
    if (status == TRELLIS_OK) {
        publish_visited(cs);
        if (revision > catalog_revision(cs->cat))
            catalog_set_revision(cs->cat, revision);
        finish_catch_up(cs, TRELLIS_OK, "");
        return;
    }
    clear_visit(cs);
    cs->visit_failed = false;
    if (status == TRELLIS_ERR_NOT_FOUND) {
        catalog_clear(cs->cat);
        trellis_status st = cs->ops->read_all(cs->instance, on_load_visit, on_reload_done, cs);
        if (st == TRELLIS_OK)
            return;
        status = st;
        message = "the store refused to read its records";
    }
    finish_catch_up(cs, status, message ? message : "");
}

static void catch_up(catalog_store *cs)
{
    if (cs->catching_up) {
        cs->catch_up_again = true;
        return;
    }
    cs->catching_up = true;
    cs->visit_failed = false;
    cs->visit_revision = catalog_revision(cs->cat);
    trellis_status st = cs->ops->read_changes(cs->instance, catalog_revision(cs->cat),
                                              on_change_visit, on_changes_done, cs);
    if (st != TRELLIS_OK)
        finish_catch_up(cs, st, "the store refused to read its change feed");
}

/* Queues a continuation behind a catch-up (starting one if needed). */
static void after_catch_up(catalog_store *cs, catalog_done_fn done, void *arg,
                           trellis_status status, uint64_t revision, const char *message)
{
    waiter *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        done(arg, TRELLIS_ERR_NOMEM, 0, "out of memory");
        return;
    }
    w->done = done;
    w->arg = arg;
    w->status = status;
    w->revision = revision;
    snprintf(w->message, sizeof(w->message), "%s", message ? message : "");
    if (cs->catching_up) {
        /* The running catch-up may have started before this commit landed;
         * the next one starts when it ends, unless it covered this commit
         * (take_covered). */
        w->next = cs->next_waiters;
        cs->next_waiters = w;
        return;
    }
    w->next = cs->waiters;
    cs->waiters = w;
    catch_up(cs);
}

/* ---- commits ---- */

static void inflight_free(inflight_commit *c)
{
    for (size_t i = 0; i < c->op_count; i++) {
        free(c->ops[i].key);
        json_decref(c->ops[i].record);
        free(c->ops[i].raw);
    }
    free(c);
}

/* The fast path: our commit is the next revision; apply it directly (the
 * change buffer is free because no catch-up is running). */
static bool apply_own_commit(catalog_store *cs, inflight_commit *c, uint64_t revision)
{
    char reason[256];
    cs->visit_revision = revision;
    for (size_t i = 0; i < c->op_count; i++) {
        const char *key = c->ops[i].key;
        if (c->ops[i].type == TRELLIS_STORE_CHECK)
            continue;
        if (c->ops[i].type == TRELLIS_STORE_DELETE) {
            catalog_remove(cs->cat, key);
        } else {
            json_t *record = c->ops[i].record ? json_incref(c->ops[i].record) : NULL;
            if (!catalog_put(cs->cat, key, c->ops[i].expected_version + 1, revision, record,
                             c->ops[i].raw, c->ops[i].raw_len, reason, sizeof(reason))) {
                log_core(TRELLIS_LOG_ERROR, "catalog_apply_failed", "%s", reason);
                clear_visit(cs);
                return false;
            }
        }
        remember_change(cs, key, c->ops[i].type == TRELLIS_STORE_DELETE);
    }
    catalog_set_revision(cs->cat, revision);
    publish_visited(cs);
    return true;
}

static void on_commit_done(void *arg, trellis_status status, uint64_t revision,
                           const char *message)
{
    inflight_commit *c = arg;
    catalog_store *cs = c->cs;
    if (status == TRELLIS_OK) {
        if (!cs->catching_up && revision == catalog_revision(cs->cat) + 1 &&
            apply_own_commit(cs, c, revision)) {
            c->done(c->arg, TRELLIS_OK, revision, "");
        } else {
            /* Someone else committed in between (or we could not apply
             * directly): follow the feed, which includes this commit. */
            after_catch_up(cs, c->done, c->arg, TRELLIS_OK, revision, "");
        }
    } else if (status == TRELLIS_ERR_CONFLICT) {
        after_catch_up(cs, c->done, c->arg, TRELLIS_ERR_CONFLICT, 0, message);
    } else {
        c->done(c->arg, status, 0, message ? message : "");
    }
    inflight_free(c);
}

trellis_status catalog_store_commit(catalog_store *cs, const catalog_op *ops, size_t op_count,
                                    catalog_done_fn done, void *arg)
{
    if (!cs->loaded)
        return TRELLIS_ERR_UNAVAILABLE;
    if (op_count == 0 || op_count > TRELLIS_STORE_OPS_MAX)
        return TRELLIS_ERR_INVALID;
    inflight_commit *c = calloc(1, sizeof(*c) + op_count * sizeof(c->ops[0]));
    if (c == NULL)
        return TRELLIS_ERR_NOMEM;
    c->cs = cs;
    c->done = done;
    c->arg = arg;
    trellis_store_op store_ops[op_count];
    for (size_t i = 0; i < op_count; i++) {
        c->op_count++;
        c->ops[i].type = ops[i].type;
        c->ops[i].key = strdup(ops[i].key);
        c->ops[i].expected_version = ops[i].expected_version;
        if (c->ops[i].key == NULL)
            goto nomem;
        if (ops[i].type == TRELLIS_STORE_PUT) {
            if (ops[i].record != NULL) {
                c->ops[i].record = json_incref(ops[i].record);
                c->ops[i].raw = json_dumps(ops[i].record, CATALOG_JSON_FLAGS);
                if (c->ops[i].raw == NULL)
                    goto nomem;
                c->ops[i].raw_len = strlen(c->ops[i].raw);
            } else {
                c->ops[i].raw = malloc(ops[i].raw_len + 1);
                if (c->ops[i].raw == NULL)
                    goto nomem;
                memcpy(c->ops[i].raw, ops[i].raw_value, ops[i].raw_len);
                c->ops[i].raw[ops[i].raw_len] = '\0';
                c->ops[i].raw_len = ops[i].raw_len;
            }
        }
        store_ops[i] = (trellis_store_op){
            .type = (uint32_t)ops[i].type,
            .key = c->ops[i].key,
            .value = c->ops[i].raw,
            .value_len = c->ops[i].raw_len,
            .expected_version = ops[i].expected_version,
        };
    }
    trellis_status st = cs->ops->commit(cs->instance, store_ops, op_count, on_commit_done, c);
    if (st != TRELLIS_OK)
        inflight_free(c);
    return st;
nomem:
    inflight_free(c);
    return TRELLIS_ERR_NOMEM;
}
