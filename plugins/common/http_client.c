#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls_client.h"

#define MAX_ADDRESSES 8
#define RESOLVE_REFRESH_NS (60ull * 1000000000ull) /* addresses are looked up again after a minute */
#define READ_CHUNK 16384
#define ERROR_MAX 320

enum conn_state {
    CONN_CONNECTING,
    CONN_HANDSHAKE,
    CONN_SENDING,
    CONN_RECEIVING,
    CONN_IDLE
};

typedef struct http_conn http_conn;

struct http_client_call {
    http_client *client;
    char *request;                  /* the serialized request */
    size_t request_len;
    bool idempotent;
    int attempts;
    http_client_done_fn done;
    void *arg;
    http_conn *conn;                /* when on a connection */
    http_client_call *next;         /* in the queue */
};

struct http_conn {
    http_client *client;
    int fd;
    trellis_watch *watch;
    unsigned watched;
    trellis_timer *timer;
    tls_session *tls;
    enum conn_state state;
    size_t address;                 /* index of the address being tried */
    http_client_call *call;
    size_t sent;
    bool reused;                    /* it carried a request before this one */
    http_response_parser parser;
    http_conn *prev, *next;
};

typedef struct resolve_job {
    http_client *client;            /* NULL once the client is gone */
    char host[256];
    char port[8];
    struct sockaddr_storage addresses[MAX_ADDRESSES];
    socklen_t lengths[MAX_ADDRESSES];
    size_t count;
    int gai_error;
} resolve_job;

struct http_client {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    http_client_options options;
    bool https;
    char *hostname;                 /* to connect to and verify */
    char *authority;                /* Host header */
    char *ca_file;
    uint16_t port;
    tls_client_config *tls;

    struct sockaddr_storage addresses[MAX_ADDRESSES];
    socklen_t lengths[MAX_ADDRESSES];
    size_t address_count;
    uint64_t resolved_ns;
    resolve_job *resolving;

    http_conn *conns;
    size_t conn_count;
    http_client_call *queue_head, *queue_tail;
    size_t queued;

    trellis_timer *kick;            /* runs dispatch from the loop after a send */
    unsigned callback_depth;        /* > 0 while a user callback runs */
    bool free_requested;
    http_client_stats stats;
};

static void dispatch(http_client *c);
static void conn_close(http_conn *conn);
static void on_conn_event(int fd, unsigned events, void *arg);
static void on_conn_timer(void *arg);

/* ---- the origin ---- */

/* Splits "scheme://host[:port][/]" into its parts. */
static bool parse_url(const char *url, bool *https, char *host, size_t host_size, uint16_t *port,
                      const char **why)
{
    const char *rest;
    if (strncasecmp(url, "http://", 7) == 0) {
        *https = false;
        rest = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        rest = url + 8;
    } else {
        *why = "must start with http:// or https://";
        return false;
    }
    const char *host_end;
    if (*rest == '[') {
        host_end = strchr(rest, ']');
        if (host_end == NULL) {
            *why = "has an unterminated [IPv6] host";
            return false;
        }
        rest++;
    } else {
        host_end = rest + strcspn(rest, ":/");
    }
    size_t host_len = (size_t)(host_end - rest);
    if (host_len == 0 || host_len >= host_size) {
        *why = "has no host or a host that is too long";
        return false;
    }
    memcpy(host, rest, host_len);
    host[host_len] = '\0';
    const char *after = *host_end == ']' ? host_end + 1 : host_end;
    *port = *https ? 443 : 80;
    if (*after == ':') {
        char *end;
        unsigned long p = strtoul(after + 1, &end, 10);
        if (end == after + 1 || p == 0 || p > 65535) {
            *why = "has an invalid port";
            return false;
        }
        *port = (uint16_t)p;
        after = end;
    }
    if (*after != '\0' && strcmp(after, "/") != 0) {
        *why = "must not have a path (the API is served at /)";
        return false;
    }
    return true;
}

/* ---- callbacks out ---- */

/* Calls the user's callback; returns false when the client was freed from
 * inside it (the caller must not touch it any more). */
