/*
 * test.probe — a well-behaved frontend plugin for the integration tests.
 *
 * It serves nothing. It exists to make the host's behaviour visible:
 *   - every lifecycle step is one log line carrying the instance's `label`,
 *     so a test sees which configuration an instance runs and when a reload
 *     started, replaced or stopped it (probe_started, probe_stopping,
 *     probe_drained, probe_destroyed);
 *   - at start it exercises the host services (deferred calls and their
 *     order, a timer, an offload job whose work posts back to the loop from
 *     the worker thread, metrics) and logs probe_services_ok once all of them
 *     behaved, or probe_services_failed naming what did not;
 *   - it can report itself not ready, drain slowly, or never drain;
 *   - with `debug_view` it registers a debug provider showing what it saw.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/frontend.h>
#include <trellis/plugin.h>

/* How long the self-check's timer waits before firing. */
#define PROBE_TIMER_MS 20

typedef struct probe {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    const trellis_config *config;
    const char *label;
    pthread_t loop_thread;

    trellis_timer *check_timer;
    trellis_timer *drain_timer;
    trellis_metric *checks_timer;
    trellis_metric *checks_defer;
    trellis_metric *checks_post;
    trellis_metric *checks_offload;
    trellis_metric *offload_seconds;

    /* Self-check results, written on the loop thread only. */
    char defer_order[8];
    unsigned deferred_runs;
    unsigned timer_fired;
    unsigned posts_run;
    unsigned offloads_done;
    bool post_on_loop_thread;
    bool done_on_loop_thread;
    bool work_on_worker_thread;
    bool services_reported;
} probe;

/* One offload job; `work` writes its fields on the worker, `done` reads them
 * on the loop thread after the host's hand-over. */
typedef struct probe_job {
    probe *p;
    uint64_t submitted_ns;
    bool ran_off_loop;
    trellis_status post_status;
} probe_job;

