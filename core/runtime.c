#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "kinds.h"
#include "log.h"
#include "plugin_config.h"

#define CACHE_MAX 64

/* ---- plugin cache: one open handle per plugin name ---- */

struct plugin_cache {
    loaded_plugin *plugins[CACHE_MAX];
    size_t count;
};

plugin_cache *plugin_cache_new(void)
{
    return calloc(1, sizeof(plugin_cache));
}

void plugin_cache_release(plugin_cache *cache, bool all)
{
    for (size_t i = 0; i < cache->count;) {
        if (all || cache->plugins[i]->refs == 0) {
            loader_close(cache->plugins[i]);
            cache->plugins[i] = cache->plugins[--cache->count];
        } else {
            i++;
        }
    }
}

void plugin_cache_free(plugin_cache *cache)
{
    if (cache == NULL)
        return;
    plugin_cache_release(cache, true);
    free(cache);
}

static loaded_plugin *cache_open(plugin_cache *cache, const core_config *cfg, const char *name,
                                 char *errbuf, size_t errbuf_size)
{
    for (size_t i = 0; i < cache->count; i++) {
        if (strcmp(cache->plugins[i]->desc->name, name) == 0)
            return cache->plugins[i];
    }
    if (cache->count == CACHE_MAX) {
        snprintf(errbuf, errbuf_size, "%s: too many distinct plugins (at most %d)", name, CACHE_MAX);
        return NULL;
    }
    loaded_plugin *p = loader_open_by_name(name, cfg->plugin_path, cfg->plugin_path_count, errbuf,
                                           errbuf_size);
    if (p != NULL)
        cache->plugins[cache->count++] = p;
    return p;
}

/* ---- configuration checks ---- */

static void instance_prefix(const core_config *cfg, const instance_config *ic, char *out,
                            size_t size)
{
    snprintf(out, size, "%s: plugins[%zu].config.", cfg->path, ic->index);
}

/* Validates one instance config; returns its plugin or NULL (diagnostics added). */
static loaded_plugin *check_instance(plugin_cache *cache, const core_config *cfg,
                                     const instance_config *ic, diag_list *diags)
{
    char reason[1024];
    loaded_plugin *p = cache_open(cache, cfg, ic->plugin, reason, sizeof(reason));
    if (p == NULL) {
        diag_add(diags, "%s: plugins[%zu].plugin: %s", cfg->path, ic->index, reason);
        return NULL;
    }
    char prefix[1200];
    instance_prefix(cfg, ic, prefix, sizeof(prefix));
    if (!plugin_config_validate(p->desc->config_schema, ic->config, prefix, diags))
        return NULL;
    if (p->desc->check_config == NULL)
        return p;
    trellis_config *config = plugin_config_new(p->desc->config_schema, ic->config);
    if (config == NULL) {
        diag_add(diags, "%s: plugins[%zu]: out of memory", cfg->path, ic->index);
        return NULL;
    }
    struct trellis_error err = {0};
    trellis_status st = p->desc->check_config(&host_services, config, &err);
    plugin_config_free(config);
    if (st == TRELLIS_OK)
        return p;
    const char *message = err.set && err.message[0] ? err.message : "invalid (no message given)";
    if (err.set && err.key[0] != '\0')
        diag_add(diags, "%s%s: %s", prefix, err.key, message);
    else
        diag_add(diags, "%s: plugins[%zu].config: %s", cfg->path, ic->index, message);
    return NULL;
}

bool runtime_check_config(plugin_cache *cache, const core_config *cfg, diag_list *diags)
{
    bool ok = true;
    const instance_config *store = NULL;
    for (size_t i = 0; i < cfg->instance_count; i++) {
        const instance_config *ic = &cfg->instances[i];
        loaded_plugin *p = check_instance(cache, cfg, ic, diags);
        if (p == NULL) {
            ok = false;
        } else if (p->desc->kind == TRELLIS_KIND_STORE) {
            /* The catalog lives in exactly one store. */
            if (store != NULL) {
                diag_add(diags, "%s: plugins[%zu]: only one store instance is allowed (plugins[%zu] is one)",
                         cfg->path, ic->index, store->index);
                ok = false;
            }
            store = ic;
        }
    }
    return ok;
}

