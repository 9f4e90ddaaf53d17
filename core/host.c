#include "host.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "api/api.h"
#include "listeners.h"
#include "api/control_plane.h"
#include "xds/snapshot.h"
#include "xds/xds_engine.h"
#include "debug.h"
#include "discovery/discovery_manager.h"
#include "log.h"
#include "plugin_config.h"
#include "runtime.h"

struct host_timer {
    loop_timer *timer;
    trellis_host_ctx *owner;
    host_timer *prev, *next;
};

struct host_watch {
    loop_watch *watch;
    trellis_host_ctx *owner;
    host_watch *prev, *next;
};

/* ---- memory ---- */

static void *host_alloc(size_t size)
{
    return malloc(size ? size : 1);
}

static void *host_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}

static void host_free(void *ptr)
{
    free(ptr);
}

/* ---- logging and errors ---- */

static void host_log(trellis_host_ctx *ctx, trellis_log_level level, const char *event,
                     const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char message[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    log_write(level, ctx ? ctx->plugin_name : NULL, ctx ? ctx->instance_name : NULL, event,
              message, NULL, 0);
}

static void host_log_fields(trellis_host_ctx *ctx, trellis_log_level level, const char *event,
                            const trellis_log_field *fields, size_t field_count)
{
    log_write(level, ctx ? ctx->plugin_name : NULL, ctx ? ctx->instance_name : NULL, event, NULL,
              fields, field_count);
}

static bool host_log_enabled(trellis_host_ctx *ctx, trellis_log_level level)
{
    (void)ctx;
    return log_enabled(level);
}

static void host_error_set(trellis_error *err, const char *key, const char *fmt, ...)
{
    if (err == NULL)
        return;
    err->set = true;
    snprintf(err->key, sizeof(err->key), "%s", key ? key : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* ---- timers ---- */

static trellis_timer *host_timer_new(trellis_host_ctx *ctx, trellis_callback_fn fn, void *arg)
{
    host_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->timer = loop_timer_new(ctx->env->lp, fn, arg);
    if (t->timer == NULL) {
        free(t);
        return NULL;
    }
    t->owner = ctx;
    t->next = ctx->timers;
    if (ctx->timers != NULL)
        ctx->timers->prev = t;
    ctx->timers = t;
    return (trellis_timer *)t;
}

static void host_timer_start(trellis_timer *timer, uint64_t delay_ms, bool repeat)
{
    if (timer != NULL)
        loop_timer_start(((host_timer *)timer)->timer, delay_ms, repeat);
}

static void host_timer_stop(trellis_timer *timer)
{
    if (timer != NULL)
        loop_timer_stop(((host_timer *)timer)->timer);
}

static void host_timer_free(trellis_timer *timer)
{
    host_timer *t = (host_timer *)timer;
    if (t == NULL)
        return;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        t->owner->timers = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    loop_timer_free(t->timer);
    free(t);
}

/* ---- fd watches ---- */

static trellis_watch *host_watch_new(trellis_host_ctx *ctx, int fd, unsigned events,
                                     trellis_watch_fn fn, void *arg)
{
    host_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->watch = loop_watch_new(ctx->env->lp, fd, events & (LOOP_READ | LOOP_WRITE), fn, arg);
    if (w->watch == NULL) {
        free(w);
        return NULL;
    }
    w->owner = ctx;
    w->next = ctx->watches;
    if (ctx->watches != NULL)
        ctx->watches->prev = w;
    ctx->watches = w;
    return (trellis_watch *)w;
}

static void host_watch_update(trellis_watch *watch, unsigned events)
{
    if (watch != NULL)
        loop_watch_update(((host_watch *)watch)->watch, events & (LOOP_READ | LOOP_WRITE));
}

static void host_watch_free(trellis_watch *watch)
{
    host_watch *w = (host_watch *)watch;
    if (w == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        w->owner->watches = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    loop_watch_free(w->watch);
    free(w);
}

/* ---- deferred calls, posts, offload ---- */

static trellis_status host_defer(trellis_host_ctx *ctx, trellis_callback_fn fn, void *arg)
{
    return loop_defer(ctx->env->lp, ctx, fn, arg) == 0 ? TRELLIS_OK : TRELLIS_ERR_NOMEM;
}

static trellis_status host_post(trellis_host_ctx *ctx, trellis_callback_fn fn, void *arg)
{
    int rc = loop_post(ctx->env->lp, ctx, fn, arg);
    return rc == 0 ? TRELLIS_OK : rc == -2 ? TRELLIS_ERR_LIMIT : TRELLIS_ERR_NOMEM;
}

static trellis_status host_offload(trellis_host_ctx *ctx, trellis_callback_fn work,
                                   trellis_callback_fn done, void *arg)
{
    if (work == NULL)
        return TRELLIS_ERR_INVALID;
    int rc = offload_submit(ctx->env->offload, &ctx->offload, work, done, arg);
    return rc == 0 ? TRELLIS_OK : rc == -2 ? TRELLIS_ERR_LIMIT : TRELLIS_ERR_NOMEM;
}

/* ---- clocks ---- */

static uint64_t host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double host_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- sockets ---- */

static trellis_status host_listen_tcp(trellis_host_ctx *ctx, const char *address, int backlog,
                                      int *fd_out, trellis_error *err)
{
    char reason[400];
    trellis_status st = listener_registry_open(ctx->env->listeners, ctx, address, backlog, fd_out,
                                               reason, sizeof(reason));
    if (st != TRELLIS_OK)
        host_error_set(err, NULL, "%s", reason);
    return st;
}

/* ---- instance state ---- */

static void host_set_ready(trellis_host_ctx *ctx, bool ready, const char *detail)
{
    ctx->ready = ready;
    char *copy = strdup(detail ? detail : "");
    if (copy != NULL) {
        free(ctx->detail);
        ctx->detail = copy;
    }
}

static void host_instances_foreach(trellis_host_ctx *ctx, trellis_instance_visit_fn fn, void *arg)
{
    runtime_foreach_instance(ctx->env->rt, fn, arg);
    control_plane *cp = ctx->env->cp;
    if (cp != NULL) {
        /* The catalog is part of the core, not a plugin, but readiness
         * depends on it: it is ready once loaded from the store. */
        trellis_instance_info info = {
            .size = sizeof(info),
            .kind = 0,
            .plugin = "core",
            .instance = "catalog",
            .state = TRELLIS_INSTANCE_STARTED,
            .ready = cp->ready,
            .detail = cp->not_ready_reason,
        };
        fn(&info, arg);
    }
    if (ctx->env->discovery != NULL) {
        /* Never a reason to be unready (proxies keep the last good
         * endpoints), but where failing and unserved targets show. */
        char detail[1024];
        discovery_manager_detail(ctx->env->discovery, detail, sizeof(detail));
        trellis_instance_info info = {
            .size = sizeof(info),
            .kind = 0,
            .plugin = "core",
            .instance = "discovery",
            .state = TRELLIS_INSTANCE_STARTED,
            .ready = 1,
            .detail = detail,
        };
        fn(&info, arg);
    }
}

/* ---- metrics ---- */

static trellis_metric *host_metric_new(trellis_host_ctx *ctx, trellis_metric_type type,
                                       const char *name, const char *help,
                                       const char *const *labels, const double *buckets,
                                       size_t bucket_count)
{
    const char *extra[] = {"plugin", ctx->plugin_name, "instance", ctx->instance_name, NULL};
    char reason[256];
    trellis_metric *m = metrics_series_new(ctx->env->metrics, ctx, type, name, help, labels,
                                           ctx->plugin_name ? extra : NULL, buckets, bucket_count,
                                           reason, sizeof(reason));
    if (m == NULL)
        host_log(ctx, TRELLIS_LOG_WARN, "metric_refused", "%s", reason);
    return m;
}

static void host_metrics_foreach(trellis_host_ctx *ctx, trellis_metric_visit_fn fn, void *arg)
{
    metrics_foreach(ctx->env->metrics, fn, arg);
}

/* ---- debug providers ---- */

static trellis_status host_debug_register(trellis_host_ctx *ctx, const char *name,
                                          trellis_debug_fn fn, void *arg)
{
    return debug_register(ctx->env->debug, ctx, ctx->instance_name, name, fn, arg);
}

static trellis_status host_debug_query(trellis_host_ctx *ctx, const char *name, const char *query,
                                       char **json_out, trellis_error *err)
{
    return debug_query(ctx->env->debug, name, query, json_out, err);
}

/* ---- xDS snapshots ---- */

static trellis_status host_xds_watch(trellis_host_ctx *ctx, const char *node_id, uint32_t flavor,
                                     trellis_xds_update_fn fn, void *arg,
                                     trellis_xds_watch **watch_out, trellis_error *err)
{
    if (ctx->env->xds == NULL) {
        host_error_set(err, NULL, "no App Mesh catalog is configured (no store instance)");
        return TRELLIS_ERR_UNAVAILABLE;
    }
    return xds_engine_watch(ctx->env->xds, ctx, node_id, flavor, fn, arg, watch_out, err);
}

static trellis_error *host_error_new(void)
{
    return calloc(1, sizeof(trellis_error));
}

static const char *host_error_get0_message(const trellis_error *err)
{
    return err != NULL ? err->message : "";
}

static void host_error_free(trellis_error *err)
{
    free(err);
}

const trellis_host host_services = {
    .size = sizeof(trellis_host),
    .abi_major = TRELLIS_ABI_MAJOR,
    .abi_minor = TRELLIS_ABI_MINOR,
    .alloc = host_alloc,
    .realloc = host_realloc,
    .free = host_free,
    .log = host_log,
    .log_fields = host_log_fields,
    .log_enabled = host_log_enabled,
    .error_set = host_error_set,
    .config_has = plugin_config_has,
    .config_get0_string = plugin_config_get0_string,
    .config_get_int = plugin_config_get_int,
    .config_get_bool = plugin_config_get_bool,
    .config_get_number = plugin_config_get_number,
    .config_list_count = plugin_config_list_count,
    .config_get0_list_item = plugin_config_get0_list_item,
    .timer_new = host_timer_new,
    .timer_start = host_timer_start,
    .timer_stop = host_timer_stop,
    .timer_free = host_timer_free,
    .watch_new = host_watch_new,
    .watch_update = host_watch_update,
    .watch_free = host_watch_free,
    .defer = host_defer,
    .post = host_post,
    .offload = host_offload,
    .monotonic_ns = host_monotonic_ns,
    .wall_time = host_wall_time,
    .listen_tcp = host_listen_tcp,
    .set_ready = host_set_ready,
    .stopped = instance_on_stopped,
    .instances_foreach = host_instances_foreach,
    .metric_new = host_metric_new,
    .metric_add = metric_add,
    .metric_set = metric_set,
    .metric_observe = metric_observe,
    .metric_free = metric_free,
    .metrics_foreach = host_metrics_foreach,
    .debug_register = host_debug_register,
    .debug_query = host_debug_query,
    .error_new = host_error_new,
    .error_get0_message = host_error_get0_message,
    .error_free = host_error_free,
    .api_invoke = api_invoke,
    .xds_watch = host_xds_watch,
    .xds_unwatch = xds_engine_unwatch,
    .xds_watch_identity = xds_engine_watch_identity,
    .xds_snapshot_version = xds_snapshot_version,
    .xds_snapshot_count = xds_snapshot_count,
    .xds_snapshot_at = xds_snapshot_at,
    .xds_snapshot_find = xds_snapshot_find,
    .xds_snapshot_changed_ns = xds_snapshot_changed_ns,
    .xds_snapshot_ref = xds_snapshot_ref,
    .xds_snapshot_unref = xds_snapshot_unref,
};

void host_release_instance_resources(trellis_host_ctx *inst)
{
    size_t leftovers = 0;
    while (inst->timers != NULL) {
        host_timer_free((trellis_timer *)inst->timers);
        leftovers++;
    }
    while (inst->watches != NULL) {
        host_watch_free((trellis_watch *)inst->watches);
        leftovers++;
    }
    leftovers += loop_cancel_owner(inst->env->lp, inst);
    metrics_free_owner(inst->env->metrics, inst);
    debug_unregister_owner(inst->env->debug, inst);
    if (inst->env->xds != NULL)
        xds_engine_release_owner(inst->env->xds, inst);
    if (inst->env->listeners != NULL)
        listener_registry_release_owner(inst->env->listeners, inst);
    if (leftovers > 0 && inst->plugin_name != NULL)
        log_write(TRELLIS_LOG_WARN, inst->plugin_name, inst->instance_name, "leftover_resources",
                  "destroy() left timers, watches or deferred calls behind; the host released them",
                  NULL, 0);
}
