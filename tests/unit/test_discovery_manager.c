/*
 * The discovery manager (core/discovery) over the real catalog and snapshot
 * engine, with an in-process fake discovery plugin: one watch per distinct
 * target shared by the nodes that have it, endpoint sets normalised and
 * pushed only when they change, failures keeping the last set (and showing
 * in the detail), demand and the idle sweep ending watches, catalog edits
 * moving a node to its new target, instances leaving and coming back, and
 * which DNS names trellis resolves for which clients.
 */
#include <stdlib.h>
#include <string.h>

#include "api/control_plane.h"
#include "catalog/catalog_key.h"
#include "compiler/compiler_fixture.h"
#include "config.h"
#include "discovery/discovery_manager.h"
#include "discovery/endpoint_set.h"
#include "host.h"
#include "loop.h"
#include "loop_runner.h"
#include "plugin_config.h"
#include "test_check.h"
#include "xds/snapshot.h"
#include "xds/xds_engine.h"

#define IDLE_MS 60

static loop *lp;
static control_plane *cp;
static xds_engine *engine;
static discovery_manager *mgr;

/* ---- a fake discovery plugin ---- */

#define FAKE_WATCHES_MAX 32

struct trellis_discovery_watch {
    bool live;
    char what[256];               /* "cloudmap ns/svc" or "dns host" */
    uint32_t ip_preference;
    trellis_discovery_update_fn update;
    void *arg;
};

typedef struct fake_plugin {
    uint32_t method;              /* the one method it accepts */
    uint32_t clients;             /* the clients it serves */
    struct trellis_discovery_watch watches[FAKE_WATCHES_MAX];
    size_t watch_count;
    size_t unwatches;
} fake_plugin;

static bool fake_accepts(void *instance, const trellis_discovery_target *target)
{
    fake_plugin *f = instance;
    return target->method == f->method && (target->clients & f->clients) != 0;
}

static trellis_status fake_watch(void *instance, const trellis_discovery_target *target,
                                 trellis_discovery_update_fn update, void *arg,
                                 trellis_discovery_watch **watch_out)
{
    fake_plugin *f = instance;
    CHECK(target->size == sizeof(*target));
    CHECK(target->clients == (TRELLIS_DISCOVERY_FOR_SIDECARS | TRELLIS_DISCOVERY_FOR_PROXYLESS));
    if (f->watch_count == FAKE_WATCHES_MAX)
        return TRELLIS_ERR_LIMIT;
    struct trellis_discovery_watch *w = &f->watches[f->watch_count++];
    w->live = true;
    w->update = update;
    w->arg = arg;
    w->ip_preference = target->ip_preference;
    if (target->method == TRELLIS_DISCOVERY_CLOUD_MAP)
        snprintf(w->what, sizeof(w->what), "cloudmap %s/%s%s", target->namespace_name,
                 target->service_name, target->attribute_count ? " filtered" : "");
    else
        snprintf(w->what, sizeof(w->what), "dns %s", target->hostname);
    *watch_out = w;
    return TRELLIS_OK;
}

static void fake_unwatch(void *instance, trellis_discovery_watch *watch)
{
    fake_plugin *f = instance;
    CHECK(watch->live);
    watch->live = false;
    f->unwatches++;
}

static const trellis_discovery_ops fake_ops = {
    TRELLIS_DISCOVERY_OPS_HEADER,
    .accepts = fake_accepts,
    .watch = fake_watch,
    .unwatch = fake_unwatch,
};

static size_t live_watches(const fake_plugin *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->watch_count; i++)
        n += f->watches[i].live;
    return n;
}

static struct trellis_discovery_watch *live_watch(fake_plugin *f, const char *what)
{
    for (size_t i = 0; i < f->watch_count; i++) {
        if (f->watches[i].live && strcmp(f->watches[i].what, what) == 0)
            return &f->watches[i];
    }
    return NULL;
}

static void deliver(fake_plugin *f, const char *what, const trellis_endpoint *endpoints,
                    size_t count)
{
    struct trellis_discovery_watch *w = live_watch(f, what);
    CHECK(w != NULL);
    if (w != NULL)
        w->update(w->arg, TRELLIS_OK, endpoints, count, NULL);
}

static void fail(fake_plugin *f, const char *what, const char *message)
{
    struct trellis_discovery_watch *w = live_watch(f, what);
    CHECK(w != NULL);
    if (w != NULL)
        w->update(w->arg, TRELLIS_ERR_UNAVAILABLE, NULL, 0, message);
}

