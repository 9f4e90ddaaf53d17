/*
 * Behaviour of the compiler beyond names and defaults: what it records as
 * read (compile_deps), unknown identities, determinism, route order, port
 * conflicts, what proxyless clients get, IP preferences, discovered
 * endpoints, gateway route rewrites, and how missing pieces are skipped.
 * Most cases use tests/unit/compiler/corpus.json (argv[1]).
 */
#include <stdlib.h>
#include <string.h>

#include "compiler_fixture.h"
#include "test_check.h"

static catalog *corpus;

static char *joined(char **items, size_t count)
{
    static char text[8192];
    text[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            strcat(text, " ");
        strncat(text, items[i], sizeof(text) - strlen(text) - 2);
    }
    return text;
}

static char *route_names(json_t *virtual_host)
{
    static char text[2048];
    text[0] = '\0';
    size_t i;
    json_t *route;
    json_array_foreach(json_object_get(virtual_host, "routes"), i, route) {
        if (i > 0)
            strcat(text, ",");
        const char *name = json_string_value(json_object_get(route, "name"));
        strncat(text, name ? name : "(direct)", sizeof(text) - strlen(text) - 2);
    }
    return text;
}

static char *host_names(json_t *route_config)
{
    static char text[2048];
    text[0] = '\0';
    size_t i;
    json_t *host;
    json_array_foreach(json_object_get(route_config, "virtual_hosts"), i, host) {
        if (i > 0)
            strcat(text, ",");
        strncat(text, json_string_value(json_object_get(host, "name")), sizeof(text) - strlen(text) - 2);
    }
    return text;
}

static char *dump_output(const compile_output *out)
{
    json_t *all = json_array();
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
        json_array_append(all, out->resources[t]);
    char *text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);
    return text;
}

/* Everything client-only read, and nothing else: its mesh and node, its two
 * backend services, their routers (and the routes under them), and the
 * virtual nodes those routes target, found or not. */
static void test_dependencies(void)
{
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus", "client-only", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_STR(joined(deps.keys, deps.key_count),
              "mesh/corpus virtualNode/corpus/api-v1 virtualNode/corpus/api-v2 virtualNode/corpus/client-only "
              "virtualNode/corpus/ghost virtualNode/corpus/grpc-svc virtualNode/corpus/no-discovery "
              "virtualRouter/corpus/api-router virtualRouter/corpus/grpc-router "
              "virtualService/corpus/api.corpus.local virtualService/corpus/grpc.corpus.local");
    CHECK_STR(joined(deps.prefixes, deps.prefix_count), "route/corpus/api-router/ route/corpus/grpc-router/");
    CHECK(deps.endpoints); /* grpc-svc is a Cloud Map node */
    compile_output_free(&out);
    compile_deps_free(&deps);

    /* A node without EDS clusters: no dependency on discovery endpoints. */
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus", "api-v1", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK(!deps.endpoints);
    compile_output_free(&out);
    compile_deps_free(&deps);
}

static void test_unknown_identities(void)
{
    compile_source src = {.cat = corpus, .options = fixture_appmesh_defaults};
    compile_output out;
    compile_deps deps;
    char message[128];
    compile_identity missing_node = {RESOURCE_VIRTUAL_NODE, "corpus", "not-yet", TRELLIS_XDS_SIDECAR};
    CHECK_INT(compiler_compile(&src, &missing_node, &out, &deps, message, sizeof(message)),
              COMPILE_NO_IDENTITY);
    /* Creating the node later must be noticed. */
    CHECK_STR(joined(deps.keys, deps.key_count), "mesh/corpus virtualNode/corpus/not-yet");
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
        CHECK(out.resources[t] == NULL);
    compile_deps_free(&deps);

    compile_identity missing_mesh = {RESOURCE_VIRTUAL_NODE, "no-mesh", "web", TRELLIS_XDS_SIDECAR};
    CHECK_INT(compiler_compile(&src, &missing_mesh, &out, &deps, message, sizeof(message)),
              COMPILE_NO_IDENTITY);
    CHECK_STR(joined(deps.keys, deps.key_count), "mesh/no-mesh");
    compile_deps_free(&deps);

    compile_identity a_router = {RESOURCE_VIRTUAL_ROUTER, "corpus", "api-router", TRELLIS_XDS_SIDECAR};
    CHECK_INT(compiler_compile(&src, &a_router, &out, &deps, message, sizeof(message)),
              COMPILE_NO_IDENTITY);
    CHECK_INT(deps.key_count + deps.prefix_count, 0);
    compile_deps_free(&deps);
    compile_output_free(&out); /* safe on an empty output */
    compile_deps_free(&deps);  /* and twice */
}

