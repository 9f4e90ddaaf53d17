/* `trellis serve -c FILE`: the long-running server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "api/control_plane.h"
#include "xds/xds_engine.h"
#include "discovery/discovery_manager.h"
#include "debug.h"
#include "host.h"
#include "listeners.h"
#include "log.h"
#include "plugin_config.h"
#include "process_metrics.h"
#include "runtime.h"

/* Extra time after shutdown_timeout_ms before the process gives up on
 * instances whose offload jobs never came back. */
#define SHUTDOWN_HARD_GRACE_MS 5000

/* How long a discovery watch outlives the last proxy that needed it, so a
 * reconnecting proxy or a /debug/config_dump finds its endpoints known. */
#define DISCOVERY_IDLE_MS 60000

typedef struct server {
    const char *config_path;
    core_config *cfg;
    host_env env;
    plugin_cache *cache;
    trellis_host_ctx *core_ctx;
    trellis_host_ctx *discovery_ctx;    /* the discovery manager's metrics and debug provider */
    process_metrics *pm;
    loop_signal *sigterm, *sigint, *sighup;
    loop_timer *hard_deadline;
    bool stopping;
    int exit_status;
} server;

static uint64_t shutdown_timeout_ms(const server *srv)
{
    return (uint64_t)plugin_config_get_int(srv->cfg->settings, "shutdown_timeout_ms");
}

static void on_all_stopped(void *arg)
{
    server *srv = arg;
    log_core(TRELLIS_LOG_INFO, "stopped", "all plugin instances stopped");
    loop_break(srv->env.lp);
}

static void on_hard_deadline(void *arg)
{
    server *srv = arg;
    log_core(TRELLIS_LOG_ERROR, "shutdown_timeout",
             "plugin instances still busy %d ms after the shutdown timeout; exiting",
             SHUTDOWN_HARD_GRACE_MS);
    srv->exit_status = 1;
    loop_break(srv->env.lp);
}

static void begin_shutdown(server *srv, const char *why)
{
    if (srv->stopping) {
        log_core(TRELLIS_LOG_INFO, "shutdown_in_progress", "%s received; already stopping", why);
        return;
    }
    srv->stopping = true;
    log_core(TRELLIS_LOG_INFO, "stopping", "%s received; draining %zu plugin instances", why,
             runtime_instance_count(srv->env.rt));
    srv->hard_deadline = loop_timer_new(srv->env.lp, on_hard_deadline, srv);
    if (srv->hard_deadline != NULL)
        loop_timer_start(srv->hard_deadline, shutdown_timeout_ms(srv) + SHUTDOWN_HARD_GRACE_MS,
                         false);
    runtime_stop_all(srv->env.rt, shutdown_timeout_ms(srv), on_all_stopped, srv);
}

static void on_sigterm(void *arg)
{
    begin_shutdown(arg, "SIGTERM");
}

static void on_sigint(void *arg)
{
    begin_shutdown(arg, "SIGINT");
}

static void on_sighup(void *arg)
{
    server *srv = arg;
    if (srv->stopping)
        return;
    log_core(TRELLIS_LOG_INFO, "reloading", "SIGHUP received; re-reading %s", srv->config_path);
    diag_list diags = {0};
    core_config *fresh = core_config_load(srv->config_path, &diags);
    if (fresh == NULL) {
        diag_log_and_clear(&diags, "reload_rejected");
        log_core(TRELLIS_LOG_ERROR, "reload_rejected",
                 "the new configuration is invalid; the running configuration stays");
        return;
    }
    if (runtime_reload(srv->env.rt, srv->cfg, fresh, shutdown_timeout_ms(srv)) < 0) {
        core_config_free(fresh);
        return;
    }
    /* Applied (instances own copies of their configs): the new file is now
     * the reference for the next reload. */
    core_config_free(srv->cfg);
    srv->cfg = fresh;
}

