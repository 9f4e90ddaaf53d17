/*
 * Write lanes (core/api/write_lanes.c) over a store whose commits complete
 * only when the test says so: writes to one mesh are planned and sent
 * without waiting for earlier ones to be durable; answers come in order, each
 * only once it and everything before it settled; a write planned against a
 * write in flight sees it (quotas, client tokens), readers do not; a failed
 * commit makes the writes planned after it plan again (one at a time after a
 * conflict); writes that need no commit never stall the lane.
 *
 * The fake store checks conditions when a commit completes, in order, which
 * is what a real store does at commit time for commits already accepted, and
 * keeps every applied change in a log its change feed reads from (another
 * writer's changes are added to the log by the test).
 */
#include <stdlib.h>
#include <string.h>

#include <trellis/store.h>

#include "api/api.h"
#include "api/control_plane.h"
#include "config.h"
#include "instance.h"
#include "loop.h"
#include "plugin_config.h"
#include "strmap.h"
#include "test_check.h"

/* ---- a store whose commits wait for the test ---- */

typedef struct held_commit {
    trellis_store_op ops[TRELLIS_STORE_OPS_MAX];
    char *keys[TRELLIS_STORE_OPS_MAX];
    char *values[TRELLIS_STORE_OPS_MAX];
    size_t op_count;
    trellis_store_commit_done_fn done;
    void *arg;
} held_commit;

typedef struct logged_change {
    char *key;
    char *value;          /* NULL: deleted */
    uint64_t version;
    uint64_t revision;
} logged_change;

typedef struct fake_store {
    held_commit *held[256];
    size_t held_count;
    strmap *versions;     /* key -> (uintptr_t) version */
    uint64_t revision;
    logged_change log[1024];
    size_t log_count;
} fake_store;

static fake_store store;

static trellis_status fake_commit(void *instance, const trellis_store_op *ops, size_t op_count,
                                  trellis_store_commit_done_fn done, void *arg)
{
    (void)instance;
    held_commit *c = calloc(1, sizeof(*c));
    for (size_t i = 0; i < op_count; i++) {
        c->ops[i] = ops[i];
        c->keys[i] = strdup(ops[i].key);
        c->values[i] = ops[i].value ? strndup(ops[i].value, ops[i].value_len) : NULL;
        c->ops[i].key = c->keys[i];
        c->ops[i].value = c->values[i];
    }
    c->op_count = op_count;
    c->done = done;
    c->arg = arg;
    store.held[store.held_count++] = c;
    return TRELLIS_OK;
}

static uint64_t version_of(const char *key)
{
    return (uint64_t)(uintptr_t)strmap_get(store.versions, key);
}

static void log_change(const char *key, const char *value, uint64_t version)
{
    logged_change *l = &store.log[store.log_count++];
    l->key = strdup(key);
    l->value = value ? strdup(value) : NULL;
    l->version = version;
    l->revision = store.revision;
}

/* Another writer (a replica) commits a change of `key`. */
static void external_write(const char *key, const char *value)
{
    uint64_t version = version_of(key) + 1;
    strmap_put(store.versions, key, (void *)(uintptr_t)version);
    store.revision++;
    log_change(key, value, version);
}

/* Completes the oldest held commit: applies it if its conditions hold and
 * `fail` is TRELLIS_OK, answers a conflict if they do not, else `fail`. */
static trellis_status complete_next(trellis_status fail)
{
    CHECK(store.held_count > 0);
    if (store.held_count == 0)
        return TRELLIS_ERR;
    held_commit *c = store.held[0];
    memmove(&store.held[0], &store.held[1], (store.held_count - 1) * sizeof(store.held[0]));
    store.held_count--;
    trellis_status st = fail;
    for (size_t i = 0; st == TRELLIS_OK && i < c->op_count; i++) {
        uint64_t expected = c->ops[i].expected_version;
        if (expected != TRELLIS_STORE_ANY_VERSION && version_of(c->ops[i].key) != expected)
            st = TRELLIS_ERR_CONFLICT;
    }
    if (st == TRELLIS_OK) {
        store.revision++;
        for (size_t i = 0; i < c->op_count; i++) {
            const char *key = c->ops[i].key;
            if (c->ops[i].type == TRELLIS_STORE_PUT) {
                strmap_put(store.versions, key, (void *)(uintptr_t)(version_of(key) + 1));
                log_change(key, c->values[i], version_of(key));
            } else if (c->ops[i].type == TRELLIS_STORE_DELETE) {
                strmap_remove(store.versions, key);
                log_change(key, NULL, 0);
            }
        }
    }
    c->done(c->arg, st, st == TRELLIS_OK ? store.revision : 0,
            st == TRELLIS_OK ? "" : st == TRELLIS_ERR_CONFLICT ? "condition failed" : "disk on fire");
    for (size_t i = 0; i < c->op_count; i++) {
        free(c->keys[i]);
        free(c->values[i]);
    }
    free(c);
    return st;
}