/* The same catalog gives byte-identical output; changing a route the node
 * depends on changes it; changing something it did not read cannot. */
static void test_determinism_and_changes(void)
{
    catalog *cat = fixture_catalog_from_file(getenv("CORPUS_PATH"));
    compile_output a, b;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "corpus", "web", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &a, &deps));
    compile_deps_free(&deps);
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "corpus", "web", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &b, &deps));
    char *first = dump_output(&a), *second = dump_output(&b);
    CHECK_STR(first, second);
    free(second);
    compile_output_free(&b);

    json_t *spec = fixture_json(
        "{'priority': 10, 'httpRoute': {'match': {'prefix': '/'}, 'action': {'weightedTargets': ["
        " {'virtualNode': 'api-v1', 'weight': 10}, {'virtualNode': 'api-v2', 'weight': 90}]}}}");
    CHECK(fixture_put(cat, RESOURCE_ROUTE, "corpus", "api-router", "weighted", spec));
    json_decref(spec);
    bool read_it = false;
    for (size_t i = 0; i < deps.prefix_count; i++)
        read_it = read_it || strcmp(deps.prefixes[i], "route/corpus/api-router/") == 0;
    CHECK(read_it);
    compile_deps_free(&deps);
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "corpus", "web", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &b, &deps));
    second = dump_output(&b);
    CHECK(strcmp(first, second) != 0);
    json_t *config = fixture_resource(&b, TRELLIS_XDS_ROUTE, "rds_egress_http_9080");
    CHECK_JSON(fixture_at(config, "virtual_hosts[0].routes[4].route.weighted_clusters"),
               "{'clusters': [{'name': 'cds_egress_corpus_api-v1_http_9080', 'weight': 10},"
               " {'name': 'cds_egress_corpus_api-v2_http_9080', 'weight': 90}]}");
    free(first);
    free(second);
    compile_output_free(&a);
    compile_output_free(&b);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Priority first, then the most specific match, then the name; routes that
 * cannot route (missing or undiscoverable targets only) are left out. */
static void test_route_order(void)
{
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus", "web", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    json_t *config = fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_9080");
    /* "dead-target" (priority 0, target missing) and "zero-and-dead" (weight
     * 0 plus a node without discovery) are gone; "query" (prefix /search)
     * and "headers" (prefix /items) share priority 3: longer prefix first. */
    CHECK_STR(route_names(fixture_at(config, "virtual_hosts[0]")),
              "exact-path,regex-path,query,headers,weighted,no-priority");
    json_t *grpc = fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_grpc_50051");
    CHECK_STR(route_names(fixture_at(grpc, "virtual_hosts[0]")), "method,service,all");
    compile_output_free(&out);
    compile_deps_free(&deps);
}

/* Virtual services with no provider, a missing provider router, a missing
 * service, case-twins, and a router without routes. */
static void test_missing_pieces(void)
{
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus", "web", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    /* api.corpus.local is listed before API.corpus.local: it keeps port 9080. */
    CHECK_STR(host_names(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_9080")),
              "api.corpus.local,direct.corpus.local,empty-router.corpus.local");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_9080"),
                          "virtual_hosts[2].routes"), "[]");
    char *text = dump_output(&out);
    CHECK(strstr(text, "no-provider") == NULL);
    CHECK(strstr(text, "dangling-router") == NULL);
    CHECK(strstr(text, "ghost") == NULL);
    free(text);
    /* Port per protocol: the multi router's three listeners each get a chain. */
    json_t *egress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001");
    int ports[16], n = 0;
    size_t i;
    json_t *chain;
    json_array_foreach(fixture_at(egress, "filter_chains"), i, chain) {
        json_t *port = fixture_at(chain, "filter_chain_match.destination_port");
        if (port != NULL && n < 16)
            ports[n++] = (int)json_integer_value(port);
    }
    CHECK_INT(n, 9);
    int expected[] = {5432, 6379, 7000, 8080, 8443, 9080, 9090, 50051, 443 /* amazonaws */};
    for (int k = 0; k < n && k < 9; k++)
        CHECK_INT(ports[k], expected[k]);
    compile_output_free(&out);
    compile_deps_free(&deps);
}

