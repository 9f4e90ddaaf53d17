/*
 * A simulated Envoy sidecar on one ADS stream (state of the world), for the
 * load benchmarks: one HTTP/2 connection, LDS and CDS by wildcard, then the
 * RDS and EDS names they reference (envoy_like.h), every response ACKed at
 * once. Many of them share one epoll set; envoy_sidecars_pump() drives them.
 * Single-threaded: everything runs on the caller's thread.
 */
#ifndef TRELLIS_XDS_ENVOY_SIDECAR_H
#define TRELLIS_XDS_ENVOY_SIDECAR_H

#include <stdbool.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "ads_client.h"
#include "name_set.h"

typedef struct envoy_sidecar {
    ads_client *client;                     /* owned; NULL before connect */
    int fd;                                 /* the client's socket */
    int32_t stream;
    char node[128];
    bool node_sent;
    bool wants_write;
    name_set names[TRELLIS_XDS_TYPE_COUNT];       /* by trellis_xds_type; RDS/EDS by name (LDS/CDS: wildcard) */
    bool requested[TRELLIS_XDS_TYPE_COUNT];
    bool received[TRELLIS_XDS_TYPE_COUNT];
    char version[TRELLIS_XDS_TYPE_COUNT][48];     /* the last version received (and ACKed) */
    uint64_t changed_ns[TRELLIS_XDS_TYPE_COUNT];  /* CLOCK_MONOTONIC when that version arrived, if new */
    int grpc_status;                        /* -1 while the stream is open */
} envoy_sidecar;

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t envoy_now_ns(void);

/* Raises the open-file limit to its hard maximum; false (with a message on
 * stderr) if that still leaves no room for `count` sidecars. */
bool envoy_sidecars_reserve_files(int count);

/* Connects to ip:port (from source_ip unless NULL), opens the ADS stream as
 * node `node_id`, subscribes to LDS and CDS, and adds the socket to
 * `epoll_fd` with data.u32 = `index` (the sidecar's index in the array given
 * to envoy_sidecars_pump). `s` must be zeroed. false with errno set on
 * failure; envoy_sidecar_free() is still safe. */
bool envoy_sidecar_connect(envoy_sidecar *s, int epoll_fd, uint32_t index, const char *ip, int port,
                           const char *source_ip, const char *node_id);

/* Has LDS and CDS, and the RDS and EDS resources they named. */
bool envoy_sidecar_settled(const envoy_sidecar *s);

/* How many of sidecars[0..count) are settled. */
int envoy_sidecars_settled(const envoy_sidecar *sidecars, int count);

void envoy_sidecar_free(envoy_sidecar *s);

/* Waits up to timeout_ms for socket events and serves them: reads,
 * ACKs and follows responses, writes what is due. A stream that ends is
 * reported once on stderr and its status kept in grpc_status. */
void envoy_sidecars_pump(int epoll_fd, envoy_sidecar *sidecars, int timeout_ms);

#endif
