/*
 * The snapshot engine (core/xds): node id resolution and its errors, first
 * snapshot delivered after xds_watch returns, recompiling exactly the
 * identities a catalog change affects, coalescing bursts, snapshots shared
 * by watchers, NULL when a node is deleted, unwatching inside a callback, and
 * releasing what a plugin instance left behind, and the endpoint source
 * (precise endpoint recompiles, demand). Catalog changes are made the
 * way the store link makes them: put the record, then publish the revision.
 */
#include <stdlib.h>
#include <string.h>

#include "api/control_plane.h"
#include "catalog/catalog_key.h"
#include "compiler/compiler_fixture.h"
#include "config.h"
#include "host.h"
#include "loop.h"
#include "loop_runner.h"
#include "plugin_config.h"
#include "test_check.h"
#include "xds/node_id.h"
#include "xds/snapshot.h"
#include "xds/xds_engine.h"

static loop *lp;
static control_plane *cp;
static xds_engine *engine;

typedef struct receiver {
    int calls;
    trellis_xds_snapshot *last;   /* a reference, when calls > 0 and not NULL */
    bool got_null;
    bool unwatch_on_call;
    trellis_xds_watch *watch;
    struct receiver *unwatch_sibling;  /* unwatched by this one's callback */
} receiver;

static void on_update(void *arg, trellis_xds_snapshot *snapshot)
{
    receiver *r = arg;
    r->calls++;
    xds_snapshot_unref(r->last);
    r->last = snapshot ? xds_snapshot_ref(snapshot) : NULL;
    r->got_null = snapshot == NULL;
    if (r->unwatch_on_call) {
        xds_engine_unwatch(r->watch);
        r->watch = NULL;
    }
    if (r->unwatch_sibling != NULL) {
        xds_engine_unwatch(r->unwatch_sibling->watch);
        r->unwatch_sibling->watch = NULL;
        r->unwatch_sibling = NULL;
    }
}

static void put_and_publish(resource_kind kind, const char *mesh, const char *parent,
                            const char *name, const char *spec_single_quoted)
{
    json_t *spec = fixture_json(spec_single_quoted);
    CHECK(fixture_put(cp->cat, kind, mesh, parent, name, spec));
    json_decref(spec);
    char key[CATALOG_KEY_MAX];
    catalog_key_resource(key, sizeof(key), kind, mesh, parent, name);
    catalog_change change = {.key = key, .kind = kind, .mesh = mesh, .deleted = false};
    catalog_publish(cp->cat, catalog_revision(cp->cat), &change, 1);
}

static void remove_and_publish(resource_kind kind, const char *mesh, const char *name)
{
    char key[CATALOG_KEY_MAX];
    catalog_key_resource(key, sizeof(key), kind, mesh, NULL, name);
    CHECK(catalog_remove(cp->cat, key));
    catalog_set_revision(cp->cat, catalog_revision(cp->cat) + 1);
    catalog_change change = {.key = key, .kind = kind, .mesh = mesh, .deleted = true};
    catalog_publish(cp->cat, catalog_revision(cp->cat), &change, 1);
}

static const char *mesh_description =
    "{'meshes': {'apps': {"
    "  'virtualNodes': {"
    "    'serviceA': {'backends': [{'virtualService': {'virtualServiceName': 'serviceb.apps.local'}}],"
    "                 'listeners': [{'portMapping': {'port': 80, 'protocol': 'http2'}}],"
    "                 'serviceDiscovery': {'dns': {'hostname': 'servicea.apps.local'}}},"
    "    'serviceB': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http2'}}],"
    "                 'serviceDiscovery': {'dns': {'hostname': 'serviceb.apps.local'}}},"
    "    'serviceBv2': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http2'}}],"
    "                 'serviceDiscovery': {'dns': {'hostname': 'servicebv2.apps.local'}}},"
    "    'lonely': {'listeners': [{'portMapping': {'port': 9000, 'protocol': 'http'}}],"
    "               'serviceDiscovery': {'dns': {'hostname': 'lonely.apps.local'}}}},"
    "  'virtualServices': {"
    "    'serviceb.apps.local': {'provider': {'virtualRouter': {'virtualRouterName': 'serviceB'}}}},"
    "  'virtualRouters': {'serviceB': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http2'}}]}},"
    "  'routes': {'serviceB': {'serviceB': {'http2Route': {'match': {'prefix': '/'},"
    "      'action': {'weightedTargets': [{'virtualNode': 'serviceB', 'weight': 100}]}}}}}"
    "}}}";

