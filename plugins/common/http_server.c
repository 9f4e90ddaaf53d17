#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hex_digit.h"
#include "peer_address.h"

#define READ_CHUNK 16384
#define ACCEPT_BATCH 64
#define READS_PER_WAKEUP 16
/* After refusing a request the server reads and discards what the client
 * still sends (it may be mid-body) before closing, so the client reads the
 * answer instead of a reset. Bounded in time and bytes. */
#define LINGER_TIMEOUT_MS 2000
#define LINGER_MAX_BYTES (8u * 1024 * 1024)

typedef struct http_conn http_conn;

struct http_exchange {
    http_conn *conn; /* NULL once the connection is gone */
    http_request request;
    bool head;       /* HEAD: no body in the answer */
};

typedef enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED } body_mode;
typedef enum chunk_phase {
    CHUNK_SIZE,
    CHUNK_DATA,
    CHUNK_DATA_END,
    CHUNK_TRAILER,
    CHUNK_DONE
} chunk_phase;
typedef enum conn_state {
    CONN_READING,
    CONN_HANDLING,
    CONN_WRITING,
    CONN_LINGERING /* answer sent, write side shut, discarding input until EOF */
} conn_state;

/*
 * A connection is reference counted: the server's list holds one reference
 * until conn_close(), and every callback that may close it holds another
 * while it runs, so code after a close never touches freed memory.
 */
struct http_conn {
    http_server *server;
    unsigned refs;
    bool closed;
    int fd;
    trellis_watch *watch;
    trellis_timer *timer;
    conn_state state;
    char peer[64];

    char *in;
    size_t in_len;
    size_t in_cap;         /* always > in_len: in[in_len] is writable */
    size_t scanned;        /* bytes searched for the end of the headers */
    size_t header_end;     /* offset after the blank line; 0 while unknown */

    body_mode body;
    size_t content_length;
    chunk_phase phase;     /* chunked bodies decode in place after header_end */
    size_t raw_pos;
    size_t body_len;
    size_t chunk_left;
    size_t request_end;    /* offset after the whole raw request */
    char saved_byte;       /* in[request_end] before the body's NUL terminator */

    bool keep_alive;
    bool expect_continue;
    bool close_after_write;
    bool linger_after_write; /* a refusal: the client may still be sending */
    size_t lingered_bytes;

    char *out;
    size_t out_len;
    size_t out_off;

    http_exchange *exchange;
    http_conn *prev, *next;
};

struct http_server {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    http_server_options opt;
    char *server_name;
    int listen_fd;
    trellis_watch *listen_watch;
    http_handler_fn handler;
    void *handler_arg;
    http_conn *conns;
    size_t conn_count;
    bool draining;
    void (*on_drained)(void *arg);
    void *on_drained_arg;
};

static void conn_close(http_conn *c);
static void conn_try_parse(http_conn *c);

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---- small helpers ---- */

