/*
 * Make before break for Envoy sidecars, one stream's part (both protocols).
 *
 * Envoy's guidance (xDS protocol, "Eventual consistency considerations"):
 * CDS first, then EDS, LDS, RDS, and remove the clusters nothing references
 * any more only after that. For a sidecar (wildcard CDS) whose snapshot
 * moves a route from cluster A to B, the stream sends:
 *
 *   1. Cluster: the snapshot's clusters (B) plus A, retained (its own version)
 *   2. ClusterLoadAssignment: likewise with A's endpoints
 *   3. Listener, 4. RouteConfiguration: the snapshot's (they name B, not A)
 *   5. once the proxy ACKed the listeners and routes that stop naming A:
 *      Cluster and ClusterLoadAssignment without A (SotW: the snapshot's own
 *      version; delta: A in removed_resources)
 *
 * A NACK of the new routes keeps A (the proxy still routes to it). A removal
 * nothing the proxy holds references goes out at once.
 *
 * To know what the proxy may hold, the stream keeps references ("pins") to
 * the snapshots its Listener and RouteConfiguration responses came from: the
 * version the proxy ACKed and the one sent and not answered yet. A sidecar's
 * next Listener (RouteConfiguration) response waits until the previous one
 * is answered, so there is never more than one in flight per type: a slow
 * proxy coalesces to the newest snapshot instead of leaving a trail of
 * versions it may or may not hold. A pin whose type has not changed since
 * moves to the newest snapshot, so old snapshots are held only while a
 * change is under way. Whatever number of snapshots arrive, a stream pins
 * at most four (two per type) besides its current one, and its retained
 * resources are recomputed against the newest snapshot each time (never
 * accumulated); a retention (retention.h) is shared by the streams in the
 * same state.
 *
 * Proxyless clients need none of this: they follow routes to clusters by
 * name, and ads_sotw.c sends them routes first.
 */
#ifndef TRELLIS_XDS_MAKE_BEFORE_BREAK_H
#define TRELLIS_XDS_MAKE_BEFORE_BREAK_H

#include <stdbool.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "retention.h"

typedef struct xds_proxy xds_proxy;

/* A snapshot the proxy may hold one type of. */
typedef struct mbb_pin {
    trellis_xds_snapshot *snapshot; /* a reference, or NULL */
    uint64_t seq;                   /* the stream's snapshot count when pinned (newer: larger) */
} mbb_pin;

/* Listener and RouteConfiguration: the types that name clusters. */
#define MBB_ROLES 2

typedef struct mbb_state {
    uint64_t seq;                 /* snapshots delivered to the stream */
    mbb_pin acked[MBB_ROLES];     /* [Listener, RouteConfiguration]: the version accepted */
    mbb_pin in_flight[MBB_ROLES]; /* the version sent, not answered yet */
    /* The retention in use, and the state it was computed for. */
    retention *retention;
    trellis_xds_snapshot *retention_current;
    retention_source retention_sources[RETENTION_MAX_SOURCES];
    size_t retention_source_count;
} mbb_state;

/* p->snapshot was replaced: pins of types that did not change move to it. */
void mbb_on_snapshot(xds_proxy *p);
/* A response of type `type` built from p->snapshot went out. */
void mbb_on_sent(xds_proxy *p, trellis_xds_type type);
/* The latest response of `type` was answered: taken (ACK), or not (NACK, or
 * a SotW request that keeps the previous version). */
void mbb_on_answered(xds_proxy *p, trellis_xds_type type, bool taken);
/* The proxy holds p->snapshot's version of `type` without a response (a
 * SotW reconnect presenting it; a delta evaluation with nothing to send). */
void mbb_on_current(xds_proxy *p, trellis_xds_type type);

/* Whether a sidecar's response of `type` must wait: a Listener or
 * RouteConfiguration response while the previous one is unanswered. */
bool mbb_waits(const xds_proxy *p, trellis_xds_type type);

/*
 * What a sidecar keeps of `type` (Cluster, ClusterLoadAssignment) beyond its
 * snapshot, or NULL when nothing (always for proxyless streams and other
 * types). Borrowed until the stream's next call here or its snapshot
 * changes. *failed is set (and NULL returned) when memory ran out.
 */
const retained_list *mbb_retained(xds_proxy *p, trellis_xds_type type, bool *failed);

/* Releases the pins and the retention (the stream closed). */
void mbb_free(xds_proxy *p);

#endif
