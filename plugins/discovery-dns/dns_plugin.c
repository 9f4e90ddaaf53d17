/*
 * discovery.dns: trellis resolves the DNS names of virtual nodes itself and
 * serves the addresses as EDS (README.md), instead of leaving them to each
 * Envoy's LOGICAL_DNS / STRICT_DNS clusters. The descriptor, configuration,
 * life cycle, discovery ops, readiness and metrics; the resolving itself is
 * resolver.c over dns_exchange.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/discovery.h>
#include <trellis/plugin.h>

#include "resolv_conf.h"
#include "resolver.h"

#define METRICS_REFRESH_MS 1000

static const trellis_config_field dns_schema[] = {
    {"nameservers", TRELLIS_CONFIG_STRING_LIST, 0, NULL, 1, RESOLV_MAX_SERVERS, NULL,
     "servers to ask, \"ip\" or \"ip:port\" (\"[v6]:port\"); default: resolv_conf's"},
    {"resolv_conf", TRELLIS_CONFIG_STRING, 0, "\"/etc/resolv.conf\"", 0, 4096, NULL,
     "where nameservers, search domains and ndots come from; \"\" to read nothing"},
    {"search", TRELLIS_CONFIG_STRING_LIST, 0, NULL, 0, RESOLV_MAX_SEARCH, NULL,
     "search domains for names with fewer than ndots dots; default: resolv_conf's"},
    {"ndots", TRELLIS_CONFIG_INTEGER, 0, NULL, 0, 15, NULL,
     "names with fewer dots try the search domains first; default: resolv_conf's, else 1"},
    {"min_ttl_ms", TRELLIS_CONFIG_INTEGER, 0, "5000", 100, 86400000, NULL,
     "a name is asked again no sooner than this, whatever its TTL (also the first retry "
     "after a failure)"},
    {"max_ttl_ms", TRELLIS_CONFIG_INTEGER, 0, "300000", 100, 86400000, NULL,
     "and no later than this (also the longest retry delay)"},
    {"timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "2000", 10, 60000, NULL,
     "time to wait for one server's answer before trying the next"},
    {"attempts", TRELLIS_CONFIG_INTEGER, 0, "2", 1, 10, NULL,
     "rounds over the nameservers before a question fails"},
    {"max_inflight", TRELLIS_CONFIG_INTEGER, 0, "256", 2, 65536, NULL,
     "questions in flight at once"},
    {"sidecars", TRELLIS_CONFIG_BOOLEAN, 0, "true", 0, 0, NULL,
     "resolve for Envoy sidecars and gateways too (their DNS clusters become EDS); false: "
     "only for proxyless gRPC clients, which have no STRICT_DNS"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct dns_metrics {
    trellis_metric *udp, *tcp, *timeouts, *ignored, *rounds, *failures;
    trellis_metric *names, *failing, *watches;
} dns_metrics;

typedef struct dns_plugin {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    dns_resolver *resolver;
    uint32_t clients;               /* TRELLIS_DISCOVERY_FOR_* it serves */
    trellis_timer *metrics_timer;
    dns_metrics metrics;
    dns_resolver_stats last;
    bool stopped;
} dns_plugin;

/* The resolver configuration: resolv_conf, then the keys that override it. */
static bool build_config(const trellis_host *host, const trellis_config *config,
                         resolv_config *out, trellis_error *err)
{
    memset(out, 0, sizeof(*out));
    out->ndots = 1;
    const char *path = host->config_get0_string(config, "resolv_conf");
    char why[512];
    if (path != NULL && path[0] != '\0' && !resolv_load_file(path, out, why, sizeof(why)) &&
        !host->config_has(config, "nameservers")) {
        host->error_set(err, "resolv_conf", "%s; give nameservers instead", why);
        return false;
    }
    size_t count = host->config_list_count(config, "nameservers");
    if (count > 0) {
        out->server_count = 0;
        for (size_t i = 0; i < count; i++) {
            const char *text = host->config_get0_list_item(config, "nameservers", i);
            if (!resolv_parse_server(text, &out->servers[out->server_count])) {
                host->error_set(err, "nameservers", "\"%s\" is not ip, ip:port or [ipv6]:port",
                                text);
                return false;
            }
            out->server_count++;
        }
    }
    if (host->config_has(config, "search")) {
        out->search_count = 0;
        for (size_t i = 0; i < host->config_list_count(config, "search"); i++) {
            const char *domain = host->config_get0_list_item(config, "search", i);
            if (!dns_name_valid(domain)) {
                host->error_set(err, "search", "\"%s\" is not a domain name", domain);
                return false;
            }
            snprintf(out->search[out->search_count++], DNS_NAME_MAX + 1, "%s", domain);
        }
    }
    if (host->config_has(config, "ndots"))
        out->ndots = (unsigned)host->config_get_int(config, "ndots");
    if (out->server_count == 0) {
        host->error_set(err, "nameservers", "no nameserver: give nameservers, or a resolv_conf "
                                            "that names some");
        return false;
    }
    return true;
}

