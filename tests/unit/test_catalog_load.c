/*
 * Loading the catalog from a store that is not reachable yet (a shared
 * database still starting, store.postgres connecting): a load answered
 * TRELLIS_ERR_UNAVAILABLE is tried again until it works, and the API's
 * not-ready reason says so meanwhile; a load that fails for another reason
 * (a bad record) is not retried. A fake store stands in for the plugin.
 */
#include <stdlib.h>
#include <string.h>

#include "api/control_plane.h"
#include "config.h"
#include "loop.h"
#include "plugin_config.h"
#include "test_check.h"

static loop *lp;

typedef struct fake_store {
    int unavailable_loads; /* read_all answers UNAVAILABLE this many times */
    bool fail_for_good;    /* ...then TRELLIS_ERR instead of OK */
    int loads;
    int commits;
} fake_store;

static trellis_status fake_commit(void *instance, const trellis_store_op *ops, size_t op_count,
                                  trellis_store_commit_done_fn done, void *arg)
{
    fake_store *f = instance;
    (void)ops;
    (void)op_count;
    f->commits++;
    done(arg, TRELLIS_OK, (uint64_t)f->commits, NULL);
    return TRELLIS_OK;
}

static trellis_status fake_read_all(void *instance, trellis_store_visit_fn visit,
                                    trellis_store_read_done_fn done, void *arg)
{
    fake_store *f = instance;
    (void)visit;
    f->loads++;
    if (f->unavailable_loads > 0) {
        f->unavailable_loads--;
        done(arg, TRELLIS_ERR_UNAVAILABLE, 0, "the database is starting up");
    } else if (f->fail_for_good) {
        done(arg, TRELLIS_ERR, 0, "a record is damaged");
    } else {
        done(arg, TRELLIS_OK, 0, NULL);
    }
    return TRELLIS_OK;
}

static trellis_status fake_read_changes(void *instance, uint64_t since,
                                        trellis_store_visit_fn visit,
                                        trellis_store_read_done_fn done, void *arg)
{
    (void)instance;
    (void)visit;
    done(arg, TRELLIS_OK, since, NULL);
    return TRELLIS_OK;
}

static void fake_watch(void *instance, trellis_store_notify_fn notify, void *arg)
{
    (void)instance;
    (void)notify;
    (void)arg;
}

static const trellis_store_ops fake_ops = {
    TRELLIS_STORE_OPS_HEADER,          .commit = fake_commit, .read_all = fake_read_all,
    .read_changes = fake_read_changes, .watch = fake_watch,
};

/* Runs the loop until `cp` is ready or `ms` passed. */
typedef struct waiting {
    control_plane *cp;
    int ticks_left;
} waiting;

static void tick(void *arg)
{
    waiting *w = arg;
    if (w->cp->ready || --w->ticks_left <= 0)
        loop_break(lp);
}

static void run_until_ready(control_plane *cp, int ms)
{
    waiting w = {cp, ms / 10};
    loop_timer *t = loop_timer_new(lp, tick, &w);
    loop_timer_start(t, 10, true);
    loop_run(lp);
    loop_timer_free(t);
}

static control_plane *new_control_plane(trellis_config *settings, fake_store *f)
{
    control_plane *cp = control_plane_new(settings);
    control_plane_attach_store(cp, lp, &fake_ops, f);
    return cp;
}

static void test_unavailable_store_is_retried(trellis_config *settings)
{
    fake_store f = {.unavailable_loads = 2};
    control_plane *cp = new_control_plane(settings, &f);
    CHECK(!cp->ready);
    CHECK_INT(f.loads, 1);
    CHECK_CONTAINS(cp->not_ready_reason, "retrying");
    CHECK_CONTAINS(cp->not_ready_reason, "the database is starting up");
    run_until_ready(cp, 10 * CONTROL_PLANE_LOAD_RETRY_MS);
    CHECK(cp->ready);
    CHECK_INT(f.loads, 3);
    CHECK_INT(f.commits, 1); /* the pagination key, once loaded */
    CHECK_STR(cp->not_ready_reason, "");
    control_plane_free(cp);
}

static void test_other_failures_are_not_retried(trellis_config *settings)
{
    fake_store f = {.fail_for_good = true};
    control_plane *cp = new_control_plane(settings, &f);
    run_until_ready(cp, 2 * CONTROL_PLANE_LOAD_RETRY_MS + 500);
    CHECK(!cp->ready);
    CHECK_INT(f.loads, 1);
    CHECK_CONTAINS(cp->not_ready_reason, "a record is damaged");
    control_plane_free(cp);
}

int main(void)
{
    json_t *empty = json_object();
    trellis_config *settings = plugin_config_new(core_config_schema, empty);
    json_decref(empty);
    lp = loop_new();

    test_unavailable_store_is_retried(settings);
    test_other_failures_are_not_retried(settings);

    loop_drain_pending(lp);
    loop_free(lp);
    plugin_config_free(settings);
    return test_finish("unit_catalog_load");
}