static bool deliver(http_client *c, http_client_done_fn done, void *arg,
                    const http_client_response *response, const char *error)
{
    c->callback_depth++;
    done(arg, response, error);
    c->callback_depth--;
    if (c->free_requested && c->callback_depth == 0) {
        http_client_free(c);
        return false;
    }
    return !c->free_requested;
}

static void call_free(http_client_call *call)
{
    free(call->request);
    free(call);
}

/* Fails a call that is on no connection and in no queue. */
static bool fail_call(http_client *c, http_client_call *call, const char *error)
{
    http_client_done_fn done = call->done;
    void *arg = call->arg;
    call_free(call);
    return deliver(c, done, arg, NULL, error);
}

static bool fail_queue(http_client *c, const char *error)
{
    while (c->queue_head != NULL) {
        http_client_call *call = c->queue_head;
        c->queue_head = call->next;
        if (c->queue_head == NULL)
            c->queue_tail = NULL;
        c->queued--;
        if (!fail_call(c, call, error))
            return false;
    }
    return true;
}

/* ---- watches and timers ---- */

static void conn_watch(http_conn *conn, unsigned events)
{
    if (conn->watched != events) {
        conn->client->host->watch_update(conn->watch, events);
        conn->watched = events;
    }
}

static void conn_deadline(http_conn *conn, uint64_t ms)
{
    conn->client->host->timer_start(conn->timer, ms, false);
}

/* ---- connecting ---- */

static bool conn_connect_next(http_conn *conn, char *error, size_t error_size)
{
    http_client *c = conn->client;
    for (; conn->address < c->address_count; conn->address++) {
        const struct sockaddr *sa = (const struct sockaddr *)&c->addresses[conn->address];
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(error, error_size, "socket: %s", strerror(errno));
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, sa, c->lengths[conn->address]) != 0 && errno != EINPROGRESS) {
            snprintf(error, error_size, "connect: %s", strerror(errno));
            close(fd);
            continue;
        }
        if (conn->watch != NULL)
            c->host->watch_free(conn->watch);
        conn->fd = fd;
        conn->watch = NULL;
        return true;
    }
    return false;
}

/* A connection for `call` (taken), on the resolved addresses. False when
 * the client was freed by a failure callback. */
static bool conn_open(http_client *c, http_client_call *call)
{
    http_conn *conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return fail_call(c, call, "out of memory");
    conn->client = c;
    conn->fd = -1;
    conn->state = CONN_CONNECTING;
    http_response_parser_init(&conn->parser, c->options.max_head_bytes,
                              c->options.max_body_bytes, false);
    conn->next = c->conns;
    if (c->conns != NULL)
        c->conns->prev = conn;
    c->conns = conn;
    c->conn_count++;
    c->stats.connections++;
    char error[ERROR_MAX] = "no address to connect to";
    conn->timer = c->host->timer_new(c->ctx, on_conn_timer, conn);
    bool ok = conn->timer != NULL && conn_connect_next(conn, error, sizeof(error));
    if (ok) {
        conn->watch = c->host->watch_new(c->ctx, conn->fd, TRELLIS_WATCH_WRITE, on_conn_event, conn);
        conn->watched = TRELLIS_WATCH_WRITE;
        ok = conn->watch != NULL;
        if (!ok)
            snprintf(error, sizeof(error), "out of memory");
    } else if (conn->timer == NULL) {
        snprintf(error, sizeof(error), "out of memory");
    }
    if (!ok) {
        char message[ERROR_MAX + 300];
        snprintf(message, sizeof(message), "cannot connect to %s: %s", c->authority, error);
        conn_close(conn);
        return fail_call(c, call, message);
    }
    conn->call = call;
    call->conn = conn;
    conn_deadline(conn, c->options.connect_timeout_ms);
    return true;
}

/* ---- closing and failing ---- */

static void conn_close(http_conn *conn)
{
    http_client *c = conn->client;
    if (conn->call != NULL)
        conn->call->conn = NULL;
    if (conn->watch != NULL)
        c->host->watch_free(conn->watch);
    if (conn->timer != NULL)
        c->host->timer_free(conn->timer);
    tls_session_free(conn->tls);
    if (conn->fd >= 0)
        close(conn->fd);
    http_response_parser_free(&conn->parser);
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        c->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    c->conn_count--;
    free(conn);
}