static trellis_status dns_check_config(const trellis_host *host, const trellis_config *config,
                                       trellis_error *err)
{
    if (host->config_get_int(config, "min_ttl_ms") > host->config_get_int(config, "max_ttl_ms")) {
        host->error_set(err, "min_ttl_ms", "must not be above max_ttl_ms");
        return TRELLIS_ERR_INVALID;
    }
    /* Nameservers given here must parse; a resolv_conf is read at start. */
    for (size_t i = 0; i < host->config_list_count(config, "nameservers"); i++) {
        resolv_server server;
        const char *text = host->config_get0_list_item(config, "nameservers", i);
        if (!resolv_parse_server(text, &server)) {
            host->error_set(err, "nameservers", "\"%s\" is not ip, ip:port or [ipv6]:port", text);
            return TRELLIS_ERR_INVALID;
        }
    }
    return TRELLIS_OK;
}

/* ---- readiness and metrics ---- */

static void refresh_metrics(dns_plugin *d)
{
    if (d->resolver == NULL)
        return;
    const trellis_host *h = d->host;
    dns_resolver_stats s;
    dns_resolver_get_stats(d->resolver, &s);
    h->metric_add(d->metrics.udp, (double)(s.exchange.udp_queries - d->last.exchange.udp_queries));
    h->metric_add(d->metrics.tcp, (double)(s.exchange.tcp_queries - d->last.exchange.tcp_queries));
    h->metric_add(d->metrics.timeouts, (double)(s.exchange.timeouts - d->last.exchange.timeouts));
    h->metric_add(d->metrics.ignored, (double)(s.exchange.ignored - d->last.exchange.ignored));
    h->metric_add(d->metrics.rounds, (double)(s.rounds - d->last.rounds));
    h->metric_add(d->metrics.failures, (double)(s.failures - d->last.failures));
    h->metric_set(d->metrics.names, (double)s.names);
    h->metric_set(d->metrics.failing, (double)s.failing);
    h->metric_set(d->metrics.watches, (double)s.watches);
    d->last = s;
}

static void on_metrics_timer(void *arg)
{
    refresh_metrics(arg);
}

/* Failing names never make trellis unready (proxies keep their last
 * addresses); they show in the detail. */
static void on_health(void *arg)
{
    dns_plugin *d = arg;
    char detail[1024];
    dns_resolver_detail(d->resolver, detail, sizeof(detail));
    d->host->set_ready(d->ctx, true, detail);
    refresh_metrics(d);
}

static void metrics_create(dns_plugin *d)
{
    const trellis_host *h = d->host;
    trellis_host_ctx *ctx = d->ctx;
    const char *udp[] = {"transport", "udp", NULL};
    const char *tcp[] = {"transport", "tcp", NULL};
    const char *q = "DNS questions sent (each try counts)";
    d->metrics.udp = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_dns_queries_total", q, udp, NULL, 0);
    d->metrics.tcp = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_dns_queries_total", q, tcp, NULL, 0);
    d->metrics.timeouts = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_dns_timeouts_total",
                                        "tries a server did not answer in time", NULL, NULL, 0);
    d->metrics.ignored = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_dns_ignored_total",
                                       "datagrams ignored because they did not answer the question",
                                       NULL, NULL, 0);
    d->metrics.rounds = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_dns_rounds_total",
                                      "resolutions of a name (successful or not)", NULL, NULL, 0);
    d->metrics.failures = h->metric_new(ctx, TRELLIS_METRIC_COUNTER, "trellis_dns_failures_total",
                                        "resolutions that failed (the last addresses stay)", NULL,
                                        NULL, 0);
    d->metrics.names = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_dns_names",
                                     "names being resolved", NULL, NULL, 0);
    d->metrics.failing = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_dns_names_failing",
                                       "names whose last resolution failed", NULL, NULL, 0);
    d->metrics.watches = h->metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_dns_watches",
                                       "watches of names", NULL, NULL, 0);
}