/* ---- the mesh and the engine ---- */

static const char *mesh_description =
    "{'meshes': {'m': {"
    "  'spec': {'serviceDiscovery': {'ipPreference': 'IPv4_ONLY'}},"
    "  'virtualNodes': {"
    "    'client': {'backends': [{'virtualService': {'virtualServiceName': 'web.m.local'}},"
    "                            {'virtualService': {'virtualServiceName': 'dns.m.local'}}],"
    "               'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'}}],"
    "               'serviceDiscovery': {'dns': {'hostname': 'client.m.local'}}},"
    "    'web': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
    "            'serviceDiscovery': {'awsCloudMap': {'namespaceName': 'm.local', 'serviceName': 'web'}}},"
    "    'web-twin': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
    "            'serviceDiscovery': {'awsCloudMap': {'namespaceName': 'm.local', 'serviceName': 'web'}}},"
    "    'web-blue': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
    "            'serviceDiscovery': {'awsCloudMap': {'namespaceName': 'm.local', 'serviceName': 'web',"
    "                                 'attributes': [{'key': 'color', 'value': 'blue'}]}}},"
    "    'dns': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
    "            'serviceDiscovery': {'dns': {'hostname': 'dns.m.local', 'responseType': 'ENDPOINTS'}}}},"
    "  'virtualServices': {"
    "    'web.m.local': {'provider': {'virtualNode': {'virtualNodeName': 'web'}}},"
    "    'dns.m.local': {'provider': {'virtualNode': {'virtualNodeName': 'dns'}}}}"
    "}}}";

typedef struct receiver {
    int calls;
    trellis_xds_snapshot *last;
    trellis_xds_watch *watch;
} receiver;

static void on_snapshot(void *arg, trellis_xds_snapshot *snapshot)
{
    receiver *r = arg;
    r->calls++;
    xds_snapshot_unref(r->last);
    r->last = snapshot ? xds_snapshot_ref(snapshot) : NULL;
}

static void watch_identity(const char *node_id, trellis_xds_flavor flavor, receiver *r)
{
    trellis_error *err = host_services.error_new();
    CHECK_INT(xds_engine_watch(engine, NULL, node_id, flavor, on_snapshot, r, &r->watch, err),
              TRELLIS_OK);
    host_services.error_free(err);
}

static const char *assignment(const receiver *r, const char *cluster)
{
    const trellis_xds_resource *res =
        r->last ? xds_snapshot_find(r->last, TRELLIS_XDS_ENDPOINT, cluster) : NULL;
    return res ? res->json : "";
}

static void put_node(const char *name, const char *spec_single_quoted)
{
    json_t *spec = fixture_json(spec_single_quoted);
    CHECK(fixture_put(cp->cat, RESOURCE_VIRTUAL_NODE, "m", NULL, name, spec));
    json_decref(spec);
    char key[CATALOG_KEY_MAX];
    catalog_key_resource(key, sizeof(key), RESOURCE_VIRTUAL_NODE, "m", NULL, name);
    catalog_change change = {.key = key, .kind = RESOURCE_VIRTUAL_NODE, .mesh = "m"};
    catalog_publish(cp->cat, catalog_revision(cp->cat), &change, 1);
}

/* ---- tests ---- */

static void test_endpoint_set(void)
{
    const trellis_endpoint in[] = {
        {"10.0.0.2", 80, "b"}, {"FD00::0001", 80, NULL}, {"10.0.0.1", 80, "a"},
        {"not-an-ip", 80, NULL}, {"10.0.0.2", 80, "b"}, {"10.0.0.3", 70000, NULL},
    };
    endpoint_set *s = endpoint_set_new(in, 6);
    CHECK_INT(s->count, 3);
    CHECK_INT(s->dropped, 2);
    CHECK_STR(s->items[0].address, "fd00::1"); /* no zone sorts first */
    CHECK_STR(s->items[1].address, "10.0.0.1");
    CHECK_STR(s->items[2].zone, "b");
    const trellis_endpoint reordered[] = {{"10.0.0.1", 80, "a"}, {"fd00::1", 80, ""},
                                          {"10.0.0.2", 80, "b"}};
    endpoint_set *t = endpoint_set_new(reordered, 3);
    CHECK(endpoint_set_equal(s, t));
    endpoint_set_free(t);
    t = endpoint_set_new(reordered, 2);
    CHECK(!endpoint_set_equal(s, t));
    endpoint_set_free(t);
    endpoint_set_free(s);
}