/* GET /debug/config_dump?node=<id>: what a proxy would receive, compiled now. */
static trellis_status serve_config_dump(void *arg, const char *query, char **json_out,
                                        trellis_error *err)
{
    server *srv = arg;
    trellis_status status;
    char message[600];
    char *text = xds_engine_config_dump(srv->env.xds, query, &status, message, sizeof(message));
    if (text == NULL) {
        host_services.error_set(err, NULL, "%s", message);
        return status;
    }
    *json_out = text; /* malloc'd, as host->alloc is */
    return TRELLIS_OK;
}

/* The catalog lives in the (single) store instance, if one is configured. */
static void attach_store(server *srv)
{
    trellis_host_ctx *store = runtime_find_kind(srv->env.rt, TRELLIS_KIND_STORE);
    if (store == NULL) {
        log_core(TRELLIS_LOG_WARN, "no_store",
                 "no store instance is configured: the App Mesh API answers "
                 "ServiceUnavailableException");
        return;
    }
    control_plane_attach_store(srv->env.cp, srv->env.lp, store->plugin->desc->ops,
                               store->instance);
}

/* Hands the running discovery instances, in configuration order, to the
 * discovery manager (at start and after every reload). */
static void attach_discovery(server *srv)
{
    trellis_host_ctx *found[CONFIG_INSTANCES_MAX];
    size_t count = runtime_instances_of_kind(srv->env.rt, TRELLIS_KIND_DISCOVERY, found,
                                             CONFIG_INSTANCES_MAX);
    discovery_provider providers[CONFIG_INSTANCES_MAX];
    for (size_t i = 0; i < count; i++)
        providers[i] = (discovery_provider){.name = found[i]->instance_name,
                                            .ops = found[i]->plugin->desc->ops,
                                            .instance = found[i]->instance,
                                            .token = found[i]};
    if (!discovery_manager_set_providers(srv->env.discovery, providers, count))
        log_core(TRELLIS_LOG_ERROR, "discovery_attach_failed",
                 "out of memory handing %zu discovery instances to the discovery manager", count);
}

static void on_instance_leaving(void *arg, trellis_host_ctx *inst)
{
    server *srv = arg;
    if (inst->plugin != NULL && inst->plugin->desc->kind == TRELLIS_KIND_DISCOVERY)
        discovery_manager_provider_leaving(srv->env.discovery, inst);
}

static void on_instances_changed(void *arg)
{
    attach_discovery(arg);
}

static bool server_init(server *srv)
{
    srv->env.lp = loop_new();
    srv->env.metrics = metrics_registry_new();
    srv->env.debug = debug_registry_new();
    srv->env.listeners = listener_registry_new();
    srv->cache = plugin_cache_new();
    if (srv->env.lp == NULL || srv->env.metrics == NULL || srv->env.debug == NULL ||
        srv->env.listeners == NULL || srv->cache == NULL)
        return false;
    srv->env.offload = offload_pool_new(
        srv->env.lp, (unsigned)plugin_config_get_int(srv->cfg->settings, "offload_threads"),
        (size_t)plugin_config_get_int(srv->cfg->settings, "offload_queue"));
    srv->env.rt = runtime_new(&srv->env, srv->cache);
    srv->env.cp = control_plane_new(srv->cfg->settings);
    srv->core_ctx = instance_new_core(&srv->env);
    if (srv->env.offload == NULL || srv->env.rt == NULL || srv->env.cp == NULL ||
        srv->core_ctx == NULL)
        return false;
    srv->env.xds = xds_engine_new(srv->env.cp, srv->env.lp,
                                  (uint64_t)plugin_config_get_int(srv->cfg->settings, "xds_coalesce_ms"));
    if (srv->env.xds == NULL ||
        host_services.debug_register(srv->core_ctx, "config_dump", serve_config_dump, srv) != TRELLIS_OK)
        return false;
    srv->discovery_ctx = instance_new_core(&srv->env);
    srv->env.discovery = srv->discovery_ctx == NULL
                             ? NULL
                             : discovery_manager_new(srv->env.lp, srv->env.cp->cat, srv->env.xds,
                                                     srv->discovery_ctx, DISCOVERY_IDLE_MS);
    if (srv->env.discovery == NULL)
        return false;
    runtime_observer observer = {on_instance_leaving, on_instances_changed, srv};
    runtime_set_observer(srv->env.rt, &observer);
    srv->pm = process_metrics_new(srv->core_ctx);
    srv->sigterm = loop_signal_new(srv->env.lp, SIGTERM, on_sigterm, srv);
    srv->sigint = loop_signal_new(srv->env.lp, SIGINT, on_sigint, srv);
    srv->sighup = loop_signal_new(srv->env.lp, SIGHUP, on_sighup, srv);
    return srv->pm != NULL && srv->sigterm != NULL && srv->sigint != NULL && srv->sighup != NULL;
}

