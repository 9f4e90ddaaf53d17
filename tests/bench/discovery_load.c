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
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ads_client.h"
#include "envoy_like.h"

#define LDS_URL "type.googleapis.com/envoy.config.listener.v3.Listener"
#define RDS_URL "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
#define CDS_URL "type.googleapis.com/envoy.config.cluster.v3.Cluster"
#define EDS_URL "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
#define ADS_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"

enum { T_LDS, T_RDS, T_CDS, T_EDS, T_COUNT };
static const char *const type_urls[T_COUNT] = {LDS_URL, RDS_URL, CDS_URL, EDS_URL};

typedef struct proxy {
    ads_client *c;
    int fd;
    int32_t stream;
    char node[128];
    bool node_sent;
    bool wants_write;
    name_set names[T_COUNT];
    bool requested[T_COUNT];
    char version[T_COUNT][48];
    bool received[T_COUNT];
    bool affected;                  /* watches the service registered into now */
    char eds_before[48];
    uint64_t eds_updated_ns;
} proxy;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void send_request(proxy *p, int t, const char *nonce)
{
    bool wildcard = t == T_LDS || t == T_CDS;
    ads_request_spec spec = {
        .type_url = type_urls[t],
        .version_info = p->version[t],
        .response_nonce = nonce ? nonce : "",
        .names = wildcard ? NULL : (const char *const *)p->names[t].names,
        .name_count = wildcard ? 0 : p->names[t].count,
        .node_id = p->node_sent ? NULL : p->node,
        .user_agent = "envoy",
    };
    p->node_sent = true;
    p->requested[t] = true;
    ads_send_request(p->c, p->stream, &spec);
}

static int type_of(const char *url)
{
    for (int t = 0; t < T_COUNT; t++)
        if (strcmp(url, type_urls[t]) == 0)
            return t;
    return -1;
}

static void follow(proxy *p, int t, name_set *next)
{
    if (name_set_equal(next, &p->names[t]) && (p->requested[t] || next->count == 0))
        return;
    name_set_move(&p->names[t], next);
    send_request(p, t, NULL);
}

static void handle(proxy *p, const Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    int t = type_of(r->type_url);
    if (t < 0)
        return;
    snprintf(p->version[t], sizeof(p->version[t]), "%s", r->version_info);
    p->received[t] = true;
    send_request(p, t, r->nonce); /* ACK */
    if (t == T_EDS && p->affected && p->eds_updated_ns == 0 &&
        strcmp(p->eds_before, r->version_info) != 0)
        p->eds_updated_ns = now_ns();
    name_set next;
    name_set_init(&next);
    if (t == T_LDS) {
        envoy_like_route_names(r, &next);
        follow(p, T_RDS, &next);
    } else if (t == T_CDS) {
        envoy_like_endpoint_names(r, &next);
        follow(p, T_EDS, &next);
    }
    name_set_free(&next);
}

