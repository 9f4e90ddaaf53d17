/*
 * The store conformance suite: checks a store plugin against the contract of
 * trellis/store.h through the real host (tests/support/plugin_harness).
 *
 *   store_conformance --plugin-dir DIR --plugin NAME --config JSON
 *                     [--short-history-config JSON] [--case NAME]
 *
 * The config is a template: every "@TMPDIR@" becomes a fresh, empty
 * directory per case and "@CASE@" a token unique to the case (a database
 * schema name, say). Each case starts a fresh store; "restart" stops the
 * instance and starts a new one on the same config. --short-history-config
 * is a template under which read_changes() history does not reach back to
 * revision 0 after a few dozen commits (store.file: frequent snapshots); the
 * history case runs only when it is given.
 *
 * What is checked: atomic commits; ABSENT / exact version / ANY conditions
 * and CHECK ops; DELETE of a missing key; record versions; revisions (1, +1
 * per successful commit, none for refused or conflicting ones); pipelined
 * commits seeing earlier ones and answered in call order; read_all after a
 * restart returning exactly what was acknowledged; read_changes from
 * several revisions (and NOT_FOUND past history); the limits of store.h
 * (TRELLIS_ERR_INVALID); every done() exactly once, and never for a refused
 * commit.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_harness.h"
#include "store_client.h"
#include "test_check.h"

typedef struct suite {
    const char *plugin_dir;
    const char *plugin;
    const char *config_template;
    const char *short_history_template;
    char tmpdir[PATH_MAX];
    char *config;
    harness *h;
    harness_instance *hi;
    store_client client;
} suite;

/* ---- case setup ---- */

static char *substitute(const char *template, const char *tmpdir, const char *case_token)
{
    size_t cap = strlen(template) * 2 + 4 * PATH_MAX;
    char *out = malloc(cap);
    if (out == NULL)
        abort();
    size_t len = 0;
    for (const char *p = template; *p;) {
        const char *with = NULL;
        size_t skip = 0;
        if (strncmp(p, "@TMPDIR@", 8) == 0) {
            with = tmpdir;
            skip = 8;
        } else if (strncmp(p, "@CASE@", 6) == 0) {
            with = case_token;
            skip = 6;
        }
        if (with != NULL) {
            size_t n = strlen(with);
            if (len + n + 1 > cap)
                abort();
            memcpy(out + len, with, n);
            len += n;
            p += skip;
        } else {
            if (len + 2 > cap)
                abort();
            out[len++] = *p++;
        }
    }
    out[len] = '\0';
    return out;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool start_instance(suite *s)
{
    char err[2048];
    store_client_bind(&s->client, s->h, NULL); /* until it starts: calls are refused */
    s->hi = harness_create(s->h, s->plugin, s->config, err, sizeof(err));
    if (s->hi == NULL) {
        fprintf(stderr, "cannot create the store: %s\n", err);
        return false;
    }
    if (!harness_start(s->hi, err, sizeof(err))) {
        fprintf(stderr, "cannot start the store: %s\n", err);
        harness_stop(s->hi);
        s->hi = NULL;
        return false;
    }
    store_client_bind(&s->client, s->h, s->hi);
    return true;
}

static bool case_begin(suite *s, const char *name, const char *template)
{
    snprintf(s->tmpdir, sizeof(s->tmpdir), "%s/store-conformance-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(s->tmpdir) == NULL) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return false;
    }
    char token[128];
    snprintf(token, sizeof(token), "%s_%ld", name, (long)getpid());
    s->config = substitute(template, s->tmpdir, token);
    s->h = harness_new(s->plugin_dir);
    s->client = (store_client){0};
    return s->h != NULL && start_instance(s);
}

/* Stops the store (its accepted commits drain) and starts it again. */
static bool case_restart(suite *s)
{
    CHECK_INT(store_client_finish(&s->client), 0);
    harness_stop(s->hi);
    s->hi = NULL;
    return start_instance(s);
}

static void case_end(suite *s, int failures_before)
{
    if (s->hi != NULL) {
        CHECK_INT(store_client_finish(&s->client), 0);
        harness_stop(s->hi);
        s->hi = NULL;
    }
    if (test_failures != failures_before && s->h != NULL) {
        fprintf(stderr, "---- log of the failed case ----\n");
        harness_log_dump(s->h, stderr);
    }
    harness_free(s->h);
    s->h = NULL;
    free(s->config);
    s->config = NULL;
    nftw(s->tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- an expected-state model ---- */

#define MODEL_MAX 600

typedef struct model_entry {
    char key[TRELLIS_STORE_KEY_MAX + 1];
    char *value;
    size_t value_len;
    uint64_t version;
    uint64_t revision;
} model_entry;

typedef struct model {
    model_entry entries[MODEL_MAX];
    size_t count;
} model;

static model_entry *model_find(model *m, const char *key)
{
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->entries[i].key, key) == 0)
            return &m->entries[i];
    }
    return NULL;
}

