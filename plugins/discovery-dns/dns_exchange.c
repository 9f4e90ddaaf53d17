#include "dns_exchange.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TCP_MESSAGE_MAX 65535
#define ERROR_MAX 256

enum exchange_state {
    STATE_BEGIN,                    /* the first try starts from the loop */
    STATE_UDP,
    STATE_TCP_CONNECTING,
    STATE_TCP_SENDING,
    STATE_TCP_RECEIVING
};

struct dns_exchange {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    const resolv_config *config;
    char name[DNS_NAME_MAX + 1];
    uint16_t qtype;
    uint64_t timeout_ms;
    unsigned tries_left;
    size_t server;                  /* index of the server of this try */
    dns_exchange_stats *stats;
    dns_exchange_done_fn done;
    void *arg;

    enum exchange_state state;
    int fd;
    trellis_watch *watch;
    trellis_timer *timer;
    uint16_t id;
    uint8_t query[2 + 512];         /* TCP length prefix, then the message */
    size_t query_len;               /* of the message */
    size_t sent;                    /* TCP: bytes of prefix + message sent */
    uint8_t *tcp_buf;               /* TCP: prefix + answer */
    size_t tcp_have;
    char error[ERROR_MAX];
    dns_answer answer;
};

static void on_event(int fd, unsigned events, void *arg);
static void begin_try(dns_exchange *x);

static uint16_t random_id(void)
{
    uint16_t id = 0;
    if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
        /* getrandom(2) without flags only fails before the pool is ready. */
        id = (uint16_t)((uintptr_t)&id ^ (uintptr_t)clock());
    }
    return id;
}

static void close_socket(dns_exchange *x)
{
    if (x->watch != NULL)
        x->host->watch_free(x->watch);
    x->watch = NULL;
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    free(x->tcp_buf);
    x->tcp_buf = NULL;
    x->tcp_have = 0;
}

static void finish(dns_exchange *x, const dns_answer *answer, const char *error)
{
    close_socket(x);
    x->host->timer_stop(x->timer);
    dns_exchange_done_fn done = x->done;
    void *arg = x->arg;
    x->done = NULL;
    /* The callback may cancel (free) the exchange; nothing touches it after. */
    done(arg, answer, error);
}

/* This try failed: the next server, or the end. */
static void next_try(dns_exchange *x)
{
    close_socket(x);
    if (x->tries_left == 0) {
        finish(x, NULL, x->error);
        return;
    }
    x->server = (x->server + 1) % x->config->server_count;
    begin_try(x);
}

static void fail_try(dns_exchange *x, const char *fmt, const char *detail)
{
    snprintf(x->error, sizeof(x->error), fmt, x->config->servers[x->server].text, detail);
    next_try(x);
}

/* A parsed answer to our question arrived (UDP or TCP). */
static void handle_answer(dns_exchange *x)
{
    int rcode = x->answer.rcode;
    if (rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN) {
        finish(x, &x->answer, NULL);
        return;
    }
    fail_try(x, "%s answered %s", dns_rcode_name(rcode));
}

static bool open_socket(dns_exchange *x, int type)
{
    const resolv_server *s = &x->config->servers[x->server];
    x->fd = socket(s->address.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (x->fd < 0) {
        snprintf(x->error, sizeof(x->error), "socket: %s", strerror(errno));
        return false;
    }
    /* UDP: connect() binds a random ephemeral port and filters datagrams
     * from other addresses in the kernel. */
    if (connect(x->fd, (const struct sockaddr *)&s->address, s->length) != 0 &&
        errno != EINPROGRESS) {
        snprintf(x->error, sizeof(x->error), "%s: connect: %s", s->text, strerror(errno));
        return false;
    }
    unsigned events = type == SOCK_DGRAM ? TRELLIS_WATCH_READ : TRELLIS_WATCH_WRITE;
    x->watch = x->host->watch_new(x->ctx, x->fd, events, on_event, x);
    if (x->watch == NULL) {
        snprintf(x->error, sizeof(x->error), "out of memory");
        return false;
    }
    return true;
}

static void begin_try(dns_exchange *x)
{
    x->tries_left--;
    x->id = random_id();
    x->query_len = dns_build_query(x->query + 2, sizeof(x->query) - 2, x->id, x->name, x->qtype);
    x->state = STATE_UDP;
    if (x->query_len == 0) {
        snprintf(x->error, sizeof(x->error), "\"%.200s\" is not a name that can be asked for", x->name);
        x->tries_left = 0;
        next_try(x);
        return;
    }
    if (!open_socket(x, SOCK_DGRAM)) {
        next_try(x);
        return;
    }
    x->stats->udp_queries++;
    if (send(x->fd, x->query + 2, x->query_len, 0) < 0) {
        fail_try(x, "%s: send: %s", strerror(errno));
        return;
    }
    x->host->timer_start(x->timer, x->timeout_ms, false);
}

static void begin_tcp(dns_exchange *x)
{
    close_socket(x);
    x->state = STATE_TCP_CONNECTING;
    x->sent = 0;
    if (!open_socket(x, SOCK_STREAM)) {
        next_try(x);
        return;
    }
    x->stats->tcp_queries++;
    x->query[0] = (uint8_t)(x->query_len >> 8);
    x->query[1] = (uint8_t)x->query_len;
    x->host->timer_start(x->timer, x->timeout_ms, false); /* a fresh deadline for TCP */
}

static void on_udp_readable(dns_exchange *x)
{
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = recv(x->fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            fail_try(x, "%s: %s", strerror(errno)); /* ECONNREFUSED: nothing listens there */
            return;
        }
        if (!dns_parse_answer(buf, (size_t)n, x->id, x->name, x->qtype, &x->answer)) {
            x->stats->ignored++;
            continue;
        }
        if (x->answer.truncated) {
            begin_tcp(x);
            return;
        }
        handle_answer(x);
        return;
    }
}

