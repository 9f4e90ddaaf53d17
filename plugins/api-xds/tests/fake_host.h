/*
 * A fake trellis host for api.xds tests (and the standalone test server the
 * benchmark can use): an epoll loop with fd watches, timers and deferred
 * calls; config from JSON with the schema's defaults; metrics, logs and debug
 * providers kept for inspection; and a fake snapshot engine behind xds_watch,
 * whose identities and snapshots the test publishes by hand.
 *
 * Node ids accepted: "mesh/M/virtualNode/N", "mesh/M/virtualGateway/G",
 * "mesh/M@OWNER/virtualNode/N" and "arn:aws:appmesh:REGION:ACCOUNT:mesh/M/..."
 * (the same forms the core accepts); anything else is TRELLIS_ERR_INVALID, an
 * identity not published TRELLIS_ERR_NOT_FOUND. Single-threaded.
 */
#ifndef TRELLIS_XDS_FAKE_HOST_H
#define TRELLIS_XDS_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

typedef struct fake_host fake_host;
typedef struct fake_snapshot fake_snapshot;

fake_host *fake_host_new(void);
void fake_host_free(fake_host *fh);
const trellis_host *fake_host_table(fake_host *fh);
trellis_host_ctx *fake_host_ctx(fake_host *fh);

/* A config for `schema` from a JSON object (missing keys take the schema's
 * defaults). Owned by the fake host. NULL on bad JSON. */
const trellis_config *fake_host_config(fake_host *fh, const trellis_config_field *schema,
                                       const char *json);

/* The loop. */
void fake_host_run_once(fake_host *fh, int max_wait_ms);
bool fake_host_run_until(fake_host *fh, bool (*until)(void *arg), void *arg, int timeout_ms);
void fake_host_run_for(fake_host *fh, int ms);
/* Makes every timer due now (skips keepalive waits in tests). */
void fake_host_advance(fake_host *fh, uint64_t ms);

/* Watches for test-side sockets (the test client), same semantics as the host's. */
trellis_watch *fake_host_watch(fake_host *fh, int fd, unsigned events,
                               void (*fn)(int fd, unsigned events, void *arg), void *arg);

/* Inspection. */
double fake_host_metric(fake_host *fh, const char *name, const char *label_substring);
uint64_t fake_host_histogram_count(fake_host *fh, const char *name);
bool fake_host_log_contains(fake_host *fh, const char *needle);
void fake_host_log_clear(fake_host *fh);
/* Runs a debug provider; the result is malloc'd (free it) or NULL with *status. */
char *fake_host_debug(fake_host *fh, const char *name, const char *query, trellis_status *status);
size_t fake_host_watch_count(fake_host *fh);       /* live xds watches */
size_t fake_host_snapshot_count(fake_host *fh);    /* live snapshots */

/* Snapshots: build, then publish for an identity ("mesh/M/virtualNode/N"). */
fake_snapshot *fake_snapshot_new(uint64_t changed_ns);
/* Adds a resource (copies); call in any order, resources are sorted by name. */
void fake_snapshot_add(fake_snapshot *s, trellis_xds_type type, const char *name, const char *json);
/* Publishes `s` (the fake host takes the reference) for `identity` of the
 * given flavor (0: both flavors) and delivers it to every watch, deferred. */
void fake_host_publish(fake_host *fh, const char *identity, uint32_t flavor, fake_snapshot *s);
/* The identity disappears: watches get NULL. */
void fake_host_delete(fake_host *fh, const char *identity);
/* xds_watch answers TRELLIS_ERR_UNAVAILABLE while set. */
void fake_host_set_unavailable(fake_host *fh, bool unavailable);
/* The version a published snapshot holds for a type (for assertions). */
const char *fake_host_version(fake_host *fh, const char *identity, uint32_t flavor,
                              trellis_xds_type type);

#endif