/* ---- the running set ---- */

struct runtime {
    host_env *env;
    plugin_cache *cache;
    trellis_host_ctx **active;     /* in start order */
    size_t active_count;
    trellis_host_ctx **retiring;   /* being stopped after a reload */
    size_t retiring_count;

    runtime_observer observer;

    /* stop_all state */
    size_t stop_index;             /* instances left to stop: active[0 .. stop_index) */
    uint64_t stop_deadline_ns;
    void (*stop_done)(void *arg);
    void *stop_done_arg;
};

runtime *runtime_new(host_env *env, plugin_cache *cache)
{
    runtime *rt = calloc(1, sizeof(*rt));
    if (rt == NULL)
        return NULL;
    rt->env = env;
    rt->cache = cache;
    rt->active = calloc(CONFIG_INSTANCES_MAX, sizeof(*rt->active));
    rt->retiring = calloc(CONFIG_INSTANCES_MAX * 2, sizeof(*rt->retiring));
    if (rt->active == NULL || rt->retiring == NULL) {
        runtime_free(rt);
        return NULL;
    }
    return rt;
}

void runtime_free(runtime *rt)
{
    if (rt == NULL)
        return;
    for (size_t i = 0; i < rt->active_count; i++)
        instance_free(rt->active[i]);
    for (size_t i = 0; i < rt->retiring_count; i++)
        instance_free(rt->retiring[i]);
    free(rt->active);
    free(rt->retiring);
    free(rt);
}

size_t runtime_instance_count(const runtime *rt)
{
    return rt->active_count;
}

static void log_instance_failure(const trellis_host_ctx *inst, const char *event,
                                 const char *reason)
{
    trellis_log_field fields[] = {
        {"file", inst->plugin->path},
        {"plugin", inst->plugin_name},
        {"instance", inst->instance_name},
        {"reason", reason},
    };
    log_core_fields(TRELLIS_LOG_ERROR, event, fields, 4, "plugin instance refused");
}

/* Creates and starts one instance; NULL (logged) on failure, after cleanup
 * has been scheduled through `on_failed_stop`. */
static trellis_host_ctx *bring_up(runtime *rt, const core_config *cfg, const instance_config *ic,
                                  loaded_plugin *plugin, bool *failed_started)
{
    char prefix[1200];
    char reason[2048];
    instance_prefix(cfg, ic, prefix, sizeof(prefix));
    *failed_started = false;
    trellis_host_ctx *inst = instance_new(rt->env, plugin, ic->name, ic->config, prefix);
    if (inst == NULL) {
        log_core(TRELLIS_LOG_ERROR, "instance_failed", "%s: out of memory", ic->name);
        return NULL;
    }
    if (!instance_create(inst, reason, sizeof(reason))) {
        log_instance_failure(inst, "plugin_create_failed", reason);
        instance_free(inst);
        return NULL;
    }
    if (!instance_start(inst, reason, sizeof(reason))) {
        log_instance_failure(inst, "plugin_start_failed", reason);
        *failed_started = true;
        return inst; /* created: the caller stops it */
    }
    log_write(TRELLIS_LOG_INFO, inst->plugin_name, inst->instance_name, "started",
              "instance started", NULL, 0);
    return inst;
}

