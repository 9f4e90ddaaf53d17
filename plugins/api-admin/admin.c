/*
 * api.admin — the operator's HTTP endpoint: liveness, readiness, Prometheus
 * metrics and the debug views other components register. Loopback by default.
 *
 *   GET /healthz          200 while the process and its loop run
 *   GET /readyz           200 when every plugin instance has started and is ready, else 503
 *   GET /metrics          Prometheus text exposition (process, loop, plugins)
 *   GET /debug/<name>     a registered debug provider's JSON (e.g. config_dump)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/frontend.h>
#include <trellis/plugin.h>

#include "http_frontend.h"
#include "http_server.h"
#include "text_buffer.h"

typedef struct admin {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    const trellis_config *config;
    http_server *http;
    trellis_metric *requests_healthz;
    trellis_metric *requests_readyz;
    trellis_metric *requests_metrics;
    trellis_metric *requests_debug;
    trellis_metric *requests_other;
    trellis_metric *connections;
} admin;

static const trellis_config_field admin_schema[] = {
    {"listen", TRELLIS_CONFIG_ADDRESS, 0, "\"127.0.0.1:7081\"", 0, 0, NULL,
     "address to serve on; loopback unless you mean otherwise"},
    {"max_connections", TRELLIS_CONFIG_INTEGER, 0, "64", 1, 10000, NULL,
     "concurrent connections; more are answered 503 and closed"},
    {"request_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "10000", 100, 600000, NULL,
     "time allowed to receive one request"},
    {"idle_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "60000", 100, 3600000, NULL,
     "keep-alive idle time before a connection is closed"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static const char *state_name(uint32_t state)
{
    switch (state) {
    case TRELLIS_INSTANCE_CREATED: return "created";
    case TRELLIS_INSTANCE_STARTED: return "started";
    case TRELLIS_INSTANCE_STOPPING: return "stopping";
    case TRELLIS_INSTANCE_STOPPED: return "stopped";
    default: return "unknown";
    }
}

typedef struct readiness {
    text_buffer *out;
    bool all_ready;
    size_t count;
} readiness;

static void visit_instance(const trellis_instance_info *info, void *arg)
{
    readiness *r = arg;
    bool ready = info->ready != 0;
    if (!ready)
        r->all_ready = false;
    tb_append(r->out, r->count++ ? "," : "");
    tb_append(r->out, "{\"plugin\":");
    tb_append_json_string(r->out, info->plugin);
    tb_append(r->out, ",\"instance\":");
    tb_append_json_string(r->out, info->instance);
    tb_appendf(r->out, ",\"state\":\"%s\",\"ready\":%s,\"detail\":", state_name(info->state),
               ready ? "true" : "false");
    tb_append_json_string(r->out, info->detail ? info->detail : "");
    tb_append(r->out, "}");
}

static void serve_readyz(admin *a, http_exchange *x)
{
    text_buffer instances;
    tb_init(&instances);
    readiness r = {.out = &instances, .all_ready = true};
    a->host->instances_foreach(a->ctx, visit_instance, &r);
    text_buffer body;
    tb_init(&body);
    tb_appendf(&body, "{\"ready\":%s,\"instances\":[%s]}\n", r.all_ready ? "true" : "false",
               instances.data ? instances.data : "");
    if (tb_failed(&instances) || tb_failed(&body))
        http_respond(x, 500, "text/plain", NULL, 0, "out of memory\n", 14);
    else
        http_respond(x, r.all_ready ? 200 : 503, "application/json", NULL, 0, body.data, body.len);
    tb_free(&instances);
    tb_free(&body);
}

typedef struct exposition {
    text_buffer *out;
    const char *last_family;
} exposition;

static void append_help(text_buffer *out, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            tb_append(out, "\\\\");
        else if (*p == '\n')
            tb_append(out, "\\n");
        else
            tb_append_len(out, p, 1);
    }
}

static void append_series(text_buffer *out, const char *name, const char *suffix,
                          const char *labels, const char *extra_label, double value)
{
    bool has_labels = labels[0] != '\0' || extra_label != NULL;
    tb_appendf(out, "%s%s", name, suffix);
    if (has_labels) {
        tb_appendf(out, "{%s%s%s}", labels, labels[0] && extra_label ? "," : "",
                   extra_label ? extra_label : "");
    }
    tb_appendf(out, " %.15g\n", value);
}

static void visit_metric(const trellis_metric_sample *s, void *arg)
{
    exposition *e = arg;
    static const char *const type_names[] = {"", "counter", "gauge", "histogram"};
    if (e->last_family == NULL || strcmp(e->last_family, s->name) != 0) {
        tb_appendf(e->out, "# HELP %s ", s->name);
        append_help(e->out, s->help);
        tb_appendf(e->out, "\n# TYPE %s %s\n", s->name, s->type <= 3 ? type_names[s->type] : "untyped");
        /* The registry keeps names alive for the whole visit. */
        e->last_family = s->name;
    }
    if (s->type != TRELLIS_METRIC_HISTOGRAM) {
        append_series(e->out, s->name, "", s->labels, NULL, s->value);
        return;
    }
    for (size_t i = 0; i < s->bucket_count; i++) {
        char le[64];
        snprintf(le, sizeof(le), "le=\"%.15g\"", s->bucket_bounds[i]);
        append_series(e->out, s->name, "_bucket", s->labels, le, (double)s->bucket_counts[i]);
    }
    append_series(e->out, s->name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
    append_series(e->out, s->name, "_sum", s->labels, NULL, s->value);
    append_series(e->out, s->name, "_count", s->labels, NULL, (double)s->count);
}

