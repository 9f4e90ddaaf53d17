/*
 * One plugin instance and its lifecycle: create -> start -> stop (drain,
 * bounded) -> destroy. The instance is also the `trellis_host_ctx` the plugin
 * passes back on every host call, so it carries everything the host tracks
 * for it: timers, watches, offload jobs, readiness, metrics ownership.
 */
#ifndef TRELLIS_CORE_INSTANCE_H
#define TRELLIS_CORE_INSTANCE_H

#include <jansson.h>
#include <stdbool.h>

#include <trellis/plugin.h>

#include "loader.h"
#include "loop.h"
#include "metrics.h"
#include "offload.h"

typedef struct debug_registry debug_registry;
typedef struct runtime runtime;
typedef struct control_plane control_plane;
typedef struct xds_engine xds_engine;
typedef struct discovery_manager discovery_manager;
typedef struct listener_registry listener_registry;

/* The services every instance shares; owned by the serve command. */
typedef struct host_env {
    loop *lp;
    offload_pool *offload;
    metrics_registry *metrics;
    debug_registry *debug;
    runtime *rt; /* for instances_foreach */
    control_plane *cp; /* the App Mesh API behind api_invoke; NULL without a store */
    xds_engine *xds;   /* snapshots behind xds_watch */
    discovery_manager *discovery; /* endpoints from discovery plugins (shown in /readyz) */
    listener_registry *listeners; /* listening sockets shared across reloads */
} host_env;

typedef struct host_timer host_timer;
typedef struct host_watch host_watch;

/* The host-owned error channel (trellis_error). */
struct trellis_error {
    bool set;
    char key[128];
    char message[1024];
};

typedef void (*instance_stopped_cb)(trellis_host_ctx *inst, void *arg);

struct trellis_host_ctx {
    host_env *env;
    loaded_plugin *plugin;          /* borrowed from the plugin cache; NULL for the core's ctx */
    char *plugin_name;
    char *instance_name;
    char *config_prefix;            /* "FILE: plugins[N].config." for messages */
    json_t *config_json;            /* owned: the instance's "config" as written (reload diff) */
    trellis_config *config;         /* owned: accessors with defaults */
    void *instance;                 /* the plugin's instance, after create */
    trellis_instance_state state;
    bool created;
    bool ready;
    char *detail;                   /* owned readiness detail */
    offload_owner offload;
    host_timer *timers;             /* live timers, freed at destroy at the latest */
    host_watch *watches;

    /* Asynchronous stop. */
    bool stop_in_progress;
    bool drained;                   /* stop() returned OK or the plugin called stopped() */
    loop_timer *stop_deadline;
    instance_stopped_cb stopped_cb;
    void *stopped_arg;
};

/* A context for the core's own use of host services (metrics, debug). */
trellis_host_ctx *instance_new_core(host_env *env);

/* An instance of `plugin`, not yet created. NULL on allocation failure. */
trellis_host_ctx *instance_new(host_env *env, loaded_plugin *plugin, const char *instance_name,
                               const json_t *config_json, const char *config_prefix);

/* create(), then start(). On failure writes one sentence into errbuf. The
 * caller then stops (instance_stop) and frees the instance. */
bool instance_create(trellis_host_ctx *inst, char *errbuf, size_t errbuf_size);
bool instance_start(trellis_host_ctx *inst, char *errbuf, size_t errbuf_size);

/*
 * Stops the instance: stop(), wait until it has drained and its offload jobs
 * have finished (bounded by timeout_ms for the drain), then destroy() and
 * release what it left behind. `cb` runs later on the loop thread, never
 * inside instance_stop(), and may free the instance.
 */
void instance_stop(trellis_host_ctx *inst, uint64_t timeout_ms, instance_stopped_cb cb,
                   void *arg);

/* host->stopped(): a plugin whose stop() returned TRELLIS_AGAIN has drained. */
void instance_on_stopped(trellis_host_ctx *inst);

/* Frees a stopped (or never created) instance. */
void instance_free(trellis_host_ctx *inst);

/* The error prefix for messages about this instance's config. */
void instance_format_error(const trellis_host_ctx *inst, const struct trellis_error *err,
                           char *out, size_t size);

#endif