bool runtime_start(runtime *rt, const core_config *cfg)
{
    diag_list diags = {0};
    if (!runtime_check_config(rt->cache, cfg, &diags)) {
        diag_log_and_clear(&diags, "config_invalid");
        return false;
    }
    for (size_t i = 0; i < cfg->instance_count; i++) {
        const instance_config *ic = &cfg->instances[i];
        char reason[1024];
        loaded_plugin *plugin = cache_open(rt->cache, cfg, ic->plugin, reason, sizeof(reason));
        bool failed_started;
        trellis_host_ctx *inst = plugin ? bring_up(rt, cfg, ic, plugin, &failed_started) : NULL;
        if (inst == NULL)
            return false;
        /* A failed start is still active so runtime_stop_all stops it. */
        rt->active[rt->active_count++] = inst;
        if (failed_started)
            return false;
    }
    return true;
}

static void stop_next(runtime *rt);

static void on_instance_stopped_during_shutdown(trellis_host_ctx *inst, void *arg)
{
    runtime *rt = arg;
    log_write(TRELLIS_LOG_INFO, inst->plugin_name, inst->instance_name, "stopped",
              "instance stopped", NULL, 0);
    stop_next(rt);
}

static uint64_t now_ns(void)
{
    return host_services.monotonic_ns();
}

static void report_all_stopped(void *arg)
{
    runtime *rt = arg;
    void (*done)(void *) = rt->stop_done;
    rt->stop_done = NULL;
    if (done != NULL)
        done(rt->stop_done_arg);
}

static void stop_next(runtime *rt)
{
    if (rt->stop_index == 0) {
        /* Never from inside runtime_stop_all(): when nothing had started,
         * the caller may not even be running the loop yet, and a
         * loop_break() before loop_run() would be lost. */
        if (loop_defer(rt->env->lp, rt, report_all_stopped, rt) != 0)
            report_all_stopped(rt);
        return;
    }
    trellis_host_ctx *inst = rt->active[--rt->stop_index];
    if (rt->observer.leaving != NULL)
        rt->observer.leaving(rt->observer.arg, inst);
    uint64_t now = now_ns();
    uint64_t left_ms = rt->stop_deadline_ns > now ? (rt->stop_deadline_ns - now) / 1000000u : 0;
    instance_stop(inst, left_ms, on_instance_stopped_during_shutdown, rt);
}

void runtime_stop_all(runtime *rt, uint64_t timeout_ms, void (*done)(void *arg), void *arg)
{
    rt->stop_index = rt->active_count;
    rt->stop_deadline_ns = now_ns() + timeout_ms * 1000000u;
    rt->stop_done = done;
    rt->stop_done_arg = arg;
    stop_next(rt);
}

/* ---- reload ---- */

static void on_retired(trellis_host_ctx *inst, void *arg)
{
    runtime *rt = arg;
    log_write(TRELLIS_LOG_INFO, inst->plugin_name, inst->instance_name, "stopped",
              "instance stopped (reload)", NULL, 0);
    for (size_t i = 0; i < rt->retiring_count; i++) {
        if (rt->retiring[i] == inst) {
            rt->retiring[i] = rt->retiring[--rt->retiring_count];
            break;
        }
    }
    instance_free(inst);
    plugin_cache_release(rt->cache, false);
}

static void retire(runtime *rt, trellis_host_ctx *inst, uint64_t timeout_ms)
{
    if (rt->observer.leaving != NULL)
        rt->observer.leaving(rt->observer.arg, inst);
    if (rt->retiring_count == CONFIG_INSTANCES_MAX * 2) {
        /* Cannot track it; stop it anyway and let shutdown reclaim nothing. */
        log_write(TRELLIS_LOG_ERROR, inst->plugin_name, inst->instance_name, "reload_backlog",
                  "too many instances still stopping from earlier reloads", NULL, 0);
    } else {
        rt->retiring[rt->retiring_count++] = inst;
    }
    instance_stop(inst, timeout_ms, on_retired, rt);
}

static trellis_host_ctx *find_active(runtime *rt, const char *name)
{
    for (size_t i = 0; i < rt->active_count; i++) {
        if (strcmp(rt->active[i]->instance_name, name) == 0)
            return rt->active[i];
    }
    return NULL;
}