static void on_tcp_event(dns_exchange *x)
{
    if (x->state == STATE_TCP_CONNECTING) {
        int so_error = 0;
        socklen_t len = sizeof(so_error);
        getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        if (so_error != 0) {
            fail_try(x, "%s: TCP connect: %s", strerror(so_error));
            return;
        }
        x->state = STATE_TCP_SENDING;
    }
    if (x->state == STATE_TCP_SENDING) {
        size_t total = x->query_len + 2;
        while (x->sent < total) {
            ssize_t n = send(x->fd, x->query + x->sent, total - x->sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    return;
                fail_try(x, "%s: TCP send: %s", strerror(errno));
                return;
            }
            x->sent += (size_t)n;
        }
        x->state = STATE_TCP_RECEIVING;
        x->host->watch_update(x->watch, TRELLIS_WATCH_READ);
        x->tcp_buf = malloc(2 + TCP_MESSAGE_MAX);
        if (x->tcp_buf == NULL) {
            fail_try(x, "%s: %s", "out of memory");
            return;
        }
        return;
    }
    for (;;) {
        size_t want = x->tcp_have < 2 ? 2 : 2 + (((size_t)x->tcp_buf[0] << 8) | x->tcp_buf[1]);
        if (x->tcp_have >= 2 && x->tcp_have == want)
            break;
        ssize_t n = recv(x->fd, x->tcp_buf + x->tcp_have, want - x->tcp_have, 0);
        if (n == 0) {
            fail_try(x, "%s: %s", "TCP connection closed before a whole answer");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            fail_try(x, "%s: TCP receive: %s", strerror(errno));
            return;
        }
        x->tcp_have += (size_t)n;
    }
    size_t len = x->tcp_have - 2;
    if (!dns_parse_answer(x->tcp_buf + 2, len, x->id, x->name, x->qtype, &x->answer) ||
        x->answer.truncated) {
        fail_try(x, "%s: %s", "the TCP answer does not answer the question");
        return;
    }
    handle_answer(x);
}

static void on_event(int fd, unsigned events, void *arg)
{
    dns_exchange *x = arg;
    (void)fd;
    (void)events;
    if (x->state == STATE_UDP)
        on_udp_readable(x);
    else
        on_tcp_event(x);
}

static void on_timer(void *arg)
{
    dns_exchange *x = arg;
    if (x->state == STATE_BEGIN) {
        begin_try(x);
        return;
    }
    x->stats->timeouts++;
    char detail[64];
    snprintf(detail, sizeof(detail), "%llu ms", (unsigned long long)x->timeout_ms);
    fail_try(x, "no answer from %s within %s", detail);
}

dns_exchange *dns_exchange_start(const trellis_host *host, trellis_host_ctx *ctx,
                                 const resolv_config *config, const char *name, uint16_t qtype,
                                 uint64_t timeout_ms, unsigned attempts, dns_exchange_stats *stats,
                                 dns_exchange_done_fn done, void *arg)
{
    if (config->server_count == 0)
        return NULL;
    dns_exchange *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->host = host;
    x->ctx = ctx;
    x->config = config;
    snprintf(x->name, sizeof(x->name), "%s", name);
    x->qtype = qtype;
    x->timeout_ms = timeout_ms;
    x->tries_left = (attempts ? attempts : 1) * (unsigned)config->server_count;
    x->stats = stats;
    x->done = done;
    x->arg = arg;
    x->fd = -1;
    x->state = STATE_BEGIN;
    x->timer = host->timer_new(ctx, on_timer, x);
    if (x->timer == NULL) {
        free(x);
        return NULL;
    }
    host->timer_start(x->timer, 0, false);
    return x;
}

void dns_exchange_cancel(dns_exchange *x)
{
    if (x == NULL)
        return;
    close_socket(x);
    x->host->timer_free(x->timer);
    free(x);
}
