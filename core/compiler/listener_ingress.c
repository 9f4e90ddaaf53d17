#include "listener_ingress.h"

#include "clusters.h"
#include "json_build.h"
#include "listener_common.h"
#include "naming.h"
#include "network_filters.h"
#include "timeouts.h"
#include "virtual_hosts.h"

static void ingress_route_config(compile_ctx *c, const char *name, const char *cluster,
                                 mesh_timeouts timeouts)
{
    json_t *match = jb_object(c);
    jb_set_string(c, match, "prefix", "/");
    json_t *action = jb_object(c);
    jb_set_string(c, action, "cluster", cluster);
    jb_set(c, action, "timeout", jb_duration_ms(c, timeouts.request_ms));
    jb_set(c, action, "idle_timeout", jb_duration_ms(c, timeouts.idle_ms));
    json_t *route = jb_object(c);
    jb_set(c, route, "match", match);
    jb_set(c, route, "route", action);
    json_t *routes = jb_array(c);
    jb_push(c, routes, route);
    virtual_host_list hosts;
    virtual_hosts_init(c, &hosts);
    virtual_hosts_add(c, &hosts, virtual_host_new(c, "ingress", "*", routes));
    virtual_hosts_finish(c, &hosts, name);
}

static json_t *ingress_chain(compile_ctx *c, const json_t *listener, uint32_t port,
                             mesh_protocol protocol, bool several)
{
    const char *cluster = cluster_local(c, listener, port, protocol);
    const char *stat_prefix = name_ingress_stat_prefix(&c->arena, several, protocol, port);
    mesh_timeouts timeouts = timeouts_of(listener_timeout(listener, protocol));
    json_t *filter;
    if (protocol == PROTOCOL_TCP) {
        tcp_cluster local = {cluster, 1};
        filter = tcp_proxy_filter(c, stat_prefix, &local, 1, timeouts.idle_ms);
    } else {
        const char *rds = name_route_config(&c->arena, "ingress", protocol, port);
        ingress_route_config(c, rds, cluster, timeouts);
        hcm_options o = {.stat_prefix = stat_prefix, .route_config_name = rds,
                         .websocket = protocol == PROTOCOL_HTTP, .access_log = true};
        filter = hcm_filter(c, &o);
    }
    json_t *match = jb_object(c);
    jb_set_integer(c, match, "destination_port", port);
    return filter_chain(c, match, filter);
}

void ingress_compile(compile_ctx *c)
{
    const json_t *listeners = json_object_get(c->self_spec, "listeners");
    size_t usable = 0, i;
    const json_t *listener;
    json_array_foreach(listeners, i, listener) {
        uint32_t port;
        mesh_protocol protocol;
        usable += protocol_port_mapping(listener, &port, &protocol);
    }
    if (usable == 0)
        return;
    json_t *chains = jb_array(c);
    uint32_t *seen = arena_alloc(&c->arena, usable * sizeof(*seen));
    size_t seen_count = 0;
    json_array_foreach(listeners, i, listener) {
        uint32_t port;
        mesh_protocol protocol;
        if (!protocol_port_mapping(listener, &port, &protocol) || seen == NULL)
            continue;
        bool repeated = false;
        for (size_t k = 0; k < seen_count && !repeated; k++)
            repeated = seen[k] == port;
        if (repeated)
            continue; /* the API keeps ports unique; a second chain would be ambiguous */
        seen[seen_count++] = port;
        jb_push(c, chains, ingress_chain(c, listener, port, protocol, usable > 1));
    }
    ip_preference preference = ip_preference_of_node(c->self_spec, c->mesh_ip_preference);
    const char *name = name_listener(&c->arena, "ingress", NAME_INGRESS_PORT);
    json_t *out = listener_shell(c, name, NAME_INGRESS_PORT, "INBOUND",
                                 ip_preference_dual_stack(preference));
    jb_set(c, out, "filter_chains", chains);
    json_t *filters = jb_array(c);
    jb_push(c, filters, listener_filter_original_dst(c));
    jb_set(c, out, "listener_filters", filters);
    ctx_add_resource(c, TRELLIS_XDS_LISTENER, name, out);
}