/* Core settings a reload may change; all others need a restart. */
static bool setting_reloadable(const char *key)
{
    return strcmp(key, "log_level") == 0 || strcmp(key, "log_format") == 0;
}

static bool restart_only_settings_changed(const core_config *old_cfg, const core_config *new_cfg,
                                          diag_list *diags)
{
    bool changed = false;
    for (const trellis_config_field *f = core_config_schema; f->key != NULL; f++) {
        if (setting_reloadable(f->key) || strcmp(f->key, "plugin_path") == 0)
            continue;
        if (!plugin_config_same_value(old_cfg->settings, new_cfg->settings, f->key)) {
            diag_add(diags, "%s: %s: changing it requires a restart", new_cfg->path, f->key);
            changed = true;
        }
    }
    bool same_path = old_cfg->plugin_path_count == new_cfg->plugin_path_count;
    for (size_t i = 0; same_path && i < old_cfg->plugin_path_count; i++)
        same_path = strcmp(old_cfg->plugin_path[i], new_cfg->plugin_path[i]) == 0;
    if (!same_path) {
        diag_add(diags, "%s: plugin_path: changing it requires a restart", new_cfg->path);
        changed = true;
    }
    return changed;
}

/* Instances of kinds that cannot be replaced live (the store the control
 * plane is linked to) must come through a reload exactly as they run: none
 * changed, added or removed. The plugins are already loaded by the config
 * check, so cache_open only looks them up. */
static bool fixed_instances_unchanged(runtime *rt, const core_config *new_cfg, diag_list *diags)
{
    bool unchanged = true;
    for (size_t i = 0; i < new_cfg->instance_count; i++) {
        const instance_config *ic = &new_cfg->instances[i];
        trellis_host_ctx *old = find_active(rt, ic->name);
        if (old && strcmp(old->plugin_name, ic->plugin) == 0 && json_equal(old->config_json, ic->config))
            continue;
        char reason[1024];
        loaded_plugin *plugin = cache_open(rt->cache, new_cfg, ic->plugin, reason, sizeof(reason));
        bool old_fixed = old != NULL && !kind_replaceable_live(old->plugin->desc->kind);
        bool new_fixed = plugin != NULL && !kind_replaceable_live(plugin->desc->kind);
        if (!old_fixed && !new_fixed)
            continue;
        uint32_t kind = old_fixed ? old->plugin->desc->kind : plugin->desc->kind;
        diag_add(diags, "%s: plugins[%zu]: a %s instance cannot be %s while running; restart instead",
                 new_cfg->path, ic->index, kind_name(kind), old ? "replaced" : "added");
        unchanged = false;
    }
    for (size_t i = 0; i < rt->active_count; i++) {
        const trellis_host_ctx *old = rt->active[i];
        if (kind_replaceable_live(old->plugin->desc->kind))
            continue;
        bool kept = false;
        for (size_t j = 0; !kept && j < new_cfg->instance_count; j++)
            kept = strcmp(new_cfg->instances[j].name, old->instance_name) == 0;
        if (!kept) {
            diag_add(diags, "%s: plugins: the %s instance %s cannot be removed while running; restart instead",
                     new_cfg->path, kind_name(old->plugin->desc->kind), old->instance_name);
            unchanged = false;
        }
    }
    return unchanged;
}