bool http_url_decode(const char *in, size_t len, char *out, size_t size, bool plus_is_space)
{
    size_t o = 0;
    if (size == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '%') {
            if (i + 2 >= len)
                return false;
            int hi = hex_digit_value(in[i + 1]);
            int lo = hex_digit_value(in[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus_is_space) {
            ch = ' ';
        }
        if (ch == '\0' || o + 1 >= size)
            return false;
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

bool http_query_next(const char **cursor, char *name, size_t name_size, char *value,
                     size_t value_size, bool *bad)
{
    *bad = false;
    const char *p = *cursor;
    while (*p == '&')
        p++;
    if (*p == '\0') {
        *cursor = p;
        return false;
    }
    const char *end = strchr(p, '&');
    if (end == NULL)
        end = p + strlen(p);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *name_end = eq ? eq : end;
    bool ok = http_url_decode(p, (size_t)(name_end - p), name, name_size, true);
    if (ok) {
        if (eq != NULL)
            ok = http_url_decode(eq + 1, (size_t)(end - eq - 1), value, value_size, true);
        else if (value_size > 0)
            value[0] = '\0';
    }
    *cursor = end;
    if (!ok) {
        *bad = true;
        return false;
    }
    return true;
}

const char *http_request_header(const http_request *request, const char *name)
{
    for (size_t i = 0; i < request->header_count; i++) {
        if (strcasecmp(request->headers[i].name, name) == 0)
            return request->headers[i].value;
    }
    return NULL;
}

size_t http_server_connection_count(const http_server *server)
{
    return server->conn_count;
}

bool http_exchange_alive(const http_exchange *exchange)
{
    return exchange != NULL && exchange->conn != NULL;
}

/* ---- connection lifetime ---- */

static void conn_ref(http_conn *c)
{
    c->refs++;
}

static void conn_unref(http_conn *c)
{
    if (--c->refs > 0)
        return;
    free(c->in);
    free(c->out);
    free(c);
}

static void conn_on_timeout(void *arg)
{
    http_conn *c = arg;
    c->server->host->log(c->server->ctx, TRELLIS_LOG_DEBUG, "http_timeout",
                         "closing connection from %s (state %d)", c->peer, (int)c->state);
    conn_close(c);
}

static void conn_arm_timer(http_conn *c, uint64_t ms)
{
    if (ms == 0)
        c->server->host->timer_stop(c->timer);
    else
        c->server->host->timer_start(c->timer, ms, false);
}

static void conn_close(http_conn *c)
{
    if (c->closed)
        return;
    http_server *s = c->server;
    c->closed = true;
    if (c->exchange != NULL) {
        if (c->state == CONN_HANDLING)
            c->exchange->conn = NULL; /* the handler still owns it */
        else
            free(c->exchange);
        c->exchange = NULL;
    }
    s->host->watch_free(c->watch);
    s->host->timer_free(c->timer);
    c->watch = NULL;
    c->timer = NULL;
    close(c->fd);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->conn_count--;
    conn_unref(c);
    if (s->draining && s->conn_count == 0 && s->on_drained != NULL) {
        void (*done)(void *) = s->on_drained;
        s->on_drained = NULL;
        done(s->on_drained_arg);
    }
}

/* ---- output ---- */

/* Writes what is pending; returns false if the connection was closed. */
static bool conn_flush(http_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->server->host->watch_update(c->watch, TRELLIS_WATCH_WRITE);
            return true;
        }
        conn_close(c);
        return false;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    return true;
}

static bool conn_queue(http_conn *c, const char *data, size_t len)
{
    char *grown = realloc(c->out, c->out_len + len);
    if (grown == NULL)
        return false;
    memcpy(grown + c->out_len, data, len);
    c->out = grown;
    c->out_len += len;
    return true;
}

/* Resets the per-request parser state and keeps pipelined bytes. */
static void conn_next_request(http_conn *c)
{
    size_t consumed = c->request_end;
    c->in[consumed] = c->saved_byte;
    memmove(c->in, c->in + consumed, c->in_len - consumed);
    c->in_len -= consumed;
    c->in[c->in_len] = '\0';
    c->scanned = 0;
    c->header_end = 0;
    c->body = BODY_NONE;
    c->content_length = 0;
    c->phase = CHUNK_SIZE;
    c->raw_pos = 0;
    c->body_len = 0;
    c->chunk_left = 0;
    c->request_end = 0;
    c->saved_byte = '\0';
    c->expect_continue = false;
    c->state = CONN_READING;
}

/* Parses pipelined bytes left in the buffer, outside the call chain that
 * answered the previous request (so pipelining never recurses). */
static void conn_resume(void *arg)
{
    http_conn *c = arg;
    if (!c->closed)
        conn_try_parse(c);
    conn_unref(c);
}

/* Half-closes and discards input until the client closes too (or the
 * linger bound is reached); see LINGER_TIMEOUT_MS. */
static void conn_start_linger(http_conn *c)
{
    if (shutdown(c->fd, SHUT_WR) != 0) {
        conn_close(c);
        return;
    }
    c->state = CONN_LINGERING;
    c->server->host->watch_update(c->watch, TRELLIS_WATCH_READ);
    conn_arm_timer(c, LINGER_TIMEOUT_MS);
}

static void conn_on_linger_readable(http_conn *c)
{
    char discard[READ_CHUNK];
    for (int rounds = 0; rounds < READS_PER_WAKEUP; rounds++) {
        ssize_t n = recv(c->fd, discard, sizeof(discard), 0);
        if (n > 0) {
            c->lingered_bytes += (size_t)n;
            if (c->lingered_bytes > LINGER_MAX_BYTES) {
                conn_close(c);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(c); /* end of stream or error */
        return;
    }
}

static void conn_after_write(http_conn *c)
{
    if (c->linger_after_write && !c->server->draining) {
        conn_start_linger(c);
        return;
    }
    if (c->close_after_write || c->server->draining) {
        conn_close(c);
        return;
    }
    conn_next_request(c);
    c->server->host->watch_update(c->watch, TRELLIS_WATCH_READ);
    conn_arm_timer(c, c->in_len > 0 ? c->server->opt.request_timeout_ms
                                    : c->server->opt.idle_timeout_ms);
    if (c->in_len > 0) {
        conn_ref(c);
        if (c->server->host->defer(c->server->ctx, conn_resume, c) != TRELLIS_OK) {
            conn_unref(c);
            conn_close(c);
        }
    }
}

static void conn_send_response(http_conn *c, int status, const char *content_type,
                               const http_header *headers, size_t header_count, const char *body,
                               size_t body_len, bool head)
{
    char head_buf[4096];
    size_t used = 0;
    int n = snprintf(head_buf, sizeof(head_buf), "HTTP/1.1 %d %s\r\nServer: %s\r\n", status,
                     http_status_reason(status), c->server->server_name);
    used = n > 0 ? (size_t)n : 0;
    if (content_type != NULL && used < sizeof(head_buf))
        used += (size_t)snprintf(head_buf + used, sizeof(head_buf) - used,
                                 "Content-Type: %s\r\n", content_type);
    for (size_t i = 0; i < header_count && used < sizeof(head_buf); i++)
        used += (size_t)snprintf(head_buf + used, sizeof(head_buf) - used, "%s: %s\r\n",
                                 headers[i].name, headers[i].value);
    if (!c->keep_alive)
        c->close_after_write = true;
    if (used < sizeof(head_buf))
        used += (size_t)snprintf(head_buf + used, sizeof(head_buf) - used,
                                 "Content-Length: %zu\r\n%s\r\n", body_len,
                                 c->close_after_write ? "Connection: close\r\n" : "");
    if (used >= sizeof(head_buf)) {
        /* The caller's headers overflow our buffer: answer 500 instead. */
        static const char fallback[] =
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        c->close_after_write = true;
        memcpy(head_buf, fallback, sizeof(fallback) - 1);
        used = sizeof(fallback) - 1;
        body_len = 0;
    }
    if (!conn_queue(c, head_buf, used) ||
        (!head && body_len > 0 && !conn_queue(c, body, body_len))) {
        conn_close(c);
        return;
    }
    c->state = CONN_WRITING;
    conn_arm_timer(c, c->server->opt.write_timeout_ms);
    if (!conn_flush(c))
        return;
    if (c->out_len == 0)
        conn_after_write(c);
}

/* A request refused by the server itself: answered by the refusal hook or
 * with a small JSON body; the connection lingers, then closes. */
static void conn_fail(http_conn *c, int status, const char *message)
{
    /* An exchange parsed for this request (its body was still arriving) is
     * abandoned: the handler never saw it. */
    free(c->exchange);
    c->exchange = NULL;
    c->close_after_write = true;
    c->linger_after_write = true;
    c->server->host->watch_update(c->watch, 0);
    conn_arm_timer(c, 0);
    if (c->server->opt.on_refusal != NULL) {
        http_exchange *x = calloc(1, sizeof(*x));
        if (x == NULL) {
            conn_close(c);
            return;
        }
        x->conn = c;
        c->exchange = x;
        c->state = CONN_HANDLING;
        c->server->opt.on_refusal(c->server->opt.on_refusal_arg, x, status, message, c->peer);
        return;
    }
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"message\":\"%s\"}", message);
    conn_send_response(c, status, "application/json", NULL, 0, body, n > 0 ? (size_t)n : 0,
                       false);
}

void http_respond(http_exchange *exchange, int status, const char *content_type,
                  const http_header *headers, size_t header_count, const char *body,
                  size_t body_len)
{
    if (exchange == NULL)
        return;
    http_conn *c = exchange->conn;
    bool head = exchange->head;
    free(exchange);
    if (c == NULL)
        return; /* the client went away */
    c->exchange = NULL;
    conn_send_response(c, status, content_type, headers, header_count, body, body_len, head);
}

/* ---- request parsing ---- */

static bool is_token_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Parses the request line and headers in place (the head is known to end
 * with CRLF CRLF at header_end). Returns 0 or the HTTP status to answer. */
static int parse_head(http_conn *c, http_exchange *x)
{
    http_request *r = &x->request;
    char *p = c->in;
    size_t head_len = c->header_end - 2; /* up to and including the last header's CRLF */
    if (memchr(p, '\0', head_len) != NULL)
        return 400;
    p[head_len] = '\0';

    char *line_end = strstr(p, "\r\n");
    *line_end = '\0';
    char *sp1 = strchr(p, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL)
        return 400;
    *sp1 = '\0';
    *sp2 = '\0';
    r->method = p;
    char *target = sp1 + 1;
    const char *version = sp2 + 1;
    for (const char *m = r->method; *m; m++) {
        if (!is_token_char(*m))
            return 400;
    }
    if (r->method[0] == '\0' || target[0] != '/')
        return 400;
    for (const unsigned char *t = (const unsigned char *)target; *t; t++) {
        if (*t <= ' ' || *t >= 0x7f)
            return 400;
    }
    if (strcmp(version, "HTTP/1.1") == 0)
        c->keep_alive = true;
    else if (strcmp(version, "HTTP/1.0") == 0)
        c->keep_alive = false;
    else
        return strncmp(version, "HTTP/", 5) == 0 ? 505 : 400;

    const char *content_length = NULL;
    const char *transfer_encoding = NULL;
    r->header_count = 0;
    for (char *cursor = line_end + 2; *cursor != '\0';) {
        char *eol = strstr(cursor, "\r\n");
        if (eol == NULL)
            return 400;
        *eol = '\0';
        if (*cursor == ' ' || *cursor == '\t')
            return 400; /* obsolete line folding */
        char *colon = strchr(cursor, ':');
        if (colon == NULL || colon == cursor)
            return 400;
        *colon = '\0';
        for (const char *h = cursor; *h; h++) {
            if (!is_token_char(*h))
                return 400;
        }
        char *value = trim(colon + 1);
        for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
            if ((*v < ' ' && *v != '\t') || *v == 0x7f)
                return 400;
        }
        if (r->header_count == HTTP_MAX_HEADERS)
            return 431;
        r->headers[r->header_count].name = cursor;
        r->headers[r->header_count].value = value;
        r->header_count++;
        if (strcasecmp(cursor, "content-length") == 0) {
            if (content_length != NULL && strcmp(content_length, value) != 0)
                return 400;
            content_length = value;
        } else if (strcasecmp(cursor, "transfer-encoding") == 0) {
            if (transfer_encoding != NULL)
                return 400;
            transfer_encoding = value;
        } else if (strcasecmp(cursor, "connection") == 0) {
            if (strcasecmp(value, "close") == 0)
                c->keep_alive = false;
            else if (strcasecmp(value, "keep-alive") == 0)
                c->keep_alive = true;
        } else if (strcasecmp(cursor, "expect") == 0) {
            if (strcasecmp(value, "100-continue") != 0)
                return 417;
            c->expect_continue = true;
        }
        cursor = eol + 2;
    }

    if (transfer_encoding != NULL) {
        if (content_length != NULL || strcasecmp(transfer_encoding, "chunked") != 0)
            return 400;
        c->body = BODY_CHUNKED;
        c->phase = CHUNK_SIZE;
        c->raw_pos = c->header_end;
    } else if (content_length != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long len = strtoull(content_length, &end, 10);
        if (content_length[0] < '0' || content_length[0] > '9' || *end != '\0' || errno != 0)
            return 400;
        if (len > c->server->opt.max_body_bytes)
            return 413;
        c->content_length = (size_t)len;
        c->body = len > 0 ? BODY_LENGTH : BODY_NONE;
    } else {
        c->body = BODY_NONE;
    }

    x->head = strcmp(r->method, "HEAD") == 0;
    char *question = strchr(target, '?');
    if (question != NULL)
        *question = '\0';
    r->path = target;
    r->query = question != NULL ? question + 1 : "";
    return 0;
}

/* Advances chunked decoding. Returns 1 when done, 0 when more input is
 * needed, or an HTTP status for a malformed or oversized body. */
static int decode_chunked(http_conn *c)
{
    for (;;) {
        char *raw = c->in + c->raw_pos;
        size_t avail = c->in_len - c->raw_pos;
        switch (c->phase) {
        case CHUNK_SIZE: {
            char *eol = memmem(raw, avail, "\r\n", 2);
            if (eol == NULL)
                return avail > 64 ? 400 : 0;
            if (hex_digit_value(*raw) < 0)
                return 400;
            size_t size = 0;
            const char *h = raw;
            for (; h < eol && hex_digit_value(*h) >= 0; h++) {
                if (size > c->server->opt.max_body_bytes)
                    return 413;
                size = size * 16 + (size_t)hex_digit_value(*h);
            }
            if (h < eol && *h != ';' && *h != ' ' && *h != '\t')
                return 400;
            c->raw_pos += (size_t)(eol - raw) + 2;
            if (size == 0) {
                c->phase = CHUNK_TRAILER;
            } else {
                if (size > c->server->opt.max_body_bytes - c->body_len)
                    return 413;
                c->chunk_left = size;
                c->phase = CHUNK_DATA;
            }
            break;
        }
        case CHUNK_DATA: {
            size_t take = avail < c->chunk_left ? avail : c->chunk_left;
            if (take == 0)
                return 0;
            memmove(c->in + c->header_end + c->body_len, raw, take);
            c->body_len += take;
            c->chunk_left -= take;
            c->raw_pos += take;
            if (c->chunk_left == 0)
                c->phase = CHUNK_DATA_END;
            break;
        }
        case CHUNK_DATA_END:
            if (avail < 2)
                return 0;
            if (raw[0] != '\r' || raw[1] != '\n')
                return 400;
            c->raw_pos += 2;
            c->phase = CHUNK_SIZE;
            break;
        case CHUNK_TRAILER: {
            char *eol = memmem(raw, avail, "\r\n", 2);
            if (eol == NULL)
                return avail > c->server->opt.max_header_bytes ? 431 : 0;
            c->raw_pos += (size_t)(eol - raw) + 2;
            if (eol == raw) {
                c->phase = CHUNK_DONE;
                c->request_end = c->raw_pos;
                return 1;
            }
            break;
        }
        case CHUNK_DONE:
            return 1;
        }
    }
}

static void conn_dispatch(http_conn *c, http_exchange *x)
{
    http_request *r = &x->request;
    /* NUL-terminate the body in place. For a Content-Length body that byte is
     * the first of a pipelined request (or spare capacity): keep it for
     * conn_next_request. A decoded chunked body ends inside consumed framing. */
    c->saved_byte = c->in[c->request_end];
    c->in[c->header_end + c->body_len] = '\0';
    r->body = c->in + c->header_end;
    r->body_len = c->body_len;
    r->peer = c->peer;
    c->state = CONN_HANDLING;
    c->exchange = x;
    c->server->host->watch_update(c->watch, 0);
    conn_arm_timer(c, 0);
    c->server->handler(c->server->handler_arg, x, r);
}

static const char *fail_message(int status)
{
    switch (status) {
    case 413: return "request body too large";
    case 417: return "unsupported Expect header";
    case 431: return "request headers too large";
    case 505: return "HTTP version not supported";
    default: return "malformed HTTP request";
    }
}

static void conn_try_parse(http_conn *c)
{
    if (c->state != CONN_READING)
        return;
    if (c->header_end == 0) {
        size_t from = c->scanned > 3 ? c->scanned - 3 : 0;
        char *end = c->in_len > from ? memmem(c->in + from, c->in_len - from, "\r\n\r\n", 4)
                                     : NULL;
        c->scanned = c->in_len;
        if (end == NULL) {
            if (c->in_len > c->server->opt.max_header_bytes)
                conn_fail(c, 431, fail_message(431));
            return;
        }
        c->header_end = (size_t)(end - c->in) + 4;
        if (c->header_end > c->server->opt.max_header_bytes) {
            conn_fail(c, 431, fail_message(431));
            return;
        }
        http_exchange *x = calloc(1, sizeof(*x));
        if (x == NULL) {
            conn_close(c);
            return;
        }
        x->conn = c;
        int status = parse_head(c, x);
        if (status != 0) {
            free(x);
            conn_fail(c, status, fail_message(status));
            return;
        }
        c->exchange = x;
        if (c->expect_continue && c->body != BODY_NONE) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (!conn_queue(c, cont, sizeof(cont) - 1) || !conn_flush(c))
                return;
        }
    }
    if (c->body == BODY_LENGTH) {
        if (c->in_len - c->header_end < c->content_length)
            return;
        c->body_len = c->content_length;
        c->request_end = c->header_end + c->content_length;
    } else if (c->body == BODY_CHUNKED) {
        int rc = decode_chunked(c);
        if (rc == 0)
            return;
        if (rc != 1) {
            free(c->exchange);
            c->exchange = NULL;
            conn_fail(c, rc, rc == 400 ? "malformed chunked body" : fail_message(rc));
            return;
        }
    } else {
        c->body_len = 0;
        c->request_end = c->header_end;
    }
    http_exchange *x = c->exchange;
    c->exchange = NULL;
    conn_dispatch(c, x);
}

/* A request whose head is parsed while its body still arrives points into
 * the input buffer: when the buffer grows (and moves), its pointers must
 * move with it. They are kept as offsets across the realloc. */
typedef struct request_offsets {
    ptrdiff_t method, path, query;
    ptrdiff_t names[HTTP_MAX_HEADERS], values[HTTP_MAX_HEADERS];
} request_offsets;

static ptrdiff_t offset_in(const char *p, const char *base, size_t len)
{
    return p >= base && p < base + len ? p - base : -1;
}

static const char *at_offset(const char *p, ptrdiff_t offset, const char *base)
{
    return offset >= 0 ? base + offset : p;
}

static void request_save_offsets(const http_request *r, const char *base, size_t len,
                                 request_offsets *o)
{
    o->method = offset_in(r->method, base, len);
    o->path = offset_in(r->path, base, len);
    o->query = offset_in(r->query, base, len);
    for (size_t i = 0; i < r->header_count; i++) {
        o->names[i] = offset_in(r->headers[i].name, base, len);
        o->values[i] = offset_in(r->headers[i].value, base, len);
    }
}

static void request_restore_offsets(http_request *r, const request_offsets *o, const char *base)
{
    r->method = at_offset(r->method, o->method, base);
    r->path = at_offset(r->path, o->path, base);
    r->query = at_offset(r->query, o->query, base);
    for (size_t i = 0; i < r->header_count; i++) {
        r->headers[i].name = at_offset(r->headers[i].name, o->names[i], base);
        r->headers[i].value = at_offset(r->headers[i].value, o->values[i], base);
    }
}

/* Ensures room for one more read; false (after answering) if the request is too big. */
static bool conn_reserve(http_conn *c)
{
    size_t limit = c->server->opt.max_header_bytes + c->server->opt.max_body_bytes + READ_CHUNK;
    if (c->in_cap - c->in_len > 1)
        return true;
    if (c->in_cap >= limit + 1) {
        int status = c->header_end ? 413 : 431;
        conn_fail(c, status, fail_message(status));
        return false;
    }
    size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK;
    if (cap > limit + 1)
        cap = limit + 1;
    http_exchange *pending = c->exchange;
    request_offsets offsets = {.method = -1, .path = -1, .query = -1};
    if (pending != NULL)
        request_save_offsets(&pending->request, c->in, c->in_cap, &offsets);
    char *grown = realloc(c->in, cap);
    if (grown == NULL) {
        conn_close(c);
        return false;
    }
    c->in = grown;
    c->in_cap = cap;
    if (pending != NULL)
        request_restore_offsets(&pending->request, &offsets, grown);
    return true;
}

static void conn_on_readable(http_conn *c)
{
    for (int rounds = 0; rounds < READS_PER_WAKEUP && !c->closed && c->state == CONN_READING;
         rounds++) {
        if (!conn_reserve(c))
            return;
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
        if (n > 0) {
            if (c->in_len == 0 && c->header_end == 0)
                conn_arm_timer(c, c->server->opt.request_timeout_ms);
            c->in_len += (size_t)n;
            c->in[c->in_len] = '\0';
            conn_try_parse(c);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(c); /* end of stream or error */
        return;
    }
}

static void conn_on_io(int fd, unsigned events, void *arg)
{
    (void)fd;
    http_conn *c = arg;
    conn_ref(c);
    if ((events & TRELLIS_WATCH_WRITE) && c->state == CONN_WRITING) {
        if (conn_flush(c) && c->out_len == 0)
            conn_after_write(c);
    } else if ((events & TRELLIS_WATCH_READ) && c->state == CONN_READING) {
        conn_on_readable(c);
    } else if ((events & TRELLIS_WATCH_READ) && c->state == CONN_LINGERING) {
        conn_on_linger_readable(c);
    }
    conn_unref(c);
}

static void server_on_accept(int fd, unsigned events, void *arg)
{
    (void)events;
    http_server *s = arg;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s->host->log(s->ctx, TRELLIS_LOG_WARN, "accept_failed", "accept: %s",
                             strerror(errno));
            return;
        }
        if (s->conn_count >= s->opt.max_connections) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            ssize_t ignored = send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)ignored;
            close(cfd);
            continue;
        }
        http_conn *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(cfd);
            continue;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->server = s;
        c->refs = 1;
        c->fd = cfd;
        c->state = CONN_READING;
        peer_address_format(&ss, c->peer, sizeof(c->peer));
        c->watch = s->host->watch_new(s->ctx, cfd, TRELLIS_WATCH_READ, conn_on_io, c);
        c->timer = s->host->timer_new(s->ctx, conn_on_timeout, c);
        if (c->watch == NULL || c->timer == NULL) {
            s->host->watch_free(c->watch);
            s->host->timer_free(c->timer);
            close(cfd);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns != NULL)
            s->conns->prev = c;
        s->conns = c;
        s->conn_count++;
        conn_arm_timer(c, s->opt.idle_timeout_ms);
    }
}