/* The request on `conn` failed: close the connection, then retry the call
 * on a fresh one when that is safe, else report the failure. Returns false
 * when the client is gone. */
static bool conn_fail(http_conn *conn, const char *error)
{
    http_client *c = conn->client;
    http_client_call *call = conn->call;
    bool unanswered = !http_response_parser_started(&conn->parser);
    bool retry = call != NULL && conn->reused && unanswered && call->idempotent &&
                 call->attempts < 2 && conn->state != CONN_CONNECTING;
    conn->call = NULL;
    conn_close(conn);
    if (call == NULL)
        return true;
    call->conn = NULL;
    if (retry) {
        call->next = c->queue_head;
        c->queue_head = call;
        if (c->queue_tail == NULL)
            c->queue_tail = call;
        c->queued++;
        return true;
    }
    char message[ERROR_MAX + 300];
    snprintf(message, sizeof(message), "%s: %s", c->authority, error);
    return fail_call(c, call, message);
}

/* ---- sending and receiving ---- */

static void conn_start_sending(http_conn *conn, http_client_call *call)
{
    http_client *c = conn->client;
    conn->call = call;
    call->conn = conn;
    call->attempts++;
    conn->sent = 0;
    conn->state = CONN_SENDING;
    http_response_parser_free(&conn->parser);
    http_response_parser_init(&conn->parser, c->options.max_head_bytes,
                              c->options.max_body_bytes, false);
    c->stats.requests++;
    conn_deadline(conn, c->options.request_timeout_ms);
    conn_watch(conn, TRELLIS_WATCH_WRITE);
}

static ssize_t conn_write(http_conn *conn, const char *data, size_t len, tls_want *want)
{
    *want = TLS_WANT_NOTHING;
    if (conn->tls != NULL)
        return tls_session_write(conn->tls, data, len, want);
    ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        *want = TLS_WANT_WRITE;
    return n;
}