static void server_cleanup(server *srv)
{
    loop_signal_free(srv->sigterm);
    loop_signal_free(srv->sigint);
    loop_signal_free(srv->sighup);
    if (srv->hard_deadline != NULL)
        loop_timer_free(srv->hard_deadline);
    process_metrics_free(srv->pm);
    if (srv->core_ctx != NULL) {
        host_release_instance_resources(srv->core_ctx);
        instance_free(srv->core_ctx);
    }
    offload_pool_free(srv->env.offload);
    if (srv->env.lp != NULL)
        loop_drain_pending(srv->env.lp);
    runtime_free(srv->env.rt);
    discovery_manager_free(srv->env.discovery);
    srv->env.discovery = NULL;
    if (srv->discovery_ctx != NULL) {
        host_release_instance_resources(srv->discovery_ctx);
        instance_free(srv->discovery_ctx);
    }
    xds_engine_free(srv->env.xds);
    control_plane_free(srv->env.cp);
    plugin_cache_free(srv->cache);
    debug_registry_free(srv->env.debug);
    listener_registry_free(srv->env.listeners);
    metrics_registry_free(srv->env.metrics);
    loop_free(srv->env.lp);
    core_config_free(srv->cfg);
}

int command_serve(const char *config_path)
{
    server srv = {.config_path = config_path};
    diag_list diags = {0};
    srv.cfg = core_config_load(config_path, &diags);
    if (srv.cfg == NULL) {
        diag_log_and_clear(&diags, "config_invalid");
        return 1;
    }
    core_config_apply_logging(srv.cfg);
    signal(SIGPIPE, SIG_IGN);

    if (!server_init(&srv)) {
        log_core(TRELLIS_LOG_ERROR, "init_failed", "cannot initialise the event loop and services");
        server_cleanup(&srv);
        return 1;
    }
    log_core(TRELLIS_LOG_INFO, "starting", "trellis %s (plugin ABI %d.%d), config %s, pid %ld",
             TRELLIS_VERSION, TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR, config_path, (long)getpid());

    if (runtime_start(srv.env.rt, srv.cfg)) {
        log_core(TRELLIS_LOG_INFO, "serving", "%zu plugin instances started",
                 runtime_instance_count(srv.env.rt));
        attach_store(&srv);
        attach_discovery(&srv);
    } else {
        log_core(TRELLIS_LOG_ERROR, "start_failed", "start-up failed; stopping what started");
        srv.exit_status = 1;
        srv.stopping = true;
        runtime_stop_all(srv.env.rt, shutdown_timeout_ms(&srv), on_all_stopped, &srv);
    }
    if (loop_run(srv.env.lp) != 0) {
        log_core(TRELLIS_LOG_ERROR, "loop_failed", "the event loop failed");
        srv.exit_status = 1;
    }
    int status = srv.exit_status;
    server_cleanup(&srv);
    return status;
}
