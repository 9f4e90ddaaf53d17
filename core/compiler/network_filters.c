#include "network_filters.h"

#include "access_log.h"
#include "json_build.h"

static json_t *router_filters(compile_ctx *c)
{
    if (c->shared_http_filters == NULL) {
        json_t *list = jb_array(c);
        jb_push(c, list,
                jb_extension(c, "envoy.filters.http.router",
                             jb_typed(c, "envoy.extensions.filters.http.router.v3.Router")));
        c->shared_http_filters = list;
    }
    return jb_share(c, c->shared_http_filters);
}

json_t *hcm_config(compile_ctx *c, const hcm_options *o)
{
    json_t *hcm = jb_typed(
        c, "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
    jb_set_string(c, hcm, "stat_prefix", o->stat_prefix);
    json_t *rds = jb_object(c);
    jb_set(c, rds, "config_source", jb_ads_source(c));
    jb_set_string(c, rds, "route_config_name", o->route_config_name);
    jb_set(c, hcm, "rds", rds);
    jb_set(c, hcm, "http_filters", router_filters(c));
    if (o->websocket) {
        json_t *upgrade = jb_object(c);
        jb_set_string(c, upgrade, "upgrade_type", "websocket");
        jb_set_bool(c, upgrade, "enabled", true);
        json_t *upgrades = jb_array(c);
        jb_push(c, upgrades, upgrade);
        jb_set(c, hcm, "upgrade_configs", upgrades);
    }
    if (o->normalize_path) {
        jb_set_bool(c, hcm, "normalize_path", true);
        jb_set_bool(c, hcm, "merge_slashes", true);
        jb_set_string(c, hcm, "path_with_escaped_slashes_action", "KEEP_UNCHANGED");
    }
    if (o->access_log) {
        json_t *logs = access_logs(c);
        if (logs != NULL)
            jb_set(c, hcm, "access_log", logs);
    }
    return hcm;
}

json_t *hcm_filter(compile_ctx *c, const hcm_options *o)
{
    return jb_extension(c, "envoy.filters.network.http_connection_manager", hcm_config(c, o));
}

json_t *tcp_proxy_filter(compile_ctx *c, const char *stat_prefix, const tcp_cluster *clusters,
                         size_t count, int64_t idle_ms)
{
    size_t weighted = 0;
    const char *only = NULL;
    for (size_t i = 0; i < count; i++) {
        if (clusters[i].weight > 0) {
            weighted++;
            only = clusters[i].name;
        }
    }
    if (weighted == 0)
        return NULL;
    json_t *proxy = jb_typed(c, "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
    jb_set_string(c, proxy, "stat_prefix", stat_prefix);
    if (weighted == 1) {
        jb_set_string(c, proxy, "cluster", only);
    } else {
        json_t *list = jb_array(c);
        for (size_t i = 0; i < count; i++) {
            if (clusters[i].weight == 0)
                continue;
            json_t *entry = jb_object(c);
            jb_set_string(c, entry, "name", clusters[i].name);
            jb_set_integer(c, entry, "weight", clusters[i].weight);
            jb_push(c, list, entry);
        }
        json_t *weighted_clusters = jb_object(c);
        jb_set(c, weighted_clusters, "clusters", list);
        jb_set(c, proxy, "weighted_clusters", weighted_clusters);
    }
    if (idle_ms >= 0)
        jb_set(c, proxy, "idle_timeout", jb_duration_ms(c, idle_ms));
    json_t *logs = access_logs(c);
    if (logs != NULL)
        jb_set(c, proxy, "access_log", logs);
    return jb_extension(c, "envoy.filters.network.tcp_proxy", proxy);
}