static void test_flow(fake_plugin *cloudmap, fake_plugin *dns)
{
    discovery_provider providers[] = {
        {"cloudmap", &fake_ops, cloudmap, cloudmap},
        {"dns", &fake_ops, dns, dns},
    };
    CHECK(discovery_manager_set_providers(mgr, providers, 2));

    /* The DNS instance serves proxyless clients only. */
    CHECK(!discovery_manager_resolves_dns(mgr, "m", "dns", TRELLIS_XDS_SIDECAR));
    CHECK(discovery_manager_resolves_dns(mgr, "m", "dns", TRELLIS_XDS_PROXYLESS));
    CHECK(!discovery_manager_resolves_dns(mgr, "m", "web", TRELLIS_XDS_PROXYLESS));

    receiver sidecar = {0}, proxyless = {0};
    watch_identity("mesh/m/virtualNode/client", TRELLIS_XDS_SIDECAR, &sidecar);
    watch_identity("mesh/m/virtualNode/client", TRELLIS_XDS_PROXYLESS, &proxyless);
    run_loop_for(lp, 5);
    CHECK_INT(sidecar.calls, 1);
    /* One Cloud Map watch shared by both identities; the DNS name is watched
     * for the proxyless client only (the sidecar gets STRICT_DNS). */
    CHECK_INT(live_watches(cloudmap), 1);
    CHECK(live_watch(cloudmap, "cloudmap m.local/web") != NULL);
    CHECK_INT(live_watch(cloudmap, "cloudmap m.local/web")->ip_preference, TRELLIS_IP_IPV4_ONLY);
    CHECK_INT(live_watches(dns), 1);
    CHECK(live_watch(dns, "dns dns.m.local") != NULL);
    CHECK_STR(assignment(&sidecar, "cds_egress_m_web_http_80"),
              "{\"cluster_name\":\"cds_egress_m_web_http_80\",\"endpoints\":[]}");

    /* A set arrives: normalised, and the listener port where none is given. */
    const trellis_endpoint first[] = {{"10.0.0.2", 0, NULL}, {"10.0.0.1", 8080, NULL}};
    deliver(cloudmap, "cloudmap m.local/web", first, 2);
    run_loop_for(lp, 30);
    CHECK_INT(sidecar.calls, 2);
    CHECK_INT(proxyless.calls, 2);
    CHECK_CONTAINS(assignment(&sidecar, "cds_egress_m_web_http_80"),
                   "{\"address\":\"10.0.0.1\",\"port_value\":8080}");
    CHECK_CONTAINS(assignment(&sidecar, "cds_egress_m_web_http_80"),
                   "{\"address\":\"10.0.0.2\",\"port_value\":80}");

    /* The same set in another order: nothing recompiles, nothing is pushed. */
    xds_engine_stats before, after;
    xds_engine_get_stats(engine, &before);
    const trellis_endpoint same[] = {{"10.0.0.1", 8080, NULL}, {"10.0.0.2", 0, NULL}};
    deliver(cloudmap, "cloudmap m.local/web", same, 2);
    run_loop_for(lp, 30);
    xds_engine_get_stats(engine, &after);
    CHECK_INT(after.compiles, before.compiles);
    CHECK_INT(sidecar.calls, 2);
    discovery_manager_stats stats;
    discovery_manager_get_stats(mgr, &stats);
    CHECK_INT(stats.unchanged, 1);

    /* A failure keeps the last set and shows in the detail; recovery clears it. */
    fail(cloudmap, "cloudmap m.local/web", "registry unreachable: connection refused");
    run_loop_for(lp, 30);
    CHECK_INT(sidecar.calls, 2);
    char detail[1024];
    discovery_manager_detail(mgr, detail, sizeof(detail));
    CHECK_CONTAINS(detail, "1 failing, serving their last endpoints: Cloud Map m.local/web: "
                           "registry unreachable: connection refused");
    const compile_endpoint *eps = NULL;
    size_t count = 0;
    CHECK(discovery_manager_endpoints(mgr, "m", "web", &eps, &count));
    CHECK_INT(count, 2);
    deliver(cloudmap, "cloudmap m.local/web", same, 2);
    discovery_manager_detail(mgr, detail, sizeof(detail));
    CHECK_STR(detail, "");

    /* A second node with the same target shares the watch; an attribute
     * filter is another target. */
    CHECK(discovery_manager_endpoints(mgr, "m", "web-twin", &eps, &count));
    CHECK_INT(count, 2);
    CHECK_INT(live_watches(cloudmap), 1);
    CHECK(discovery_manager_endpoints(mgr, "m", "web-blue", &eps, &count));
    CHECK_INT(count, 0);
    CHECK_INT(live_watches(cloudmap), 2);

    /* Editing the node moves it to its new target; the old one stays for the
     * twin (still looked up recently). */
    put_node("web", "{'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
                    " 'serviceDiscovery': {'awsCloudMap': {'namespaceName': 'm.local', 'serviceName': 'web2'}}}");
    run_loop_for(lp, 30);
    CHECK(live_watch(cloudmap, "cloudmap m.local/web2") != NULL);
    CHECK(live_watch(cloudmap, "cloudmap m.local/web") != NULL);
    CHECK_STR(assignment(&sidecar, "cds_egress_m_web_http_80"),
              "{\"cluster_name\":\"cds_egress_m_web_http_80\",\"endpoints\":[]}");

    /* The instance leaves (reload): its watches end, the sets stay; when it
     * is back the targets are watched again. */
    size_t unwatches = cloudmap->unwatches;
    discovery_manager_provider_leaving(mgr, cloudmap);
    CHECK_INT(live_watches(cloudmap), 0);
    CHECK(cloudmap->unwatches > unwatches);
    CHECK(discovery_manager_endpoints(mgr, "m", "web-twin", &eps, &count));
    CHECK_INT(count, 2);
    discovery_manager_detail(mgr, detail, sizeof(detail));
    CHECK_CONTAINS(detail, "without a discovery plugin: ");
    CHECK(discovery_manager_set_providers(mgr, providers, 2));
    CHECK(live_watch(cloudmap, "cloudmap m.local/web2") != NULL);
    CHECK(live_watch(cloudmap, "cloudmap m.local/web") != NULL);

    /* Nobody needs them any more: after the idle time every watch ends. */
    xds_engine_unwatch(sidecar.watch);
    xds_engine_unwatch(proxyless.watch);
    run_loop_for(lp, IDLE_MS * 3);
    CHECK_INT(live_watches(cloudmap), 0);
    CHECK_INT(live_watches(dns), 0);
    discovery_manager_get_stats(mgr, &stats);
    CHECK_INT(stats.nodes, 0);
    CHECK_INT(stats.targets, 0);
    xds_snapshot_unref(sidecar.last);
    xds_snapshot_unref(proxyless.last);
}