static ssize_t conn_read(http_conn *conn, char *buf, size_t len, tls_want *want)
{
    *want = TLS_WANT_NOTHING;
    if (conn->tls != NULL)
        return tls_session_read(conn->tls, buf, len, want);
    ssize_t n = recv(conn->fd, buf, len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        *want = TLS_WANT_READ;
    return n;
}

static unsigned want_events(tls_want want, unsigned otherwise)
{
    return want == TLS_WANT_READ ? TRELLIS_WATCH_READ
           : want == TLS_WANT_WRITE ? TRELLIS_WATCH_WRITE
                                    : otherwise;
}

/* A whole response arrived: the connection goes idle (or closes), then the
 * caller hears about it. False when the client is gone. */
static bool conn_complete(http_conn *conn)
{
    http_client *c = conn->client;
    http_client_call *call = conn->call;
    http_response_parser parser = conn->parser; /* the answer outlives the connection */
    http_response_parser_init(&conn->parser, c->options.max_head_bytes,
                              c->options.max_body_bytes, false);
    conn->call = NULL;
    call->conn = NULL;
    if (parser.keep_alive) {
        conn->state = CONN_IDLE;
        conn->reused = true;
        conn_watch(conn, TRELLIS_WATCH_READ); /* notices the server closing it */
        conn_deadline(conn, c->options.idle_timeout_ms);
    } else {
        conn_close(conn);
    }
    http_client_response response = {
        .status = parser.status,
        .headers = parser.headers,
        .header_count = parser.header_count,
        .body = parser.body ? parser.body : "",
        .body_len = parser.body_len,
    };
    http_client_done_fn done = call->done;
    void *arg = call->arg;
    call_free(call);
    bool alive = deliver(c, done, arg, &response, NULL);
    http_response_parser_free(&parser);
    return alive;
}

/* Reads what is there; false when the client is gone. */
static bool conn_receive(http_conn *conn)
{
    http_client *c = conn->client;
    char buf[READ_CHUNK];
    for (;;) {
        tls_want want;
        ssize_t n = conn_read(conn, buf, sizeof(buf), &want);
        if (n < 0 && want != TLS_WANT_NOTHING) {
            conn_watch(conn, want_events(want, TRELLIS_WATCH_READ));
            return true;
        }
        if (n < 0) {
            char error[ERROR_MAX];
            snprintf(error, sizeof(error), "reading the response: %s",
                     conn->tls ? "TLS error" : strerror(errno));
            return conn_fail(conn, error);
        }
        if (n == 0) {
            if (http_response_parser_eof(&conn->parser) == HTTP_PARSE_DONE) {
                conn->parser.keep_alive = false;
                return conn_complete(conn);
            }
            return conn_fail(conn, conn->parser.error);
        }
        c->stats.bytes_received += (uint64_t)n;
        size_t used = 0;
        http_parse_result r = http_response_parser_feed(&conn->parser, buf, (size_t)n, &used);
        if (r == HTTP_PARSE_ERROR)
            return conn_fail(conn, conn->parser.error);
        if (r == HTTP_PARSE_DONE) {
            if (used < (size_t)n) /* bytes nobody asked for: do not reuse */
                conn->parser.keep_alive = false;
            return conn_complete(conn);
        }
    }
}

static bool conn_send(http_conn *conn)
{
    http_client *c = conn->client;
    http_client_call *call = conn->call;
    while (conn->sent < call->request_len) {
        tls_want want;
        ssize_t n = conn_write(conn, call->request + conn->sent, call->request_len - conn->sent,
                               &want);
        if (n < 0 && want != TLS_WANT_NOTHING) {
            conn_watch(conn, want_events(want, TRELLIS_WATCH_WRITE));
            return true;
        }
        if (n <= 0) {
            char error[ERROR_MAX];
            snprintf(error, sizeof(error), "sending the request: %s",
                     conn->tls ? "TLS error" : strerror(errno));
            return conn_fail(conn, error);
        }
        conn->sent += (size_t)n;
        c->stats.bytes_sent += (uint64_t)n;
    }
    conn->state = CONN_RECEIVING;
    conn_watch(conn, TRELLIS_WATCH_READ);
    return conn_receive(conn); /* TLS may already hold bytes */
}

static bool conn_handshake(http_conn *conn)
{
    tls_want want;
    char error[ERROR_MAX];
    int r = tls_session_handshake(conn->tls, &want, error, sizeof(error));
    if (r == 0) {
        conn_watch(conn, want_events(want, TRELLIS_WATCH_READ));
        return true;
    }
    if (r < 0)
        return conn_fail(conn, error);
    conn_start_sending(conn, conn->call);
    return conn_send(conn);
}

/* The socket became writable while connecting: connected, or try the next
 * address. */
static bool conn_connected(http_conn *conn)
{
    http_client *c = conn->client;
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0)
        so_error = errno;
    if (so_error != 0) {
        char error[ERROR_MAX];
        snprintf(error, sizeof(error), "connect: %s", strerror(so_error));
        c->host->watch_free(conn->watch);
        conn->watch = NULL;
        close(conn->fd);
        conn->fd = -1;
        conn->address++;
        if (!conn_connect_next(conn, error, sizeof(error))) {
            char message[ERROR_MAX + 64];
            snprintf(message, sizeof(message), "cannot connect (%s)", error);
            return conn_fail(conn, message);
        }
        conn->watch = c->host->watch_new(c->ctx, conn->fd, TRELLIS_WATCH_WRITE, on_conn_event, conn);
        conn->watched = TRELLIS_WATCH_WRITE;
        if (conn->watch == NULL)
            return conn_fail(conn, "out of memory");
        return true;
    }
    if (c->https) {
        conn->tls = tls_session_new(c->tls, conn->fd, c->hostname);
        if (conn->tls == NULL)
            return conn_fail(conn, "out of memory starting TLS");
        conn->state = CONN_HANDSHAKE;
        return conn_handshake(conn);
    }
    conn_start_sending(conn, conn->call);
    return conn_send(conn);
}