/* tcp cannot share a port with HTTP (HTTP wins) nor with another tcp service
 * (the first backend wins); http and grpc share one route configuration. */
static void test_port_conflicts(void)
{
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus-open", "frontend", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_STR(host_names(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_8080")),
              "backend.open.local,mixed.open.local,mesh-allow-all/*");
    CHECK(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_corpus-open_raw_tcp_8080") == NULL);
    /* A backend on 443 replaces ALLOW_ALL's 443 passthrough chain. */
    json_t *egress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001");
    CHECK_INT(json_array_size(fixture_at(egress, "filter_chains")), 5);
    compile_output_free(&out);
    compile_deps_free(&deps);

    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'m': {"
        " 'virtualNodes': {"
        "  'client': {'backends': [{'virtualService': {'virtualServiceName': 'z.local'}},"
        "                          {'virtualService': {'virtualServiceName': 'a.local'}}]},"
        "  'z': {'listeners': [{'portMapping': {'port': 5432, 'protocol': 'tcp'}}], 'serviceDiscovery': {'dns': {'hostname': 'z'}}},"
        "  'a': {'listeners': [{'portMapping': {'port': 5432, 'protocol': 'tcp'}}], 'serviceDiscovery': {'dns': {'hostname': 'a'}}}},"
        " 'virtualServices': {"
        "  'z.local': {'provider': {'virtualNode': {'virtualNodeName': 'z'}}},"
        "  'a.local': {'provider': {'virtualNode': {'virtualNodeName': 'a'}}}}}}}");
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "client", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001"),
                          "filter_chains[0].filters[0].typed_config.cluster"),
               "'cds_egress_m_z_tcp_5432'");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Proxyless: only HTTP-family services of the node's backends; routes a
 * gRPC client cannot match are left out; ENDPOINTS nodes become EDS. */
static void test_proxyless(void)
{
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus", "web", TRELLIS_XDS_PROXYLESS,
                          &fixture_appmesh_defaults, &out, &deps));
    const char *name;
    json_t *value;
    char listeners[1024] = "";
    json_object_foreach(out.resources[TRELLIS_XDS_LISTENER], name, value) {
        strcat(listeners, name);
        strcat(listeners, " ");
    }
    CHECK_STR(listeners,
              "API.corpus.local:9080 api.corpus.local:9080 direct.corpus.local:9080 "
              "empty-router.corpus.local:9080 grpc.corpus.local:50051 h2.corpus.local:8443 "
              "multi.corpus.local:8080 multi.corpus.local:9090 ");
    /* GET, https-scheme and query-parameter routes cannot match a gRPC call;
     * h2's route matches the http scheme: also left out. */
    CHECK_STR(route_names(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE,
                                                      "rds_proxyless_api.corpus.local_9080"),
                                     "virtual_hosts[0]")),
              "headers,weighted,no-priority");
    CHECK_STR(route_names(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE,
                                                      "rds_proxyless_h2.corpus.local_8443"),
                                     "virtual_hosts[0]")),
              "");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_corpus_api-v2_http_9080"),
                          "type"), "'EDS'");
    CHECK(fixture_resource(&out, TRELLIS_XDS_ENDPOINT, "cds_egress_corpus_api-v2_http_9080") != NULL);
    CHECK(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_corpus_db-primary_tcp_5432") == NULL);
    CHECK(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_corpus_amazonaws") == NULL);
    compile_output_free(&out);
    compile_deps_free(&deps);

    /* maxRetries 0 is no retry policy for gRPC (it rejects num_retries 0);
     * a POST method match is always true for gRPC and is dropped. */
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'m': {"
        " 'virtualNodes': {"
        "  'client': {'backends': [{'virtualService': {'virtualServiceName': 's.local'}}]},"
        "  's': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http2'}}], 'serviceDiscovery': {'dns': {'hostname': 's'}}}},"
        " 'virtualServices': {'s.local': {'provider': {'virtualRouter': {'virtualRouterName': 'r'}}}},"
        " 'virtualRouters': {'r': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http2'}}]}},"
        " 'routes': {'r': {'post': {'http2Route': {'match': {'prefix': '/', 'method': 'POST'},"
        "   'action': {'weightedTargets': [{'virtualNode': 's', 'weight': 1}]},"
        "   'retryPolicy': {'maxRetries': 0, 'perRetryTimeout': {'value': 1, 'unit': 's'}, 'httpRetryEvents': ['server-error']}}}}}}}}");
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "client", TRELLIS_XDS_PROXYLESS,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_proxyless_s.local_80"),
                          "virtual_hosts[0].routes[0]"),
               "{'name': 'post', 'match': {'prefix': '/'}, 'route': {'weighted_clusters': {'clusters': ["
               " {'name': 'cds_egress_m_s_http2_80', 'weight': 1}]}, 'max_stream_duration': {'max_stream_duration': '15s'}}}");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* IP preference: the mesh's IPv6_PREFERRED binds dual-stack and uses ::1
 * for the local app; a node's IPv4_ONLY overrides it. */
