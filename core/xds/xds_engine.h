/*
 * The snapshot engine: keeps a compiled snapshot for every proxy identity an
 * xDS front end watches, recompiles exactly the identities a catalog change
 * affects (a dependency index from catalog keys and key prefixes to
 * identities), coalesces bursts of changes within a short window, shares one
 * snapshot between identities with identical resources, and delivers new
 * snapshots to the watchers. Implements the xds_* host services. Loop thread,
 * except the snapshot accessors.
 */
#ifndef TRELLIS_CORE_XDS_ENGINE_H
#define TRELLIS_CORE_XDS_ENGINE_H

#include <stdint.h>

#include <trellis/plugin.h>

#include "api/control_plane.h"
#include "compiler/compiler.h"
#include "loop.h"

typedef struct xds_engine xds_engine;

typedef struct xds_engine_stats {
    uint64_t compiles;           /* identity compiles (initial and incremental) */
    uint64_t snapshots_published;
    size_t identities;           /* watched identities */
    size_t watches;
    size_t shared_snapshots;     /* distinct current snapshots */
} xds_engine_stats;

xds_engine *xds_engine_new(control_plane *cp, loop *lp, uint64_t coalesce_ms);
void xds_engine_free(xds_engine *engine);

/*
 * Where Envoy endpoints of discovered nodes come from (the discovery manager,
 * core/discovery). `endpoints` and `resolves_dns` are the compiler's
 * callbacks (compile_source). The engine records which nodes each watched
 * identity consulted, so a change of one node's endpoints recompiles exactly
 * the identities that used them, and tells the source through `demand` when
 * the first watched identity starts looking up a node's endpoints (needed
 * true) and when the last one stops (false): that is what keeps a discovery
 * watch alive. `demand` runs inside engine calls (compiles, unwatch) and must
 * not call back into the engine. Any callback may be NULL.
 */
typedef struct xds_endpoint_source {
    compile_endpoints_fn endpoints;
    compile_resolves_dns_fn resolves_dns;
    void (*demand)(void *arg, const char *mesh, const char *node, bool needed);
    void *arg;
} xds_endpoint_source;

void xds_engine_set_endpoint_source(xds_engine *engine, const xds_endpoint_source *source);
/* Endpoints of a node changed: recompile the identities that consulted the
 * source about it. `node` NULL: about any node of `mesh`; `mesh` NULL too:
 * any node at all (the discovery plugins themselves changed). */
void xds_engine_endpoints_changed(xds_engine *engine, const char *mesh, const char *node);

/* The host services (see trellis/plugin.h, ABI 1.2). */
trellis_status xds_engine_watch(xds_engine *engine, trellis_host_ctx *owner, const char *node_id,
                                uint32_t flavor, trellis_xds_update_fn fn, void *arg,
                                trellis_xds_watch **watch_out, trellis_error *err);
void xds_engine_unwatch(trellis_xds_watch *watch);
const char *xds_engine_watch_identity(const trellis_xds_watch *watch);

/* Drops every watch a plugin instance still holds (after its destroy). */
void xds_engine_release_owner(xds_engine *engine, const trellis_host_ctx *owner);

/*
 * The compiled resources of a node id as an Envoy-style config dump
 * ({"configs": [ListenersConfigDump, RoutesConfigDump, ...]}), compiled on
 * demand. `query` is "node=<id>[&flavor=sidecar|proxyless]". Returns a
 * malloc'd string, or NULL with the status and message.
 */
char *xds_engine_config_dump(xds_engine *engine, const char *query, trellis_status *status,
                             char *message, size_t message_size);

void xds_engine_get_stats(const xds_engine *engine, xds_engine_stats *out);

#endif
