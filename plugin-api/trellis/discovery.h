/*
 * trellis/discovery.h — the discovery kind: where the endpoints of virtual
 * nodes come from (AWS Cloud Map compatible registries, DNS resolved by
 * trellis). The core watches a target for every virtual node whose Envoy
 * clusters need endpoints (EDS), receives endpoint sets on the loop thread,
 * and turns them into ClusterLoadAssignments for the proxies that need them.
 *
 * Contract:
 *   - watch() starts following a target and returns at once; the plugin
 *     calls `update` on the loop thread with the full current endpoint set
 *     whenever it changes (and once when first known), never from inside
 *     watch() itself. Sets are complete (not deltas); pointers are borrowed
 *     for the call. An empty set is a real answer (no instances registered,
 *     NXDOMAIN), not an error.
 *   - A failure to refresh is reported with status != TRELLIS_OK
 *     (TRELLIS_ERR_UNAVAILABLE: the registry or resolver is unreachable or
 *     answered an error; TRELLIS_ERR_NOT_FOUND: the registry says the
 *     namespace or service does not exist): the core keeps the last good set
 *     (never an empty set because of an error). Plugins report a failure
 *     once per failed refresh, and show lasting failures in their readiness
 *     detail (host->set_ready) and metrics.
 *   - Many watches of the same target should share one poll/resolution.
 *   - unwatch() stops it; no update for that watch runs after it returns. It
 *     may be called from inside that watch's own update callback.
 *   - An instance stops every watch at stop(); the core unwatches before.
 *
 * Ops changelog
 *   1  accepts, watch, unwatch (ABI 1.3). Refined within 1.3 before any
 *      release: trellis_discovery_target.clients (which kind of client needs
 *      the endpoints, so a DNS plugin can serve proxyless clients only), and
 *      default_port 0 meaning "report instances without a port as port 0".
 */
#ifndef TRELLIS_DISCOVERY_H
#define TRELLIS_DISCOVERY_H

#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRELLIS_DISCOVERY_OPS_VERSION 1u

typedef enum trellis_discovery_method {
    TRELLIS_DISCOVERY_CLOUD_MAP = 1, /* serviceDiscovery.awsCloudMap */
    TRELLIS_DISCOVERY_DNS = 2        /* serviceDiscovery.dns */
} trellis_discovery_method;

/* App Mesh's IP preferences (mesh or node serviceDiscovery.ipPreference). */
typedef enum trellis_ip_preference {
    TRELLIS_IP_DEFAULT = 0,          /* not set: IPv4 preferred, as App Mesh did */
    TRELLIS_IP_IPV4_PREFERRED = 1,
    TRELLIS_IP_IPV6_PREFERRED = 2,
    TRELLIS_IP_IPV4_ONLY = 3,
    TRELLIS_IP_IPV6_ONLY = 4
} trellis_ip_preference;

typedef struct trellis_discovery_attribute {
    const char *key;
    const char *value;
} trellis_discovery_attribute;

/* Which clients need a target's endpoints (trellis_discovery_target.clients). */
#define TRELLIS_DISCOVERY_FOR_SIDECARS 0x1u  /* Envoy sidecars and gateways */
#define TRELLIS_DISCOVERY_FOR_PROXYLESS 0x2u /* proxyless gRPC clients */

/* What to discover. All strings borrowed for the duration of the call;
 * plugins copy what they keep. */
typedef struct trellis_discovery_target {
    uint32_t size;                   /* sizeof(trellis_discovery_target) of the host */
    uint32_t method;                 /* trellis_discovery_method */
    const char *mesh;                /* for logs and metrics (the first node to need it) */
    const char *virtual_node;
    const char *namespace_name;      /* Cloud Map */
    const char *service_name;        /* Cloud Map */
    const trellis_discovery_attribute *attributes; /* Cloud Map: all must match */
    size_t attribute_count;
    const char *hostname;            /* DNS */
    uint32_t ip_preference;          /* trellis_ip_preference */
    uint32_t default_port;           /* port for instances that carry none; 0: report
                                      * them as port 0 (the core then uses the port of
                                      * each listener, which is what it passes) */
    uint32_t clients;                /* TRELLIS_DISCOVERY_FOR_* bits */
} trellis_discovery_target;

typedef struct trellis_endpoint {
    const char *address;             /* IPv4 or IPv6 literal */
    uint32_t port;
    const char *zone;                /* availability zone or locality, or NULL */
} trellis_endpoint;

typedef struct trellis_discovery_watch trellis_discovery_watch;

/* A new endpoint set (status TRELLIS_OK), or a failure to refresh (status
 * != TRELLIS_OK, `message` says why; endpoints NULL, count 0). */
typedef void (*trellis_discovery_update_fn)(void *arg, trellis_status status,
                                            const trellis_endpoint *endpoints, size_t count,
                                            const char *message);

typedef struct trellis_discovery_ops {
    trellis_ops_header header; /* { sizeof(trellis_discovery_ops), TRELLIS_DISCOVERY_OPS_VERSION } */

    /* Whether this instance resolves targets like `target` (a Cloud Map
     * plugin accepts Cloud Map targets; a DNS plugin accepts DNS targets for
     * the clients it is configured to serve: `clients` has at least one of
     * them). Pure and cheap: the core asks while compiling. */
    bool (*accepts)(void *instance, const trellis_discovery_target *target);

    /* Starts following `target`. TRELLIS_OK with *watch_out set, or an error
     * (TRELLIS_ERR_INVALID for a target it cannot resolve). */
    trellis_status (*watch)(void *instance, const trellis_discovery_target *target,
                            trellis_discovery_update_fn update, void *arg,
                            trellis_discovery_watch **watch_out);

    void (*unwatch)(void *instance, trellis_discovery_watch *watch);
} trellis_discovery_ops;

#define TRELLIS_DISCOVERY_OPS_HEADER                                            \
    .header = {sizeof(trellis_discovery_ops), TRELLIS_DISCOVERY_OPS_VERSION }

#if UINTPTR_MAX == 0xffffffffffffffffu && !defined(__cplusplus)
_Static_assert(sizeof(trellis_discovery_target) == 80, "ABI: trellis_discovery_target");
_Static_assert(offsetof(trellis_discovery_target, default_port) == 68, "ABI: discovery_target");
_Static_assert(offsetof(trellis_discovery_target, clients) == 72, "ABI: discovery_target");
_Static_assert(sizeof(trellis_endpoint) == 24, "ABI: trellis_endpoint");
_Static_assert(sizeof(trellis_discovery_ops) == 32, "ABI: trellis_discovery_ops (version 1)");
#endif

#ifdef __cplusplus
}
#endif

#endif /* TRELLIS_DISCOVERY_H */
