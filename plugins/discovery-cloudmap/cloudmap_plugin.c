/*
 * discovery.cloudmap: endpoints of virtual nodes whose service discovery is
 * awsCloudMap, from AWS Cloud Map's data-plane API or any registry that
 * speaks it (README.md). The descriptor, configuration, life cycle, the
 * discovery ops, readiness and metrics; the polling itself is poller.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/discovery.h>
#include <trellis/plugin.h>

#include "cloudmap_api.h"
#include "cloudmap_client.h"
#include "poller.h"

#define METRICS_REFRESH_MS 1000

static const trellis_config_field cloudmap_schema[] = {
    {"region", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_REQUIRED, NULL, 1, 64, NULL,
     "AWS Region of the Cloud Map namespaces: the SigV4 scope and the default endpoint"},
    {"endpoint", TRELLIS_CONFIG_STRING, 0, NULL, 8, 512, NULL,
     "Cloud Map data-plane URL (http:// or https://, no path); default "
     "https://data-servicediscovery.<region>.amazonaws.com"},
    {"access_key_id", TRELLIS_CONFIG_STRING, 0, NULL, 1, 256, NULL,
     "AWS access key id; default: AWS_ACCESS_KEY_ID of trellis's environment"},
    {"secret_access_key", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_SECRET, NULL, 1, 256, NULL,
     "AWS secret access key; default: AWS_SECRET_ACCESS_KEY of trellis's environment"},
    {"session_token", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_SECRET, NULL, 1, 8192, NULL,
     "session token of temporary credentials; default: AWS_SESSION_TOKEN, if set"},
    {"ca_file", TRELLIS_CONFIG_STRING, 0, NULL, 1, 4096, NULL,
     "PEM CA bundle for an https endpoint; default: the system trust store"},
    {"poll_interval_ms", TRELLIS_CONFIG_INTEGER, 0, "5000", 100, 3600000, NULL,
     "how often each Cloud Map service's instance revision is checked"},
    {"refresh_interval_ms", TRELLIS_CONFIG_INTEGER, 0, "30000", 100, 86400000, NULL,
     "instances are read even when the revision did not move this often (health changes "
     "do not move it)"},
    {"backoff_max_ms", TRELLIS_CONFIG_INTEGER, 0, "60000", 100, 3600000, NULL,
     "longest delay between attempts while a service keeps failing (doubling from the poll "
     "interval)"},
    {"jitter", TRELLIS_CONFIG_NUMBER, 0, "0.1", 0, 0.5, NULL,
     "each delay varies randomly by up to this fraction, so polls spread out"},
    {"health_status", TRELLIS_CONFIG_STRING, 0, "\"HEALTHY_OR_ELSE_ALL\"", 0, 0,
     "HEALTHY|HEALTHY_OR_ELSE_ALL|ALL",
     "which instances by Cloud Map health: healthy only, healthy unless none is (fail open), "
     "or all"},
    {"max_results", TRELLIS_CONFIG_INTEGER, 0, "1000", 1, 1000, NULL,
     "instances asked for per DiscoverInstances (Cloud Map's maximum is 1000)"},
    {"zone_attribute", TRELLIS_CONFIG_STRING, 0, "\"AVAILABILITY_ZONE\"", 0, 128, NULL,
     "instance attribute holding its zone (the endpoint's locality); \"\" for none"},
    {"max_connections", TRELLIS_CONFIG_INTEGER, 0, "8", 1, 256, NULL,
     "concurrent requests to the endpoint (keep-alive connections)"},
    {"max_queued_requests", TRELLIS_CONFIG_INTEGER, 0, "10000", 1, 1000000, NULL,
     "requests waiting for a connection; more fail the poll (and are retried with backoff)"},
    {"connect_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "5000", 100, 120000, NULL,
     "time to connect (and finish TLS)"},
    {"request_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "10000", 100, 300000, NULL,
     "time for a whole answer once a request is sent"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct cloudmap_metrics {
    trellis_metric *revision_calls, *discover_calls, *errors, *cycles;
    trellis_metric *bytes_sent, *bytes_received, *connections;
    trellis_metric *services, *failing, *watches;
} cloudmap_metrics;

typedef struct cloudmap {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    cloudmap_client *client;
    cloudmap_poller *poller;
    trellis_timer *metrics_timer;
    cloudmap_metrics metrics;
    cloudmap_poller_stats last_poll;    /* what the counters hold already */
    http_client_stats last_http;
    bool stopped;
} cloudmap;

