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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
    char rds_version_before[48];
    uint64_t rds_updated_ns;    /* when the changed RDS arrived and was ACKed */
    int grpc_status;
} proxy;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

static void handle(proxy *p, const Envoy__Service__Discovery__V3__DiscoveryResponse *r, bool measuring)
{
    int t = type_of(r->type_url);
    if (t < 0)
        return;
    snprintf(p->version[t], sizeof(p->version[t]), "%s", r->version_info);
    p->received[t] = true;
    send_request(p, t, r->nonce); /* ACK */
    if (t == T_RDS && measuring && p->rds_updated_ns == 0 &&
        strcmp(p->rds_version_before, r->version_info) != 0)
        p->rds_updated_ns = now_ns();
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

/* Updates the route through the App Mesh REST API (plain HTTP/1.1). */
static bool update_route(const options *o, int weight)
{
    char host[64];
    const char *colon = strrchr(o->api, ':');
    snprintf(host, sizeof(host), "%.*s", (int)(colon - o->api), o->api);
    int fd = ads_connect_tcp(host, atoi(colon + 1), NULL);
    if (fd < 0)
        return false;
    char body[512], request[1536];
    int blen = snprintf(body, sizeof(body),
                        "{\"spec\":{\"httpRoute\":{\"match\":{\"prefix\":\"/\"},\"action\":"
                        "{\"weightedTargets\":[{\"virtualNode\":\"%s\",\"weight\":%d}]}}}}",
                        o->target, weight);
    int rlen = snprintf(request, sizeof(request),
                        "PUT /v20190125/meshes/%s/virtualRouter/%s/routes/%s HTTP/1.1\r\n"
                        "Host: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                        "Connection: close\r\n\r\n%s",
                        o->mesh, o->router, o->route, o->api, blen, body);
    /* the socket is non-blocking: poll for the answer */
    ssize_t w = write(fd, request, (size_t)rlen);
    char reply[4096];
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
            usleep(1000);
    }
    reply[n] = '\0';
    close(fd);
    bool ok = w == rlen && strncmp(reply, "HTTP/1.1 200", 12) == 0;
    if (!ok)
        fprintf(stderr, "UpdateRoute failed: %.200s\n", reply);
    return ok;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void pump_io(int ep, proxy *proxies, int n, int timeout_ms, bool measuring)
{
    struct epoll_event events[512];
    int got = epoll_wait(ep, events, 512, timeout_ms);
    for (int i = 0; i < got; i++) {
        proxy *p = &proxies[events[i].data.u32];
        if (p->c == NULL)
            continue;
        ads_client_io(p->c, 0);
        ads_rx_message *m;
        while ((m = ads_client_pop(p->c, p->stream)) != NULL) {
            Envoy__Service__Discovery__V3__DiscoveryResponse *r = ads_unpack_response(m->data, m->len);
            if (r != NULL) {
                handle(p, r, measuring);
                protobuf_c_message_free_unpacked(&r->base, NULL);
            }
            free(m->data);
            free(m);
        }
        ads_client_flush(p->c);
        ads_call *call = ads_client_call(p->c, p->stream);
        if (call && call->grpc_status >= 0 && p->grpc_status < 0) {
            p->grpc_status = call->grpc_status;
            fprintf(stderr, "stream %s ended: %d %s\n", p->node, call->grpc_status, call->grpc_message);
        }
        bool ww = ads_client_wants_write(p->c);
        if (ww != p->wants_write) {
            struct epoll_event ev = {.events = EPOLLIN | (ww ? EPOLLOUT : 0), .data.u32 = events[i].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
            p->wants_write = ww;
        }
    }
    (void)n;
}

static int settled(const proxy *proxies, int n)
{
    int count = 0;
    for (int i = 0; i < n; i++) {
        const proxy *p = &proxies[i];
        if (p->received[T_LDS] && p->received[T_CDS] &&
            (p->names[T_RDS].count == 0 || p->received[T_RDS]) &&
            (p->names[T_EDS].count == 0 || p->received[T_EDS]))
            count++;
    }
    return count;
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
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((long)rl.rlim_cur < o.streams + 64) {
        fprintf(stderr, "the open-file limit (%ld) is too low for %d streams\n", (long)rl.rlim_cur,
                o.streams);
        return 2;
    }
    char host[64];
    const char *colon = strrchr(o.xds, ':');
    snprintf(host, sizeof(host), "%.*s", (int)(colon - o.xds), o.xds);
    int port = atoi(colon + 1);

    long rss_before = o.pid ? rss_kib(o.pid) : -1;
    proxy *proxies = calloc((size_t)o.streams, sizeof(*proxies));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint64_t t_connect = now_ns();
    for (int i = 0; i < o.streams; i++) {
        proxy *p = &proxies[i];
        p->grpc_status = -1;
        char source[32];
        snprintf(source, sizeof(source), "127.0.0.%d", 2 + i % (o.sources > 0 ? o.sources : 1));
        p->fd = ads_connect_tcp(host, port, o.sources > 0 ? source : NULL);
        if (p->fd < 0) {
            fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
            return 1;
        }
        p->c = ads_client_new(p->fd);
        p->stream = ads_client_start(p->c, ADS_PATH, NULL, NULL);
        snprintf(p->node, sizeof(p->node), "mesh/%s/virtualNode/%s%d", o.mesh, o.node_prefix,
                 i % o.identities);
        for (int t = 0; t < T_COUNT; t++)
            name_set_init(&p->names[t]);
        send_request(p, T_LDS, NULL);
        send_request(p, T_CDS, NULL);
        ads_client_flush(p->c);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
        if (i % 256 == 255)
            pump_io(ep, proxies, o.streams, 0, false);
    }
    /* everyone subscribed and ACKed */
    uint64_t deadline = now_ns() + 300000000000ull;
    int done = 0;
    while ((done = settled(proxies, o.streams)) < o.streams && now_ns() < deadline)
        pump_io(ep, proxies, o.streams, 50, false);
    double connect_s = (double)(now_ns() - t_connect) / 1e9;
    fprintf(stderr, "%d/%d streams subscribed and ACKed in %.1f s\n", done, o.streams, connect_s);
    /* idle: let the server's queues drain, then measure */
    uint64_t idle_until = now_ns() + (uint64_t)o.settle_ms * 1000000ull;
    while (now_ns() < idle_until)
        pump_io(ep, proxies, o.streams, 50, false);
    long rss_idle = o.pid ? rss_kib(o.pid) : -1;

    /* the update */
    int affected_before = 0;
    for (int i = 0; i < o.streams; i++) {
        snprintf(proxies[i].rds_version_before, sizeof(proxies[i].rds_version_before), "%s",
                 proxies[i].version[T_RDS]);
        if (proxies[i].received[T_RDS])
            affected_before++;
    }
    uint64_t t0 = now_ns();
    bool updated = update_route(&o, 2 + (int)(t0 % 97));
    uint64_t t_api = now_ns();
    deadline = t0 + 60000000000ull;
    int got = 0;
    while (updated && now_ns() < deadline) {
        pump_io(ep, proxies, o.streams, 20, true);
        got = 0;
        for (int i = 0; i < o.streams; i++)
            got += proxies[i].rds_updated_ns != 0;
        if (got == affected_before)
            break;
    }
    uint64_t *lat = calloc((size_t)o.streams, sizeof(*lat));
    int n = 0;
    for (int i = 0; i < o.streams; i++)
        if (proxies[i].rds_updated_ns)
            lat[n++] = proxies[i].rds_updated_ns - t0;
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
    for (int i = 0; i < o.streams; i++) {
        for (int t = 0; t < T_COUNT; t++)
            name_set_free(&proxies[i].names[t]);
        ads_client_free(proxies[i].c);
    }
    free(proxies);
    free(lat);
    close(ep);
    return n == affected_before && updated ? 0 : 1;
}
