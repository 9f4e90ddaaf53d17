/*
 * The HTTP client's response parser: Content-Length, chunked (with
 * extensions and trailers) and until-close bodies, fed in any split;
 * interim 1xx answers skipped; keep-alive by version and Connection; bodies
 * without content (204, 304, HEAD); and refusals: oversized heads and
 * bodies, malformed status lines, headers, lengths and chunks, a connection
 * closed too early.
 */
#include <stdlib.h>
#include <string.h>

#include "http_response_parser.h"
#include "test_check.h"

/* Feeds `text` in pieces of `step` bytes; returns the final result. */
static http_parse_result feed(http_response_parser *p, const char *text, size_t step)
{
    size_t len = strlen(text), at = 0;
    http_parse_result r = HTTP_PARSE_MORE;
    while (at < len && r == HTTP_PARSE_MORE) {
        size_t n = len - at < step ? len - at : step, used = 0;
        r = http_response_parser_feed(p, text + at, n, &used);
        at += used;
        if (r == HTTP_PARSE_MORE && used != n)
            return HTTP_PARSE_ERROR; /* a parser that stops early must say why */
    }
    return r;
}

static void test_content_length_any_split(void)
{
    const char *text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                       "X-Amzn-RequestId: abc\r\n\r\n{\"ok\":true}";
    for (size_t step = 1; step <= strlen(text); step += 7) {
        http_response_parser p;
        http_response_parser_init(&p, 4096, 4096, false);
        CHECK_INT(feed(&p, text, step), HTTP_PARSE_DONE);
        CHECK_INT(p.status, 200);
        CHECK_INT(p.body_len, 11);
        CHECK_STR(p.body, "{\"ok\":true}");
        CHECK(p.keep_alive);
        CHECK_STR(http_response_header_get(&p, "x-amzn-requestid"), "abc");
        http_response_parser_free(&p);
    }
}

static void test_chunked_and_interim(void)
{
    const char *text = "HTTP/1.1 100 Continue\r\n\r\n"
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t step = 1; step < 12; step++) {
        http_response_parser p;
        http_response_parser_init(&p, 4096, 4096, false);
        CHECK_INT(feed(&p, text, step), HTTP_PARSE_DONE);
        CHECK_INT(p.status, 200);
        CHECK_STR(p.body, "hello world");
        CHECK(p.keep_alive);
        http_response_parser_free(&p);
    }
}

static void test_until_close_and_no_body(void)
{
    http_response_parser p;
    http_response_parser_init(&p, 4096, 4096, false);
    CHECK_INT(feed(&p, "HTTP/1.0 200 OK\r\n\r\npartial", 64), HTTP_PARSE_MORE);
    CHECK_INT(http_response_parser_eof(&p), HTTP_PARSE_DONE);
    CHECK_STR(p.body, "partial");
    CHECK(!p.keep_alive);
    http_response_parser_free(&p);

    http_response_parser_init(&p, 4096, 4096, false);
    CHECK_INT(feed(&p, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 64), HTTP_PARSE_DONE);
    CHECK(!p.keep_alive);
    CHECK_INT(p.body_len, 0);
    http_response_parser_free(&p);

    http_response_parser_init(&p, 4096, 4096, true); /* HEAD */
    CHECK_INT(feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", 64), HTTP_PARSE_DONE);
    http_response_parser_free(&p);

    http_response_parser_init(&p, 4096, 4096, false);
    CHECK_INT(feed(&p, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 64),
              HTTP_PARSE_DONE);
    CHECK(p.keep_alive);
    http_response_parser_free(&p);
}

static void refused(const char *text, size_t max_head, size_t max_body, const char *why)
{
    http_response_parser p;
    http_response_parser_init(&p, max_head, max_body, false);
    http_parse_result r = feed(&p, text, 64);
    if (r == HTTP_PARSE_MORE)
        r = http_response_parser_eof(&p);
    CHECK_INT(r, HTTP_PARSE_ERROR);
    CHECK_CONTAINS(p.error, why);
    http_response_parser_free(&p);
}

static void test_refusals(void)
{
    refused("HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 32, 64, "head too large");
    refused("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", 4096, 64, "body too large");
    refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", 4096, 64, "body too large");
    refused("HTTP/1.1 200 OK\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123456789",
            4096, 64, "body too large");
    refused("HTTP/2 200\r\n\r\n", 4096, 64, "status line");
    refused("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 4096, 64, "header line");
    refused("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 4096, 64, "Content-Length");
    refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 4096, 64, "transfer coding");
    refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4096, 64, "chunk size");
    refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", 4096, 64, "CRLF");
    refused("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 4096, 64, "middle of a response");
    refused("", 4096, 64, "before a response");
}

int main(void)
{
    test_content_length_any_split();
    test_chunked_and_interim();
    test_until_close_and_no_body();
    test_refusals();
    return test_finish("http_response_parser");
}