static const char *config_or_env(const trellis_host *host, const trellis_config *config,
                                 const char *key, const char *env)
{
    const char *value = host->config_get0_string(config, key);
    if (value != NULL && value[0] != '\0')
        return value;
    value = getenv(env);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

static trellis_status cloudmap_check_config(const trellis_host *host, const trellis_config *config,
                                            trellis_error *err)
{
    bool has_id = host->config_has(config, "access_key_id");
    bool has_secret = host->config_has(config, "secret_access_key");
    if (has_id != has_secret) {
        host->error_set(err, has_id ? "secret_access_key" : "access_key_id",
                        "give access_key_id and secret_access_key together (or neither, to use "
                        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment)");
        return TRELLIS_ERR_INVALID;
    }
    if (host->config_has(config, "session_token") && !has_id) {
        host->error_set(err, "session_token",
                        "a session token belongs to access_key_id and secret_access_key");
        return TRELLIS_ERR_INVALID;
    }
    const char *endpoint = host->config_get0_string(config, "endpoint");
    if (endpoint != NULL && strncmp(endpoint, "http://", 7) != 0 &&
        strncmp(endpoint, "https://", 8) != 0) {
        host->error_set(err, "endpoint", "must start with http:// or https://");
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}

/* ---- readiness and metrics ---- */

static void refresh_metrics(cloudmap *cm)
{
    if (cm->poller == NULL)
        return;
    const trellis_host *h = cm->host;
    cloudmap_poller_stats poll;
    cloudmap_poller_get_stats(cm->poller, &poll);
    http_client_stats http;
    cloudmap_client_stats(cm->client, &http);
    h->metric_add(cm->metrics.revision_calls, (double)(poll.revision_calls - cm->last_poll.revision_calls));
    h->metric_add(cm->metrics.discover_calls, (double)(poll.discover_calls - cm->last_poll.discover_calls));
    h->metric_add(cm->metrics.errors, (double)(poll.errors - cm->last_poll.errors));
    h->metric_add(cm->metrics.cycles, (double)(poll.cycles - cm->last_poll.cycles));
    h->metric_add(cm->metrics.bytes_sent, (double)(http.bytes_sent - cm->last_http.bytes_sent));
    h->metric_add(cm->metrics.bytes_received,
                  (double)(http.bytes_received - cm->last_http.bytes_received));
    h->metric_add(cm->metrics.connections, (double)(http.connections - cm->last_http.connections));
    h->metric_set(cm->metrics.services, (double)poll.services);
    h->metric_set(cm->metrics.failing, (double)poll.failing);
    h->metric_set(cm->metrics.watches, (double)poll.watches);
    cm->last_poll = poll;
    cm->last_http = http;
}

static void on_metrics_timer(void *arg)
{
    refresh_metrics(arg);
}

/* Failing services never make trellis unready (proxies keep their last
 * endpoints, and every replica would fail alike); they show in the detail. */
static void on_health(void *arg)
{
    cloudmap *cm = arg;
    char detail[1024];
    cloudmap_poller_detail(cm->poller, detail, sizeof(detail));
    cm->host->set_ready(cm->ctx, true, detail);
    refresh_metrics(cm);
}

static void metrics_create(cloudmap *cm)
{
    const trellis_host *h = cm->host;
    trellis_host_ctx *ctx = cm->ctx;
    const char *revision[] = {"operation", "DiscoverInstancesRevision", NULL};
    const char *discover[] = {"operation", "DiscoverInstances", NULL};
    const char *sent[] = {"direction", "sent", NULL};
    const char *received[] = {"direction", "received", NULL};
    const char *requests_help = "Cloud Map API requests sent, by operation";
    cm->metrics.revision_calls = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_cloudmap_requests_total",
                                               requests_help, revision, NULL, 0);
    cm->metrics.discover_calls = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_cloudmap_requests_total",
                                               requests_help, discover, NULL, 0);
    cm->metrics.errors = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_cloudmap_request_errors_total",
                                       "Cloud Map requests that failed (transport, HTTP or AWS errors)",
                                       NULL, NULL, 0);
    cm->metrics.cycles = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_cloudmap_poll_cycles_total",
                                       "poll cycles completed (one per service per interval)", NULL,
                                       NULL, 0);
    const char *bytes_help = "HTTP bytes exchanged with the Cloud Map endpoint (before TLS)";
    cm->metrics.bytes_sent = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_cloudmap_bytes_total",
                                           bytes_help, sent, NULL, 0);
    cm->metrics.bytes_received = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_cloudmap_bytes_total",
                                               bytes_help, received, NULL, 0);
    cm->metrics.connections = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_cloudmap_connections_total",
                                            "connections opened to the Cloud Map endpoint", NULL, NULL, 0);
    cm->metrics.services = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_cloudmap_services",
                                         "Cloud Map services polled", NULL, NULL, 0);
    cm->metrics.failing = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_cloudmap_services_failing",
                                        "Cloud Map services whose last poll failed", NULL, NULL, 0);
    cm->metrics.watches = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_cloudmap_watches",
                                        "watches of Cloud Map services", NULL, NULL, 0);
}