/* Applies an acknowledged commit as the contract says it applies. */
static void model_apply(model *m, const trellis_store_op *ops, size_t n, uint64_t revision)
{
    for (size_t i = 0; i < n; i++) {
        model_entry *e = model_find(m, ops[i].key);
        if (ops[i].type == TRELLIS_STORE_PUT) {
            if (e == NULL) {
                if (m->count == MODEL_MAX)
                    abort();
                e = &m->entries[m->count++];
                snprintf(e->key, sizeof(e->key), "%s", ops[i].key);
                e->value = NULL;
                e->version = 0;
            }
            free(e->value);
            e->value = malloc(ops[i].value_len + 1);
            if (e->value == NULL)
                abort();
            if (ops[i].value_len > 0)
                memcpy(e->value, ops[i].value, ops[i].value_len);
            e->value_len = ops[i].value_len;
            e->version++;
            e->revision = revision;
        } else if (ops[i].type == TRELLIS_STORE_DELETE && e != NULL) {
            free(e->value);
            *e = m->entries[--m->count];
        }
    }
}

static void model_free(model *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->entries[i].value);
    m->count = 0;
}

/* read_all must return exactly the model. */
static void check_read_all_matches(suite *s, const model *m, uint64_t revision)
{
    read_result r = store_read_all(&s->client);
    CHECK_INT(r.status, TRELLIS_OK);
    CHECK_INT(r.revision, revision);
    CHECK_INT(r.count, m->count);
    for (size_t i = 0; i < m->count; i++) {
        const model_entry *e = &m->entries[i];
        const read_record *got = read_result_find(&r, e->key);
        CHECK(got != NULL);
        if (got == NULL) {
            fprintf(stderr, "  missing key: %.80s\n", e->key);
            continue;
        }
        CHECK(got->value != NULL);
        CHECK_INT(got->value_len, e->value_len);
        CHECK(got->value != NULL && got->value_len == e->value_len &&
              memcmp(got->value, e->value, e->value_len) == 0);
        CHECK_INT(got->version, e->version);
        CHECK_INT(got->revision, e->revision);
    }
    read_result_free(&r);
}

/* Commits and, when acknowledged, applies to the model. Returns the answer. */
static commit_answer commit_model(suite *s, model *m, const trellis_store_op *ops, size_t n)
{
    commit_answer a = store_commit(&s->client, ops, n);
    if (a.status == TRELLIS_OK)
        model_apply(m, ops, n, a.revision);
    return a;
}

/* ---- cases ---- */

static void case_revisions(suite *s)
{
    uint64_t rev = 0;
    CHECK_INT(store_commit1(&s->client, op_put("a", "1", TRELLIS_STORE_ABSENT), &rev), TRELLIS_OK);
    CHECK_INT(rev, 1);
    CHECK_INT(store_commit1(&s->client, op_put("b", "1", TRELLIS_STORE_ABSENT), &rev), TRELLIS_OK);
    CHECK_INT(rev, 2);
    CHECK_INT(store_commit1(&s->client, op_put("a", "2", 1), &rev), TRELLIS_OK);
    CHECK_INT(rev, 3);
    /* A commit of only conditions is still a commit. */
    CHECK_INT(store_commit1(&s->client, op_check("a", 2), &rev), TRELLIS_OK);
    CHECK_INT(rev, 4);
    /* Neither a conflict nor a refused commit uses a revision. */
    CHECK_INT(store_commit1(&s->client, op_put("a", "x", TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_ERR_CONFLICT);
    CHECK_INT(store_commit1(&s->client, op_put("", "x", TRELLIS_STORE_ANY_VERSION), NULL),
              TRELLIS_ERR_INVALID);
    CHECK_INT(store_commit1(&s->client, op_put("c", "1", TRELLIS_STORE_ANY_VERSION), &rev),
              TRELLIS_OK);
    CHECK_INT(rev, 5);
    read_result r = store_read_all(&s->client);
    CHECK_INT(r.status, TRELLIS_OK);
    CHECK_INT(r.revision, 5);
    read_result_free(&r);
    CHECK(case_restart(s));
    CHECK_INT(store_commit1(&s->client, op_put("d", "1", TRELLIS_STORE_ABSENT), &rev), TRELLIS_OK);
    CHECK_INT(rev, 6);
}

static void case_versions(suite *s)
{
    uint64_t r1, r2, r3, r4;
    CHECK_INT(store_commit1(&s->client, op_put("k", "a", TRELLIS_STORE_ABSENT), &r1), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("k", "b", TRELLIS_STORE_ANY_VERSION), &r2),
              TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("k", "c", 2), &r3), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("other", "x", TRELLIS_STORE_ABSENT), &r4),
              TRELLIS_OK);
    read_result r = store_read_all(&s->client);
    const read_record *k = read_result_find(&r, "k");
    const read_record *other = read_result_find(&r, "other");
    CHECK(k != NULL && other != NULL);
    if (k != NULL && other != NULL) {
        CHECK_INT(k->version, 3);
        CHECK_INT(k->revision, r3);
        CHECK_STR(k->value, "c");
        CHECK_INT(other->version, 1);
        CHECK_INT(other->revision, r4);
    }
    read_result_free(&r);
    /* A DELETE removes the record; a later PUT starts again at version 1. */
    CHECK_INT(store_commit1(&s->client, op_delete("k", 3), NULL), TRELLIS_OK);
    r = store_read_all(&s->client);
    CHECK(read_result_find(&r, "k") == NULL);
    read_result_free(&r);
    uint64_t r6;
    CHECK_INT(store_commit1(&s->client, op_put("k", "again", TRELLIS_STORE_ABSENT), &r6),
              TRELLIS_OK);
    r = store_read_all(&s->client);
    k = read_result_find(&r, "k");
    CHECK(k != NULL && k->version == 1 && k->revision == r6);
    read_result_free(&r);
}