static void test_ip_preference(void)
{
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus-open", "v6-node", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000"), "address"),
               "{'socket_address': {'address': '::', 'port_value': 15000, 'ipv4_compat': true}}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_corpus-open_v6-node_http_8080"),
                          "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address"),
               "'::1'");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001"),
                          "filter_chains[0].filter_chain_match.prefix_ranges"),
               "[{'address_prefix': '0.0.0.0', 'prefix_len': 0}, {'address_prefix': '::', 'prefix_len': 0}]");
    compile_output_free(&out);
    compile_deps_free(&deps);

    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_NODE, "corpus-open", "frontend", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000"), "address"),
               "{'socket_address': {'address': '0.0.0.0', 'port_value': 15000}}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_corpus-open_frontend_http_80"),
                          "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address"),
               "'127.0.0.1'");
    compile_output_free(&out);
    compile_deps_free(&deps);
}

static bool test_endpoints(void *arg, const char *mesh, const char *node,
                           const compile_endpoint **endpoints, size_t *count)
{
    static const compile_endpoint list[] = {
        {"10.0.0.1", 0, "az-b"}, {"10.0.0.2", 9999, "az-a"}, {"10.0.0.3", 0, "az-b"},
        {"10.0.0.1", 0, "az-b"}, {"fd00::1", 0, "az-a"}, {"", 0, NULL}, {NULL, 0, NULL},
    };
    (*(int *)arg)++;
    CHECK_STR(mesh, "corpus");
    CHECK_STR(node, "api-v2");
    *endpoints = list;
    *count = sizeof(list) / sizeof(list[0]);
    return true;
}

/* Discovered endpoints: IPv4_ONLY drops IPv6, repeats and empty addresses
 * go, port 0 takes the listener's, zones become localities in first-seen
 * order, each weighted by its endpoint count. */
static void test_discovered_endpoints(void)
{
    int calls = 0;
    compile_source src = {.cat = corpus, .endpoints = test_endpoints, .endpoints_arg = &calls,
                          .options = fixture_appmesh_defaults};
    compile_identity id = {RESOURCE_VIRTUAL_NODE, "corpus", "multi", TRELLIS_XDS_PROXYLESS};
    compile_output out;
    compile_deps deps;
    char message[128];
    CHECK_INT(compiler_compile(&src, &id, &out, &deps, message, sizeof(message)), COMPILE_OK);
    CHECK_INT(calls, 1);
    CHECK(deps.endpoints);
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_ENDPOINT, "cds_egress_corpus_api-v2_http_9080"),
               "{'cluster_name': 'cds_egress_corpus_api-v2_http_9080', 'endpoints': ["
               " {'locality': {'zone': 'az-b'}, 'lb_endpoints': ["
               "   {'endpoint': {'address': {'socket_address': {'address': '10.0.0.1', 'port_value': 9080}}}},"
               "   {'endpoint': {'address': {'socket_address': {'address': '10.0.0.3', 'port_value': 9080}}}}],"
               "  'load_balancing_weight': 2},"
               " {'locality': {'zone': 'az-a'}, 'lb_endpoints': ["
               "   {'endpoint': {'address': {'socket_address': {'address': '10.0.0.2', 'port_value': 9999}}}}],"
               "  'load_balancing_weight': 1}]}");
    compile_output_free(&out);
    compile_deps_free(&deps);
}