static void complete_all(void)
{
    while (store.held_count > 0)
        complete_next(TRELLIS_OK);
}

static trellis_status fake_read_all(void *instance, trellis_store_visit_fn visit,
                                    trellis_store_read_done_fn done, void *arg)
{
    (void)instance;
    (void)visit;
    done(arg, TRELLIS_OK, store.revision, "");
    return TRELLIS_OK;
}

static trellis_status fake_read_changes(void *instance, uint64_t since,
                                        trellis_store_visit_fn visit,
                                        trellis_store_read_done_fn done, void *arg)
{
    (void)instance;
    uint64_t newest = since;
    for (size_t i = 0; i < store.log_count; i++) {
        const logged_change *l = &store.log[i];
        if (l->revision <= since)
            continue;
        trellis_store_record rec = {l->key, l->value, l->value ? strlen(l->value) : 0, l->version,
                                    l->revision};
        visit(arg, &rec);
        newest = l->revision;
    }
    done(arg, TRELLIS_OK, newest, "");
    return TRELLIS_OK;
}

static void fake_watch(void *instance, trellis_store_notify_fn notify, void *arg)
{
    (void)instance;
    (void)notify;
    (void)arg;
}

static const trellis_store_ops fake_ops = {
    TRELLIS_STORE_OPS_HEADER,
    .commit = fake_commit,
    .read_all = fake_read_all,
    .read_changes = fake_read_changes,
    .watch = fake_watch,
};

/* ---- calling the API ---- */

typedef struct answer {
    bool answered;
    char error[64];
    char *body;
    int order;
} answer;

static int answers_so_far;
static host_env env;
static trellis_host_ctx *ctx;

static void on_answer(void *arg, const trellis_api_response *response)
{
    answer *a = arg;
    a->answered = true;
    a->order = ++answers_so_far;
    snprintf(a->error, sizeof(a->error), "%s", response->error_type ? response->error_type : "");
    a->body = strndup(response->body, response->body_len);
}

/* `node`, when given, is the virtualNodeName bound in the URI. */
static void invoke_node(const char *operation, const char *mesh, const char *node, const char *body,
                        answer *a)
{
    memset(a, 0, sizeof(*a));
    trellis_api_param params[] = {{"meshName", mesh}, {"virtualNodeName", node}};
    trellis_api_request request = {
        .size = sizeof(request),
        .operation = operation,
        .params = params,
        .param_count = mesh == NULL ? 0 : node == NULL ? 1 : 2,
        .body = body,
        .body_len = strlen(body),
    };
    CHECK_INT(api_invoke(ctx, &request, on_answer, a), TRELLIS_OK);
}

static void invoke(const char *operation, const char *mesh, const char *body, answer *a)
{
    invoke_node(operation, mesh, NULL, body, a);
}

static void create_node(const char *mesh, const char *name, const char *token, answer *a)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"virtualNodeName\":\"%s\",\"clientToken\":\"%s\",\"spec\":{\"listeners\":[{\"portMapping\":"
             "{\"port\":80,\"protocol\":\"http\"}}],\"serviceDiscovery\":{\"dns\":{\"hostname\":\"%s.local\"}}}}",
             name, token, name);
    invoke("CreateVirtualNode", mesh, body, a);
}

static void forget(answer *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].body);
        a[i].body = NULL;
    }
}

/* ---- tests ---- */

static void test_pipelined_and_in_order(void)
{
    answer mesh;
    invoke("CreateMesh", NULL, "{\"meshName\":\"m1\"}", &mesh);
    CHECK_INT(store.held_count, 1);
    complete_all();
    CHECK_STR(mesh.error, "");

    answer nodes[3];
    create_node("m1", "a", "t-a", &nodes[0]);
    create_node("m1", "b", "t-b", &nodes[1]);
    create_node("m1", "c", "t-c", &nodes[2]);
    /* All three were sent without waiting for the first to be durable. */
    CHECK_INT(store.held_count, 3);
    CHECK(!nodes[0].answered && !nodes[1].answered && !nodes[2].answered);

    /* Readers see only what is durable. */
    answer read;
    invoke_node("DescribeVirtualNode", "m1", "a", "", &read);
    CHECK_STR(read.error, "NotFoundException");

    complete_next(TRELLIS_OK);
    CHECK(nodes[0].answered && !nodes[1].answered);
    complete_all();
    CHECK(nodes[1].answered && nodes[2].answered);
    CHECK(nodes[0].order < nodes[1].order && nodes[1].order < nodes[2].order);
    CHECK_STR(nodes[2].error, "");
    free(read.body);
    invoke_node("DescribeVirtualNode", "m1", "c", "", &read);
    CHECK_STR(read.error, "");
    forget(nodes, 3);
    free(read.body);
    free(mesh.body);
}

