/*
 * The benchmark clients' one-shot HTTP/1.1 calls (the App Mesh API, the fake
 * registry's control endpoint): a request on a fresh connection, the answer
 * read until the server closes it or 10 s pass. Blocking; benchmark use only.
 */
#ifndef TRELLIS_BENCH_HTTP_H
#define TRELLIS_BENCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Splits "ip:port" into host (at most host_size - 1 bytes) and port.
 * false if there is no colon. */
bool bench_split_address(const char *address, char *host, size_t host_size, int *port);

/* Sends `method path` with `body` (NULL: none) to address "ip:port";
 * true if the answer's status is 200. Otherwise prints the answer's start
 * on stderr. */
bool bench_http_call(const char *address, const char *method, const char *path, const char *body);

#endif
