/*
 * The discovery manager: where the endpoints of EDS clusters come from.
 *
 * For every virtual node whose endpoints a compile looks up, it derives a
 * target from the node's spec and its mesh's IP preference, binds it to the
 * first discovery plugin instance (in configuration order) that accepts it,
 * and watches it there: one watch per distinct target, shared by every node
 * and identity that needs it. It keeps the last good endpoint set of each
 * target (a failed refresh never empties it), answers the compiler
 * (compile_endpoints_fn, compile_resolves_dns_fn), and asks the snapshot
 * engine to recompile the identities of a node only when its set really
 * changed.
 *
 * Watches live while a watched identity needs them (the engine's demand
 * calls) and for `idle_ms` after the last one let go (an on-demand compile
 * such as /debug/config_dump, a proxy reconnecting); node changes in the
 * catalog re-derive targets at once, deleted nodes drop theirs.
 *
 * When trellis resolves DNS itself (docs/envoy-mapping.md §4.2): for clients
 * of a flavor whenever an instance accepts DNS targets for that flavor
 * (discovery.dns; resolves_dns answers), and always for proxyless clients of
 * responseType ENDPOINTS nodes (the compiler makes those EDS; with no DNS
 * instance they stay empty and the manager says so in logs and /readyz).
 *
 * Loop thread only.
 */
#ifndef TRELLIS_CORE_DISCOVERY_MANAGER_H
#define TRELLIS_CORE_DISCOVERY_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/discovery.h>
#include <trellis/plugin.h>

#include "catalog/catalog.h"
#include "compiler/compiler.h"
#include "loop.h"

typedef struct discovery_manager discovery_manager;
typedef struct xds_engine xds_engine;

/* A discovery plugin instance the manager may use. */
typedef struct discovery_provider {
    const char *name;                   /* instance name, for logs (copied) */
    const trellis_discovery_ops *ops;
    void *instance;
    const void *token;                  /* identifies the instance (its host ctx) */
} discovery_provider;

typedef struct discovery_manager_stats {
    size_t nodes;                       /* nodes tracked */
    size_t targets;                     /* distinct targets */
    size_t watches;                     /* targets watched by a plugin */
    size_t failing;                     /* targets whose last refresh failed */
    size_t unserved;                    /* targets no plugin accepts */
    uint64_t changes;                   /* updates that changed a set */
    uint64_t unchanged;                 /* updates equal to the set already known */
    uint64_t failures;                  /* failed refreshes reported */
} discovery_manager_stats;

/*
 * `core_ctx` (may be NULL) registers the metrics and the "discovery" debug
 * provider. The manager subscribes to `cat`'s changes and becomes `engine`'s
 * endpoint source (engine may be NULL in tests).
 */
discovery_manager *discovery_manager_new(loop *lp, catalog *cat, xds_engine *engine,
                                         trellis_host_ctx *core_ctx, uint64_t idle_ms);
/* Every provider must have left (or never been set) before. */
void discovery_manager_free(discovery_manager *mgr);

/* The instances to use, in preference order (after start and every reload).
 * Targets move to the instance that now accepts them first; their last good
 * sets stay. Identities whose DNS handling may change are recompiled. */
bool discovery_manager_set_providers(discovery_manager *mgr, const discovery_provider *providers,
                                     size_t count);
/* An instance is about to stop: its watches end now, their sets stay. */
void discovery_manager_provider_leaving(discovery_manager *mgr, const void *token);

/* The engine's endpoint source callbacks (arg: the manager). */
bool discovery_manager_endpoints(void *mgr, const char *mesh, const char *node,
                                 const compile_endpoint **endpoints, size_t *count);
bool discovery_manager_resolves_dns(void *mgr, const char *mesh, const char *node,
                                    trellis_xds_flavor flavor);
void discovery_manager_demand(void *mgr, const char *mesh, const char *node, bool needed);

void discovery_manager_get_stats(const discovery_manager *mgr, discovery_manager_stats *out);
/* One line for /readyz: "" when all is well, else what is failing or unserved. */
void discovery_manager_detail(const discovery_manager *mgr, char *out, size_t size);

#endif
