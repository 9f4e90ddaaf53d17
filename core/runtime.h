/*
 * The runtime: the ordered set of running plugin instances and the plugins
 * they come from. Starts them in configuration order, stops them in reverse
 * within a bounded time, and applies a reloaded configuration by swapping in
 * new instances only when they come up.
 */
#ifndef TRELLIS_CORE_RUNTIME_H
#define TRELLIS_CORE_RUNTIME_H

#include <stdbool.h>

#include "config.h"
#include "diag.h"
#include "instance.h"

typedef struct plugin_cache plugin_cache;

plugin_cache *plugin_cache_new(void);
/* Closes every plugin no instance uses any more; with `all`, every plugin. */
void plugin_cache_release(plugin_cache *cache, bool all);
void plugin_cache_free(plugin_cache *cache);

/*
 * Opens the plugin of every instance in `cfg` and validates each instance's
 * config: the plugin's schema, then its check_config(). Adds one diagnostic
 * per problem ("FILE: plugins[2].config.listen: ..."). No instance is created.
 */
bool runtime_check_config(plugin_cache *cache, const core_config *cfg, diag_list *diags);

runtime *runtime_new(host_env *env, plugin_cache *cache);
/* Frees the runtime; every instance must have been stopped. */
void runtime_free(runtime *rt);

/* Validates, creates and starts every instance of `cfg` in order. On failure
 * logs each reason and returns false; the caller then calls runtime_stop_all. */
bool runtime_start(runtime *rt, const core_config *cfg);

/* Stops every instance in reverse start order, each drain bounded by what is
 * left of timeout_ms; then calls done(arg) from the running loop, never from
 * inside runtime_stop_all() (even when there is nothing to stop). */
void runtime_stop_all(runtime *rt, uint64_t timeout_ms, void (*done)(void *arg), void *arg);

/*
 * Applies `new_cfg` (already loaded). Instances that are unchanged keep
 * running; added ones start; removed ones stop; changed ones are replaced only
 * if the new instance starts, otherwise the old one keeps running. Returns -1
 * (and changes nothing) when the new configuration is invalid, otherwise the
 * number of instances whose new configuration failed to start.
 */
int runtime_reload(runtime *rt, const core_config *old_cfg, const core_config *new_cfg,
                    uint64_t timeout_ms);

/* The first active instance of a kind (the store), or NULL. */
trellis_host_ctx *runtime_find_kind(runtime *rt, uint32_t kind);

/* Up to `max` started instances of a kind, in start order; returns how many. */
size_t runtime_instances_of_kind(runtime *rt, uint32_t kind, trellis_host_ctx **out, size_t max);

/*
 * For core components that call plugin instances of a kind directly (the
 * discovery manager): `leaving` runs just before an instance is stopped, by
 * a reload or at shutdown, while it still serves; `changed` after a reload
 * changed the set of active instances.
 */
typedef struct runtime_observer {
    void (*leaving)(void *arg, trellis_host_ctx *inst);
    void (*changed)(void *arg);
    void *arg;
} runtime_observer;
void runtime_set_observer(runtime *rt, const runtime_observer *observer);

/* Visits active instances in start order (for instances_foreach). */
void runtime_foreach_instance(runtime *rt, trellis_instance_visit_fn fn, void *arg);

size_t runtime_instance_count(const runtime *rt);

#endif
