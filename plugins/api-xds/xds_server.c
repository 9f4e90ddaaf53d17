#include "xds_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "h2_conn.h"
#include "peer_address.h"
#include "xds_proxy.h"

/* Descriptors left for everything else in the process (the store, the admin
 * and API endpoints, log files, plugins' own sockets). */
#define FD_RESERVE 256
/* Accepts per listening-socket event, so a connection storm cannot starve
 * established connections. */
#define ACCEPTS_PER_EVENT 64
#define CLOCK_PERIOD_MS 1000
/* Shared responses unused this long are dropped (they pin their snapshot). */
#define RESPONSE_IDLE_NS (60ull * 1000000000ull)
#define FD_WARNING_INTERVAL_NS (10ull * 1000000000ull)

static void run_flushes(void *arg);
static void notify_drained(void *arg);

xds_server *xds_server_new(const trellis_host *host, trellis_host_ctx *ctx, const xds_config *cfg,
                           trellis_error *err)
{
    xds_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    s->host = host;
    s->ctx = ctx;
    s->cfg = *cfg;
    s->listen_fd = -1;
    s->spare_fd = -1;
    s->connection_limit = cfg->max_connections;
    /* Requests are small; a few maximal ones at a time, at least 64 MiB. */
    s->request_bytes_budget = cfg->max_request_bytes * 8 > (64u << 20) ? cfg->max_request_bytes * 8
                                                                      : (64u << 20);
    strmap_init(&s->identity_streams);
    retention_registry_init(&s->retentions, host);
    snprintf(s->control_plane, sizeof(s->control_plane), "trellis/%s", TRELLIS_PLUGIN_VERSION);
    s->resources = resource_cache_new(cfg->cache_bytes / 2, cfg->max_response_bytes);
    if (s->resources != NULL)
        s->responses = response_cache_new(host, s->resources, cfg->cache_bytes / 2,
                                          cfg->max_response_bytes, s->control_plane);
    if (s->responses == NULL) {
        resource_cache_free(s->resources);
        free(s);
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    s->flush_timer = host->timer_new(ctx, run_flushes, s);
    s->drained_timer = host->timer_new(ctx, notify_drained, s);
    if (s->flush_timer == NULL || s->drained_timer == NULL) {
        xds_server_free(s);
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    xds_metrics_init(&s->metrics, host, ctx);
    return s;
}

/* Makes RLIMIT_NOFILE cover max_connections plus a reserve, as far as the
 * hard limit (or privilege) allows, and lowers the connection limit to what
 * the descriptors can carry so the accept path refuses cleanly. */
static void raise_fd_limit(xds_server *s)
{
    const trellis_host *h = s->host;
    rlim_t need = (rlim_t)s->cfg.max_connections + FD_RESERVE;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t before = rl.rlim_cur;
    if (rl.rlim_cur < need) {
        struct rlimit want = {.rlim_cur = need, .rlim_max = rl.rlim_max < need ? need : rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
            /* Unprivileged: the soft limit may rise up to the hard one. */
            want.rlim_cur = rl.rlim_max;
            want.rlim_max = rl.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &want) != 0)
                want.rlim_cur = rl.rlim_cur;
        }
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != before)
            h->log(s->ctx, TRELLIS_LOG_INFO, "fd_limit_raised",
                   "raised the open-file limit from %llu to %llu for max_connections %zu",
                   (unsigned long long)before, (unsigned long long)rl.rlim_cur,
                   s->cfg.max_connections);
    }
    if (rl.rlim_cur < need) {
        size_t usable = rl.rlim_cur > 2 * FD_RESERVE ? (size_t)(rl.rlim_cur - FD_RESERVE)
                                                     : (size_t)(rl.rlim_cur / 2);
        s->connection_limit = usable;
        h->log(s->ctx, TRELLIS_LOG_WARN, "fd_limit_low",
               "the open-file limit is %llu (hard limit %llu): at most %zu xDS connections will be "
               "accepted instead of max_connections %zu; raise the hard limit (ulimit -Hn, "
               "LimitNOFILE=) to serve more",
               (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, usable,
               s->cfg.max_connections);
    } else {
        s->connection_limit = s->cfg.max_connections;
    }
}

static void warn_refusal(xds_server *s, const char *what)
{
    uint64_t now = s->host->monotonic_ns();
    if (s->last_fd_warning_ns == 0 || now - s->last_fd_warning_ns > FD_WARNING_INTERVAL_NS) {
        s->last_fd_warning_ns = now;
        s->host->log(s->ctx, TRELLIS_LOG_WARN, "connection_refused",
                     "refusing new xDS connections: %s (%zu open)", what, s->conn_count);
    }
}

/* Out of descriptors: give the spare one back, take the waiting connection
 * and close it at once, so the listening socket does not stay readable (and
 * the loop does not spin) while the client learns it should retry. */
