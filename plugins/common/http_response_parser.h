/*
 * An incremental HTTP/1.1 response parser for the plugin HTTP client: the
 * status line and headers (bounded), then a body framed by Content-Length,
 * chunked transfer coding, or the end of the connection, kept whole in
 * memory up to a bound. Interim 1xx responses are skipped. No I/O here.
 */
#ifndef TRELLIS_PLUGIN_HTTP_RESPONSE_PARSER_H
#define TRELLIS_PLUGIN_HTTP_RESPONSE_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_RESPONSE_MAX_HEADERS 64

typedef struct http_response_header {
    const char *name;
    const char *value;
} http_response_header;

typedef enum http_parse_result {
    HTTP_PARSE_MORE = 0,        /* feed more bytes */
    HTTP_PARSE_DONE = 1,        /* a whole response; see keep_alive */
    HTTP_PARSE_ERROR = -1       /* malformed or too large; see error */
} http_parse_result;

typedef struct http_response_parser {
    /* limits */
    size_t max_head;
    size_t max_body;
    bool head_request;          /* a response to HEAD has no body */

    /* result, valid after HTTP_PARSE_DONE */
    int status;
    http_response_header headers[HTTP_RESPONSE_MAX_HEADERS];
    size_t header_count;
    char *body;                 /* NUL-terminated, or NULL when there is none; owned */
    size_t body_len;
    bool keep_alive;            /* the connection may carry another request */
    const char *error;          /* after HTTP_PARSE_ERROR */

    /* state */
    int phase;
    char *head;                 /* head bytes, split in place into headers */
    size_t head_len;
    size_t body_capacity;
    uint64_t remaining;         /* of the body or the current chunk */
    bool until_close;
    bool chunked;
    char line[256];             /* a chunk-size or trailer line */
    size_t line_len;
} http_response_parser;

void http_response_parser_init(http_response_parser *p, size_t max_head, size_t max_body,
                               bool head_request);
void http_response_parser_free(http_response_parser *p);

/* Consumes bytes; *used tells how many (the rest belongs to nothing: a
 * server must not send before it is asked, so the caller drops it). */
http_parse_result http_response_parser_feed(http_response_parser *p, const char *data, size_t len,
                                            size_t *used);
/* The peer closed: completes a body that runs until the end, else an error. */
http_parse_result http_response_parser_eof(http_response_parser *p);
/* Whether any byte of a response has been seen. */
bool http_response_parser_started(const http_response_parser *p);

/* Case-insensitive lookup in a parsed response; NULL if absent. */
const char *http_response_header_get(const http_response_parser *p, const char *name);

#endif