static void serve_metrics(admin *a, http_exchange *x)
{
    a->host->metric_set(a->connections, (double)http_server_connection_count(a->http));
    text_buffer body;
    tb_init(&body);
    exposition e = {.out = &body};
    a->host->metrics_foreach(a->ctx, visit_metric, &e);
    if (tb_failed(&body))
        http_respond(x, 500, "text/plain", NULL, 0, "out of memory\n", 14);
    else
        http_respond(x, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, 0,
                     body.data ? body.data : "", body.len);
    tb_free(&body);
}

static void serve_debug(admin *a, http_exchange *x, const char *name, const char *query)
{
    char *json = NULL;
    trellis_error *err = a->host->error_new();
    trellis_status st = a->host->debug_query(a->ctx, name, query, &json, err);
    if (st == TRELLIS_OK && json != NULL) {
        http_respond(x, 200, "application/json", NULL, 0, json, strlen(json));
    } else {
        const char *message = a->host->error_get0_message(err);
        if (message[0] == '\0')
            message = st == TRELLIS_ERR_NOT_FOUND ? "no such debug view" : "debug view failed";
        int status = st == TRELLIS_ERR_NOT_FOUND ? 404 : st == TRELLIS_ERR_INVALID ? 400 : 500;
        text_buffer body;
        tb_init(&body);
        tb_append(&body, "{\"message\":");
        tb_append_json_string(&body, message);
        tb_append(&body, "}\n");
        http_respond(x, status, "application/json", NULL, 0, body.data ? body.data : "", body.len);
        tb_free(&body);
    }
    a->host->free(json);
    a->host->error_free(err);
}

static void handle_request(void *arg, http_exchange *x, const http_request *req)
{
    admin *a = arg;
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (strcmp(req->path, "/healthz") == 0) {
        a->host->metric_add(a->requests_healthz, 1);
        if (get)
            http_respond(x, 200, "text/plain", NULL, 0, "ok\n", 3);
        else
            http_respond(x, 405, "text/plain", NULL, 0, "method not allowed\n", 19);
        return;
    }
    if (!get) {
        a->host->metric_add(a->requests_other, 1);
        http_respond(x, 405, "text/plain", NULL, 0, "method not allowed\n", 19);
        return;
    }
    if (strcmp(req->path, "/readyz") == 0) {
        a->host->metric_add(a->requests_readyz, 1);
        serve_readyz(a, x);
    } else if (strcmp(req->path, "/metrics") == 0) {
        a->host->metric_add(a->requests_metrics, 1);
        serve_metrics(a, x);
    } else if (strncmp(req->path, "/debug/", 7) == 0 && req->path[7] != '\0') {
        a->host->metric_add(a->requests_debug, 1);
        serve_debug(a, x, req->path + 7, req->query);
    } else {
        a->host->metric_add(a->requests_other, 1);
        http_respond(x, 404, "text/plain", NULL, 0, "not found\n", 10);
    }
}

static trellis_status admin_create(const trellis_host *host, trellis_host_ctx *ctx,
                                   const trellis_config *config, void **instance_out,
                                   trellis_error *err)
{
    admin *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    a->host = host;
    a->ctx = ctx;
    a->config = config;
    static const char *const healthz[] = {"path", "/healthz", NULL};
    static const char *const readyz[] = {"path", "/readyz", NULL};
    static const char *const metrics[] = {"path", "/metrics", NULL};
    static const char *const debug[] = {"path", "/debug", NULL};
    static const char *const other[] = {"path", "other", NULL};
    const char *help = "Requests served by the admin endpoint.";
    a->requests_healthz = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_admin_requests_total", help, healthz, NULL, 0);
    a->requests_readyz = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_admin_requests_total", help, readyz, NULL, 0);
    a->requests_metrics = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_admin_requests_total", help, metrics, NULL, 0);
    a->requests_debug = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_admin_requests_total", help, debug, NULL, 0);
    a->requests_other = host->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_admin_requests_total", help, other, NULL, 0);
    a->connections = host->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_admin_connections",
                                      "Open connections to the admin endpoint.", NULL, NULL, 0);
    *instance_out = a;
    return TRELLIS_OK;
}

static trellis_status admin_start(void *instance, trellis_error *err)
{
    admin *a = instance;
    http_server_options options = {
        .max_header_bytes = 16384,
        .max_body_bytes = 4096,
        .write_timeout_ms = 10000,
        .server_name = "trellis-admin",
    };
    a->http = http_frontend_start(a->host, a->ctx, a->config, options, "admin endpoint",
                                  handle_request, a, err);
    return a->http != NULL ? TRELLIS_OK : TRELLIS_ERR_IO;
}

static void on_drained(void *arg)
{
    admin *a = arg;
    a->host->stopped(a->ctx);
}

static trellis_status admin_stop(void *instance)
{
    admin *a = instance;
    return http_server_drain(a->http, on_drained, a) ? TRELLIS_OK : TRELLIS_AGAIN;
}

static void admin_destroy(void *instance)
{
    admin *a = instance;
    http_server_free(a->http);
    free(a);
}

static const trellis_frontend_ops admin_ops = TRELLIS_FRONTEND_OPS_INIT;

static const trellis_plugin_descriptor admin_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "api.admin",
    .version = TRELLIS_PLUGIN_VERSION,
    .summary = "admin HTTP endpoint: /healthz, /readyz, /metrics, /debug/<view>",
    .kind = TRELLIS_KIND_FRONTEND,
    .ops = &admin_ops,
    .config_schema = admin_schema,
    .check_config = NULL,
    .create = admin_create,
    .start = admin_start,
    .stop = admin_stop,
    .destroy = admin_destroy,
};

TRELLIS_PLUGIN_ENTRY(admin_descriptor)