/* Without any discovery instance a Cloud Map node is unserved (said once in
 * the detail) and a DNS node is left to Envoy. */
static void test_no_providers(void)
{
    CHECK(discovery_manager_set_providers(mgr, NULL, 0));
    const compile_endpoint *eps = NULL;
    size_t count = 0;
    CHECK(!discovery_manager_endpoints(mgr, "m", "web-twin", &eps, &count));
    CHECK(!discovery_manager_resolves_dns(mgr, "m", "dns", TRELLIS_XDS_PROXYLESS));
    char detail[1024];
    discovery_manager_detail(mgr, detail, sizeof(detail));
    CHECK_STR(detail, "1 without a discovery plugin: Cloud Map m.local/web");
    CHECK(!discovery_manager_endpoints(mgr, "m", "ghost", &eps, &count));
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
    cp->ready = true;
    engine = xds_engine_new(cp, lp, 5);
    mgr = discovery_manager_new(lp, cp->cat, engine, NULL, IDLE_MS);
    CHECK(mgr != NULL);

    fake_plugin cloudmap = {.method = TRELLIS_DISCOVERY_CLOUD_MAP,
                            .clients = TRELLIS_DISCOVERY_FOR_SIDECARS | TRELLIS_DISCOVERY_FOR_PROXYLESS};
    fake_plugin dns = {.method = TRELLIS_DISCOVERY_DNS, .clients = TRELLIS_DISCOVERY_FOR_PROXYLESS};
    test_endpoint_set();
    test_flow(&cloudmap, &dns);
    test_no_providers();

    discovery_manager_free(mgr);
    xds_engine_free(engine);
    control_plane_free(cp);
    loop_drain_pending(lp);
    loop_free(lp);
    plugin_config_free(settings);
    return test_finish("unit_discovery_manager");
}
