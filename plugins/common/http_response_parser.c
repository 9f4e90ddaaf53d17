#include "http_response_parser.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    PHASE_HEAD,
    PHASE_BODY,                 /* Content-Length or until close */
    PHASE_CHUNK_SIZE,
    PHASE_CHUNK_DATA,
    PHASE_CHUNK_DATA_END,       /* the CRLF after a chunk */
    PHASE_TRAILERS,
    PHASE_DONE
};

void http_response_parser_init(http_response_parser *p, size_t max_head, size_t max_body,
                               bool head_request)
{
    memset(p, 0, sizeof(*p));
    p->max_head = max_head;
    p->max_body = max_body;
    p->head_request = head_request;
}

void http_response_parser_free(http_response_parser *p)
{
    free(p->head);
    free(p->body);
    p->head = p->body = NULL;
}

bool http_response_parser_started(const http_response_parser *p)
{
    return p->head_len > 0 || p->phase != PHASE_HEAD;
}

const char *http_response_header_get(const http_response_parser *p, const char *name)
{
    for (size_t i = 0; i < p->header_count; i++) {
        if (strcasecmp(p->headers[i].name, name) == 0)
            return p->headers[i].value;
    }
    return NULL;
}

static http_parse_result fail(http_response_parser *p, const char *why)
{
    p->error = why;
    return HTTP_PARSE_ERROR;
}

static bool body_reserve(http_response_parser *p, size_t more)
{
    if (p->body_len + more > p->max_body)
        return false;
    if (p->body_len + more + 1 <= p->body_capacity)
        return true;
    size_t capacity = p->body_capacity ? p->body_capacity : 4096;
    while (capacity < p->body_len + more + 1)
        capacity *= 2;
    if (capacity > p->max_body + 1)
        capacity = p->max_body + 1;
    char *grown = realloc(p->body, capacity);
    if (grown == NULL)
        return false;
    p->body = grown;
    p->body_capacity = capacity;
    return true;
}