static void on_conn_event(int fd, unsigned events, void *arg)
{
    http_conn *conn = arg;
    http_client *c = conn->client;
    (void)fd;
    (void)events;
    bool alive = true;
    switch (conn->state) {
    case CONN_CONNECTING: alive = conn_connected(conn); break;
    case CONN_HANDSHAKE: alive = conn_handshake(conn); break;
    case CONN_SENDING: alive = conn_send(conn); break;
    case CONN_RECEIVING: alive = conn_receive(conn); break;
    case CONN_IDLE:
        /* The server closed it (or sent what nobody asked for). */
        conn_close(conn);
        break;
    }
    if (alive)
        dispatch(c);
}

static void on_conn_timer(void *arg)
{
    http_conn *conn = arg;
    http_client *c = conn->client;
    bool alive = true;
    char error[ERROR_MAX];
    switch (conn->state) {
    case CONN_CONNECTING:
    case CONN_HANDSHAKE:
        snprintf(error, sizeof(error), "no connection within %llu ms",
                 (unsigned long long)c->options.connect_timeout_ms);
        alive = conn_fail(conn, error);
        break;
    case CONN_SENDING:
    case CONN_RECEIVING:
        snprintf(error, sizeof(error), "no complete answer within %llu ms",
                 (unsigned long long)c->options.request_timeout_ms);
        alive = conn_fail(conn, error);
        break;
    case CONN_IDLE:
        conn_close(conn);
        break;
    }
    if (alive)
        dispatch(c);
}

/* ---- name resolution ---- */

static bool literal_address(http_client *c)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&c->addresses[0];
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&c->addresses[0];
    memset(&c->addresses[0], 0, sizeof(c->addresses[0]));
    if (inet_pton(AF_INET, c->hostname, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(c->port);
        c->lengths[0] = sizeof(*v4);
    } else if (inet_pton(AF_INET6, c->hostname, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(c->port);
        c->lengths[0] = sizeof(*v6);
    } else {
        return false;
    }
    c->address_count = 1;
    c->resolved_ns = UINT64_MAX; /* never stale */
    return true;
}

static void resolve_work(void *arg)
{
    resolve_job *job = arg;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *list = NULL;
    job->gai_error = getaddrinfo(job->host, job->port, &hints, &list);
    for (struct addrinfo *ai = list; ai != NULL && job->count < MAX_ADDRESSES; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(job->addresses[0]))
            continue;
        memcpy(&job->addresses[job->count], ai->ai_addr, ai->ai_addrlen);
        job->lengths[job->count++] = ai->ai_addrlen;
    }
    if (list != NULL)
        freeaddrinfo(list);
}

static void resolve_done(void *arg)
{
    resolve_job *job = arg;
    http_client *c = job->client;
    if (c == NULL) {
        free(job);
        return;
    }
    c->resolving = NULL;
    if (job->count == 0) {
        char error[ERROR_MAX + 300];
        snprintf(error, sizeof(error), "cannot resolve %s: %s", c->hostname,
                 job->gai_error ? gai_strerror(job->gai_error) : "no address");
        free(job);
        if (c->address_count == 0) {
            fail_queue(c, error);
            return;
        }
        /* Keep using the addresses known before. */
        c->resolved_ns = c->host->monotonic_ns();
    } else {
        memcpy(c->addresses, job->addresses, sizeof(c->addresses));
        memcpy(c->lengths, job->lengths, sizeof(c->lengths));
        c->address_count = job->count;
        c->resolved_ns = c->host->monotonic_ns();
        free(job);
    }
    dispatch(c);
}

/* True when addresses are known and fresh; otherwise starts a lookup (the
 * queue waits for it). False with the queue failed when it cannot start. */
static bool addresses_ready(http_client *c)
{
    if (c->resolved_ns == UINT64_MAX)
        return true;
    if (c->address_count > 0 && c->host->monotonic_ns() - c->resolved_ns < RESOLVE_REFRESH_NS)
        return true;
    if (c->resolving != NULL)
        return false;
    resolve_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        fail_queue(c, "out of memory resolving the endpoint");
        return false;
    }
    job->client = c;
    snprintf(job->host, sizeof(job->host), "%s", c->hostname);
    snprintf(job->port, sizeof(job->port), "%u", c->port);
    if (c->host->offload(c->ctx, resolve_work, resolve_done, job) != TRELLIS_OK) {
        free(job);
        if (c->address_count > 0)
            return true; /* the old addresses will do */
        fail_queue(c, "cannot resolve the endpoint: the offload queue is full");
        return false;
    }
    c->resolving = job;
    return false;
}

