#include "instance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "plugin_config.h"

trellis_host_ctx *instance_new_core(host_env *env)
{
    trellis_host_ctx *inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return NULL;
    inst->env = env;
    inst->state = TRELLIS_INSTANCE_STARTED;
    inst->ready = true;
    return inst;
}

trellis_host_ctx *instance_new(host_env *env, loaded_plugin *plugin, const char *instance_name,
                               const json_t *config_json, const char *config_prefix)
{
    trellis_host_ctx *inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return NULL;
    inst->env = env;
    inst->plugin = plugin;
    plugin->refs++;
    inst->plugin_name = strdup(plugin->desc->name);
    inst->instance_name = strdup(instance_name);
    inst->config_prefix = strdup(config_prefix);
    inst->config_json = json_deep_copy(config_json);
    inst->config = inst->config_json
                       ? plugin_config_new(plugin->desc->config_schema, inst->config_json)
                       : NULL;
    inst->detail = strdup("");
    if (inst->plugin_name == NULL || inst->instance_name == NULL || inst->config_prefix == NULL ||
        inst->config == NULL || inst->detail == NULL) {
        instance_free(inst);
        return NULL;
    }
    return inst;
}

void instance_format_error(const trellis_host_ctx *inst, const struct trellis_error *err,
                           char *out, size_t size)
{
    const char *message = err->set && err->message[0] ? err->message : "failed without a message";
    if (err->set && err->key[0] != '\0')
        snprintf(out, size, "%s%s: %s", inst->config_prefix, err->key, message);
    else
        snprintf(out, size, "%s: %s", inst->plugin->path, message);
}

bool instance_create(trellis_host_ctx *inst, char *errbuf, size_t errbuf_size)
{
    struct trellis_error err = {0};
    void *instance = NULL;
    trellis_status st = inst->plugin->desc->create(&host_services, inst, inst->config, &instance,
                                                   &err);
    if (st != TRELLIS_OK || instance == NULL) {
        char detail[1400];
        instance_format_error(inst, &err, detail, sizeof(detail));
        snprintf(errbuf, errbuf_size, "create failed (status %d): %s", (int)st, detail);
        /* A failed create owns nothing the host must release but what it left
         * registered with the host. */
        host_release_instance_resources(inst);
        return false;
    }
    inst->instance = instance;
    inst->created = true;
    inst->state = TRELLIS_INSTANCE_CREATED;
    return true;
}

bool instance_start(trellis_host_ctx *inst, char *errbuf, size_t errbuf_size)
{
    struct trellis_error err = {0};
    inst->ready = true;
    trellis_status st = inst->plugin->desc->start(inst->instance, &err);
    if (st != TRELLIS_OK) {
        char detail[1400];
        instance_format_error(inst, &err, detail, sizeof(detail));
        snprintf(errbuf, errbuf_size, "start failed (status %d): %s", (int)st, detail);
        inst->ready = false;
        return false;
    }
    inst->state = TRELLIS_INSTANCE_STARTED;
    return true;
}

static void run_stopped_cb(void *arg)
{
    trellis_host_ctx *inst = arg;
    instance_stopped_cb cb = inst->stopped_cb;
    inst->stopped_cb = NULL;
    if (cb != NULL)
        cb(inst, inst->stopped_arg);
}

static void finish_stop(trellis_host_ctx *inst)
{
    if (inst->stop_deadline != NULL) {
        loop_timer_free(inst->stop_deadline);
        inst->stop_deadline = NULL;
    }
    if (inst->created) {
        inst->plugin->desc->destroy(inst->instance);
        inst->instance = NULL;
        inst->created = false;
    }
    host_release_instance_resources(inst);
    inst->state = TRELLIS_INSTANCE_STOPPED;
    inst->ready = false;
    inst->stop_in_progress = false;
    /* Never inside instance_stop(): the callback may free the instance. */
    if (loop_defer(inst->env->lp, NULL, run_stopped_cb, inst) != 0)
        run_stopped_cb(inst);
}

static void on_offload_idle(void *arg)
{
    trellis_host_ctx *inst = arg;
    if (inst->stop_in_progress && inst->drained)
        finish_stop(inst);
}

/* Drained: destroy once the instance's offload jobs have all come back. */
static void continue_after_drain(trellis_host_ctx *inst)
{
    inst->drained = true;
    if (inst->offload.jobs_in_flight == 0) {
        finish_stop(inst);
        return;
    }
    inst->offload.on_idle = on_offload_idle;
    inst->offload.on_idle_arg = inst;
}

void instance_on_stopped(trellis_host_ctx *inst)
{
    if (inst == NULL || !inst->stop_in_progress || inst->drained)
        return;
    continue_after_drain(inst);
}

static void on_stop_deadline(void *arg)
{
    trellis_host_ctx *inst = arg;
    log_write(TRELLIS_LOG_WARN, inst->plugin_name, inst->instance_name, "drain_timeout",
              "did not finish draining in time; destroying it", NULL, 0);
    if (!inst->drained)
        continue_after_drain(inst);
}

void instance_stop(trellis_host_ctx *inst, uint64_t timeout_ms, instance_stopped_cb cb, void *arg)
{
    inst->stopped_cb = cb;
    inst->stopped_arg = arg;
    inst->stop_in_progress = true;
    inst->drained = false;
    if (!inst->created) {
        finish_stop(inst);
        return;
    }
    inst->state = TRELLIS_INSTANCE_STOPPING;
    inst->ready = false;
    trellis_status st = inst->plugin->desc->stop(inst->instance);
    if (st == TRELLIS_AGAIN && !inst->drained) {
        inst->stop_deadline = loop_timer_new(inst->env->lp, on_stop_deadline, inst);
        if (inst->stop_deadline != NULL) {
            loop_timer_start(inst->stop_deadline, timeout_ms, false);
            return;
        }
    }
    if (!inst->drained)
        continue_after_drain(inst);
}

void instance_free(trellis_host_ctx *inst)
{
    if (inst == NULL)
        return;
    if (inst->plugin != NULL)
        inst->plugin->refs--;
    if (inst->stop_deadline != NULL)
        loop_timer_free(inst->stop_deadline);
    plugin_config_free(inst->config);
    json_decref(inst->config_json);
    free(inst->plugin_name);
    free(inst->instance_name);
    free(inst->config_prefix);
    free(inst->detail);
    free(inst);
}