static trellis_status watch(const char *node_id, trellis_xds_flavor flavor, receiver *r,
                            char *message, size_t message_size)
{
    trellis_error *err = host_services.error_new();
    trellis_status st = xds_engine_watch(engine, NULL, node_id, flavor, on_update, r, &r->watch, err);
    snprintf(message, message_size, "%s", host_services.error_get0_message(err));
    host_services.error_free(err);
    return st;
}

static void test_node_ids(void)
{
    node_identity id;
    char reason[512];
    CHECK(node_id_parse("arn:aws:appmesh:us-west-2:111122223333:mesh/apps/virtualNode/serviceA",
                        &id, reason, sizeof(reason)));
    CHECK_STR(id.mesh, "apps");
    CHECK_STR(id.name, "serviceA");
    CHECK_STR(id.owner, "111122223333");
    CHECK_STR(id.region, "us-west-2");
    CHECK(node_id_parse("mesh/apps/virtualGateway/gw", &id, reason, sizeof(reason)));
    CHECK(id.kind == RESOURCE_VIRTUAL_GATEWAY);
    CHECK(node_id_parse("mesh/apps@123456789012/virtualNode/n", &id, reason, sizeof(reason)));
    CHECK_STR(id.owner, "123456789012");
    CHECK_STR(id.mesh, "apps");
    CHECK(!node_id_parse("mesh/apps/virtualRouter/r", &id, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "a proxy is a virtualNode or a virtualGateway");
    CHECK(!node_id_parse("", &id, reason, sizeof(reason)));
    CHECK_CONTAINS(reason, "node.id is empty");
    CHECK(!node_id_parse("mesh/apps/virtualNode/", &id, reason, sizeof(reason)));
    CHECK(!node_id_parse("arn:aws:s3:::bucket", &id, reason, sizeof(reason)));
}

static void test_watch_errors(void)
{
    receiver r = {0};
    char message[600];
    CHECK_INT(watch("mesh/nope/virtualNode/serviceA", TRELLIS_XDS_SIDECAR, &r, message, sizeof(message)),
              TRELLIS_ERR_NOT_FOUND);
    CHECK_STR(message, "mesh 'nope' not found");
    CHECK_INT(watch("mesh/apps/virtualNode/ghost", TRELLIS_XDS_SIDECAR, &r, message, sizeof(message)),
              TRELLIS_ERR_NOT_FOUND);
    CHECK_STR(message, "virtual node 'ghost' not found in mesh 'apps'");
    CHECK_INT(watch("garbage", TRELLIS_XDS_SIDECAR, &r, message, sizeof(message)), TRELLIS_ERR_INVALID);
    CHECK_CONTAINS(message, "must be mesh/<mesh>/virtualNode/<name>");
    CHECK_INT(watch("arn:aws:appmesh:us-west-2:999999999999:mesh/apps/virtualNode/serviceA",
                    TRELLIS_XDS_SIDECAR, &r, message, sizeof(message)),
              TRELLIS_ERR_NOT_FOUND);
    CHECK_CONTAINS(message, "of account 999999999999");
    run_loop_for(lp, 20);
    CHECK_INT(r.calls, 0);
}

static void test_first_snapshot_and_changes(void)
{
    receiver a = {0}, a2 = {0}, lonely = {0};
    char message[600];
    CHECK_INT(watch("arn:aws:appmesh:us-west-2:111122223333:mesh/apps/virtualNode/serviceA",
                    TRELLIS_XDS_SIDECAR, &a, message, sizeof(message)),
              TRELLIS_OK);
    CHECK_INT(watch("mesh/apps/virtualNode/serviceA", TRELLIS_XDS_SIDECAR, &a2, message, sizeof(message)),
              TRELLIS_OK);
    CHECK_INT(watch("mesh/apps/virtualNode/lonely", TRELLIS_XDS_SIDECAR, &lonely, message, sizeof(message)),
              TRELLIS_OK);
    CHECK_STR(xds_engine_watch_identity(a.watch), "mesh/apps/virtualNode/serviceA");
    CHECK_INT(a.calls, 0); /* never inside xds_watch */
    run_loop_for(lp, 5);
    CHECK_INT(a.calls, 1);
    CHECK_INT(a2.calls, 1);
    CHECK(a.last != NULL && a.last == a2.last); /* one identity, one snapshot */
    CHECK(xds_snapshot_find(a.last, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001") != NULL);
    CHECK(xds_snapshot_find(a.last, TRELLIS_XDS_CLUSTER, "cds_egress_apps_serviceB_http2_80") != NULL);
    CHECK(xds_snapshot_find(a.last, TRELLIS_XDS_CLUSTER, "cds_egress_apps_serviceBv2_http2_80") == NULL);

    xds_engine_stats before;
    xds_engine_get_stats(engine, &before);
    CHECK_INT(before.identities, 2);
    char route_version[SNAPSHOT_HASH_SIZE], listener_version[SNAPSHOT_HASH_SIZE];
    snprintf(route_version, sizeof(route_version), "%s", xds_snapshot_version(a.last, TRELLIS_XDS_ROUTE));
    snprintf(listener_version, sizeof(listener_version), "%s",
             xds_snapshot_version(a.last, TRELLIS_XDS_LISTENER));

    /* The 75/25 update: serviceA's routes and clusters change; lonely reads
     * nothing of it and is not recompiled. A burst is coalesced. */
    for (int i = 0; i < 5; i++)
        put_and_publish(RESOURCE_ROUTE, "apps", "serviceB", "serviceB",
                        "{'http2Route': {'match': {'prefix': '/'}, 'action': {'weightedTargets':"
                        " [{'virtualNode': 'serviceB', 'weight': 75}, {'virtualNode': 'serviceBv2', 'weight': 25}]}}}");
    run_loop_for(lp, 40);
    xds_engine_stats after;
    xds_engine_get_stats(engine, &after);
    CHECK_INT(after.compiles - before.compiles, 1);
    CHECK_INT(a.calls, 2);
    CHECK_INT(a2.calls, 2);
    CHECK_INT(lonely.calls, 1);
    CHECK(strcmp(xds_snapshot_version(a.last, TRELLIS_XDS_ROUTE), route_version) != 0);
    CHECK_STR(xds_snapshot_version(a.last, TRELLIS_XDS_LISTENER), listener_version);
    CHECK(xds_snapshot_find(a.last, TRELLIS_XDS_CLUSTER, "cds_egress_apps_serviceBv2_http2_80") != NULL);
    CHECK(xds_snapshot_changed_ns(a.last) > 0);

    /* A change that compiles to the same resources publishes nothing. */
    put_and_publish(RESOURCE_VIRTUAL_SERVICE, "apps", NULL, "unrelated.apps.local", "{}");
    run_loop_for(lp, 40);
    CHECK_INT(a.calls, 2);

    /* Deleting the node: watchers hear NULL; one of them unwatches inside
     * its callback, the other afterwards. */
    a.unwatch_on_call = true;
    remove_and_publish(RESOURCE_VIRTUAL_NODE, "apps", "serviceA");
    run_loop_for(lp, 40);
    CHECK(a.got_null);
    CHECK(a2.got_null);
    CHECK(a.watch == NULL);
    xds_engine_unwatch(a2.watch);
    xds_engine_get_stats(engine, &after);
    CHECK_INT(after.identities, 1);
    CHECK_INT(after.watches, 1);

    xds_engine_unwatch(lonely.watch);
    xds_engine_get_stats(engine, &after);
    CHECK_INT(after.identities, 0);
    CHECK_INT(after.shared_snapshots, 0);
    xds_snapshot_unref(lonely.last);
    xds_snapshot_unref(a.last);
    xds_snapshot_unref(a2.last);
}

/* Names count characters: 200 two-byte ones in the mesh and 255 in the
 * node are valid API names, and their proxy connects. */
static void test_long_unicode_names(void)
{
    char mesh[512] = "", node[600] = "", node_id[1300];
    for (int i = 0; i < 200; i++)
        strcat(mesh, "\xc3\xa9");              /* é */
    for (int i = 0; i < 255; i++)
        strcat(node, "\xd0\xb6");              /* ж */
    put_and_publish(RESOURCE_MESH, mesh, NULL, mesh, "{}");
    put_and_publish(RESOURCE_VIRTUAL_NODE, mesh, NULL, node,
                    "{'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
                    " 'serviceDiscovery': {'dns': {'hostname': 'long.apps.local'}}}");
    snprintf(node_id, sizeof(node_id), "arn:aws:appmesh:us-west-2:111122223333:mesh/%s/virtualNode/%s", mesh,
             node);
    node_identity id;
    char reason[512];
    CHECK(node_id_parse(node_id, &id, reason, sizeof(reason)));
    CHECK_STR(id.mesh, mesh);
    CHECK_STR(id.name, node);
    receiver r = {0};
    char message[600];
    CHECK_INT(watch(node_id, TRELLIS_XDS_SIDECAR, &r, message, sizeof(message)), TRELLIS_OK);
    run_loop_for(lp, 5);
    CHECK_INT(r.calls, 1);
    CHECK(r.last != NULL && xds_snapshot_find(r.last, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000") != NULL);
    xds_engine_unwatch(r.watch);
    xds_snapshot_unref(r.last);
    remove_and_publish(RESOURCE_VIRTUAL_NODE, mesh, node);
    remove_and_publish(RESOURCE_MESH, mesh, mesh);
}

/* A first delivery whose callback unwatches a sibling watch of the same
 * identity: the sibling is freed after the delivery, and the identity with
 * the last watch. */
static void test_unwatch_sibling_during_first_delivery(void)
{
    receiver first = {0}, sibling = {0};
    char message[600];
    CHECK_INT(watch("mesh/apps/virtualNode/lonely", TRELLIS_XDS_SIDECAR, &first, message, sizeof(message)),
              TRELLIS_OK);
    CHECK_INT(watch("mesh/apps/virtualNode/lonely", TRELLIS_XDS_SIDECAR, &sibling, message, sizeof(message)),
              TRELLIS_OK);
    first.unwatch_sibling = &sibling;
    run_loop_for(lp, 5);
    CHECK_INT(first.calls, 1);
    CHECK(sibling.watch == NULL);
    xds_engine_unwatch(first.watch);
    xds_engine_stats stats;
    xds_engine_get_stats(engine, &stats);
    CHECK_INT(stats.identities, 0);
    CHECK_INT(stats.watches, 0);
    xds_snapshot_unref(first.last);
    xds_snapshot_unref(sibling.last);
}

static void test_release_owner(void)
{
    receiver r = {0};
    trellis_host_ctx *owner = (trellis_host_ctx *)&r; /* any distinct pointer */
    trellis_error *err = host_services.error_new();
    CHECK_INT(xds_engine_watch(engine, owner, "mesh/apps/virtualNode/serviceB", TRELLIS_XDS_PROXYLESS,
                               on_update, &r, &r.watch, err),
              TRELLIS_OK);
    host_services.error_free(err);
    xds_engine_release_owner(engine, owner);
    run_loop_for(lp, 5);
    CHECK_INT(r.calls, 0); /* released before its first delivery */
    xds_engine_stats stats;
    xds_engine_get_stats(engine, &stats);
    CHECK_INT(stats.watches, 0);
}

static void test_config_dump(void)
{
    trellis_status st;
    char message[600];
    char *dump = xds_engine_config_dump(engine, "node=mesh%2Fapps%2FvirtualNode%2FserviceB", &st,
                                        message, sizeof(message));
    CHECK(dump != NULL);
    CHECK_CONTAINS(dump, "\"@type\": \"type.googleapis.com/envoy.admin.v3.ListenersConfigDump\"");
    CHECK_CONTAINS(dump, "cds_ingress_apps_serviceB_http2_80");
    free(dump);
    CHECK(xds_engine_config_dump(engine, "flavor=proxyless", &st, message, sizeof(message)) == NULL);
    CHECK_INT(st, TRELLIS_ERR_INVALID);
    CHECK(xds_engine_config_dump(engine, "node=mesh/apps/virtualNode/serviceB&flavor=bad", &st,
                                 message, sizeof(message)) == NULL);
    CHECK_STR(message, "flavor must be sidecar or proxyless");
}

static const char *endpoint_mesh_description =
    "{'meshes': {'cm': {"
    "  'virtualNodes': {"
    "    'client': {'backends': [{'virtualService': {'virtualServiceName': 'a.cm.local'}},"
    "                            {'virtualService': {'virtualServiceName': 'd.cm.local'}}],"
    "               'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'}}],"
    "               'serviceDiscovery': {'dns': {'hostname': 'client.cm.local'}}},"
    "    'a': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
    "          'serviceDiscovery': {'awsCloudMap': {'namespaceName': 'cm.local', 'serviceName': 'a'}}},"
    "    'b': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
    "          'serviceDiscovery': {'awsCloudMap': {'namespaceName': 'cm.local', 'serviceName': 'b'}}},"
    "    'd': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
    "          'serviceDiscovery': {'dns': {'hostname': 'd.cm.local'}}}},"
    "  'virtualServices': {"
    "    'a.cm.local': {'provider': {'virtualNode': {'virtualNodeName': 'a'}}},"
    "    'd.cm.local': {'provider': {'virtualNode': {'virtualNodeName': 'd'}}}}"
    "}}}";

/* A fake discovery source: node "a" has `a_address`, "d" has one address
 * when `resolve_d`; demand changes are logged as "+node" / "-node". */
typedef struct fake_source {
    const char *a_address;
    bool resolve_d;
    char demand_log[256];
} fake_source;

static bool fake_endpoints(void *arg, const char *mesh, const char *node,
                           const compile_endpoint **endpoints, size_t *count)
{
    fake_source *f = arg;
    static compile_endpoint one;
    static const compile_endpoint d_endpoint = {"10.9.9.9", 0, NULL};
    CHECK_STR(mesh, "cm");
    if (strcmp(node, "a") == 0) {
        one = (compile_endpoint){f->a_address, 0, NULL};
        *endpoints = &one;
    } else if (strcmp(node, "d") == 0 && f->resolve_d) {
        *endpoints = &d_endpoint;
    } else {
        return false;
    }
    *count = 1;
    return true;
}

static bool fake_resolves_dns(void *arg, const char *mesh, const char *node, trellis_xds_flavor flavor)
{
    fake_source *f = arg;
    (void)mesh;
    (void)flavor;
    return strcmp(node, "d") == 0 && f->resolve_d;
}

static void fake_demand(void *arg, const char *mesh, const char *node, bool needed)
{
    fake_source *f = arg;
    CHECK_STR(mesh, "cm");
    size_t len = strlen(f->demand_log);
    snprintf(f->demand_log + len, sizeof(f->demand_log) - len, "%s%c%s", len ? " " : "",
             needed ? '+' : '-', node);
}

static const char *endpoint_address(const trellis_xds_snapshot *snapshot, const char *cluster)
{
    const trellis_xds_resource *r = xds_snapshot_find(snapshot, TRELLIS_XDS_ENDPOINT, cluster);
    static char address[64];
    address[0] = '\0';
    const char *at = r ? strstr(r->json, "\"address\":\"") : NULL;
    if (at != NULL)
        sscanf(at + 11, "%63[^\"]", address);
    return address;
}

/* The endpoint source: a node's endpoint change recompiles exactly the
 * identities that looked it up; demand starts with the first identity using
 * a node's endpoints and ends with the last; a change of what the source
 * resolves (NULL, NULL) recompiles every identity that consulted it. */
static void test_endpoint_source(void)
{
    fake_source f = {.a_address = "10.0.0.1", .resolve_d = true};
    xds_endpoint_source source = {fake_endpoints, fake_resolves_dns, fake_demand, &f};
    xds_engine_set_endpoint_source(engine, &source);
    receiver client = {0}, b = {0};
    char message[600];
    CHECK_INT(watch("mesh/cm/virtualNode/client", TRELLIS_XDS_SIDECAR, &client, message, sizeof(message)),
              TRELLIS_OK);
    CHECK_INT(watch("mesh/cm/virtualNode/b", TRELLIS_XDS_SIDECAR, &b, message, sizeof(message)),
              TRELLIS_OK);
    run_loop_for(lp, 5);
    CHECK_STR(f.demand_log, "+a +d");
    CHECK_INT(client.calls, 1);
    CHECK_STR(endpoint_address(client.last, "cds_egress_cm_a_http_80"), "10.0.0.1");
    CHECK_STR(endpoint_address(client.last, "cds_egress_cm_d_http_80"), "10.9.9.9");

    xds_engine_stats before, after;
    xds_engine_get_stats(engine, &before);
    f.a_address = "10.0.0.2";
    xds_engine_endpoints_changed(engine, "cm", "a");
    run_loop_for(lp, 30);
    xds_engine_get_stats(engine, &after);
    CHECK_INT(after.compiles - before.compiles, 1); /* client only, not b */
    CHECK_INT(client.calls, 2);
    CHECK_INT(b.calls, 1);
    CHECK_STR(endpoint_address(client.last, "cds_egress_cm_a_http_80"), "10.0.0.2");

    /* Nobody uses b's endpoints (it is nobody's backend): nothing to do. */
    xds_engine_endpoints_changed(engine, "cm", "b");
    run_loop_for(lp, 30);
    xds_engine_get_stats(engine, &before);
    CHECK_INT(before.compiles, after.compiles);

    /* The source stops resolving d: Envoy's DNS again, demand for d ends. */
    f.resolve_d = false;
    f.demand_log[0] = '\0';
    xds_engine_endpoints_changed(engine, NULL, NULL);
    run_loop_for(lp, 30);
    CHECK_INT(client.calls, 3);
    CHECK_STR(f.demand_log, "-d");
    CHECK(xds_snapshot_find(client.last, TRELLIS_XDS_ENDPOINT, "cds_egress_cm_d_http_80") == NULL);
    CHECK(xds_snapshot_find(client.last, TRELLIS_XDS_CLUSTER, "cds_egress_cm_d_http_80") != NULL);

    f.demand_log[0] = '\0';
    xds_engine_unwatch(client.watch);
    CHECK_STR(f.demand_log, "-a");
    xds_engine_unwatch(b.watch);
    xds_engine_set_endpoint_source(engine, NULL);
    xds_snapshot_unref(client.last);
    xds_snapshot_unref(b.last);
}

int main(void)
{
    json_t *empty = json_object();
    trellis_config *settings = plugin_config_new(core_config_schema, empty);
    json_decref(empty);
    lp = loop_new();
    cp = control_plane_new(settings);
    json_t *description = fixture_json(mesh_description);
    CHECK(fixture_add(cp->cat, description));
    json_decref(description);
    description = fixture_json(endpoint_mesh_description);
    CHECK(fixture_add(cp->cat, description));
    json_decref(description);
    cp->ready = true;
    engine = xds_engine_new(cp, lp, 10);

    test_node_ids();
    test_watch_errors();
    test_first_snapshot_and_changes();
    test_release_owner();
    test_config_dump();
    test_long_unicode_names();
    test_unwatch_sibling_during_first_delivery();
    test_endpoint_source();

    xds_engine_free(engine);
    control_plane_free(cp);
    loop_drain_pending(lp);
    loop_free(lp);
    plugin_config_free(settings);
    return test_finish("unit_xds_engine");
}
