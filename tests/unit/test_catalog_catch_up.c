/*
 * The catalog following a store with other writers (store.postgres with
 * several replicas), through a fake store whose reads the test completes
 * by hand:
 *   - an own commit that is the next revision applies at once;
 *   - one that is not (another writer committed in between) waits for a
 *     catch-up that includes it;
 *   - one answered while a catch-up runs waits for the next read only if
 *     the running one did not reach it (no extra read when it did);
 *   - a conflict always waits for a read that starts after it.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/catalog_store.h"
#include "test_check.h"

/* ---- a store whose answers the test gives ---- */

typedef struct pending_read {
    uint64_t since;
    trellis_store_visit_fn visit;
    trellis_store_read_done_fn done;
    void *arg;
} pending_read;

typedef struct fake_store {
    pending_read reads[8];
    int read_count; /* read_changes calls so far */
    int open_reads;
    trellis_store_commit_done_fn commit_done;
    void *commit_arg;
    trellis_store_notify_fn notify;
    void *notify_arg;
} fake_store;

static trellis_status fake_commit(void *instance, const trellis_store_op *ops, size_t op_count,
                                  trellis_store_commit_done_fn done, void *arg)
{
    fake_store *f = instance;
    (void)ops;
    (void)op_count;
    f->commit_done = done;
    f->commit_arg = arg;
    return TRELLIS_OK;
}

static trellis_status fake_read_all(void *instance, trellis_store_visit_fn visit,
                                    trellis_store_read_done_fn done, void *arg)
{
    (void)instance;
    (void)visit;
    done(arg, TRELLIS_OK, 0, NULL);
    return TRELLIS_OK;
}

static trellis_status fake_read_changes(void *instance, uint64_t since,
                                        trellis_store_visit_fn visit,
                                        trellis_store_read_done_fn done, void *arg)
{
    fake_store *f = instance;
    f->reads[f->open_reads++] = (pending_read){since, visit, done, arg};
    f->read_count++;
    return TRELLIS_OK;
}

static void fake_watch(void *instance, trellis_store_notify_fn notify, void *arg)
{
    fake_store *f = instance;
    f->notify = notify;
    f->notify_arg = arg;
}

static const trellis_store_ops fake_ops = {
    TRELLIS_STORE_OPS_HEADER,          .commit = fake_commit, .read_all = fake_read_all,
    .read_changes = fake_read_changes, .watch = fake_watch,
};

/* Completes the oldest open read with the changes of revisions
 * (since, up_to]: one system record per revision. */
static void complete_read(fake_store *f, uint64_t up_to)
{
    pending_read r = f->reads[0];
    memmove(f->reads, f->reads + 1, (size_t)(--f->open_reads) * sizeof(f->reads[0]));
    for (uint64_t rev = r.since + 1; rev <= up_to; rev++) {
        char key[32];
        snprintf(key, sizeof(key), "meta/r%llu", (unsigned long long)rev);
        trellis_store_record rec = {.key = key, .value = "x", .value_len = 1, .version = 1,
                                    .revision = rev};
        r.visit(r.arg, &rec);
    }
    r.done(r.arg, TRELLIS_OK, up_to > r.since ? up_to : r.since, NULL);
}

/* ---- a commit through the link ---- */

typedef struct answer {
    int calls;
    trellis_status status;
    uint64_t revision;
} answer;

static void on_done(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    answer *a = arg;
    (void)message;
    a->calls++;
    a->status = status;
    a->revision = revision;
}

static void on_loaded(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    on_done(arg, status, revision, message);
}

static void commit(catalog_store *cs, const char *key, answer *a)
{
    catalog_op op = {.type = TRELLIS_STORE_PUT, .key = key, .raw_value = "v", .raw_len = 1,
                     .expected_version = TRELLIS_STORE_ABSENT};
    CHECK_INT(catalog_store_commit(cs, &op, 1, on_done, a), TRELLIS_OK);
}

int main(void)
{
    catalog *cat = catalog_new();
    fake_store f = {0};
    catalog_store *cs = catalog_store_new(cat, &fake_ops, &f);
    answer loaded = {0};
    catalog_store_load(cs, on_loaded, &loaded);
    CHECK_INT(loaded.status, TRELLIS_OK);

    /* Our commit is revision 1: applied at once, no read. */
    answer a1 = {0};
    commit(cs, "meta/own1", &a1);
    f.commit_done(f.commit_arg, TRELLIS_OK, 1, NULL);
    CHECK_INT(a1.calls, 1);
    CHECK_INT(f.read_count, 0);
    CHECK_INT(catalog_revision(cat), 1);

    /* Revision 3 while the catalog is at 1: it waits for a read. */
    answer a2 = {0};
    commit(cs, "meta/own3", &a2);
    f.commit_done(f.commit_arg, TRELLIS_OK, 3, NULL);
    CHECK_INT(a2.calls, 0);
    CHECK_INT(f.read_count, 1);
    /* Revision 5 lands while that read runs. */
    answer a3 = {0};
    commit(cs, "meta/own5", &a3);
    f.commit_done(f.commit_arg, TRELLIS_OK, 5, NULL);
    CHECK_INT(a3.calls, 0);
    /* The running read reaches 5: both are answered, no second read. */
    complete_read(&f, 5);
    CHECK_INT(a2.calls, 1);
    CHECK_INT(a2.status, TRELLIS_OK);
    CHECK_INT(a3.calls, 1);
    CHECK_INT(a3.revision, 5);
    CHECK_INT(f.read_count, 1);
    CHECK_INT(f.open_reads, 0);
    CHECK_INT(catalog_revision(cat), 5);

    /* Revision 7, then 9 during the read; the read stops at 7: the next
     * read is needed for 9. */
    answer a4 = {0}, a5 = {0};
    commit(cs, "meta/own7", &a4);
    f.commit_done(f.commit_arg, TRELLIS_OK, 7, NULL);
    commit(cs, "meta/own9", &a5);
    f.commit_done(f.commit_arg, TRELLIS_OK, 9, NULL);
    complete_read(&f, 7);
    CHECK_INT(a4.calls, 1);
    CHECK_INT(a5.calls, 0);
    CHECK_INT(f.read_count, 3);
    complete_read(&f, 9);
    CHECK_INT(a5.calls, 1);
    CHECK_INT(catalog_revision(cat), 9);

    /* A conflict during a read waits for a read that starts after it, even
     * when the running one moves the catalog forward. */
    f.notify(f.notify_arg); /* another writer: a read starts */
    CHECK_INT(f.read_count, 4);
    answer a6 = {0};
    commit(cs, "meta/lost", &a6);
    f.commit_done(f.commit_arg, TRELLIS_ERR_CONFLICT, 0, "key exists");
    complete_read(&f, 10);
    CHECK_INT(a6.calls, 0);
    CHECK_INT(f.read_count, 5);
    complete_read(&f, 11);
    CHECK_INT(a6.calls, 1);
    CHECK_INT(a6.status, TRELLIS_ERR_CONFLICT);
    CHECK_INT(f.open_reads, 0);

    catalog_store_free(cs);
    catalog_free(cat);
    return test_finish("unit_catalog_catch_up");
}
