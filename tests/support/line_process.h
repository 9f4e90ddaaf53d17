/*
 * line_process — a helper program driven one JSON line at a time, for C
 * tests that need a real registry or DNS server beside the plugin under
 * test (tests/support/dns_responder.py, the discovery conformance backends).
 *
 *   line_process *p = line_process_start((char *[]){"/usr/bin/python3", "x.py", NULL});
 *   json_t *reply = line_process_call(p, "{\"op\": \"start\"}", 30000);
 *   ...
 *   line_process_stop(p);
 *
 * A call writes one line and reads one line back within a deadline; the
 * reply must be a JSON object with "ok": true, else the call fails (NULL,
 * with the reason on stderr). stderr of the helper is the test's stderr.
 */
#ifndef TRELLIS_TEST_LINE_PROCESS_H
#define TRELLIS_TEST_LINE_PROCESS_H

#include <jansson.h>
#include <stdint.h>

typedef struct line_process line_process;

/* argv[0] is a path; NULL if it cannot be started. */
line_process *line_process_start(char *const argv[]);
/* The reply object (owned by the caller), or NULL. */
json_t *line_process_call(line_process *p, const char *line, uint64_t timeout_ms);
/* A call built from a format; same reply rules. */
json_t *line_process_callf(line_process *p, uint64_t timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Closes its stdin, waits a little for it to end, then kills it. */
void line_process_stop(line_process *p);

#endif