/* ---- dispatching ---- */

static void dispatch(http_client *c)
{
    while (c->queue_head != NULL && !c->free_requested) {
        http_conn *idle = NULL;
        for (http_conn *conn = c->conns; conn != NULL && idle == NULL; conn = conn->next) {
            if (conn->state == CONN_IDLE)
                idle = conn;
        }
        if (idle == NULL && (c->conn_count >= c->options.max_connections || !addresses_ready(c)))
            return;
        http_client_call *call = c->queue_head;
        c->queue_head = call->next;
        if (c->queue_head == NULL)
            c->queue_tail = NULL;
        c->queued--;
        call->next = NULL;
        if (idle != NULL) {
            conn_start_sending(idle, call);
            if (!conn_send(idle))
                return;
        } else if (!conn_open(c, call)) {
            return;
        }
    }
}

static void on_kick(void *arg)
{
    dispatch(arg);
}

/* ---- the API ---- */

static size_t or_default(size_t value, size_t fallback)
{
    return value != 0 ? value : fallback;
}

http_client *http_client_new(const trellis_host *host, trellis_host_ctx *ctx,
                             const http_client_options *options, trellis_error *err)
{
    char hostname[256];
    bool https;
    uint16_t port;
    const char *why = NULL;
    if (options->url == NULL ||
        !parse_url(options->url, &https, hostname, sizeof(hostname), &port, &why)) {
        host->error_set(err, "endpoint", "\"%s\" %s", options->url ? options->url : "",
                        why ? why : "is missing");
        return NULL;
    }
    http_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    c->host = host;
    c->ctx = ctx;
    c->options = *options;
    c->options.url = NULL;
    c->options.ca_file = NULL;
    c->options.max_connections = or_default(options->max_connections, 4);
    c->options.max_queue = or_default(options->max_queue, 1024);
    c->options.max_head_bytes = or_default(options->max_head_bytes, 16384);
    c->options.max_body_bytes = or_default(options->max_body_bytes, 8u << 20);
    c->options.connect_timeout_ms = or_default(options->connect_timeout_ms, 5000);
    c->options.request_timeout_ms = or_default(options->request_timeout_ms, 10000);
    c->options.idle_timeout_ms = or_default(options->idle_timeout_ms, 30000);
    c->https = https;
    c->port = port;
    c->hostname = strdup(hostname);
    bool v6 = strchr(hostname, ':') != NULL;
    bool default_port = port == (https ? 443 : 80);
    char authority[300];
    if (default_port)
        snprintf(authority, sizeof(authority), v6 ? "[%s]" : "%s", hostname);
    else
        snprintf(authority, sizeof(authority), v6 ? "[%s]:%u" : "%s:%u", hostname, port);
    c->authority = strdup(authority);
    if (c->hostname == NULL || c->authority == NULL) {
        host->error_set(err, NULL, "out of memory");
        http_client_free(c);
        return NULL;
    }
    if (https) {
        char reason[ERROR_MAX];
        c->tls = tls_client_config_new(options->ca_file, reason, sizeof(reason));
        if (c->tls == NULL) {
            host->error_set(err, options->ca_file ? "ca_file" : "endpoint", "%s", reason);
            http_client_free(c);
            return NULL;
        }
    }
    c->kick = host->timer_new(ctx, on_kick, c);
    if (c->kick == NULL) {
        host->error_set(err, NULL, "out of memory");
        http_client_free(c);
        return NULL;
    }
    literal_address(c);
    return c;
}

