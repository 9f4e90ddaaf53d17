#include "plugin_harness.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug.h"
#include "host.h"
#include "instance.h"
#include "loader.h"
#include "log.h"
#include "loop_runner.h"
#include "plugin_config.h"
#include "runtime.h"

#define HARNESS_PLUGINS_MAX 16
#define HARNESS_INSTANCES_MAX 16
#define HARNESS_OFFLOAD_THREADS 4
#define HARNESS_OFFLOAD_QUEUE 4096
#define HARNESS_STOP_TIMEOUT_MS 30000

struct harness_instance {
    harness *h;
    trellis_host_ctx *inst;
};

struct harness {
    host_env env;
    plugin_cache *empty_cache; /* backs the empty runtime */
    char *plugin_dir;
    loaded_plugin *plugins[HARNESS_PLUGINS_MAX];
    size_t plugin_count;
    harness_instance *instances[HARNESS_INSTANCES_MAX];
    unsigned instances_made;
    int log_fd;
};

harness *harness_new(const char *plugin_dir)
{
    harness *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->log_fd = memfd_create("harness-log", MFD_CLOEXEC);
    h->plugin_dir = strdup(plugin_dir);
    h->env.lp = loop_new();
    h->env.metrics = metrics_registry_new();
    h->env.debug = debug_registry_new();
    h->empty_cache = plugin_cache_new();
    if (h->log_fd < 0 || h->plugin_dir == NULL || h->env.lp == NULL || h->env.metrics == NULL ||
        h->env.debug == NULL || h->empty_cache == NULL)
        goto fail;
    h->env.offload = offload_pool_new(h->env.lp, HARNESS_OFFLOAD_THREADS, HARNESS_OFFLOAD_QUEUE);
    h->env.rt = runtime_new(&h->env, h->empty_cache);
    if (h->env.offload == NULL || h->env.rt == NULL)
        goto fail;
    log_set_fd(h->log_fd);
    return h;
fail:
    harness_free(h);
    return NULL;
}

void harness_free(harness *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < HARNESS_INSTANCES_MAX; i++)
        harness_stop(h->instances[i]);
    offload_pool_free(h->env.offload);
    if (h->env.lp != NULL)
        loop_drain_pending(h->env.lp);
    runtime_free(h->env.rt);
    plugin_cache_free(h->empty_cache);
    for (size_t i = 0; i < h->plugin_count; i++)
        loader_close(h->plugins[i]);
    debug_registry_free(h->env.debug);
    metrics_registry_free(h->env.metrics);
    loop_free(h->env.lp);
    if (h->log_fd >= 0) {
        const char *show = getenv("TRELLIS_TEST_LOG");
        if (show != NULL && strcmp(show, "1") == 0)
            harness_log_dump(h, stderr);
        log_set_fd(2);
        close(h->log_fd);
    }
    free(h->plugin_dir);
    free(h);
}

static loaded_plugin *open_plugin(harness *h, const char *name, char *errbuf, size_t n)
{
    for (size_t i = 0; i < h->plugin_count; i++) {
        if (strcmp(h->plugins[i]->desc->name, name) == 0)
            return h->plugins[i];
    }
    if (h->plugin_count == HARNESS_PLUGINS_MAX) {
        snprintf(errbuf, n, "harness: more than %d plugins", HARNESS_PLUGINS_MAX);
        return NULL;
    }
    char *dirs[] = {h->plugin_dir};
    loaded_plugin *p = loader_open_by_name(name, dirs, 1, errbuf, n);
    if (p != NULL)
        h->plugins[h->plugin_count++] = p;
    return p;
}

static size_t free_instance_slot(const harness *h)
{
    for (size_t i = 0; i < HARNESS_INSTANCES_MAX; i++) {
        if (h->instances[i] == NULL)
            return i;
    }
    return HARNESS_INSTANCES_MAX;
}