static void case_condition_absent(suite *s)
{
    CHECK_INT(store_commit1(&s->client, op_put("k", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    trellis_store_op op = op_put("k", "2", TRELLIS_STORE_ABSENT);
    commit_answer a = store_commit(&s->client, &op, 1);
    CHECK_INT(a.status, TRELLIS_ERR_CONFLICT);
    CHECK_CONTAINS(a.message, "k"); /* the message names the key */
    read_result r = store_read_all(&s->client);
    const read_record *k = read_result_find(&r, "k");
    CHECK(k != NULL && k->version == 1 && strcmp(k->value, "1") == 0);
    read_result_free(&r);
}

static void case_condition_exact(suite *s)
{
    CHECK_INT(store_commit1(&s->client, op_put("k", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("k", "2", 1), NULL), TRELLIS_OK);
    trellis_store_op stale = op_put("k", "stale", 1);
    commit_answer a = store_commit(&s->client, &stale, 1);
    CHECK_INT(a.status, TRELLIS_ERR_CONFLICT);
    CHECK_CONTAINS(a.message, "k");
    /* An exact version on a missing key fails. */
    trellis_store_op missing = op_put("missing-key", "x", 1);
    a = store_commit(&s->client, &missing, 1);
    CHECK_INT(a.status, TRELLIS_ERR_CONFLICT);
    CHECK_CONTAINS(a.message, "missing-key");
    /* Version 0 is ABSENT, not "any". */
    CHECK_INT(store_commit1(&s->client, op_put("k", "x", 0), NULL), TRELLIS_ERR_CONFLICT);
    CHECK_INT(store_commit1(&s->client, op_put("k", "3", 2), NULL), TRELLIS_OK);
    read_result r = store_read_all(&s->client);
    const read_record *k = read_result_find(&r, "k");
    CHECK(k != NULL && k->version == 3 && strcmp(k->value, "3") == 0);
    CHECK(read_result_find(&r, "missing-key") == NULL);
    read_result_free(&r);
}

static void case_condition_any(suite *s)
{
    CHECK_INT(store_commit1(&s->client, op_put("k", "1", TRELLIS_STORE_ANY_VERSION), NULL),
              TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("k", "2", TRELLIS_STORE_ANY_VERSION), NULL),
              TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_delete("k", TRELLIS_STORE_ANY_VERSION), NULL),
              TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_check("k", TRELLIS_STORE_ANY_VERSION), NULL),
              TRELLIS_OK);
    read_result r = store_read_all(&s->client);
    CHECK_INT(r.count, 0);
    read_result_free(&r);
}

static void case_check_op(suite *s)
{
    uint64_t rev;
    CHECK_INT(store_commit1(&s->client, op_put("a", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_check("a", 1), &rev), TRELLIS_OK);
    CHECK_INT(rev, 2);
    CHECK_INT(store_commit1(&s->client, op_check("a", 7), NULL), TRELLIS_ERR_CONFLICT);
    CHECK_INT(store_commit1(&s->client, op_check("a", TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_ERR_CONFLICT);
    CHECK_INT(store_commit1(&s->client, op_check("nothing", TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_check("nothing", 1), NULL), TRELLIS_ERR_CONFLICT);
    /* A CHECK guards the other ops of its commit. */
    trellis_store_op guarded_ok[] = {op_check("a", 1), op_put("b", "1", TRELLIS_STORE_ABSENT)};
    CHECK_INT(store_commit(&s->client, guarded_ok, 2).status, TRELLIS_OK);
    trellis_store_op guarded_fail[] = {op_put("c", "1", TRELLIS_STORE_ABSENT), op_check("a", 9)};
    commit_answer a = store_commit(&s->client, guarded_fail, 2);
    CHECK_INT(a.status, TRELLIS_ERR_CONFLICT);
    CHECK_CONTAINS(a.message, "a");
    read_result r = store_read_all(&s->client);
    const read_record *rec = read_result_find(&r, "a");
    CHECK(rec != NULL && rec->version == 1 && rec->revision == 1); /* CHECK changed nothing */
    CHECK(read_result_find(&r, "b") != NULL);
    CHECK(read_result_find(&r, "c") == NULL);
    CHECK(read_result_find(&r, "nothing") == NULL);
    read_result_free(&r);
}

static void case_delete(suite *s)
{
    trellis_store_op del = op_delete("missing", TRELLIS_STORE_ANY_VERSION);
    commit_answer a = store_commit(&s->client, &del, 1);
    CHECK_INT(a.status, TRELLIS_ERR_CONFLICT);
    CHECK_CONTAINS(a.message, "missing");
    CHECK_INT(store_commit1(&s->client, op_put("k", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_delete("k", 2), NULL), TRELLIS_ERR_CONFLICT);
    CHECK_INT(store_commit1(&s->client, op_delete("k", TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_ERR_CONFLICT);
    CHECK_INT(store_commit1(&s->client, op_delete("k", 1), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_delete("k", TRELLIS_STORE_ANY_VERSION), NULL),
              TRELLIS_ERR_CONFLICT);
    read_result r = store_read_all(&s->client);
    CHECK_INT(r.count, 0);
    read_result_free(&r);
}

static void case_atomicity(suite *s)
{
    CHECK_INT(store_commit1(&s->client, op_put("a", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    uint64_t before;
    CHECK_INT(store_commit1(&s->client, op_put("b", "1", TRELLIS_STORE_ABSENT), &before),
              TRELLIS_OK);
    /* The failing op sits between two that would succeed. */
    trellis_store_op mixed[] = {
        op_put("x", "1", TRELLIS_STORE_ABSENT),   op_put("a", "changed", 1),
        op_put("b", "dup", TRELLIS_STORE_ABSENT), op_delete("a", TRELLIS_STORE_ANY_VERSION),
        op_put("y", "1", TRELLIS_STORE_ABSENT),
    };
    commit_answer a = store_commit(&s->client, mixed, 5);
    CHECK_INT(a.status, TRELLIS_ERR_CONFLICT);
    CHECK_CONTAINS(a.message, "b");
    for (int round = 0; round < 2; round++) {
        read_result r = store_read_all(&s->client);
        CHECK_INT(r.revision, before);
        CHECK_INT(r.count, 2);
        const read_record *ra = read_result_find(&r, "a");
        CHECK(ra != NULL && ra->version == 1 && strcmp(ra->value, "1") == 0);
        CHECK(read_result_find(&r, "x") == NULL);
        CHECK(read_result_find(&r, "y") == NULL);
        read_result_free(&r);
        if (round == 0)
            CHECK(case_restart(s));
    }
    /* All of a successful multi-op commit lands, with one revision. */
    trellis_store_op all[] = {op_put("x", "1", TRELLIS_STORE_ABSENT), op_put("a", "2", 1),
                              op_delete("b", 1)};
    a = store_commit(&s->client, all, 3);
    CHECK_INT(a.status, TRELLIS_OK);
    CHECK_INT(a.revision, before + 1);
    read_result r = store_read_all(&s->client);
    const read_record *rx = read_result_find(&r, "x"), *ra = read_result_find(&r, "a");
    CHECK(rx != NULL && rx->revision == before + 1);
    CHECK(ra != NULL && ra->revision == before + 1 && ra->version == 2);
    CHECK(read_result_find(&r, "b") == NULL);
    read_result_free(&r);
}

static void case_pipelined(suite *s)
{
    /* Issued back to back without running the loop: each sees the earlier ones. */
    trellis_store_op ops[] = {
        op_put("k", "1", TRELLIS_STORE_ABSENT),
        op_put("k", "2", 1),
        op_put("k", "stale", 1), /* k is at 2 by then */
        op_put("k", "3", 2),
        op_delete("k", 3),
        op_put("k", "again", TRELLIS_STORE_ABSENT),
        op_check("k", 1),
    };
    enum { N = sizeof(ops) / sizeof(ops[0]) };
    commit_answer *a[N];
    for (size_t i = 0; i < N; i++) {
        a[i] = store_commit_async(&s->client, &ops[i], 1);
        CHECK_INT(a[i]->returned, TRELLIS_OK);
    }
    CHECK(store_wait(&s->client, a, N));
    static const trellis_status want_status[N] = {TRELLIS_OK, TRELLIS_OK, TRELLIS_ERR_CONFLICT,
                                                  TRELLIS_OK, TRELLIS_OK, TRELLIS_OK,
                                                  TRELLIS_OK};
    static const uint64_t want_revision[N] = {1, 2, 0, 3, 4, 5, 6};
    for (size_t i = 0; i < N; i++) {
        CHECK_INT(a[i]->status, want_status[i]);
        if (want_status[i] == TRELLIS_OK)
            CHECK_INT(a[i]->revision, want_revision[i]);
        CHECK_INT(a[i]->order, i + 1); /* answered in call order */
    }
    read_result r = store_read_all(&s->client);
    const read_record *k = read_result_find(&r, "k");
    CHECK(k != NULL && k->version == 1 && strcmp(k->value, "again") == 0 && k->revision == 5);
    CHECK_INT(r.revision, 6);
    read_result_free(&r);
}

static void case_restart_read_all(suite *s)
{
    model m = {0};
    char key[64], value[64];
    uint64_t last = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "cfg/%d", i % 7);
        snprintf(value, sizeof(value), "value %d", i);
        trellis_store_op op = op_put(key, value, TRELLIS_STORE_ANY_VERSION);
        commit_answer a = commit_model(s, &m, &op, 1);
        CHECK_INT(a.status, TRELLIS_OK);
        last = a.revision;
    }
    trellis_store_op pair[] = {op_put("pair/a", "1", TRELLIS_STORE_ABSENT),
                               op_put("pair/b", "1", TRELLIS_STORE_ABSENT)};
    CHECK_INT(commit_model(s, &m, pair, 2).status, TRELLIS_OK);
    trellis_store_op del = op_delete("cfg/3", TRELLIS_STORE_ANY_VERSION);
    CHECK_INT(commit_model(s, &m, &del, 1).status, TRELLIS_OK);
    static const char binary[] = {'\0', 'a', '\0', 'b', (char)0xff};
    trellis_store_op bin = op_put_bytes("bin", binary, sizeof(binary), TRELLIS_STORE_ABSENT);
    CHECK_INT(commit_model(s, &m, &bin, 1).status, TRELLIS_OK);
    trellis_store_op empty = op_put_bytes("empty", "", 0, TRELLIS_STORE_ABSENT);
    CHECK_INT(commit_model(s, &m, &empty, 1).status, TRELLIS_OK);
    trellis_store_op conflicting[] = {op_put("never", "1", TRELLIS_STORE_ABSENT),
                                      op_put("pair/a", "2", TRELLIS_STORE_ABSENT)};
    CHECK_INT(commit_model(s, &m, conflicting, 2).status, TRELLIS_ERR_CONFLICT);
    trellis_store_op check = op_check("pair/a", 1);
    CHECK_INT(commit_model(s, &m, &check, 1).status, TRELLIS_OK);
    trellis_store_op unicode = op_put("ключ/ü/😀", "юникод", TRELLIS_STORE_ABSENT);
    CHECK_INT(commit_model(s, &m, &unicode, 1).status, TRELLIS_OK);
    char long_key[TRELLIS_STORE_KEY_MAX + 1];
    memset(long_key, 'L', TRELLIS_STORE_KEY_MAX);
    long_key[TRELLIS_STORE_KEY_MAX] = '\0';
    trellis_store_op longest = op_put(long_key, "long", TRELLIS_STORE_ABSENT);
    CHECK_INT(commit_model(s, &m, &longest, 1).status, TRELLIS_OK);
    trellis_store_op redo_del = op_delete("cfg/4", TRELLIS_STORE_ANY_VERSION);
    CHECK_INT(commit_model(s, &m, &redo_del, 1).status, TRELLIS_OK);
    trellis_store_op redo_put = op_put("cfg/4", "reborn", TRELLIS_STORE_ABSENT);
    commit_answer a = commit_model(s, &m, &redo_put, 1);
    CHECK_INT(a.status, TRELLIS_OK);
    last = a.revision;
    CHECK_INT(last, 29);

    check_read_all_matches(s, &m, last);
    CHECK(case_restart(s));
    check_read_all_matches(s, &m, last);
    /* Versions and revisions continue after the restart. */
    trellis_store_op next = op_put("cfg/0", "after restart", TRELLIS_STORE_ANY_VERSION);
    a = commit_model(s, &m, &next, 1);
    CHECK_INT(a.status, TRELLIS_OK);
    CHECK_INT(a.revision, last + 1);
    check_read_all_matches(s, &m, last + 1);
    CHECK(case_restart(s));
    check_read_all_matches(s, &m, last + 1);
    model_free(&m);
}

static void case_stop_drains(suite *s)
{
    /* Commits still in flight when the store stops are answered before the
     * stop completes; what was acknowledged is there after the restart. */
    model m = {0};
    enum { N = 40 };
    trellis_store_op ops[N];
    char keys[N][16];
    commit_answer *a[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "drain/%d", i % 10);
        ops[i] = op_put(keys[i], keys[i], TRELLIS_STORE_ANY_VERSION);
        a[i] = store_commit_async(&s->client, &ops[i], 1);
        CHECK_INT(a[i]->returned, TRELLIS_OK);
    }
    harness_stop(s->hi);
    s->hi = NULL;
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        CHECK_INT(a[i]->calls, 1);
        if (a[i]->calls == 1 && a[i]->status == TRELLIS_OK) {
            model_apply(&m, &ops[i], 1, a[i]->revision);
            last = a[i]->revision;
        }
    }
    CHECK_INT(store_client_finish(&s->client), 0);
    CHECK(start_instance(s));
    if (s->hi != NULL)
        check_read_all_matches(s, &m, last);
    model_free(&m);
}

typedef struct expected_change {
    const char *key;
    const char *value; /* NULL: a deletion */
    uint64_t version;
    uint64_t revision;
} expected_change;

/* The feed must be exactly `want` (changes of one revision in any order). */
static void check_changes(const read_result *r, const expected_change *want, size_t n,
                          uint64_t done_revision)
{
    CHECK_INT(r->status, TRELLIS_OK);
    CHECK_INT(r->revision, done_revision);
    CHECK_INT(r->count, n);
    for (size_t i = 1; i < r->count; i++)
        CHECK(r->records[i - 1].revision <= r->records[i].revision);
    for (size_t i = 0; i < n && r->count == n; i++) {
        bool found = false;
        for (size_t j = 0; j < r->count && !found; j++) {
            const read_record *got = &r->records[j];
            if (got->revision != want[i].revision || strcmp(got->key, want[i].key) != 0)
                continue;
            found = true;
            CHECK_INT(got->version, want[i].version);
            if (want[i].value == NULL) {
                CHECK(got->value == NULL);
            } else {
                CHECK(got->value != NULL);
                CHECK_STR(got->value, want[i].value);
                CHECK_INT(got->value_len, strlen(want[i].value));
            }
        }
        CHECK(found);
        if (!found)
            fprintf(stderr, "  change not visited: %s at revision %llu\n", want[i].key,
                    (unsigned long long)want[i].revision);
    }
}

static void case_read_changes(suite *s)
{
    CHECK_INT(store_commit1(&s->client, op_put("a", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("b", "2", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    trellis_store_op three[] = {op_put("a", "3", 1), op_delete("b", 1)};
    CHECK_INT(store_commit(&s->client, three, 2).status, TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_check("a", 2), NULL),
              TRELLIS_OK); /* revision 4: no change */
    CHECK_INT(store_commit1(&s->client, op_put_bytes("e", "", 0, TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("c", "x", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client, op_put("z", "z", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    static const expected_change all[] = {
        {"a", "1", 1, 1}, {"b", "2", 1, 2}, {"a", "3", 2, 3}, {"b", NULL, 0, 3},
        {"e", "", 1, 5},  {"c", "x", 1, 6}, {"z", "z", 1, 7},
    };
    read_result r = store_read_changes(&s->client, 0);
    check_changes(&r, all, 7, 7);
    read_result_free(&r);
    r = store_read_changes(&s->client, 2);
    check_changes(&r, all + 2, 5, 7);
    read_result_free(&r);
    r = store_read_changes(&s->client, 3);
    check_changes(&r, all + 4, 3, 7);
    read_result_free(&r);
    r = store_read_changes(&s->client, 4); /* revision 4 changed nothing */
    check_changes(&r, all + 4, 3, 7);
    read_result_free(&r);
    r = store_read_changes(&s->client, 6);
    check_changes(&r, all + 6, 1, 7);
    read_result_free(&r);
    r = store_read_changes(&s->client, 7); /* up to date: nothing, done at `since` */
    check_changes(&r, NULL, 0, 7);
    read_result_free(&r);
    /* After a restart the history may be shorter, but what it serves is the same. */
    CHECK(case_restart(s));
    r = store_read_changes(&s->client, 0);
    if (r.status == TRELLIS_ERR_NOT_FOUND)
        CHECK_INT(r.count, 0);
    else
        check_changes(&r, all, 7, 7);
    read_result_free(&r);
    r = store_read_changes(&s->client, 7);
    check_changes(&r, NULL, 0, 7);
    read_result_free(&r);
}

static void case_history_limit(suite *s)
{
    char key[32];
    uint64_t head = 0;
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof(key), "h/%d", i);
        CHECK_INT(store_commit1(&s->client, op_put(key, key, TRELLIS_STORE_ABSENT), &head),
                  TRELLIS_OK);
    }
    for (int round = 0; round < 2; round++) {
        read_result r = store_read_changes(&s->client, 0);
        CHECK_INT(r.status, TRELLIS_ERR_NOT_FOUND);
        CHECK_INT(r.count, 0);
        read_result_free(&r);
        r = store_read_changes(&s->client, head);
        CHECK_INT(r.status, TRELLIS_OK);
        CHECK_INT(r.revision, head);
        CHECK_INT(r.count, 0);
        read_result_free(&r);
        r = store_read_all(&s->client);
        CHECK_INT(r.count, 60);
        CHECK_INT(r.revision, head);
        read_result_free(&r);
        if (round == 0)
            CHECK(case_restart(s));
    }
}

static void case_limits(suite *s)
{
    uint64_t rev = 0, first = 0;
    CHECK_INT(store_commit1(&s->client, op_put("ok", "1", TRELLIS_STORE_ABSENT), &first),
              TRELLIS_OK);

    trellis_store_op bad[12];
    size_t nbad = 0;
    char *long_key = malloc(TRELLIS_STORE_KEY_MAX + 2);
    char *max_key = malloc(TRELLIS_STORE_KEY_MAX + 1);
    char *big = malloc(TRELLIS_STORE_VALUE_MAX + 1);
    if (long_key == NULL || max_key == NULL || big == NULL)
        abort();
    memset(long_key, 'k', TRELLIS_STORE_KEY_MAX + 1);
    long_key[TRELLIS_STORE_KEY_MAX + 1] = '\0';
    memset(max_key, 'm', TRELLIS_STORE_KEY_MAX);
    max_key[TRELLIS_STORE_KEY_MAX] = '\0';
    for (size_t i = 0; i < TRELLIS_STORE_VALUE_MAX + 1; i++)
        big[i] = (char)(i * 31 + 7);

    bad[nbad++] = op_put(NULL, "x", TRELLIS_STORE_ANY_VERSION);
    bad[nbad++] = op_put("", "x", TRELLIS_STORE_ANY_VERSION);
    bad[nbad++] = op_put(long_key, "x", TRELLIS_STORE_ANY_VERSION);
    bad[nbad++] = op_put("\xff\xfe", "x", TRELLIS_STORE_ANY_VERSION); /* not UTF-8 */
    bad[nbad++] = op_put("\xc0\xaf", "x", TRELLIS_STORE_ANY_VERSION); /* overlong */
    bad[nbad++] = op_put_bytes("big", big, TRELLIS_STORE_VALUE_MAX + 1, TRELLIS_STORE_ANY_VERSION);
    bad[nbad++] = op_put_bytes("nullvalue", NULL, 5, TRELLIS_STORE_ANY_VERSION);
    bad[nbad] = op_delete("ok", TRELLIS_STORE_ANY_VERSION);
    bad[nbad].value = "x"; /* DELETE carries no value */
    bad[nbad++].value_len = 1;
    bad[nbad] = op_put("ok", "x", TRELLIS_STORE_ANY_VERSION);
    bad[nbad++].type = 0;
    bad[nbad] = op_put("ok", "x", TRELLIS_STORE_ANY_VERSION);
    bad[nbad++].type = 9;
    for (size_t i = 0; i < nbad; i++) {
        commit_answer *a = store_commit_async(&s->client, &bad[i], 1);
        CHECK_INT(a->returned, TRELLIS_ERR_INVALID);
        if (a->returned != TRELLIS_ERR_INVALID)
            fprintf(stderr, "  bad op %zu was not refused\n", i);
        /* An otherwise fine commit with one bad op is refused whole. */
        trellis_store_op pair[] = {op_put("fine", "1", TRELLIS_STORE_ANY_VERSION), bad[i]};
        a = store_commit_async(&s->client, pair, 2);
        CHECK_INT(a->returned, TRELLIS_ERR_INVALID);
    }

    /* Too many ops; exactly the maximum is fine. */
    size_t n = TRELLIS_STORE_OPS_MAX + 1;
    trellis_store_op *many = calloc(n, sizeof(*many));
    char(*keys)[16] = calloc(n, sizeof(*keys));
    if (many == NULL || keys == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "many/%zu", i);
        many[i] = op_put(keys[i], keys[i], TRELLIS_STORE_ABSENT);
    }
    CHECK_INT(store_commit_async(&s->client, many, n)->returned, TRELLIS_ERR_INVALID);
    CHECK_INT(store_commit(&s->client, many, TRELLIS_STORE_OPS_MAX).status, TRELLIS_OK);

    /* The largest key and value are accepted and read back intact. */
    CHECK_INT(store_commit1(&s->client, op_put(max_key, "m", TRELLIS_STORE_ABSENT), NULL),
              TRELLIS_OK);
    CHECK_INT(store_commit1(&s->client,
                            op_put_bytes("big", big, TRELLIS_STORE_VALUE_MAX, TRELLIS_STORE_ABSENT),
                            &rev),
              TRELLIS_OK);
    /* Refused commits used no revision. */
    CHECK_INT(rev, first + 3);
    for (int round = 0; round < 2; round++) {
        read_result r = store_read_all(&s->client);
        CHECK_INT(r.count, 1 + TRELLIS_STORE_OPS_MAX + 2);
        const read_record *b = read_result_find(&r, "big");
        CHECK(b != NULL && b->value_len == TRELLIS_STORE_VALUE_MAX &&
              memcmp(b->value, big, TRELLIS_STORE_VALUE_MAX) == 0);
        CHECK(read_result_find(&r, max_key) != NULL);
        CHECK(read_result_find(&r, "fine") == NULL);
        read_result_free(&r);
        if (round == 0)
            CHECK(case_restart(s));
    }
    free(many);
    free(keys);
    free(long_key);
    free(max_key);
    free(big);
}

/* ---- driver ---- */

typedef struct test_case {
    const char *name;
    void (*run)(suite *s);
    bool short_history; /* runs on --short-history-config, only when given */
} test_case;

static const test_case cases[] = {
    {"revisions", case_revisions, false},
    {"versions", case_versions, false},
    {"condition_absent", case_condition_absent, false},
    {"condition_exact", case_condition_exact, false},
    {"condition_any", case_condition_any, false},
    {"check_op", case_check_op, false},
    {"delete", case_delete, false},
    {"atomicity", case_atomicity, false},
    {"pipelined", case_pipelined, false},
    {"restart_read_all", case_restart_read_all, false},
    {"stop_drains", case_stop_drains, false},
    {"read_changes", case_read_changes, false},
    {"history_limit", case_history_limit, true},
    {"limits", case_limits, false},
};

static int usage(void)
{
    fprintf(stderr, "usage: store_conformance --plugin-dir DIR --plugin NAME --config JSON "
                    "[--short-history-config JSON] [--case NAME]\n");
    return 2;
}

int main(int argc, char **argv)
{
    suite s = {0};
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--plugin-dir") == 0)
            s.plugin_dir = argv[i + 1];
        else if (strcmp(argv[i], "--plugin") == 0)
            s.plugin = argv[i + 1];
        else if (strcmp(argv[i], "--config") == 0)
            s.config_template = argv[i + 1];
        else if (strcmp(argv[i], "--short-history-config") == 0)
            s.short_history_template = argv[i + 1];
        else if (strcmp(argv[i], "--case") == 0)
            only = argv[i + 1];
        else
            return usage();
    }
    if (argc % 2 == 0 || s.plugin_dir == NULL || s.plugin == NULL || s.config_template == NULL)
        return usage();

    size_t ran = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const test_case *tc = &cases[i];
        if (only != NULL && strcmp(only, tc->name) != 0)
            continue;
        const char *template = tc->short_history ? s.short_history_template : s.config_template;
        if (template == NULL) {
            printf("%s: skipped (no --short-history-config)\n", tc->name);
            continue;
        }
        int before = test_failures;
        if (case_begin(&s, tc->name, template))
            tc->run(&s);
        else
            CHECK(!"the store starts");
        case_end(&s, before);
        printf("%s: %s\n", tc->name, test_failures == before ? "ok" : "FAILED");
        fflush(stdout);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no case named %s\n", only ? only : "(none)");
        return 2;
    }
    return test_finish(s.plugin);
}
