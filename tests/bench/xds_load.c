/*
 * xds_load — the xDS server under many proxies.
 *
 * Holds N ADS streams (one HTTP/2 connection each, as Envoy does) spread over
 * the virtual nodes <prefix>0 ... <prefix>(I-1) of one mesh, from several
 * loopback source addresses. Every stream subscribes like an Envoy sidecar
 * (LDS and CDS by wildcard, then the RDS and EDS names they reference) and
 * ACKs everything. Then it measures:
 *
 *   1. memory per idle stream: the server's RSS (/proc/<pid>/status) once all
 *      streams are connected, subscribed, ACKed and idle, minus its RSS
 *      before the first connection, divided by N;
 *   2. push latency: it sends one UpdateRoute to the App Mesh API and times,
 *      for every stream whose RouteConfiguration changes, the moment the new
 *      RouteConfiguration arrived and its ACK was written (p50/p99/max).
 *
 * The mesh comes from tests/bench/xds_bench.py (which also starts the
 * server and runs this); by hand:
 *
 *   xds_load --xds 127.0.0.1:15010 --api 127.0.0.1:7080 --pid <trellis pid>
 *            --mesh bench --node-prefix vn- --identities 100 --streams 10000
 *            --router vr --route rt --target backend --sources 4
 *
 * Output: one JSON object with the figures (and progress on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench_http.h"
#include "envoy_sidecar.h"

static long rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

typedef struct options {
    const char *xds;
    const char *api;
    int pid;
    const char *mesh;
    const char *node_prefix;
    const char *router;
    const char *route;
    const char *target;
    int identities;
    int streams;
    int sources;
    int settle_ms;
} options;

/* Updates the route through the App Mesh REST API. */
static bool update_route(const options *o, int weight)
{
    char path[512], body[512];
    snprintf(path, sizeof(path), "/v20190125/meshes/%s/virtualRouter/%s/routes/%s", o->mesh, o->router,
             o->route);
    snprintf(body, sizeof(body),
             "{\"spec\":{\"httpRoute\":{\"match\":{\"prefix\":\"/\"},\"action\":"
             "{\"weightedTargets\":[{\"virtualNode\":\"%s\",\"weight\":%d}]}}}}",
             o->target, weight);
    return bench_http_call(o->api, "PUT", path, body);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    options o = {.xds = "127.0.0.1:15010", .api = "127.0.0.1:7080", .mesh = "bench",
                 .node_prefix = "vn-", .router = "vr", .route = "rt", .target = "backend",
                 .identities = 100, .streams = 10000, .sources = 4, .settle_ms = 3000};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--xds")) o.xds = v;
        else if (!strcmp(k, "--api")) o.api = v;
        else if (!strcmp(k, "--pid")) o.pid = atoi(v);
        else if (!strcmp(k, "--mesh")) o.mesh = v;
        else if (!strcmp(k, "--node-prefix")) o.node_prefix = v;
        else if (!strcmp(k, "--router")) o.router = v;
        else if (!strcmp(k, "--route")) o.route = v;
        else if (!strcmp(k, "--target")) o.target = v;
        else if (!strcmp(k, "--identities")) o.identities = atoi(v);
        else if (!strcmp(k, "--streams")) o.streams = atoi(v);
        else if (!strcmp(k, "--sources")) o.sources = atoi(v);
        else if (!strcmp(k, "--settle-ms")) o.settle_ms = atoi(v);
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (!envoy_sidecars_reserve_files(o.streams))
        return 2;
    char host[64];
    int port;
    if (!bench_split_address(o.xds, host, sizeof(host), &port)) {
        fprintf(stderr, "--xds %s: not ip:port\n", o.xds);
        return 2;
    }

    long rss_before = o.pid ? rss_kib(o.pid) : -1;
    envoy_sidecar *proxies = calloc((size_t)o.streams, sizeof(*proxies));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint64_t t_connect = envoy_now_ns();
    for (int i = 0; i < o.streams; i++) {
        char source[32], node[128];
        snprintf(source, sizeof(source), "127.0.0.%d", 2 + i % (o.sources > 0 ? o.sources : 1));
        snprintf(node, sizeof(node), "mesh/%s/virtualNode/%s%d", o.mesh, o.node_prefix, i % o.identities);
        if (!envoy_sidecar_connect(&proxies[i], ep, (uint32_t)i, host, port, o.sources > 0 ? source : NULL,
                                   node)) {
            fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (i % 256 == 255)
            envoy_sidecars_pump(ep, proxies, 0);
    }
    /* everyone subscribed and ACKed */
    uint64_t deadline = envoy_now_ns() + 300000000000ull;
    int done = 0;
    while ((done = envoy_sidecars_settled(proxies, o.streams)) < o.streams && envoy_now_ns() < deadline)
        envoy_sidecars_pump(ep, proxies, 50);
    double connect_s = (double)(envoy_now_ns() - t_connect) / 1e9;
    fprintf(stderr, "%d/%d streams subscribed and ACKed in %.1f s\n", done, o.streams, connect_s);
    /* idle: let the server's queues drain, then measure */
    uint64_t idle_until = envoy_now_ns() + (uint64_t)o.settle_ms * 1000000ull;
    while (envoy_now_ns() < idle_until)
        envoy_sidecars_pump(ep, proxies, 50);
    long rss_idle = o.pid ? rss_kib(o.pid) : -1;

    /* the update: every stream holding the route configuration gets it */
    int affected_before = 0;
    for (int i = 0; i < o.streams; i++)
        affected_before += proxies[i].received[TRELLIS_XDS_ROUTE];
    uint64_t t0 = envoy_now_ns();
    bool updated = update_route(&o, 2 + (int)(t0 % 97));
    uint64_t t_api = envoy_now_ns();
    deadline = t0 + 60000000000ull;
    int got = 0;
    while (updated && envoy_now_ns() < deadline) {
        envoy_sidecars_pump(ep, proxies, 20);
        got = 0;
        for (int i = 0; i < o.streams; i++)
            got += proxies[i].changed_ns[TRELLIS_XDS_ROUTE] > t0;
        if (got == affected_before)
            break;
    }
    uint64_t *lat = calloc((size_t)o.streams, sizeof(*lat));
    int n = 0;
    for (int i = 0; i < o.streams; i++)
        if (proxies[i].changed_ns[TRELLIS_XDS_ROUTE] > t0)
            lat[n++] = proxies[i].changed_ns[TRELLIS_XDS_ROUTE] - t0;
    qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
    int ended = 0;
    for (int i = 0; i < o.streams; i++)
        ended += proxies[i].grpc_status >= 0;
    long rss_after = o.pid ? rss_kib(o.pid) : -1;
    printf("{\"streams\":%d,\"identities\":%d,\"sources\":%d,\"subscribed\":%d,\"connect_s\":%.2f,"
           "\"server_rss_kib_before\":%ld,\"server_rss_kib_idle\":%ld,\"server_rss_kib_after_update\":%ld,"
           "\"bytes_per_idle_stream\":%.0f,\"update_api_ms\":%.2f,\"affected\":%d,\"updated\":%d,"
           "\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,\"streams_ended\":%d}\n",
           o.streams, o.identities, o.sources, done, connect_s, rss_before, rss_idle, rss_after,
           rss_before >= 0 ? (double)(rss_idle - rss_before) * 1024.0 / o.streams : -1,
           (double)(t_api - t0) / 1e6, affected_before, n,
           n ? (double)lat[n / 2] / 1e6 : -1, n ? (double)lat[(size_t)((n - 1) * 0.99)] / 1e6 : -1,
           n ? (double)lat[n - 1] / 1e6 : -1, ended);
    for (int i = 0; i < o.streams; i++)
        envoy_sidecar_free(&proxies[i]);
    free(proxies);
    free(lat);
    close(ep);
    return n == affected_before && updated ? 0 : 1;
}