harness_instance *harness_create(harness *h, const char *plugin, const char *config_json,
                                 char *errbuf, size_t errbuf_size)
{
    static const char prefix[] = "harness: config.";
    json_t *config = NULL;
    trellis_host_ctx *inst = NULL;
    harness_instance *hi = NULL;
    diag_list diags = {0};
    size_t slot = free_instance_slot(h);
    if (slot == HARNESS_INSTANCES_MAX) {
        snprintf(errbuf, errbuf_size, "harness: more than %d instances", HARNESS_INSTANCES_MAX);
        goto fail;
    }
    loaded_plugin *p = open_plugin(h, plugin, errbuf, errbuf_size);
    if (p == NULL)
        goto fail;
    json_error_t jerr;
    config = json_loads(config_json, 0, &jerr);
    if (config == NULL || !json_is_object(config)) {
        snprintf(errbuf, errbuf_size, "harness: config is not a JSON object: %s",
                 config ? "" : jerr.text);
        goto fail;
    }
    if (!plugin_config_validate(p->desc->config_schema, config, prefix, &diags)) {
        char *joined = diag_join(&diags);
        snprintf(errbuf, errbuf_size, "%s", joined ? joined : "invalid config");
        free(joined);
        goto fail;
    }
    char name[32];
    snprintf(name, sizeof(name), "t%u", ++h->instances_made);
    inst = instance_new(&h->env, p, name, config, prefix);
    hi = calloc(1, sizeof(*hi));
    if (inst == NULL || hi == NULL) {
        snprintf(errbuf, errbuf_size, "harness: out of memory");
        goto fail;
    }
    if (p->desc->check_config != NULL) {
        struct trellis_error err = {0};
        if (p->desc->check_config(&host_services, inst->config, &err) != TRELLIS_OK) {
            snprintf(errbuf, errbuf_size, "%s%s: %s", prefix, err.key,
                     err.set ? err.message : "refused without a message");
            goto fail;
        }
    }
    if (!instance_create(inst, errbuf, errbuf_size))
        goto fail;
    json_decref(config);
    hi->h = h;
    hi->inst = inst;
    h->instances[slot] = hi;
    return hi;
fail:
    diag_clear(&diags);
    json_decref(config);
    instance_free(inst);
    free(hi);
    return NULL;
}

bool harness_start(harness_instance *hi, char *errbuf, size_t errbuf_size)
{
    return instance_start(hi->inst, errbuf, errbuf_size);
}

static void on_instance_stopped(trellis_host_ctx *inst, void *arg)
{
    (void)inst;
    *(bool *)arg = true;
}

static bool flag_set(void *arg)
{
    return *(bool *)arg;
}

void harness_stop(harness_instance *hi)
{
    if (hi == NULL)
        return;
    harness *h = hi->h;
    bool stopped = false;
    instance_stop(hi->inst, HARNESS_STOP_TIMEOUT_MS, on_instance_stopped, &stopped);
    /* The host's own deadline bounds the drain; offload jobs it must await. */
    while (!harness_run_until(h, flag_set, &stopped, HARNESS_STOP_TIMEOUT_MS)) {
    }
    instance_free(hi->inst);
    for (size_t i = 0; i < HARNESS_INSTANCES_MAX; i++) {
        if (h->instances[i] == hi)
            h->instances[i] = NULL;
    }
    free(hi);
}

void *harness_plugin_instance(harness_instance *hi)
{
    return hi->inst->instance;
}

const void *harness_ops(harness_instance *hi)
{
    return hi->inst->plugin->desc->ops;
}

const trellis_plugin_descriptor *harness_descriptor(harness_instance *hi)
{
    return hi->inst->plugin->desc;
}

bool harness_ready(harness_instance *hi, const char **detail)
{
    if (detail != NULL)
        *detail = hi->inst->detail ? hi->inst->detail : "";
    return hi->inst->ready && hi->inst->state == TRELLIS_INSTANCE_STARTED;
}

/* ---- running the loop ---- */

bool harness_run_until(harness *h, bool (*until)(void *arg), void *arg, uint64_t timeout_ms)
{
    return run_loop_until(h->env.lp, until, arg, timeout_ms);
}

void harness_run_for(harness *h, uint64_t ms)
{
    run_loop_for(h->env.lp, ms);
}

/* ---- captured log ---- */

char *harness_log_text(harness *h)
{
    struct stat st;
    if (fstat(h->log_fd, &st) != 0)
        return NULL;
    size_t size = (size_t)st.st_size;
    char *text = malloc(size + 1);
    if (text == NULL)
        return NULL;
    ssize_t n = pread(h->log_fd, text, size, 0);
    text[n > 0 ? (size_t)n : 0] = '\0';
    return text;
}

bool harness_log_contains(harness *h, const char *needle)
{
    char *text = harness_log_text(h);
    bool found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}

void harness_log_clear(harness *h)
{
    if (ftruncate(h->log_fd, 0) == 0)
        lseek(h->log_fd, 0, SEEK_SET);
}

void harness_log_dump(harness *h, FILE *out)
{
    char *text = harness_log_text(h);
    if (text != NULL)
        fputs(text, out);
    free(text);
}

/* ---- metrics ---- */

typedef struct metric_sum {
    const char *name;
    double total;
    bool found;
} metric_sum;

static void add_sample(const trellis_metric_sample *s, void *arg)
{
    metric_sum *m = arg;
    if (strcmp(s->name, m->name) != 0)
        return;
    m->found = true;
    m->total += s->type == TRELLIS_METRIC_HISTOGRAM ? (double)s->count : s->value;
}

double harness_metric(harness *h, const char *name)
{
    metric_sum m = {.name = name};
    metrics_foreach(h->env.metrics, add_sample, &m);
    return m.found ? m.total : -1;
}