/* ---- life cycle ---- */

static trellis_status dns_create(const trellis_host *host, trellis_host_ctx *ctx,
                                 const trellis_config *config, void **instance_out,
                                 trellis_error *err)
{
    resolv_config resolv;
    if (!build_config(host, config, &resolv, err))
        return TRELLIS_ERR_INVALID;
    dns_settings settings = {
        .min_ttl_ms = (uint64_t)host->config_get_int(config, "min_ttl_ms"),
        .max_ttl_ms = (uint64_t)host->config_get_int(config, "max_ttl_ms"),
        .timeout_ms = (uint64_t)host->config_get_int(config, "timeout_ms"),
        .attempts = (unsigned)host->config_get_int(config, "attempts"),
        .max_inflight = (size_t)host->config_get_int(config, "max_inflight"),
    };
    dns_plugin *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    d->host = host;
    d->ctx = ctx;
    d->clients = host->config_get_bool(config, "sidecars")
                     ? TRELLIS_DISCOVERY_FOR_SIDECARS | TRELLIS_DISCOVERY_FOR_PROXYLESS
                     : TRELLIS_DISCOVERY_FOR_PROXYLESS;
    d->resolver = dns_resolver_new(host, ctx, &resolv, &settings, on_health, d);
    d->metrics_timer = host->timer_new(ctx, on_metrics_timer, d);
    if (d->resolver == NULL || d->metrics_timer == NULL) {
        dns_resolver_free(d->resolver);
        if (d->metrics_timer != NULL)
            host->timer_free(d->metrics_timer);
        free(d);
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    metrics_create(d);
    *instance_out = d;
    return TRELLIS_OK;
}

static trellis_status dns_start(void *instance, trellis_error *err)
{
    dns_plugin *d = instance;
    (void)err;
    d->host->timer_start(d->metrics_timer, METRICS_REFRESH_MS, true);
    d->host->set_ready(d->ctx, true, "");
    return TRELLIS_OK;
}

static trellis_status dns_stop(void *instance)
{
    dns_plugin *d = instance;
    if (d->stopped)
        return TRELLIS_OK;
    d->stopped = true;
    refresh_metrics(d);
    dns_resolver_free(d->resolver); /* every watch ends: no update after stop() */
    d->resolver = NULL;
    d->host->timer_stop(d->metrics_timer);
    return TRELLIS_OK;
}

static void dns_destroy(void *instance)
{
    dns_plugin *d = instance;
    dns_stop(d);
    d->host->timer_free(d->metrics_timer);
    free(d);
}

/* ---- the discovery ops ---- */

static bool dns_accepts(void *instance, const trellis_discovery_target *target)
{
    dns_plugin *d = instance;
    return target->method == TRELLIS_DISCOVERY_DNS && (target->clients & d->clients) != 0;
}

static trellis_status dns_watch(void *instance, const trellis_discovery_target *target,
                                trellis_discovery_update_fn update, void *arg,
                                trellis_discovery_watch **watch_out)
{
    dns_plugin *d = instance;
    if (d->stopped)
        return TRELLIS_ERR_UNAVAILABLE;
    return dns_resolver_watch(d->resolver, target, update, arg, watch_out);
}

static void dns_unwatch(void *instance, trellis_discovery_watch *watch)
{
    dns_plugin *d = instance;
    if (!d->stopped)
        dns_resolver_unwatch(d->resolver, watch);
}

static const trellis_discovery_ops dns_ops = {
    TRELLIS_DISCOVERY_OPS_HEADER,
    .accepts = dns_accepts,
    .watch = dns_watch,
    .unwatch = dns_unwatch,
};

static const trellis_plugin_descriptor dns_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "discovery.dns",
    .version = TRELLIS_PLUGIN_VERSION,
    .summary = "trellis resolves virtual nodes' DNS names itself and serves them as EDS",
    .kind = TRELLIS_KIND_DISCOVERY,
    .ops = &dns_ops,
    .config_schema = dns_schema,
    .check_config = dns_check_config,
    .create = dns_create,
    .start = dns_start,
    .stop = dns_stop,
    .destroy = dns_destroy,
};

TRELLIS_PLUGIN_ENTRY(dns_descriptor)