typedef struct dns_source {
    int asked;                  /* resolves_dns calls */
    int looked_up;              /* endpoints calls */
    const char *resolved_node;  /* the one node the source resolves itself */
    trellis_xds_flavor flavor;  /* the flavor it was asked for */
} dns_source;

static bool dns_source_resolves(void *arg, const char *mesh, const char *node,
                                trellis_xds_flavor flavor)
{
    dns_source *s = arg;
    s->asked++;
    s->flavor = flavor;
    CHECK_STR(mesh, "corpus");
    return strcmp(node, s->resolved_node) == 0;
}

static bool dns_source_endpoints(void *arg, const char *mesh, const char *node,
                                 const compile_endpoint **endpoints, size_t *count)
{
    static const compile_endpoint list[] = {{"10.1.0.1", 0, NULL}, {"10.1.0.2", 0, NULL}};
    dns_source *s = arg;
    (void)mesh;
    if (strcmp(node, s->resolved_node) != 0)
        return false;
    s->looked_up++;
    *endpoints = list;
    *count = 2;
    return true;
}

/* A source that resolves DNS names itself (discovery.dns) turns the DNS
 * nodes it resolves into EDS clusters fed by it, with health checks and
 * outlier detection kept; the nodes it does not resolve stay Envoy's DNS
 * clusters; and the compile depends on the source either way. */
static void test_dns_resolved_by_source(void)
{
    dns_source source = {.resolved_node = "api-v1"};
    compile_source src = {.cat = corpus, .endpoints = dns_source_endpoints,
                          .resolves_dns = dns_source_resolves, .endpoints_arg = &source,
                          .options = fixture_appmesh_defaults};
    compile_identity id = {RESOURCE_VIRTUAL_NODE, "corpus", "web", TRELLIS_XDS_SIDECAR};
    compile_output out;
    compile_deps deps;
    char message[128];
    CHECK_INT(compiler_compile(&src, &id, &out, &deps, message, sizeof(message)), COMPILE_OK);
    CHECK(source.asked > 0);
    CHECK_INT(source.flavor, TRELLIS_XDS_SIDECAR);
    CHECK(source.looked_up > 0);
    CHECK(deps.endpoints);
    json_t *resolved = fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_corpus_api-v1_http_9080");
    CHECK_JSON(fixture_at(resolved, "type"), "'EDS'");
    CHECK(fixture_at(resolved, "load_assignment") == NULL);
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ENDPOINT, "cds_egress_corpus_api-v1_http_9080"),
                          "endpoints[0].lb_endpoints[1].endpoint.address.socket_address"),
               "{'address': '10.1.0.2', 'port_value': 9080}");
    json_t *envoy_dns = fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_corpus_api-v2_http_9080");
    CHECK_JSON(fixture_at(envoy_dns, "type"), "'STRICT_DNS'");
    CHECK(fixture_resource(&out, TRELLIS_XDS_ENDPOINT, "cds_egress_corpus_api-v2_http_9080") == NULL);
    compile_output_free(&out);
    compile_deps_free(&deps);
}

/* Gateway routes: rewrites, hostname matches, the x-app-mesh-virtual-service
 * fallback, and targets that cannot be reached. */