/* ---- life cycle ---- */

static trellis_status cloudmap_create(const trellis_host *host, trellis_host_ctx *ctx,
                                      const trellis_config *config, void **instance_out,
                                      trellis_error *err)
{
    cloudmap_credentials credentials = {
        .access_key_id = config_or_env(host, config, "access_key_id", "AWS_ACCESS_KEY_ID"),
        .secret_access_key = config_or_env(host, config, "secret_access_key", "AWS_SECRET_ACCESS_KEY"),
        .session_token = config_or_env(host, config, "session_token", "AWS_SESSION_TOKEN"),
    };
    if (host->config_has(config, "access_key_id") && !host->config_has(config, "session_token"))
        credentials.session_token = NULL; /* configured keys are not temporary ones */
    if (credentials.access_key_id == NULL || credentials.secret_access_key == NULL) {
        host->error_set(err, "access_key_id",
                        "no AWS credentials: set access_key_id and secret_access_key, or "
                        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in trellis's environment");
        return TRELLIS_ERR_INVALID;
    }
    cloudmap_settings settings;
    const char *region = host->config_get0_string(config, "region");
    const char *health = host->config_get0_string(config, "health_status");
    if (!cloudmap_health_mode_parse(health, &settings.health)) {
        host->error_set(err, "health_status", "unknown health status \"%s\"", health ? health : "");
        return TRELLIS_ERR_INVALID;
    }
    cloudmap *cm = calloc(1, sizeof(*cm));
    if (cm == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    cm->host = host;
    cm->ctx = ctx;

    char default_endpoint[256];
    snprintf(default_endpoint, sizeof(default_endpoint), "https://data-servicediscovery.%s.amazonaws.com",
             region);
    const char *endpoint = host->config_get0_string(config, "endpoint");
    http_client_options http = {
        .url = endpoint ? endpoint : default_endpoint,
        .ca_file = host->config_get0_string(config, "ca_file"),
        .max_connections = (size_t)host->config_get_int(config, "max_connections"),
        .max_queue = (size_t)host->config_get_int(config, "max_queued_requests"),
        .max_body_bytes = 16u << 20, /* 1000 instances with many attributes fit easily */
        .connect_timeout_ms = (uint64_t)host->config_get_int(config, "connect_timeout_ms"),
        .request_timeout_ms = (uint64_t)host->config_get_int(config, "request_timeout_ms"),
    };
    cm->client = cloudmap_client_new(host, ctx, &http, region, &credentials, err);
    if (cm->client == NULL) {
        free(cm);
        return TRELLIS_ERR_INVALID;
    }
    settings.poll_interval_ms = (uint64_t)host->config_get_int(config, "poll_interval_ms");
    settings.refresh_interval_ms = (uint64_t)host->config_get_int(config, "refresh_interval_ms");
    settings.backoff_max_ms = (uint64_t)host->config_get_int(config, "backoff_max_ms");
    settings.jitter = host->config_get_number(config, "jitter");
    settings.max_results = (unsigned)host->config_get_int(config, "max_results");
    settings.zone_attribute = host->config_get0_string(config, "zone_attribute");
    cm->poller = cloudmap_poller_new(host, ctx, cm->client, &settings, on_health, cm);
    cm->metrics_timer = host->timer_new(ctx, on_metrics_timer, cm);
    if (cm->poller == NULL || cm->metrics_timer == NULL) {
        cloudmap_poller_free(cm->poller);
        cloudmap_client_free(cm->client);
        if (cm->metrics_timer != NULL)
            host->timer_free(cm->metrics_timer);
        free(cm);
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    metrics_create(cm);
    *instance_out = cm;
    return TRELLIS_OK;
}

static trellis_status cloudmap_start(void *instance, trellis_error *err)
{
    cloudmap *cm = instance;
    (void)err;
    cm->host->timer_start(cm->metrics_timer, METRICS_REFRESH_MS, true);
    cm->host->set_ready(cm->ctx, true, "");
    return TRELLIS_OK;
}

static trellis_status cloudmap_stop(void *instance)
{
    cloudmap *cm = instance;
    if (cm->stopped)
        return TRELLIS_OK;
    cm->stopped = true;
    refresh_metrics(cm);
    /* Every watch ends here: no update after stop() returns. */
    cloudmap_poller_free(cm->poller);
    cm->poller = NULL;
    cloudmap_client_free(cm->client);
    cm->client = NULL;
    cm->host->timer_stop(cm->metrics_timer);
    return TRELLIS_OK;
}

static void cloudmap_destroy(void *instance)
{
    cloudmap *cm = instance;
    cloudmap_stop(cm);
    cm->host->timer_free(cm->metrics_timer);
    free(cm);
}

/* ---- the discovery ops ---- */

static bool cloudmap_accepts(void *instance, const trellis_discovery_target *target)
{
    (void)instance;
    return target->method == TRELLIS_DISCOVERY_CLOUD_MAP;
}

static trellis_status cloudmap_watch(void *instance, const trellis_discovery_target *target,
                                     trellis_discovery_update_fn update, void *arg,
                                     trellis_discovery_watch **watch_out)
{
    cloudmap *cm = instance;
    if (cm->stopped)
        return TRELLIS_ERR_UNAVAILABLE;
    return cloudmap_poller_watch(cm->poller, target, update, arg, watch_out);
}

static void cloudmap_unwatch(void *instance, trellis_discovery_watch *watch)
{
    cloudmap *cm = instance;
    if (!cm->stopped)
        cloudmap_poller_unwatch(cm->poller, watch);
}

static const trellis_discovery_ops cloudmap_ops = {
    TRELLIS_DISCOVERY_OPS_HEADER,
    .accepts = cloudmap_accepts,
    .watch = cloudmap_watch,
    .unwatch = cloudmap_unwatch,
};

static const trellis_plugin_descriptor cloudmap_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "discovery.cloudmap",
    .version = TRELLIS_PLUGIN_VERSION,
    .summary = "endpoints from AWS Cloud Map (DiscoverInstances, SigV4) or a compatible registry",
    .kind = TRELLIS_KIND_DISCOVERY,
    .ops = &cloudmap_ops,
    .config_schema = cloudmap_schema,
    .check_config = cloudmap_check_config,
    .create = cloudmap_create,
    .start = cloudmap_start,
    .stop = cloudmap_stop,
    .destroy = cloudmap_destroy,
};

TRELLIS_PLUGIN_ENTRY(cloudmap_descriptor)