static void test_planning_sees_writes_in_flight(void)
{
    /* quota_virtual_nodes_per_mesh is 5 and m1 has 3: of four creates in
     * one burst two fit; the refusals wait for the writes before them. */
    answer burst[4];
    create_node("m1", "d", "t-d", &burst[0]);
    create_node("m1", "e", "t-e", &burst[1]);
    create_node("m1", "f", "t-f", &burst[2]);
    create_node("m1", "e", "t-e", &burst[3]); /* a retry of e while e is in flight */
    CHECK_INT(store.held_count, 2);
    CHECK(!burst[2].answered && !burst[3].answered);
    complete_all();
    CHECK_STR(burst[0].error, "");
    CHECK_STR(burst[1].error, "");
    CHECK_STR(burst[2].error, "LimitExceededException");
    CHECK_STR(burst[3].error, ""); /* the same write: same answer, nothing new */
    CHECK(strstr(burst[1].body, "\"uid\"") != NULL);
    /* The retry answered the original resource (same uid). */
    const char *uid1 = strstr(burst[1].body, "\"uid\":\"");
    const char *uid3 = strstr(burst[3].body, "\"uid\":\"");
    CHECK(uid1 != NULL && uid3 != NULL && strncmp(uid1, uid3, 45) == 0);
    CHECK(burst[0].order < burst[1].order && burst[1].order < burst[2].order &&
          burst[2].order < burst[3].order);
    forget(burst, 4);
}

static void test_failures_replan_what_followed(void)
{
    /* Three updates of node a in flight; another writer commits in mesh m1
     * first, so the first update loses the race. The other two were planned
     * on it and fail too; the lane waits for all three, catches up, and
     * plans them again one at a time: they succeed in their order. */
    answer updates[3];
    for (int i = 0; i < 3; i++)
        invoke_node("UpdateVirtualNode", "m1", "a", "{\"spec\":{}}", &updates[i]);
    CHECK_INT(store.held_count, 3);
    external_write("scope/m1", "99");
    CHECK_INT(complete_next(TRELLIS_OK), TRELLIS_ERR_CONFLICT);
    CHECK_INT(complete_next(TRELLIS_OK), TRELLIS_ERR_CONFLICT);
    CHECK_INT(store.held_count, 1); /* nothing replanned while one is out */
    CHECK_INT(complete_next(TRELLIS_OK), TRELLIS_ERR_CONFLICT);
    CHECK(!updates[0].answered);
    CHECK_INT(store.held_count, 1); /* one at a time now */
    CHECK_INT(complete_next(TRELLIS_OK), TRELLIS_OK);
    CHECK(updates[0].answered && !updates[1].answered);
    CHECK_INT(store.held_count, 1);
    complete_all();
    for (int i = 0; i < 3; i++)
        CHECK_STR(updates[i].error, "");
    CHECK(strstr(updates[2].body, "\"version\":4") != NULL);
    CHECK(updates[0].order < updates[1].order && updates[1].order < updates[2].order);
    forget(updates, 3);
}

static void test_io_failure_answers_and_replans(void)
{
    answer mesh;
    invoke("CreateMesh", NULL, "{\"meshName\":\"m2\"}", &mesh);
    complete_all();
    CHECK_STR(mesh.error, "");
    free(mesh.body);
    answer a[2];
    create_node("m2", "g", "t-g", &a[0]);
    create_node("m2", "h", "t-h", &a[1]);
    CHECK_INT(store.held_count, 2);
    complete_next(TRELLIS_ERR_IO);                   /* g: outcome unknown */
    CHECK_INT(complete_next(TRELLIS_OK), TRELLIS_ERR_CONFLICT); /* h relied on g */
    CHECK(a[0].answered);
    CHECK_STR(a[0].error, "InternalServerErrorException");
    CHECK(!a[1].answered);
    CHECK_INT(store.held_count, 1); /* h planned again on the durable state */
    complete_all();
    CHECK_STR(a[1].error, "");
    forget(a, 2);
}

int main(void)
{
    json_t *overrides = json_pack("{s:i}", "quota_virtual_nodes_per_mesh", 5);
    trellis_config *settings = plugin_config_new(core_config_schema, overrides);
    json_decref(overrides);
    store.versions = strmap_new();
    env.lp = loop_new();
    env.cp = control_plane_new(settings);
    ctx = instance_new_core(&env);
    control_plane_attach_store(env.cp, env.lp, &fake_ops, &store);
    complete_all(); /* the pagination key */
    CHECK(env.cp->ready);

    test_pipelined_and_in_order();
    test_planning_sees_writes_in_flight();
    test_failures_replan_what_followed();
    test_io_failure_answers_and_replans();

    instance_free(ctx);
    control_plane_free(env.cp);
    loop_free(env.lp);
    strmap_free(store.versions);
    for (size_t i = 0; i < store.log_count; i++) {
        free(store.log[i].key);
        free(store.log[i].value);
    }
    plugin_config_free(settings);
    return test_finish("unit_write_lanes");
}
