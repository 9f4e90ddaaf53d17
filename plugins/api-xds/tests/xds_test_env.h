/*
 * The api.xds protocol tests' environment: the plugin (linked in) running on
 * the fake host, test clients driven by the same loop, and helpers to send
 * discovery requests and wait for what comes back.
 */
#ifndef TRELLIS_XDS_TEST_ENV_H
#define TRELLIS_XDS_TEST_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "ads_client.h"
#include "fake_host.h"

#define LDS "type.googleapis.com/envoy.config.listener.v3.Listener"
#define RDS "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
#define CDS "type.googleapis.com/envoy.config.cluster.v3.Cluster"
#define EDS "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
#define SOTW_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
#define DELTA_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"

typedef struct xds_env {
    fake_host *fh;
    const trellis_plugin_descriptor *descriptor;
    void *instance;
    int port;
    char address[64];
} xds_env;

typedef struct tclient {
    xds_env *env;
    ads_client *c;
    trellis_watch *watch;
} tclient;

/* Starts api.xds with `extra_config` (JSON members, may be "") on a free port. */
bool env_start(xds_env *e, const char *extra_config);
void env_stop(xds_env *e);

tclient *tc_connect(xds_env *e);
void tc_close(tclient *t);
int32_t tc_open(tclient *t, const char *path);

/* Sends a SotW request; names NULL-terminated (NULL for none). */
void tc_request(tclient *t, int32_t stream, const char *node_id, const char *type_url,
                const char *version, const char *nonce, const char *const *names);
void tc_nack(tclient *t, int32_t stream, const char *type_url, const char *version,
             const char *nonce, const char *message);

/* Waits (up to timeout_ms) for the next response on the stream; NULL if none.
 * Free with protobuf_c_message_free_unpacked. */
Envoy__Service__Discovery__V3__DiscoveryResponse *tc_next(tclient *t, int32_t stream, int timeout_ms);
Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *tc_next_delta(tclient *t, int32_t stream,
                                                                     int timeout_ms);
/* Waits for the stream's gRPC status; -1 on timeout. */
int tc_status(tclient *t, int32_t stream, int timeout_ms);
/* ACKs a response (version and nonce from it; names as given). */
void tc_ack(tclient *t, int32_t stream, const Envoy__Service__Discovery__V3__DiscoveryResponse *r,
            const char *const *names);

/* Names of the resources in a response, "a,b,c" (static buffer). */
const char *response_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *r);

/* Resource JSON helpers (static buffers, one use at a time each). */
const char *listener_json(const char *name, int port);
const char *cluster_json(const char *name, const char *timeout);
const char *route_json(const char *name, const char *cluster);
const char *endpoint_json(const char *cluster, const char *ip);

#endif