void http_client_free(http_client *c)
{
    if (c == NULL)
        return;
    if (c->callback_depth > 0) {
        c->free_requested = true; /* finished once the callback returns */
        return;
    }
    while (c->conns != NULL) {
        http_conn *conn = c->conns;
        if (conn->call != NULL) {
            call_free(conn->call);
            conn->call = NULL;
        }
        conn_close(conn);
    }
    while (c->queue_head != NULL) {
        http_client_call *call = c->queue_head;
        c->queue_head = call->next;
        call_free(call);
    }
    if (c->resolving != NULL)
        c->resolving->client = NULL; /* its completion frees it */
    if (c->kick != NULL)
        c->host->timer_free(c->kick);
    tls_client_config_free(c->tls);
    free(c->hostname);
    free(c->authority);
    free(c);
}

/* "METHOD path HTTP/1.1", Host, the caller's headers, Content-Length, body. */
static char *serialize(const http_client *c, const http_client_request *r, size_t *len_out)
{
    size_t size = strlen(r->method) + strlen(r->path) + strlen(c->authority) + r->body_len + 96;
    for (size_t i = 0; i < r->header_count; i++)
        size += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 4;
    char *out = malloc(size);
    if (out == NULL)
        return NULL;
    size_t len = (size_t)snprintf(out, size, "%s %s HTTP/1.1\r\nHost: %s\r\n", r->method, r->path,
                                  c->authority);
    for (size_t i = 0; i < r->header_count; i++)
        len += (size_t)snprintf(out + len, size - len, "%s: %s\r\n", r->headers[i].name,
                                r->headers[i].value);
    len += (size_t)snprintf(out + len, size - len, "Content-Length: %zu\r\n\r\n", r->body_len);
    if (r->body_len > 0)
        memcpy(out + len, r->body, r->body_len);
    *len_out = len + r->body_len;
    return out;
}

static bool header_safe(const char *text)
{
    return strpbrk(text, "\r\n") == NULL;
}

trellis_status http_client_send(http_client *c, const http_client_request *request,
                                http_client_done_fn done, void *arg, http_client_call **call_out)
{
    if (c->queued >= c->options.max_queue)
        return TRELLIS_ERR_LIMIT;
    if (!header_safe(request->method) || !header_safe(request->path))
        return TRELLIS_ERR_INVALID;
    for (size_t i = 0; i < request->header_count; i++) {
        if (!header_safe(request->headers[i].name) || !header_safe(request->headers[i].value))
            return TRELLIS_ERR_INVALID;
    }
    http_client_call *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return TRELLIS_ERR_NOMEM;
    call->request = serialize(c, request, &call->request_len);
    if (call->request == NULL) {
        free(call);
        return TRELLIS_ERR_NOMEM;
    }
    call->client = c;
    call->idempotent = request->idempotent;
    call->done = done;
    call->arg = arg;
    if (c->queue_tail != NULL)
        c->queue_tail->next = call;
    else
        c->queue_head = call;
    c->queue_tail = call;
    c->queued++;
    if (call_out != NULL)
        *call_out = call;
    /* Never call back from inside send: dispatch from the loop. */
    c->host->timer_start(c->kick, 0, false);
    return TRELLIS_OK;
}

void http_client_cancel(http_client_call *call)
{
    if (call == NULL)
        return;
    http_client *c = call->client;
    if (call->conn != NULL) {
        http_conn *conn = call->conn;
        conn->call = NULL;
        conn_close(conn); /* mid-request: the connection cannot be reused */
        call_free(call);
        return;
    }
    for (http_client_call **link = &c->queue_head; *link != NULL; link = &(*link)->next) {
        if (*link == call) {
            *link = call->next;
            if (c->queue_tail == call) {
                c->queue_tail = NULL;
                for (http_client_call *q = c->queue_head; q != NULL; q = q->next)
                    c->queue_tail = q;
            }
            c->queued--;
            break;
        }
    }
    call_free(call);
}

const char *http_client_authority(const http_client *c)
{
    return c->authority;
}

void http_client_get_stats(const http_client *c, http_client_stats *out)
{
    *out = c->stats;
    out->open_connections = c->conn_count;
}

const char *http_client_response_header(const http_client_response *response, const char *name)
{
    for (size_t i = 0; i < response->header_count; i++) {
        if (strcasecmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    }
    return NULL;
}