int runtime_reload(runtime *rt, const core_config *old_cfg, const core_config *new_cfg,
                    uint64_t timeout_ms)
{
    diag_list diags = {0};
    bool ok = runtime_check_config(rt->cache, new_cfg, &diags);
    if (ok && restart_only_settings_changed(old_cfg, new_cfg, &diags))
        ok = false;
    if (ok && !fixed_instances_unchanged(rt, new_cfg, &diags))
        ok = false;
    if (!ok) {
        diag_log_and_clear(&diags, "reload_rejected");
        plugin_cache_release(rt->cache, false);
        return -1;
    }

    trellis_host_ctx *next[CONFIG_INSTANCES_MAX];
    size_t next_count = 0;
    bool kept[CONFIG_INSTANCES_MAX] = {false};
    size_t started = 0, replaced = 0, failed = 0;

    for (size_t i = 0; i < new_cfg->instance_count; i++) {
        const instance_config *ic = &new_cfg->instances[i];
        trellis_host_ctx *old = find_active(rt, ic->name);
        size_t old_index = 0;
        for (; old && old_index < rt->active_count && rt->active[old_index] != old; old_index++) {
        }
        if (old && strcmp(old->plugin_name, ic->plugin) == 0 &&
            json_equal(old->config_json, ic->config)) {
            next[next_count++] = old;
            kept[old_index] = true;
            continue;
        }
        char reason[1024];
        loaded_plugin *plugin = cache_open(rt->cache, new_cfg, ic->plugin, reason, sizeof(reason));
        bool failed_started = false;
        trellis_host_ctx *fresh = plugin ? bring_up(rt, new_cfg, ic, plugin, &failed_started) : NULL;
        if (fresh != NULL && failed_started) {
            retire(rt, fresh, timeout_ms);
            fresh = NULL;
        }
        if (fresh == NULL) {
            failed++;
            log_core(TRELLIS_LOG_ERROR, "reload_instance_failed",
                     "instance %s: the new configuration did not start; %s", ic->name,
                     old ? "the old instance keeps running" : "it is not running");
            if (old != NULL) {
                next[next_count++] = old;
                kept[old_index] = true;
            }
            continue;
        }
        next[next_count++] = fresh;
        if (old != NULL)
            replaced++;
        else
            started++;
    }
    /* Everything not carried over retires, in reverse start order. */
    size_t retired = 0;
    for (size_t i = rt->active_count; i-- > 0;) {
        if (!kept[i]) {
            retire(rt, rt->active[i], timeout_ms);
            retired++;
        }
    }
    memcpy(rt->active, next, next_count * sizeof(*next));
    rt->active_count = next_count;
    if (rt->observer.changed != NULL)
        rt->observer.changed(rt->observer.arg);

    core_config_apply_logging(new_cfg);
    log_core(failed ? TRELLIS_LOG_WARN : TRELLIS_LOG_INFO, "reloaded",
             "configuration reloaded: %zu started, %zu replaced, %zu stopping, %zu failed", started,
             replaced, retired - replaced, failed);
    return (int)failed;
}

trellis_host_ctx *runtime_find_kind(runtime *rt, uint32_t kind)
{
    for (size_t i = 0; i < rt->active_count; i++) {
        if (rt->active[i]->plugin->desc->kind == kind)
            return rt->active[i];
    }
    return NULL;
}

size_t runtime_instances_of_kind(runtime *rt, uint32_t kind, trellis_host_ctx **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < rt->active_count && n < max; i++) {
        if (rt->active[i]->plugin->desc->kind == kind &&
            rt->active[i]->state == TRELLIS_INSTANCE_STARTED)
            out[n++] = rt->active[i];
    }
    return n;
}

void runtime_set_observer(runtime *rt, const runtime_observer *observer)
{
    if (observer != NULL)
        rt->observer = *observer;
    else
        memset(&rt->observer, 0, sizeof(rt->observer));
}

/* ---- views ---- */

void runtime_foreach_instance(runtime *rt, trellis_instance_visit_fn fn, void *arg)
{
    for (size_t i = 0; i < rt->active_count; i++) {
        const trellis_host_ctx *inst = rt->active[i];
        trellis_instance_info info = {
            .size = sizeof(info),
            .kind = inst->plugin->desc->kind,
            .plugin = inst->plugin_name,
            .instance = inst->instance_name,
            .state = (uint32_t)inst->state,
            .ready = inst->ready && inst->state == TRELLIS_INSTANCE_STARTED,
            .detail = inst->detail ? inst->detail : "",
        };
        fn(&info, arg);
    }
}