static void test_gateway_routes(void)
{
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_GATEWAY, "corpus", "gateway", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    json_t *ingress = fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_ingress_http_8088");
    CHECK_STR(route_names(fixture_at(ingress, "virtual_hosts[0]")), "exact,to-api,regex,keep-prefix,new-prefix");
    const char *cluster = "'cds_ingress_corpus_gateway_self_redirect_http_15001'";
    CHECK_JSON(fixture_at(ingress, "virtual_hosts[0].routes[0].route.cluster"), cluster);
    /* exact path + path rewrite; hostname exact as an :authority match */
    CHECK_JSON(fixture_at(ingress, "virtual_hosts[0].routes[0].match"),
               "{'path': '/status', 'headers': [{'name': ':authority', 'string_match': {'exact': 'www.example.com'}}]}");
    CHECK_JSON(fixture_at(ingress, "virtual_hosts[0].routes[0].route.prefix_rewrite"), "'/v1/status'");
    /* default prefix rewrite to "/" and host rewrite to the service */
    CHECK_JSON(fixture_at(ingress, "virtual_hosts[0].routes[1].route.prefix_rewrite"), "'/'");
    CHECK_JSON(fixture_at(ingress, "virtual_hosts[0].routes[1].route.host_rewrite_literal"), "'api.corpus.local'");
    /* regex path + path rewrite */
    CHECK_JSON(fixture_at(ingress, "virtual_hosts[0].routes[2].route.regex_rewrite"),
               "{'pattern': {'regex': '^.*$'}, 'substitution': '/rewritten'}");
    /* defaultPrefix DISABLED, defaultTargetHostname DISABLED */
    json_t *keep = fixture_at(ingress, "virtual_hosts[0].routes[3]");
    CHECK(fixture_at(keep, "route.prefix_rewrite") == NULL);
    CHECK(fixture_at(keep, "route.host_rewrite_literal") == NULL);
    CHECK_JSON(fixture_at(keep, "request_headers_to_add"),
               "[{'header': {'key': 'x-app-mesh-virtual-service', 'value': 'api.corpus.local'},"
               " 'append_action': 'OVERWRITE_IF_EXISTS_OR_ADD'}]");
    /* prefix.value; a target provided by a virtual node keeps its route's 15 s */
    CHECK_JSON(fixture_at(ingress, "virtual_hosts[0].routes[4].route"),
               "{'cluster': 'cds_ingress_corpus_gateway_self_redirect_http_15001', 'prefix_rewrite': '/new/',"
               " 'host_rewrite_literal': 'direct.corpus.local', 'timeout': '15s', 'idle_timeout': '300s'}");
    json_t *egress = fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_15001");
    CHECK_STR(host_names(egress), "api.corpus.local,direct.corpus.local,default_backend");
    CHECK_JSON(fixture_at(egress, "virtual_hosts[0].domains"), "['api.corpus.local', 'api.corpus.local:15001']");
    CHECK_JSON(fixture_at(egress, "virtual_hosts[2].routes[0].match.headers[1]"),
               "{'name': 'x-app-mesh-virtual-service', 'string_match': {'exact': 'api.corpus.local'}}");
    compile_output_free(&out);
    compile_deps_free(&deps);

    /* Several listeners: routes attach by match.port; grpc hostname matches. */
    CHECK(fixture_compile(corpus, RESOURCE_VIRTUAL_GATEWAY, "corpus", "gateway-multi", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_ingress_grpc_9099"),
                          "virtual_hosts[0].routes[0].match"),
               "{'prefix': '/corpus.Greeter/', 'headers': [{'name': 'x-tenant', 'string_match': {'exact': 'a'}},"
               " {'name': ':authority', 'string_match': {'exact': 'grpc.example.com'}}]}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER,
                                           "cds_ingress_corpus_gateway-multi_self_redirect_9099_grpc_15001"),
                          "circuit_breakers.thresholds[0].max_requests"), "10");
    /* One egress configuration for the three listeners, named by the first protocol. */
    CHECK_STR(host_names(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_15001")),
              "api.corpus.local,grpc.corpus.local,h2.corpus.local");
    compile_output_free(&out);
    compile_deps_free(&deps);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: unit_compiler_behaviour corpus.json\n");
        return 2;
    }
    setenv("CORPUS_PATH", argv[1], 1);
    corpus = fixture_catalog_from_file(argv[1]);
    CHECK(corpus != NULL);
    if (corpus == NULL)
        return test_finish("unit_compiler_behaviour");
    test_dependencies();
    test_unknown_identities();
    test_determinism_and_changes();
    test_route_order();
    test_missing_pieces();
    test_port_conflicts();
    test_proxyless();
    test_ip_preference();
    test_discovered_endpoints();
    test_dns_resolved_by_source();
    test_gateway_routes();
    catalog_free(corpus);
    return test_finish("unit_compiler_behaviour");
}