static bool body_append(http_response_parser *p, const char *data, size_t len)
{
    if (!body_reserve(p, len))
        return false;
    memcpy(p->body + p->body_len, data, len);
    p->body_len += len;
    p->body[p->body_len] = '\0';
    return true;
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

static bool token_listed(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p != NULL && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncasecmp(p, token, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
        p = strchr(p, ',');
    }
    return false;
}

/* The head is complete in p->head (p->head_len bytes, ending in CRLFCRLF):
 * split it in place, decide the body framing. */
static http_parse_result parse_head(http_response_parser *p)
{
    p->head[p->head_len - 4] = '\0';
    char *cursor = p->head;
    char *eol = strstr(cursor, "\r\n");
    if (eol != NULL)
        *eol = '\0';
    int minor;
    char space;
    if (sscanf(cursor, "HTTP/1.%d %3d%c", &minor, &p->status, &space) < 2 || p->status < 100 ||
        p->status > 599)
        return fail(p, "malformed status line");
    bool http11 = minor >= 1;
    p->header_count = 0;
    cursor = eol ? eol + 2 : cursor + strlen(cursor);
    while (*cursor) {
        eol = strstr(cursor, "\r\n");
        if (eol != NULL)
            *eol = '\0';
        if (*cursor == ' ' || *cursor == '\t')
            return fail(p, "obsolete header line folding");
        char *colon = strchr(cursor, ':');
        if (colon == NULL || colon == cursor)
            return fail(p, "malformed header line");
        if (p->header_count == HTTP_RESPONSE_MAX_HEADERS)
            return fail(p, "too many response headers");
        *colon = '\0';
        p->headers[p->header_count].name = cursor;
        p->headers[p->header_count].value = trim(colon + 1);
        p->header_count++;
        cursor = eol ? eol + 2 : cursor + strlen(cursor);
    }

    const char *connection = http_response_header_get(p, "Connection");
    p->keep_alive = http11 ? !(connection && token_listed(connection, "close"))
                           : (connection && token_listed(connection, "keep-alive"));
    const char *encoding = http_response_header_get(p, "Transfer-Encoding");
    const char *length = http_response_header_get(p, "Content-Length");
    if (p->head_request || p->status == 204 || p->status == 304) {
        p->phase = PHASE_DONE;
        return HTTP_PARSE_DONE;
    }
    if (encoding != NULL) {
        if (!token_listed(encoding, "chunked"))
            return fail(p, "unsupported transfer coding");
        p->chunked = true;
        p->phase = PHASE_CHUNK_SIZE;
    } else if (length != NULL) {
        char *end;
        unsigned long long n = strtoull(length, &end, 10);
        if (end == length || *end != '\0' || !isdigit((unsigned char)length[0]))
            return fail(p, "malformed Content-Length");
        if (n > p->max_body)
            return fail(p, "response body too large");
        p->remaining = n;
        p->phase = PHASE_BODY;
        if (!body_reserve(p, (size_t)n))
            return fail(p, "out of memory for the response body");
        p->body[0] = '\0';
        if (n == 0) {
            p->phase = PHASE_DONE;
            return HTTP_PARSE_DONE;
        }
    } else {
        p->until_close = true;
        p->keep_alive = false;
        p->phase = PHASE_BODY;
    }
    if (!body_reserve(p, 0))
        return fail(p, "out of memory for the response body");
    p->body[p->body_len] = '\0';
    return HTTP_PARSE_MORE;
}

/* Collects a CRLF-terminated line of the chunked framing into p->line. */
static bool take_line(http_response_parser *p, const char *data, size_t len, size_t *at,
                      bool *overflow)
{
    while (*at < len) {
        char c = data[(*at)++];
        if (c == '\n') {
            if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
                p->line_len--;
            p->line[p->line_len] = '\0';
            p->line_len = 0;
            return true;
        }
        if (p->line_len + 1 >= sizeof(p->line)) {
            *overflow = true;
            return false;
        }
        p->line[p->line_len++] = c;
    }
    return false;
}

http_parse_result http_response_parser_feed(http_response_parser *p, const char *data, size_t len,
                                            size_t *used)
{
    size_t at = 0;
    http_parse_result result = HTTP_PARSE_MORE;
    while (at < len && result == HTTP_PARSE_MORE) {
        switch (p->phase) {
        case PHASE_HEAD: {
            if (p->head == NULL && (p->head = malloc(p->max_head + 1)) == NULL) {
                result = fail(p, "out of memory for the response head");
                break;
            }
            /* Byte by byte until CRLFCRLF: heads are small and bounded. */
            while (at < len) {
                if (p->head_len == p->max_head) {
                    result = fail(p, "response head too large");
                    break;
                }
                p->head[p->head_len++] = data[at++];
                if (p->head_len >= 4 && memcmp(p->head + p->head_len - 4, "\r\n\r\n", 4) == 0)
                    break;
            }
            if (result != HTTP_PARSE_MORE || p->head_len < 4 ||
                memcmp(p->head + p->head_len - 4, "\r\n\r\n", 4) != 0)
                break;
            result = parse_head(p);
            if (result != HTTP_PARSE_ERROR && p->status >= 100 && p->status < 200) {
                /* An interim response: wait for the real one. */
                p->head_len = 0;
                p->header_count = 0;
                p->phase = PHASE_HEAD;
                p->chunked = p->until_close = false;
                p->body_len = 0;
                result = HTTP_PARSE_MORE;
            }
            break;
        }
        case PHASE_BODY: {
            size_t take = len - at;
            if (!p->until_close && take > p->remaining)
                take = (size_t)p->remaining;
            if (!body_append(p, data + at, take)) {
                result = fail(p, "response body too large");
                break;
            }
            at += take;
            if (!p->until_close) {
                p->remaining -= take;
                if (p->remaining == 0) {
                    p->phase = PHASE_DONE;
                    result = HTTP_PARSE_DONE;
                }
            }
            break;
        }
        case PHASE_CHUNK_SIZE: {
            bool overflow = false;
            if (!take_line(p, data, len, &at, &overflow)) {
                if (overflow)
                    result = fail(p, "chunk size line too long");
                break;
            }
            char *end;
            if (!isxdigit((unsigned char)p->line[0])) {
                result = fail(p, "malformed chunk size");
                break;
            }
            unsigned long long n = strtoull(p->line, &end, 16);
            if (*end != '\0' && *end != ';' && *end != ' ') {
                result = fail(p, "malformed chunk size");
                break;
            }
            if (n > p->max_body - p->body_len) {
                result = fail(p, "response body too large");
                break;
            }
            p->remaining = n;
            p->phase = n == 0 ? PHASE_TRAILERS : PHASE_CHUNK_DATA;
            break;
        }
        case PHASE_CHUNK_DATA: {
            size_t take = len - at;
            if (take > p->remaining)
                take = (size_t)p->remaining;
            if (!body_append(p, data + at, take)) {
                result = fail(p, "response body too large");
                break;
            }
            at += take;
            p->remaining -= take;
            if (p->remaining == 0)
                p->phase = PHASE_CHUNK_DATA_END;
            break;
        }
        case PHASE_CHUNK_DATA_END:
        case PHASE_TRAILERS: {
            bool overflow = false;
            if (!take_line(p, data, len, &at, &overflow)) {
                if (overflow)
                    result = fail(p, "trailer line too long");
                break;
            }
            if (p->phase == PHASE_CHUNK_DATA_END) {
                if (p->line[0] != '\0')
                    result = fail(p, "chunk not followed by CRLF");
                else
                    p->phase = PHASE_CHUNK_SIZE;
            } else if (p->line[0] == '\0') {
                p->phase = PHASE_DONE;
                result = HTTP_PARSE_DONE;
            }
            break;
        }
        default:
            result = HTTP_PARSE_DONE;
            break;
        }
    }
    *used = at;
    if (result == HTTP_PARSE_MORE && p->phase == PHASE_DONE)
        result = HTTP_PARSE_DONE;
    return result;
}

http_parse_result http_response_parser_eof(http_response_parser *p)
{
    if (p->phase == PHASE_DONE)
        return HTTP_PARSE_DONE;
    if (p->phase == PHASE_BODY && p->until_close) {
        p->phase = PHASE_DONE;
        return HTTP_PARSE_DONE;
    }
    return fail(p, p->head_len == 0 && p->phase == PHASE_HEAD
                       ? "connection closed before a response"
                       : "connection closed in the middle of a response");
}