static void pump_io(int ep, proxy *proxies, int timeout_ms)
{
    struct epoll_event events[512];
    int got = epoll_wait(ep, events, 512, timeout_ms);
    for (int i = 0; i < got; i++) {
        proxy *p = &proxies[events[i].data.u32];
        ads_client_io(p->c, 0);
        ads_rx_message *m;
        while ((m = ads_client_pop(p->c, p->stream)) != NULL) {
            Envoy__Service__Discovery__V3__DiscoveryResponse *r = ads_unpack_response(m->data, m->len);
            if (r != NULL) {
                handle(p, r);
                protobuf_c_message_free_unpacked(&r->base, NULL);
            }
            free(m->data);
            free(m);
        }
        ads_client_flush(p->c);
        bool ww = ads_client_wants_write(p->c);
        if (ww != p->wants_write) {
            struct epoll_event ev = {.events = EPOLLIN | (ww ? EPOLLOUT : 0), .data.u32 = events[i].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
            p->wants_write = ww;
        }
    }
}

static int settled(const proxy *proxies, int n)
{
    int count = 0;
    for (int i = 0; i < n; i++) {
        const proxy *p = &proxies[i];
        if (p->received[T_LDS] && p->received[T_CDS] && p->received[T_RDS] && p->received[T_EDS])
            count++;
    }
    return count;
}

/* POST /control/register?service=... on the fake registry (blocking). */
static bool register_instance(const char *registry, const char *service)
{
    char host[64];
    const char *colon = strrchr(registry, ':');
    snprintf(host, sizeof(host), "%.*s", (int)(colon - registry), registry);
    int fd = ads_connect_tcp(host, atoi(colon + 1), NULL);
    if (fd < 0)
        return false;
    char request[512];
    int len = snprintf(request, sizeof(request),
                       "POST /control/register?service=%s HTTP/1.1\r\nHost: %s\r\n"
                       "Content-Length: 0\r\nConnection: close\r\n\r\n",
                       service, registry);
    ssize_t w = write(fd, request, (size_t)len);
    char reply[1024];
    size_t n = 0;
    uint64_t deadline = now_ns() + 10000000000ull;
    while (now_ns() < deadline && n < sizeof(reply) - 1) {
        ssize_t r = read(fd, reply + n, sizeof(reply) - 1 - n);
        if (r > 0)
            n += (size_t)r;
        else if (r == 0)
            break;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        else
            usleep(500);
    }
    reply[n] = '\0';
    close(fd);
    return w == len && strncmp(reply, "HTTP/1.1 200", 12) == 0;
}

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
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    char host[64];
    const char *colon = strrchr(xds, ':');
    snprintf(host, sizeof(host), "%.*s", (int)(colon - xds), xds);
    int port = atoi(colon + 1);

    proxy *proxies = calloc((size_t)streams, sizeof(*proxies));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint64_t t_connect = now_ns();
    for (int i = 0; i < streams; i++) {
        proxy *p = &proxies[i];
        p->fd = ads_connect_tcp(host, port, NULL);
        if (p->fd < 0) {
            fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
            return 1;
        }
        p->c = ads_client_new(p->fd);
        p->stream = ads_client_start(p->c, ADS_PATH, NULL, NULL);
        snprintf(p->node, sizeof(p->node), "mesh/%s/virtualNode/%s%d", mesh, node_prefix, i % identities);
        for (int t = 0; t < T_COUNT; t++)
            name_set_init(&p->names[t]);
        send_request(p, T_LDS, NULL);
        send_request(p, T_CDS, NULL);
        ads_client_flush(p->c);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
        if (i % 128 == 127)
            pump_io(ep, proxies, 0);
    }
    uint64_t deadline = now_ns() + 300000000000ull;
    int done;
    while ((done = settled(proxies, streams)) < streams && now_ns() < deadline)
        pump_io(ep, proxies, 50);
    printf("{\"phase\":\"settled\",\"streams\":%d,\"subscribed\":%d,\"connect_s\":%.2f}\n", streams, done,
           (double)(now_ns() - t_connect) / 1e9);
    fflush(stdout);
    uint64_t idle_until = now_ns() + (uint64_t)idle_s * 1000000000ull;
    while (now_ns() < idle_until)
        pump_io(ep, proxies, 50);
    printf("{\"phase\":\"idle_done\"}\n");
    fflush(stdout);

    size_t capacity = (size_t)registrations * (size_t)streams;
    uint64_t *lat = calloc(capacity ? capacity : 1, sizeof(*lat));
    size_t samples = 0;
    int missed = 0, failed = 0;
    for (int r = 0; r < registrations; r++) {
        int k = (int)(((long long)r * 7919) % services);
        char service[64], cluster[128];
        snprintf(service, sizeof(service), "%s%d", service_prefix, k);
        snprintf(cluster, sizeof(cluster), cluster_format, k);
        int affected = 0;
        for (int i = 0; i < streams; i++) {
            proxy *p = &proxies[i];
            p->affected = name_set_contains(&p->names[T_EDS], cluster);
            p->eds_updated_ns = 0;
            snprintf(p->eds_before, sizeof(p->eds_before), "%s", p->version[T_EDS]);
            affected += p->affected;
        }
        uint64_t t0 = now_ns();
        if (!register_instance(registry, service)) {
            failed++;
            continue;
        }
        uint64_t until = t0 + 60000000000ull;
        int got = 0;
        while (got < affected && now_ns() < until) {
            pump_io(ep, proxies, 10);
            got = 0;
            for (int i = 0; i < streams; i++)
                got += proxies[i].affected && proxies[i].eds_updated_ns != 0;
        }
        for (int i = 0; i < streams; i++) {
            if (proxies[i].affected && proxies[i].eds_updated_ns != 0)
                lat[samples++] = proxies[i].eds_updated_ns - t0;
        }
        missed += affected - got;
        /* let the next registration start from a quiet system */
        uint64_t gap = now_ns() + 100000000ull;
        while (now_ns() < gap)
            pump_io(ep, proxies, 10);
        fprintf(stderr, "registration %d/%d: %d of %d streams updated\n", r + 1, registrations, got, affected);
    }
    qsort(lat, samples, sizeof(*lat), cmp_u64);
    printf("{\"phase\":\"done\",\"registrations\":%d,\"samples\":%zu,\"missed\":%d,\"failed\":%d,"
           "\"p50_ms\":%.1f,\"p90_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,\"min_ms\":%.1f}\n",
           registrations, samples, missed, failed,
           samples ? (double)lat[samples / 2] / 1e6 : -1,
           samples ? (double)lat[(size_t)((double)(samples - 1) * 0.9)] / 1e6 : -1,
           samples ? (double)lat[(size_t)((double)(samples - 1) * 0.99)] / 1e6 : -1,
           samples ? (double)lat[samples - 1] / 1e6 : -1, samples ? (double)lat[0] / 1e6 : -1);
    for (int i = 0; i < streams; i++) {
        for (int t = 0; t < T_COUNT; t++)
            name_set_free(&proxies[i].names[t]);
        ads_client_free(proxies[i].c);
    }
    free(proxies);
    free(lat);
    close(ep);
    return missed == 0 && failed == 0 ? 0 : 1;
}
