/*
 * discovery_load — proxies watching Cloud Map endpoints, for the discovery
 * benchmark (tests/bench/discovery_bench.py runs it).
 *
 * Holds N ADS streams over the virtual nodes <prefix>0 ... <prefix>(I-1)
 * of one mesh (Envoy-like: LDS and CDS by wildcard, then the RDS and EDS
 * names they reference; everything ACKed at once). Once every stream has its
 * endpoints it says so and idles for --idle-s seconds (the orchestrator
 * measures the steady polling cost meanwhile). Then, R times, it registers
 * one instance in one Cloud Map service of the fake registry (POST
 * /control/register?service=<service>), and times, for every stream whose
 * clusters include that service, the moment a new EDS version arrived and
 * its ACK was written; one registration at a time.
 *
 *   discovery_load --xds 127.0.0.1:15010 --registry 127.0.0.1:8999 --mesh bench
 *                  --node-prefix client- --identities 100 --streams 500
 *                  --services 1000 --service-prefix svc- --cluster-format
 *                  cds_egress_bench_svc-%d_http_8080 --registrations 100 --idle-s 60
 *
 * Output: JSON lines, {"phase": "settled", ...}, {"phase": "idle_done"}, then
 * the figures {"phase": "done", "samples": n, "p50_ms": .., "p99_ms": .., ...}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench_http.h"
#include "envoy_sidecar.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *xds = "127.0.0.1:15010", *registry = "127.0.0.1:8999", *mesh = "bench";
    const char *node_prefix = "client-", *service_prefix = "svc-";
    const char *cluster_format = "cds_egress_bench_svc-%d_http_8080";
    int identities = 100, streams = 500, services = 1000, registrations = 100, idle_s = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--xds")) xds = v;
        else if (!strcmp(k, "--registry")) registry = v;
        else if (!strcmp(k, "--mesh")) mesh = v;
        else if (!strcmp(k, "--node-prefix")) node_prefix = v;
        else if (!strcmp(k, "--service-prefix")) service_prefix = v;
        else if (!strcmp(k, "--cluster-format")) cluster_format = v;
        else if (!strcmp(k, "--identities")) identities = atoi(v);
        else if (!strcmp(k, "--streams")) streams = atoi(v);
        else if (!strcmp(k, "--services")) services = atoi(v);
        else if (!strcmp(k, "--registrations")) registrations = atoi(v);
        else if (!strcmp(k, "--idle-s")) idle_s = atoi(v);
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (!envoy_sidecars_reserve_files(streams))
        return 2;
    char host[64];
    int port;
    if (!bench_split_address(xds, host, sizeof(host), &port)) {
        fprintf(stderr, "--xds %s: not ip:port\n", xds);
        return 2;
    }

    envoy_sidecar *proxies = calloc((size_t)streams, sizeof(*proxies));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint64_t t_connect = envoy_now_ns();
    for (int i = 0; i < streams; i++) {
        char node[128];
        snprintf(node, sizeof(node), "mesh/%s/virtualNode/%s%d", mesh, node_prefix, i % identities);
        if (!envoy_sidecar_connect(&proxies[i], ep, (uint32_t)i, host, port, NULL, node)) {
            fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (i % 128 == 127)
            envoy_sidecars_pump(ep, proxies, 0);
    }
    uint64_t deadline = envoy_now_ns() + 300000000000ull;
    int done = 0;
    while ((done = envoy_sidecars_settled(proxies, streams)) < streams && envoy_now_ns() < deadline)
        envoy_sidecars_pump(ep, proxies, 50);
    printf("{\"phase\":\"settled\",\"streams\":%d,\"subscribed\":%d,\"connect_s\":%.2f}\n", streams, done,
           (double)(envoy_now_ns() - t_connect) / 1e9);
    fflush(stdout);
    uint64_t idle_until = envoy_now_ns() + (uint64_t)idle_s * 1000000000ull;
    while (envoy_now_ns() < idle_until)
        envoy_sidecars_pump(ep, proxies, 50);
    printf("{\"phase\":\"idle_done\"}\n");
    fflush(stdout);

    size_t capacity = (size_t)registrations * (size_t)streams;
    uint64_t *lat = calloc(capacity ? capacity : 1, sizeof(*lat));
    bool *affected = calloc((size_t)streams, sizeof(*affected));
    size_t samples = 0;
    int missed = 0, failed = 0;
    for (int r = 0; r < registrations; r++) {
        int k = (int)(((long long)r * 7919) % services);
        char path[128], cluster[128];
        snprintf(path, sizeof(path), "/control/register?service=%s%d", service_prefix, k);
        snprintf(cluster, sizeof(cluster), cluster_format, k);
        int affected_count = 0;
        for (int i = 0; i < streams; i++) {
            affected[i] = name_set_contains(&proxies[i].names[TRELLIS_XDS_ENDPOINT], cluster);
            affected_count += affected[i];
        }
        uint64_t t0 = envoy_now_ns();
        if (!bench_http_call(registry, "POST", path, NULL)) {
            failed++;
            continue;
        }
        uint64_t until = t0 + 60000000000ull;
        int got = 0;
        while (got < affected_count && envoy_now_ns() < until) {
            envoy_sidecars_pump(ep, proxies, 10);
            got = 0;
            for (int i = 0; i < streams; i++)
                got += affected[i] && proxies[i].changed_ns[TRELLIS_XDS_ENDPOINT] > t0;
        }
        for (int i = 0; i < streams; i++) {
            if (affected[i] && proxies[i].changed_ns[TRELLIS_XDS_ENDPOINT] > t0)
                lat[samples++] = proxies[i].changed_ns[TRELLIS_XDS_ENDPOINT] - t0;
        }
        missed += affected_count - got;
        /* let the next registration start from a quiet system */
        uint64_t gap = envoy_now_ns() + 100000000ull;
        while (envoy_now_ns() < gap)
            envoy_sidecars_pump(ep, proxies, 10);
        fprintf(stderr, "registration %d/%d: %d of %d streams updated\n", r + 1, registrations, got,
                affected_count);
    }
    qsort(lat, samples, sizeof(*lat), cmp_u64);
    printf("{\"phase\":\"done\",\"registrations\":%d,\"samples\":%zu,\"missed\":%d,\"failed\":%d,"
           "\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,\"min_ms\":%.1f}\n",
           registrations, samples, missed, failed,
           samples ? (double)lat[samples / 2] / 1e6 : -1,
           samples ? (double)lat[(size_t)((double)(samples - 1) * 0.9)] / 1e6 : -1,
           samples ? (double)lat[(size_t)((double)(samples - 1) * 0.99)] / 1e6 : -1,
           samples ? (double)lat[samples - 1] / 1e6 : -1, samples ? (double)lat[0] / 1e6 : -1);
    for (int i = 0; i < streams; i++)
        envoy_sidecar_free(&proxies[i]);
    free(proxies);
    free(affected);
    free(lat);
    close(ep);
    return missed == 0 && failed == 0 ? 0 : 1;
}