static void refuse_with_spare(xds_server *s)
{
    if (s->spare_fd >= 0) {
        close(s->spare_fd);
        s->spare_fd = -1;
    }
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(int fd, unsigned events, void *arg)
{
    (void)events;
    xds_server *s = arg;
    const trellis_host *h = s->host;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof(addr);
        int cfd = accept4(fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                refuse_with_spare(s);
                h->metric_add(s->metrics.refused[XDS_REFUSED_FD_LIMIT], 1);
                warn_refusal(s, "the process is out of file descriptors");
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                h->log(s->ctx, TRELLIS_LOG_WARN, "accept_failed", "accept: %s", strerror(errno));
            break;
        }
        if (s->stopping || s->conn_count >= s->connection_limit) {
            close(cfd);
            h->metric_add(s->metrics.refused[XDS_REFUSED_CONNECTION_LIMIT], 1);
            if (!s->stopping)
                warn_refusal(s, "the connection limit is reached");
            continue;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        char peer[64];
        peer_address_format(&addr, peer, sizeof(peer));
        h2_conn_new(s, cfd, peer);
    }
}

static void run_flushes(void *arg)
{
    xds_server *s = arg;
    s->flush_scheduled = false;
    while (s->dirty != NULL) {
        h2_conn *c = s->dirty;
        s->dirty = c->dirty_next;
        c->dirty_next = NULL;
        c->dirty = false;
        h2_conn_flush(c);
    }
}

void xds_server_schedule_flush(xds_server *s, h2_conn *c)
{
    if (!c->dirty) {
        c->dirty = true;
        c->dirty_next = s->dirty;
        s->dirty = c;
    }
    /* One pass after the current callback flushes every connection a burst of
     * updates touched. A zero-delay timer rather than host->defer: destroy()
     * can cancel a timer, not a deferred call. */
    if (!s->flush_scheduled) {
        s->host->timer_start(s->flush_timer, 0, false);
        s->flush_scheduled = true;
    }
}

static void notify_drained(void *arg)
{
    xds_server *s = arg;
    void (*cb)(void *) = s->on_drained;
    s->on_drained = NULL;
    if (cb != NULL)
        cb(s->on_drained_arg);
}

void xds_server_conn_closed(xds_server *s, h2_conn *c)
{
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        s->conns = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    if (c->dirty) {
        for (h2_conn **p = &s->dirty; *p; p = &(*p)->dirty_next) {
            if (*p == c) {
                *p = c->dirty_next;
                break;
            }
        }
    }
    s->conn_count--;
    s->host->metric_set(s->metrics.connections, (double)s->conn_count);
    if (s->stopping && s->conn_count == 0 && s->on_drained != NULL)
        s->host->timer_start(s->drained_timer, 0, false);
}

static void on_clock(void *arg)
{
    xds_server *s = arg;
    uint64_t now = s->host->monotonic_ns();
    run_flushes(s);
    for (h2_conn *c = s->conns, *next; c; c = next) {
        next = c->all_next;
        h2_conn_tick(c, now);
    }
    if (now > RESPONSE_IDLE_NS)
        response_cache_sweep(s->responses, now - RESPONSE_IDLE_NS);
}

trellis_status xds_server_start(xds_server *s, trellis_error *err)
{
    const trellis_host *h = s->host;
    raise_fd_limit(s);
    trellis_status st = h->listen_tcp(s->ctx, s->cfg.listen, 1024, &s->listen_fd, err);
    if (st != TRELLIS_OK)
        return st;
    s->listen_watch = h->watch_new(s->ctx, s->listen_fd, TRELLIS_WATCH_READ, on_accept, s);
    s->clock = h->timer_new(s->ctx, on_clock, s);
    if (s->listen_watch == NULL || s->clock == NULL) {
        h->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    h->timer_start(s->clock, CLOCK_PERIOD_MS, true);
    h->log(s->ctx, TRELLIS_LOG_INFO, "listening",
           "xDS (gRPC ADS, HTTP/2 cleartext) on %s, up to %zu connections, %zu per identity",
           s->cfg.listen, s->connection_limit, s->cfg.max_connections_per_identity);
    return TRELLIS_OK;
}

static void stop_listening(xds_server *s)
{
    if (s->listen_watch) {
        s->host->watch_free(s->listen_watch);
        s->listen_watch = NULL;
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
}

bool xds_server_drain(xds_server *s, void (*on_drained)(void *arg), void *arg)
{
    s->stopping = true;
    stop_listening(s);
    s->on_drained = on_drained;
    s->on_drained_arg = arg;
    for (h2_conn *c = s->conns, *next; c; c = next) {
        next = c->all_next;
        h2_conn_shutdown(c);
    }
    if (s->conn_count == 0) {
        s->on_drained = NULL;
        return true;
    }
    return false;
}

void xds_server_free(xds_server *s)
{
    if (s == NULL)
        return;
    const trellis_host *h = s->host;
    s->on_drained = NULL;
    stop_listening(s);
    while (s->conns != NULL)
        h2_conn_abort(s->conns, "the xDS server stopped");
    /* Last, so nothing above can start a freed timer. */
    if (s->clock)
        h->timer_free(s->clock);
    if (s->flush_timer)
        h->timer_free(s->flush_timer);
    if (s->drained_timer)
        h->timer_free(s->drained_timer);
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    response_cache_free(s->responses);
    resource_cache_free(s->resources);
    retention_registry_free(&s->retentions); /* the streams released theirs when they closed */
    strmap_free(&s->identity_streams);
    free(s);
}