http_server *http_server_start(const trellis_host *host, trellis_host_ctx *ctx,
                               const http_server_options *options, http_handler_fn handler,
                               void *handler_arg, trellis_error *err)
{
    http_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    s->host = host;
    s->ctx = ctx;
    s->opt = *options;
    s->listen_fd = -1;
    s->handler = handler;
    s->handler_arg = handler_arg;
    s->server_name = strdup(options->server_name ? options->server_name : "trellis");
    if (s->server_name == NULL) {
        free(s);
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    if (host->listen_tcp(ctx, options->listen, 1024, &s->listen_fd, err) != TRELLIS_OK) {
        free(s->server_name);
        free(s);
        return NULL;
    }
    s->listen_watch = host->watch_new(ctx, s->listen_fd, TRELLIS_WATCH_READ, server_on_accept, s);
    if (s->listen_watch == NULL) {
        close(s->listen_fd);
        free(s->server_name);
        free(s);
        host->error_set(err, NULL, "out of memory");
        return NULL;
    }
    return s;
}

bool http_server_drain(http_server *server, void (*on_drained)(void *arg), void *arg)
{
    if (server == NULL)
        return true;
    server->draining = true;
    if (server->listen_watch != NULL) {
        server->host->watch_free(server->listen_watch);
        server->listen_watch = NULL;
        close(server->listen_fd);
        server->listen_fd = -1;
    }
    /* Idle keep-alive connections have nothing to finish; lingering ones
     * have had their answer. */
    for (http_conn *c = server->conns; c != NULL;) {
        http_conn *next = c->next;
        if ((c->state == CONN_READING && c->in_len == 0) || c->state == CONN_LINGERING)
            conn_close(c);
        c = next;
    }
    if (server->conn_count == 0)
        return true;
    server->on_drained = on_drained;
    server->on_drained_arg = arg;
    return false;
}

void http_server_free(http_server *server)
{
    if (server == NULL)
        return;
    server->on_drained = NULL;
    while (server->conns != NULL)
        conn_close(server->conns);
    if (server->listen_watch != NULL) {
        server->host->watch_free(server->listen_watch);
        close(server->listen_fd);
    }
    free(server->server_name);
    free(server);
}
