/*
 * The transport under hostile or unusual clients: a garbage preface, HTTP/1,
 * an oversized frame, wrong content-type, wrong method, unknown method path,
 * bad protobuf, an oversized message, a compressed message, a truncated
 * message; keepalive PINGs and their timeout; the handshake timeout; the
 * connection limit; running out of file descriptors; shutdown. Throughout, a
 * well-behaved proxy keeps its stream and gets its updates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_check.h"
#include "xds_test_env.h"

#define NODE "mesh/m/virtualNode/t"

static fake_snapshot *snapshot(uint64_t changed, const char *timeout)
{
    fake_snapshot *s = fake_snapshot_new(changed);
    fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c1", cluster_json("c1", timeout));
    return s;
}

static void free_response(Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* A well-behaved proxy: connected, subscribed, up to date. */
typedef struct good_proxy {
    tclient *t;
    int32_t s;
    int version;
} good_proxy;

static void good_start(xds_env *e, good_proxy *g)
{
    g->t = tc_connect(e);
    g->s = tc_open(g->t, SOTW_PATH);
    tc_request(g->t, g->s, NODE, CDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(g->t, g->s, 2000);
    CHECK(r != NULL);
    if (r)
        tc_ack(g->t, g->s, r, NULL);
    free_response(r);
    g->version = 1;
}

/* Publishes a new version and checks the good proxy receives it. */
static void good_still_served(xds_env *e, good_proxy *g, const char *after)
{
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%ds", ++g->version);
    fake_host_publish(e->fh, NODE, 0, snapshot((uint64_t)g->version, timeout));
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(g->t, g->s, 2000);
    if (r == NULL)
        fprintf(stderr, "the good proxy got no update after: %s\n", after);
    CHECK(r != NULL);
    if (r)
        tc_ack(g->t, g->s, r, NULL);
    free_response(r);
}

/* ---- raw sockets, polled while the loop runs ---- */

static int raw_connect(xds_env *e)
{
    int fd = ads_connect_tcp("127.0.0.1", e->port, NULL);
    CHECK(fd >= 0);
    return fd;
}

/* Reads what the server sends until it closes (or timeout); returns bytes. */
static size_t raw_read_until_close(xds_env *e, int fd, uint8_t *buf, size_t size, int timeout_ms,
                                   bool *closed)
{
    size_t n = 0;
    *closed = false;
    for (int waited = 0; waited < timeout_ms; waited += 5) {
        fake_host_run_once(e->fh, 5);
        for (;;) {
            ssize_t r = read(fd, buf + n, size - n);
            if (r > 0) {
                n += (size_t)r;
                if (n == size)
                    return n;
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                *closed = true;
                return n;
            }
            break;
        }
    }
    return n;
}

/* Finds a GOAWAY frame in server bytes; returns its error code or -1. */
static long find_goaway(const uint8_t *b, size_t n)
{
    size_t off = 0;
    while (off + 9 <= n) {
        size_t len = (size_t)b[off] << 16 | (size_t)b[off + 1] << 8 | b[off + 2];
        if (b[off + 3] == 0x7 && off + 9 + 8 <= n)
            return (long)((uint32_t)b[off + 13] << 24 | (uint32_t)b[off + 14] << 16 |
                          (uint32_t)b[off + 15] << 8 | b[off + 16]);
        off += 9 + len;
    }
    return -1;
}

static void test_hostile_connections(xds_env *e, good_proxy *g)
{
    uint8_t buf[8192];
    bool closed;

    /* garbage instead of the HTTP/2 preface */
    int fd = raw_connect(e);
    const char garbage[] = "\x16\x03\x01 this is not HTTP/2 at all, it is noise.......";
    CHECK(write(fd, garbage, sizeof(garbage) - 1) > 0);
    raw_read_until_close(e, fd, buf, sizeof(buf), 2000, &closed);
    CHECK(closed);
    close(fd);
    good_still_served(e, g, "garbage preface");

    /* HTTP/1.1 gets a plain answer */
    fd = raw_connect(e);
    const char http1[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(write(fd, http1, sizeof(http1) - 1) > 0);
    size_t n = raw_read_until_close(e, fd, buf, sizeof(buf) - 1, 2000, &closed);
    buf[n] = '\0';
    CHECK(closed);
    CHECK_CONTAINS((char *)buf, "HTTP/1.1 505");
    close(fd);

    /* a DATA frame longer than SETTINGS_MAX_FRAME_SIZE: GOAWAY FRAME_SIZE_ERROR */
    fd = raw_connect(e);
    uint8_t settings[9] = {0, 0, 0, 0x4, 0, 0, 0, 0, 0};
    uint8_t data_header[9] = {0x00, 0x4e, 0x20, 0x0, 0x0, 0, 0, 0, 1}; /* 20000 bytes on stream 1 */
    size_t len = 0;
    uint8_t out[24 + 9 + 9 + 20000];
    memcpy(out + len, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    len += 24;
    memcpy(out + len, settings, 9);
    len += 9;
    memcpy(out + len, data_header, 9);
    len += 9;
    memset(out + len, 'x', 20000);
    len += 20000;
    CHECK(write(fd, out, len) > 0);
    n = raw_read_until_close(e, fd, buf, sizeof(buf), 2000, &closed);
    CHECK(closed);
    CHECK_INT(find_goaway(buf, n), 0x6 /* FRAME_SIZE_ERROR */);
    close(fd);
    good_still_served(e, g, "oversized frame");
}

static void test_hostile_streams(xds_env *e, good_proxy *g)
{
    tclient *t = tc_connect(e);
    /* wrong content-type: HTTP 415 with a gRPC status */
    int32_t s1 = ads_client_start(t->c, SOTW_PATH, "application/json", NULL);
    CHECK_INT(tc_status(t, s1, 2000), 3);
    CHECK_INT(ads_client_call(t->c, s1)->http_status, 415);
    /* GET */
    int32_t s2 = ads_client_start(t->c, SOTW_PATH, NULL, "GET");
    tc_status(t, s2, 2000);
    CHECK_INT(ads_client_call(t->c, s2)->http_status, 405);
    /* an unknown method */
    int32_t s3 = ads_client_start(t->c, "/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters",
                                  NULL, NULL);
    CHECK_INT(tc_status(t, s3, 2000), 12);
    CHECK_CONTAINS(ads_client_call(t->c, s3)->grpc_message, "unknown method");
    /* bytes that are not a DiscoveryRequest */
    int32_t s4 = tc_open(t, SOTW_PATH);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80};
    ads_client_send(t->c, s4, junk, sizeof(junk));
    CHECK_INT(tc_status(t, s4, 2000), 3);
    CHECK_CONTAINS(ads_client_call(t->c, s4)->grpc_message, "malformed DiscoveryRequest");
    /* a message above max_request_bytes (4096 here): refused from its prefix */
    int32_t s5 = tc_open(t, DELTA_PATH);
    const uint8_t big_prefix[5] = {0, 0, 0x10, 0, 0}; /* 1 MiB */
    ads_client_send_raw(t->c, s5, big_prefix, 5);
    CHECK_INT(tc_status(t, s5, 2000), 8);
    CHECK_CONTAINS(ads_client_call(t->c, s5)->grpc_message, "max_request_bytes");
    /* the compressed flag without a negotiated encoding */
    int32_t s6 = tc_open(t, SOTW_PATH);
    const uint8_t compressed[6] = {1, 0, 0, 0, 1, 0};
    ads_client_send_raw(t->c, s6, compressed, 6);
    CHECK_INT(tc_status(t, s6, 2000), 13);
    /* half a message, then the end of the stream */
    int32_t s7 = tc_open(t, SOTW_PATH);
    const uint8_t half[8] = {0, 0, 0, 0, 20, 0x0a, 0x01, 0x61};
    ads_client_send_raw(t->c, s7, half, 8);
    ads_client_end(t->c, s7);
    CHECK_INT(tc_status(t, s7, 2000), 13);
    /* a client that resets its stream is simply forgotten */
    int32_t s8 = tc_open(t, SOTW_PATH);
    tc_request(t, s8, NODE, CDS, "", "", NULL);
    fake_host_run_for(e->fh, 50);
    ads_client_reset(t->c, s8);
    fake_host_run_for(e->fh, 50);
    CHECK(!ads_client_closed(t->c)); /* the connection itself lives on */
    CHECK(fake_host_metric(e->fh, "trellis_xds_refused_total", "reason=\"bad_request\"") >= 5);
    tc_close(t);
    good_still_served(e, g, "hostile streams");
}

static void test_keepalive(xds_env *e, good_proxy *g)
{
    /* idle past keepalive_interval: the server PINGs, the client answers */
    uint64_t before = ads_client_pings_answered(g->t->c);
    fake_host_run_for(e->fh, 100); /* the last ACK is read before the clock jumps */
    fake_host_advance(e->fh, 31000);
    fake_host_run_for(e->fh, 1500);
    CHECK(ads_client_pings_answered(g->t->c) > before);
    CHECK(!ads_client_closed(g->t->c));

    /* a client that stops reading entirely: the PING goes unanswered and the
     * connection is closed after keepalive_timeout */
    tclient *mute = tc_connect(e);
    int32_t s = tc_open(mute, SOTW_PATH);
    tc_request(mute, s, NODE, CDS, "", "", NULL);
    fake_host_run_for(e->fh, 100);
    fake_host_table(e->fh)->watch_free(mute->watch); /* stop reading */
    double conns = fake_host_metric(e->fh, "trellis_xds_connections", NULL);
    fake_host_advance(e->fh, 31000);
    fake_host_run_for(e->fh, 1500); /* PING sent */
    fake_host_advance(e->fh, 21000);
    fake_host_run_for(e->fh, 1500); /* timeout */
    CHECK_INT(fake_host_metric(e->fh, "trellis_xds_connections", NULL), conns - 1);
    /* its socket reports the close */
    for (int i = 0; i < 100 && !ads_client_closed(mute->c); i++) {
        ads_client_io(mute->c, TRELLIS_WATCH_READ);
        fake_host_run_once(e->fh, 5);
    }
    CHECK(ads_client_closed(mute->c));
    ads_client_free(mute->c);
    free(mute);
    /* the good proxy answered its PINGs and is still here */
    good_still_served(e, g, "keepalive");

    /* a connection that never sends anything: closed after handshake_timeout */
    int fd = raw_connect(e);
    fake_host_run_for(e->fh, 50); /* accepted */
    fake_host_advance(e->fh, 11000);
    uint8_t buf[256];
    bool closed;
    raw_read_until_close(e, fd, buf, sizeof(buf), 2000, &closed);
    CHECK(closed);
    close(fd);
}

static void test_connection_limit(void)
{
    xds_env e;
    CHECK(env_start(&e, "\"max_connections\":2,\"max_connections_per_identity\":2"));
    fake_host_publish(e.fh, NODE, 0, snapshot(1, "1s"));
    tclient *a = tc_connect(&e), *b = tc_connect(&e);
    fake_host_run_for(e.fh, 50);
    int fd = raw_connect(&e);
    uint8_t buf[64];
    bool closed;
    raw_read_until_close(&e, fd, buf, sizeof(buf), 1000, &closed);
    CHECK(closed);
    close(fd);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_refused_total", "reason=\"connection_limit\""), 1);
    CHECK(fake_host_log_contains(e.fh, "the connection limit is reached"));
    /* the two admitted ones work */
    int32_t s = tc_open(a, SOTW_PATH);
    tc_request(a, s, NODE, CDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(a, s, 2000);
    CHECK(r != NULL);
    free_response(r);
    tc_close(a);
    tc_close(b);
    env_stop(&e);
}

static void test_out_of_descriptors(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE, 0, snapshot(1, "1s"));
    /* clients connect (the kernel queues them), then the process runs out of
     * descriptors before the server accepts */
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = raw_connect(&e);
    struct rlimit saved;
    getrlimit(RLIMIT_NOFILE, &saved);
    int highest = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            highest = fd;
    struct rlimit tight = {.rlim_cur = (rlim_t)highest + 1, .rlim_max = saved.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &tight) == 0);
    /* fill the holes below the limit too */
    int fillers[4096];
    int filled = 0;
    while (filled < 4096 && (fillers[filled] = open("/dev/null", O_RDONLY)) >= 0)
        filled++;
    fake_host_run_for(e.fh, 200);
    for (int i = 0; i < filled; i++)
        close(fillers[i]);
    setrlimit(RLIMIT_NOFILE, &saved);
    CHECK(fake_host_metric(e.fh, "trellis_xds_refused_total", "reason=\"fd_limit\"") >= 1);
    CHECK(fake_host_log_contains(e.fh, "out of file descriptors"));
    /* the refused clients were closed, not left hanging */
    int closed_count = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t b[16];
        bool closed;
        raw_read_until_close(&e, fds[i], b, sizeof(b), 500, &closed);
        closed_count += closed;
        close(fds[i]);
    }
    CHECK(closed_count >= 1);
    /* and with descriptors back, service resumes */
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    tc_request(t, s, NODE, CDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(t, s, 2000);
    CHECK(r != NULL);
    free_response(r);
    tc_close(t);
    env_stop(&e);
}