static const trellis_config_field probe_schema[] = {
    {"label", TRELLIS_CONFIG_STRING, 0, "\"\"", 0, 64, NULL,
     "free text logged on every lifecycle line (tells configurations apart)"},
    {"drain_ms", TRELLIS_CONFIG_INTEGER, 0, "0", 0, 60000, NULL,
     "stop() returns TRELLIS_AGAIN and reports stopped() after this long"},
    {"never_drain", TRELLIS_CONFIG_BOOLEAN, 0, "false", 0, 0, NULL,
     "stop() returns TRELLIS_AGAIN and never reports stopped()"},
    {"ready", TRELLIS_CONFIG_BOOLEAN, 0, "true", 0, 0, NULL,
     "false: report not ready after start"},
    {"ready_detail", TRELLIS_CONFIG_STRING, 0, NULL, 1, 200, NULL,
     "why the probe is not ready (only with ready=false)"},
    {"debug_view", TRELLIS_CONFIG_STRING, 0, NULL, 1, 64, NULL,
     "register a debug provider under this name"},
    {"exercise", TRELLIS_CONFIG_BOOLEAN, 0, "true", 0, 0, NULL,
     "exercise the host services at start"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static bool on_loop_thread(const probe *p)
{
    return pthread_equal(pthread_self(), p->loop_thread) != 0;
}

static void log_event(probe *p, trellis_log_level level, const char *event, const char *key,
                      const char *value)
{
    trellis_log_field fields[] = {{"label", p->label}, {key, value}};
    p->host->log_fields(p->ctx, level, event, fields, key != NULL ? 2 : 1);
}

/* ---- the host-services self-check ---- */

static void report_services_if_complete(probe *p)
{
    if (p->services_reported || p->deferred_runs < 2 || p->timer_fired < 1 || p->posts_run < 1 ||
        p->offloads_done < 1)
        return;
    p->services_reported = true;
    const char *failure = strcmp(p->defer_order, "AB") != 0 ? "deferred calls ran out of order"
                          : !p->work_on_worker_thread     ? "offload work ran on the loop thread"
                          : !p->post_on_loop_thread       ? "a post ran off the loop thread"
                          : !p->done_on_loop_thread       ? "offload done() ran off the loop thread"
                                                          : NULL;
    if (failure != NULL)
        log_event(p, TRELLIS_LOG_ERROR, "probe_services_failed", "reason", failure);
    else
        log_event(p, TRELLIS_LOG_INFO, "probe_services_ok", "checked",
                  "defer-order,timer,post-from-worker,offload,metrics");
}

static void on_deferred_a(void *arg)
{
    probe *p = arg;
    strncat(p->defer_order, "A", sizeof(p->defer_order) - strlen(p->defer_order) - 1);
    p->deferred_runs++;
    p->host->metric_add(p->checks_defer, 1);
    report_services_if_complete(p);
}

static void on_deferred_b(void *arg)
{
    probe *p = arg;
    strncat(p->defer_order, "B", sizeof(p->defer_order) - strlen(p->defer_order) - 1);
    p->deferred_runs++;
    p->host->metric_add(p->checks_defer, 1);
    report_services_if_complete(p);
}

static void on_check_timer(void *arg)
{
    probe *p = arg;
    p->timer_fired++;
    p->host->metric_add(p->checks_timer, 1);
    report_services_if_complete(p);
}

static void on_posted(void *arg)
{
    probe *p = arg;
    p->posts_run++;
    p->post_on_loop_thread = on_loop_thread(p);
    p->host->metric_add(p->checks_post, 1);
    report_services_if_complete(p);
}

static void offload_work(void *arg)
{
    probe_job *job = arg;
    job->ran_off_loop = !on_loop_thread(job->p);
    /* post() is the one loop service callable from a worker thread. */
    job->post_status = job->p->host->post(job->p->ctx, on_posted, job->p);
}

static void offload_done(void *arg)
{
    probe_job *job = arg;
    probe *p = job->p;
    p->offloads_done++;
    p->work_on_worker_thread = job->ran_off_loop;
    p->done_on_loop_thread = on_loop_thread(p);
    double seconds = (double)(p->host->monotonic_ns() - job->submitted_ns) / 1e9;
    p->host->metric_observe(p->offload_seconds, seconds);
    p->host->metric_add(p->checks_offload, 1);
    if (job->post_status != TRELLIS_OK)
        log_event(p, TRELLIS_LOG_ERROR, "probe_services_failed", "reason",
                  "post() from the offload worker failed");
    p->host->free(job);
    report_services_if_complete(p);
}

static trellis_status exercise_services(probe *p, trellis_error *err)
{
    if (p->host->defer(p->ctx, on_deferred_a, p) != TRELLIS_OK ||
        p->host->defer(p->ctx, on_deferred_b, p) != TRELLIS_OK) {
        p->host->error_set(err, NULL, "defer() failed");
        return TRELLIS_ERR_NOMEM;
    }
    p->host->timer_start(p->check_timer, PROBE_TIMER_MS, false);
    probe_job *job = p->host->alloc(sizeof(*job));
    if (job == NULL) {
        p->host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    *job = (probe_job){.p = p, .submitted_ns = p->host->monotonic_ns()};
    trellis_status st = p->host->offload(p->ctx, offload_work, offload_done, job);
    if (st != TRELLIS_OK) {
        p->host->free(job);
        p->host->error_set(err, NULL, "offload() failed with status %d", (int)st);
    }
    return st;
}

/* ---- debug view ---- */

static void append_json_string(char *out, size_t size, const char *s)
{
    size_t len = strlen(out);
    for (; *s && len + 8 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            len += (size_t)snprintf(out + len, size - len, "\\%c", ch);
        else if (ch < 0x20)
            len += (size_t)snprintf(out + len, size - len, "\\u%04x", ch);
        else
            out[len++] = (char)ch;
    }
    out[len] = '\0';
}

static trellis_status probe_debug_view(void *arg, const char *query, char **json_out,
                                       trellis_error *err)
{
    probe *p = arg;
    (void)query;
    char label[200] = "";
    append_json_string(label, sizeof(label), p->label);
    size_t size = 1024;
    char *json = p->host->alloc(size);
    if (json == NULL) {
        p->host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    snprintf(json, size,
             "{\"label\":\"%s\",\"defer_order\":\"%s\",\"deferred_runs\":%u,\"timer_fired\":%u,"
             "\"posts_run\":%u,\"offloads_done\":%u,\"work_on_worker_thread\":%s,"
             "\"post_on_loop_thread\":%s,\"done_on_loop_thread\":%s}",
             label, p->defer_order, p->deferred_runs, p->timer_fired, p->posts_run,
             p->offloads_done, p->work_on_worker_thread ? "true" : "false",
             p->post_on_loop_thread ? "true" : "false", p->done_on_loop_thread ? "true" : "false");
    *json_out = json;
    return TRELLIS_OK;
}

/* ---- lifecycle ---- */

static trellis_status probe_check_config(const trellis_host *host, const trellis_config *config,
                                         trellis_error *err)
{
    if (host->config_has(config, "ready_detail") && host->config_get_bool(config, "ready")) {
        host->error_set(err, "ready_detail", "only applies when ready is false");
        return TRELLIS_ERR_INVALID;
    }
    if (host->config_get_bool(config, "never_drain") && host->config_get_int(config, "drain_ms") > 0) {
        host->error_set(err, "never_drain", "contradicts drain_ms; set one of them");
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}

static void probe_free(probe *p)
{
    const trellis_host *h = p->host;
    h->timer_free(p->check_timer);
    h->timer_free(p->drain_timer);
    h->metric_free(p->checks_timer);
    h->metric_free(p->checks_defer);
    h->metric_free(p->checks_post);
    h->metric_free(p->checks_offload);
    h->metric_free(p->offload_seconds);
    h->free(p);
}

static void on_drain_timer(void *arg)
{
    probe *p = arg;
    log_event(p, TRELLIS_LOG_INFO, "probe_drained", NULL, NULL);
    p->host->stopped(p->ctx);
}

static trellis_status probe_create(const trellis_host *host, trellis_host_ctx *ctx,
                                   const trellis_config *config, void **instance_out,
                                   trellis_error *err)
{
    probe *p = host->alloc(sizeof(*p));
    if (p == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    *p = (probe){.host = host, .ctx = ctx, .config = config};
    p->label = host->config_get0_string(config, "label");
    static const char *const timer_labels[] = {"check", "timer", NULL};
    static const char *const defer_labels[] = {"check", "defer", NULL};
    static const char *const post_labels[] = {"check", "post", NULL};
    static const char *const offload_labels[] = {"check", "offload", NULL};
    static const double offload_buckets[] = {0.001, 0.01, 0.1, 1.0};
    const char *help = "Host-service checks completed by the probe.";
    p->checks_timer = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_probe_checks_total",
                                       help, timer_labels, NULL, 0);
    p->checks_defer = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_probe_checks_total",
                                       help, defer_labels, NULL, 0);
    p->checks_post = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_probe_checks_total",
                                      help, post_labels, NULL, 0);
    p->checks_offload = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_probe_checks_total",
                                         help, offload_labels, NULL, 0);
    p->offload_seconds = host->metric_new(ctx, TRELLIS_METRIC_HISTOGRAM,
                                          "trellis_probe_offload_seconds",
                                          "Offload round trips seen by the probe.", NULL,
                                          offload_buckets, 4);
    p->check_timer = host->timer_new(ctx, on_check_timer, p);
    p->drain_timer = host->timer_new(ctx, on_drain_timer, p);
    if (p->checks_timer == NULL || p->checks_defer == NULL || p->checks_post == NULL ||
        p->checks_offload == NULL || p->offload_seconds == NULL || p->check_timer == NULL ||
        p->drain_timer == NULL) {
        probe_free(p);
        host->error_set(err, NULL, "cannot create the probe's metrics or timers");
        return TRELLIS_ERR_NOMEM;
    }
    *instance_out = p;
    return TRELLIS_OK;
}

static trellis_status probe_start(void *instance, trellis_error *err)
{
    probe *p = instance;
    const trellis_host *h = p->host;
    p->loop_thread = pthread_self();
    log_event(p, TRELLIS_LOG_INFO, "probe_started", NULL, NULL);
    const char *view = h->config_get0_string(p->config, "debug_view");
    if (view != NULL) {
        trellis_status st = h->debug_register(p->ctx, view, probe_debug_view, p);
        if (st != TRELLIS_OK) {
            h->error_set(err, "debug_view", "cannot register debug view '%s' (status %d)", view,
                         (int)st);
            return st;
        }
    }
    if (!h->config_get_bool(p->config, "ready")) {
        const char *detail = h->config_get0_string(p->config, "ready_detail");
        h->set_ready(p->ctx, false, detail != NULL ? detail : "configured not ready");
    }
    if (h->config_get_bool(p->config, "exercise"))
        return exercise_services(p, err);
    return TRELLIS_OK;
}

static trellis_status probe_stop(void *instance)
{
    probe *p = instance;
    const trellis_host *h = p->host;
    int64_t drain_ms = h->config_get_int(p->config, "drain_ms");
    bool never = h->config_get_bool(p->config, "never_drain");
    char drain_text[32];
    snprintf(drain_text, sizeof(drain_text), "%s", never ? "never" : "");
    if (!never)
        snprintf(drain_text, sizeof(drain_text), "%lld", (long long)drain_ms);
    log_event(p, TRELLIS_LOG_INFO, "probe_stopping", "drain_ms", drain_text);
    h->timer_stop(p->check_timer);
    if (never)
        return TRELLIS_AGAIN;
    if (drain_ms > 0) {
        h->timer_start(p->drain_timer, (uint64_t)drain_ms, false);
        return TRELLIS_AGAIN;
    }
    return TRELLIS_OK;
}

static void probe_destroy(void *instance)
{
    probe *p = instance;
    log_event(p, TRELLIS_LOG_INFO, "probe_destroyed", NULL, NULL);
    probe_free(p);
}

static const trellis_frontend_ops probe_ops = TRELLIS_FRONTEND_OPS_INIT;

static const trellis_plugin_descriptor probe_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "test.probe",
    .version = "1.0.0",
    .summary = "test-only probe of the host services and the instance lifecycle",
    .kind = TRELLIS_KIND_FRONTEND,
    .ops = &probe_ops,
    .config_schema = probe_schema,
    .check_config = probe_check_config,
    .create = probe_create,
    .start = probe_start,
    .stop = probe_stop,
    .destroy = probe_destroy,
};

TRELLIS_PLUGIN_ENTRY(probe_descriptor)
