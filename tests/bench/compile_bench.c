/*
 * compile_bench [NODES] [BACKENDS]: how long the compiler takes on a large
 * mesh (issue 4 targets: 1,000 virtual nodes with 10 backends each compiled
 * from scratch in <= 200 ms; one route change recompiled in <= 5 ms).
 *
 * The mesh: NODES virtual nodes (http 8080, DNS discovery, a health check and
 * an outlier detection on every fifth, a grpc listener on every tenth) and as
 * many virtual services, each provided by its own virtual router with three
 * routes (a 75/25 weighted prefix route, a header-matching route with a retry
 * policy, a path route with a timeout). Node i's backends are the services of
 * nodes i+1 .. i+BACKENDS. Prints the figures docs/performance.md quotes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "compiler/compiler.h"
#include "compiler_fixture.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void name_of(char *out, size_t size, const char *what, int i)
{
    snprintf(out, size, "%s-%04d", what, i);
}

static json_t *route_spec(int node_count, int i, int variant, int priority)
{
    char a[64], b[64];
    name_of(a, sizeof(a), "node", i);
    name_of(b, sizeof(b), "node", (i + 1) % node_count);
    switch (variant) {
    case 0:
        return json_pack("{s:i, s:{s:{s:s}, s:{s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}]}}}", "priority",
                         priority, "httpRoute", "match", "prefix", "/", "action", "weightedTargets",
                         "virtualNode", a, "weight", 75, "port", 8080, "virtualNode", b, "weight",
                         25, "port", 8080);
    case 1:
        return json_pack("{s:i, s:{s:{s:s, s:[{s:s, s:{s:s}}]}, s:{s:[{s:s, s:i, s:i}]}, "
                         "s:{s:i, s:{s:i, s:s}, s:[s, s]}}}",
                         "priority", priority, "httpRoute", "match", "prefix", "/api", "headers",
                         "name", "x-canary", "match", "exact", "true", "action", "weightedTargets",
                         "virtualNode", b, "weight", 100, "port", 8080, "retryPolicy", "maxRetries", 3,
                         "perRetryTimeout", "value", 2, "unit", "s", "httpRetryEvents",
                         "server-error", "gateway-error");
    default:
        return json_pack("{s:{s:{s:{s:s}}, s:{s:[{s:s, s:i, s:i}]}, s:{s:{s:i, s:s}}}}",
                         "httpRoute", "match", "path", "exact", "/healthz", "action",
                         "weightedTargets", "virtualNode", a, "weight", 100, "port", 8080, "timeout",
                         "perRequest", "value", 30, "unit", "s");
    }
}

static catalog *build_mesh(int node_count, int backends)
{
    catalog *cat = catalog_new();
    json_t *mesh = json_object();
    fixture_put(cat, RESOURCE_MESH, NULL, "", "bench", mesh);
    json_decref(mesh);
    for (int i = 0; i < node_count; i++) {
        char node[64], service[64], router[64], host[96];
        name_of(node, sizeof(node), "node", i);
        name_of(service, sizeof(service), "svc", i);
        name_of(router, sizeof(router), "router", i);
        snprintf(host, sizeof(host), "%s.bench.local", node);
        json_t *listeners = json_pack("[{s:{s:i, s:s}}]", "portMapping", "port", 8080, "protocol", "http");
        if (i % 5 == 0) {
            json_t *l = json_array_get(listeners, 0);
            json_object_set_new(l, "healthCheck",
                                json_pack("{s:s, s:s, s:i, s:i, s:i, s:i}", "protocol", "http",
                                          "path", "/ping", "healthyThreshold", 2,
                                          "unhealthyThreshold", 2, "intervalMillis", 5000,
                                          "timeoutMillis", 2000));
            json_object_set_new(l, "outlierDetection",
                                json_pack("{s:i, s:{s:i, s:s}, s:{s:i, s:s}, s:i}",
                                          "maxServerErrors", 5, "interval", "value", 10, "unit", "s",
                                          "baseEjectionDuration", "value", 30, "unit", "s",
                                          "maxEjectionPercent", 50));
        }
        if (i % 10 == 0)
            json_array_append_new(listeners, json_pack("{s:{s:i, s:s}}", "portMapping", "port",
                                                       9090, "protocol", "grpc"));
        json_t *backend_list = json_array();
        for (int k = 1; k <= backends; k++) {
            char target[64];
            name_of(target, sizeof(target), "svc", (i + k) % node_count);
            json_array_append_new(backend_list,
                                  json_pack("{s:{s:s}}", "virtualService", "virtualServiceName", target));
        }
        json_t *node_spec = json_pack("{s:o, s:{s:{s:s}}, s:o, s:{s:{s:{s:s}}}}", "listeners",
                                      listeners, "serviceDiscovery", "dns", "hostname", host,
                                      "backends", backend_list, "logging", "accessLog", "file",
                                      "path", "/dev/stdout");
        fixture_put(cat, RESOURCE_VIRTUAL_NODE, "bench", "", node, node_spec);
        json_decref(node_spec);

        json_t *router_spec = json_pack("{s:[{s:{s:i, s:s}}]}", "listeners", "portMapping", "port",
                                        8080, "protocol", "http");
        fixture_put(cat, RESOURCE_VIRTUAL_ROUTER, "bench", "", router, router_spec);
        json_decref(router_spec);
        json_t *service_spec =
            json_pack("{s:{s:{s:s}}}", "provider", "virtualRouter", "virtualRouterName", router);
        fixture_put(cat, RESOURCE_VIRTUAL_SERVICE, "bench", "", service, service_spec);
        json_decref(service_spec);
        for (int r = 0; r < 3; r++) {
            char route[32];
            snprintf(route, sizeof(route), "route-%d", r);
            json_t *spec = route_spec(node_count, i, r, 10 + r);
            fixture_put(cat, RESOURCE_ROUTE, "bench", router, route, spec);
            json_decref(spec);
        }
    }
    return cat;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t compile_one(const compile_source *src, int i, size_t *resources, size_t *bytes)
{
    char node[64];
    name_of(node, sizeof(node), "node", i);
    compile_identity id = {RESOURCE_VIRTUAL_NODE, "bench", node, TRELLIS_XDS_SIDECAR};
    compile_output out;
    compile_deps deps;
    char message[128];
    uint64_t start = now_ns();
    compile_status status = compiler_compile(src, &id, &out, &deps, message, sizeof(message));
    uint64_t elapsed = now_ns() - start;
    if (status != COMPILE_OK) {
        fprintf(stderr, "compile_bench: %s: %s\n", node, message);
        exit(1);
    }
    for (int t = 0; resources != NULL && t < TRELLIS_XDS_TYPE_COUNT; t++) {
        *resources += json_object_size(out.resources[t]);
        if (bytes != NULL) {
            const char *name;
            json_t *value;
            json_object_foreach(out.resources[t], name, value) {
                char *text = json_dumps(value, JSON_COMPACT);
                *bytes += text ? strlen(text) : 0;
                free(text);
            }
        }
    }
    compile_output_free(&out);
    compile_deps_free(&deps);
    return elapsed;
}

int main(int argc, char **argv)
{
    int node_count = argc > 1 ? atoi(argv[1]) : 1000;
    int backends = argc > 2 ? atoi(argv[2]) : 10;
    if (node_count < 2 || backends < 1 || backends >= node_count) {
        fprintf(stderr, "usage: compile_bench [NODES>=2] [BACKENDS<NODES]\n");
        return 2;
    }
    catalog *cat = build_mesh(node_count, backends);
    compile_source src = {.cat = cat, .options = fixture_appmesh_defaults};
    printf("mesh: %d virtual nodes, %d backends each, %d routers x 3 routes, catalog %zu entries\n",
           node_count, backends, node_count, catalog_count(cat));

    /* Warm-up pass (page faults, allocator), then measured passes. */
    size_t resources = 0, bytes = 0;
    for (int i = 0; i < node_count; i++)
        compile_one(&src, i, i == 0 ? &resources : NULL, i == 0 ? &bytes : NULL);
    printf("one identity: %zu resources, %zu bytes of compact JSON\n", resources, bytes);

    enum { PASSES = 5 };
    uint64_t *times = calloc((size_t)node_count * PASSES, sizeof(*times));
    uint64_t best_total = UINT64_MAX;
    for (int pass = 0; pass < PASSES; pass++) {
        uint64_t start = now_ns();
        for (int i = 0; i < node_count; i++)
            times[pass * node_count + i] = compile_one(&src, i, NULL, NULL);
        uint64_t total = now_ns() - start;
        if (total < best_total)
            best_total = total;
    }
    qsort(times, (size_t)node_count * PASSES, sizeof(*times), compare_u64);
    size_t n = (size_t)node_count * PASSES;
    printf("full compile of %d identities: %.1f ms (best of %d passes)\n", node_count,
           best_total / 1e6, PASSES);
    printf("per identity: p50 %.1f us, p99 %.1f us, max %.1f us\n", times[n / 2] / 1e3,
           times[n * 99 / 100] / 1e3, times[n - 1] / 1e3);

    /* One route change: rewrite route-0 of router-0000 (weights 50/50); the
     * identities that read it are the nodes whose backends include svc-0000. */
    json_t *changed = json_pack("{s:i, s:{s:{s:s}, s:{s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}]}}}",
                                "priority", 10, "httpRoute", "match", "prefix", "/", "action",
                                "weightedTargets", "virtualNode", "node-0000", "weight", 50, "port",
                                8080, "virtualNode", "node-0001", "weight", 50, "port", 8080);
    fixture_put(cat, RESOURCE_ROUTE, "bench", "router-0000", "route-0", changed);
    json_decref(changed);
    uint64_t best_one = UINT64_MAX, affected_total = 0;
    int affected = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        uint64_t one = compile_one(&src, node_count - 1, NULL, NULL);
        if (one < best_one)
            best_one = one;
    }
    for (int k = 1; k <= backends; k++) {
        affected_total += compile_one(&src, (node_count - k) % node_count, NULL, NULL);
        affected++;
    }
    printf("single route change: %.1f us for one affected identity, %.1f us for all %d affected\n",
           best_one / 1e3, affected_total / 1e3, affected);
    free(times);
    catalog_free(cat);
    return 0;
}