static void test_shutdown(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE, 0, snapshot(1, "1s"));
    good_proxy g;
    good_start(&e, &g);
    /* stop(): streams end with status 0 (Envoy reconnects), then GOAWAY */
    trellis_status st = e.descriptor->stop(e.instance);
    CHECK(st == TRELLIS_OK || st == TRELLIS_AGAIN);
    CHECK_INT(tc_status(g.t, g.s, 2000), 0);
    uint32_t code = 99;
    fake_host_run_for(e.fh, 100);
    CHECK(ads_client_goaway(g.t->c, &code));
    CHECK_INT(code, 0);
    e.descriptor->destroy(e.instance);
    e.instance = NULL;
    tc_close(g.t);
    env_stop(&e);
}

int main(void)
{
    xds_env e;
    CHECK(env_start(&e, "\"max_request_bytes\":4096"));
    fake_host_publish(e.fh, NODE, 0, snapshot(1, "1s"));
    good_proxy g;
    good_start(&e, &g);
    test_hostile_connections(&e, &g);
    test_hostile_streams(&e, &g);
    test_keepalive(&e, &g);
    tc_close(g.t);
    env_stop(&e);

    test_connection_limit();
    test_out_of_descriptors();
    test_shutdown();
    return test_finish("xds_transport");
}
