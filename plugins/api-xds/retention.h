/*
 * Make before break, the part streams share: which clusters and endpoint
 * assignments a sidecar must keep after its snapshot dropped them, because
 * listeners or route configurations the proxy may still hold name them.
 *
 * Envoy's guidance on eventual consistency (xDS protocol, "Eventual
 * consistency considerations"): CDS first, then EDS, LDS, RDS, and only then
 * remove the clusters nothing references any more. An UpdateRoute moving a
 * route from cluster A to B gives the sidecar a snapshot without A; a Cluster
 * response without A sent before the RouteConfiguration naming B leaves
 * Envoy routing to a cluster it no longer has (503 NC) until the routes
 * arrive. So while the proxy may hold listeners or routes naming A, its
 * Cluster responses carry the snapshot's clusters plus A, and its
 * ClusterLoadAssignment responses A's endpoints: A is retained.
 *
 * A retention is computed from the stream's current snapshot and the
 * snapshots holding the Listener and RouteConfiguration versions the proxy
 * may hold (its sources: the ACKed version, and the one sent and not
 * answered yet). A resource is retained when a source has it, the current
 * snapshot does not, and it is referenced:
 *
 *   Cluster               its name is a string value in a source's listeners
 *                         or route configurations (route.cluster, weighted
 *                         clusters, tcp_proxy.cluster, a gRPC service's
 *                         cluster_name: every way Envoy names a cluster is a
 *                         JSON string equal to the name, so any string value
 *                         counts; a coincidence only keeps a cluster a little
 *                         longer, never drops one in use)
 *   ClusterLoadAssignment its name is a retained cluster's name or a string
 *                         value in one (eds_cluster_config.service_name)
 *
 * Secrets are not retained: the compiler emits none yet.
 *
 * The content comes from the newest source holding the resource. Nothing
 * accumulates: a newer snapshot gives the stream a new retention, computed
 * against it, and the old one is released.
 *
 * Retentions are shared and computed once: streams in the same state (the
 * same snapshots in the same roles, as every stream of one identity is after
 * an update) hold the same one, found by a key made of the snapshots'
 * addresses (each retention holds a reference to its snapshots, so the
 * addresses stay unique while it lives). A retention lives while a stream
 * holds it. Loop thread.
 */
#ifndef TRELLIS_XDS_RETENTION_H
#define TRELLIS_XDS_RETENTION_H

#include <stdbool.h>
#include <stddef.h>

#include <trellis/plugin.h>

#include "strmap.h"

/* The most sources a retention has: Listener and RouteConfiguration, ACKed
 * and in flight. */
#define RETENTION_MAX_SOURCES 4

/* The hex digest length of a union version (as the core's versions). */
#define RETENTION_VERSION_SIZE 33

typedef struct retention_source {
    trellis_xds_snapshot *snapshot;
    unsigned types; /* (1u << type) for each of Listener, RouteConfiguration held from it */
} retention_source;

/* The resources of one type kept beyond the current snapshot. */
typedef struct retained_list {
    const trellis_xds_resource **items; /* name order, borrowed from the retention's sources */
    size_t count;
    /* The version of a response carrying the current snapshot's resources
     * and these: a digest of the snapshot's version of the type and of the
     * retained names and hashes, so the response without them is a change
     * and equal contents give equal versions. */
    char version[RETENTION_VERSION_SIZE];
} retained_list;

typedef struct retention retention;

/* The shared retentions of one server: key -> retention, each removed when
 * its last holder releases it. */
typedef struct retention_registry {
    const trellis_host *host;
    strmap by_key;
} retention_registry;

void retention_registry_init(retention_registry *reg, const trellis_host *host);
/* Every retention must have been released. */
void retention_registry_free(retention_registry *reg);

/*
 * The retention for `current` and `sources` (newest first, none of them
 * `current`, each snapshot once): a new reference, computed unless a stream
 * in the same state holds it already. NULL on allocation failure.
 */
retention *retention_get(retention_registry *reg, trellis_xds_snapshot *current,
                         const retention_source *sources, size_t count);
/* Drops a reference (NULL is a no-op). */
void retention_release(retention *r);

/* What `r` keeps of `type` (Cluster or ClusterLoadAssignment), or NULL when
 * nothing. Borrowed while `r` lives. */
const retained_list *retention_list(const retention *r, trellis_xds_type type);

/* The retained resource named `name`, or NULL. */
const trellis_xds_resource *retained_find(const retained_list *list, const char *name);

#endif
