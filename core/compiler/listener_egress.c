#include "listener_egress.h"

#include <string.h>

#include "clusters.h"
#include "json_build.h"
#include "listener_common.h"
#include "naming.h"
#include "network_filters.h"
#include "route_build.h"
#include "timeouts.h"
#include "virtual_hosts.h"

#define EGRESS_STAT_PREFIX "egress"
#define AWS_SERVICES_PORT 443
/* Virtual service names cannot contain '/', so this name never collides. */
#define ALLOW_ALL_VIRTUAL_HOST "mesh-allow-all/*"

bool egress_allow_all(const compile_ctx *c)
{
    const char *type = json_string_value(
        json_object_get(json_object_get(c->mesh_spec, "egressFilter"), "type"));
    return type != NULL && strcmp(type, "ALLOW_ALL") == 0;
}

static json_t *chain_match(compile_ctx *c, uint32_t port, bool dual_stack)
{
    json_t *match = jb_object(c);
    if (port != 0)
        jb_set_integer(c, match, "destination_port", port);
    json_t *ranges = jb_array(c);
    json_t *v4 = jb_object(c);
    jb_set_string(c, v4, "address_prefix", "0.0.0.0");
    jb_set_integer(c, v4, "prefix_len", 0);
    jb_push(c, ranges, v4);
    if (dual_stack) {
        json_t *v6 = jb_object(c);
        jb_set_string(c, v6, "address_prefix", "::");
        jb_set_integer(c, v6, "prefix_len", 0);
        jb_push(c, ranges, v6);
    }
    jb_set(c, match, "prefix_ranges", ranges);
    return match;
}

static json_t *allow_all_virtual_host(compile_ctx *c)
{
    json_t *match = jb_object(c);
    jb_set_string(c, match, "prefix", "/");
    json_t *action = jb_object(c);
    jb_set_string(c, action, "cluster", cluster_allow_all(c));
    json_t *route = jb_object(c);
    jb_set(c, route, "match", match);
    jb_set(c, route, "route", action);
    json_t *routes = jb_array(c);
    jb_push(c, routes, route);
    return virtual_host_new(c, ALLOW_ALL_VIRTUAL_HOST, "*", routes);
}

static json_t *http_port_filter(compile_ctx *c, const plan_port *p)
{
    virtual_host_list hosts;
    virtual_hosts_init(c, &hosts);
    bool uses_path = false;
    for (size_t i = 0; i < p->service_count; i++)
        virtual_hosts_add(c, &hosts,
                          virtual_host_build(c, p->services[i], p->port, false, &uses_path));
    if (egress_allow_all(c))
        virtual_hosts_add(c, &hosts, allow_all_virtual_host(c));
    const char *rds = name_route_config(&c->arena, "egress", p->protocol, p->port);
    virtual_hosts_finish(c, &hosts, rds);
    hcm_options o = {.stat_prefix = EGRESS_STAT_PREFIX, .route_config_name = rds,
                     .websocket = p->protocol == PROTOCOL_HTTP, .normalize_path = uses_path,
                     .access_log = true};
    return hcm_filter(c, &o);
}

static json_t *tcp_port_filter(compile_ctx *c, const plan_port *p)
{
    const plan_service *service = p->services[0];
    if (service->route_count == 0)
        return NULL;
    const plan_route *route = &service->routes[0];
    tcp_cluster *clusters = arena_alloc(&c->arena, (route->target_count + 1) * sizeof(*clusters));
    if (clusters == NULL)
        return NULL;
    size_t n = route_tcp_clusters(c, route, clusters);
    mesh_timeouts timeouts = timeouts_of(json_object_get(route->route, "timeout"));
    return tcp_proxy_filter(c, EGRESS_STAT_PREFIX, clusters, n, timeouts.idle_ms);
}

static json_t *passthrough_filter(compile_ctx *c, const char *cluster)
{
    tcp_cluster only = {cluster, 1};
    return tcp_proxy_filter(c, EGRESS_STAT_PREFIX, &only, 1, -1);
}

void egress_compile(compile_ctx *c, const egress_plan *plan)
{
    ip_preference preference = ip_preference_of_node(c->self_spec, c->mesh_ip_preference);
    bool dual_stack = ip_preference_dual_stack(preference);
    bool allow_all = egress_allow_all(c);
    bool port_443_taken = false;
    json_t *chains = jb_array(c);
    for (size_t i = 0; i < plan->port_count; i++) {
        const plan_port *p = &plan->ports[i];
        if (p->service_count == 0)
            continue;
        json_t *filter = p->protocol == PROTOCOL_TCP ? tcp_port_filter(c, p) : http_port_filter(c, p);
        if (filter == NULL)
            continue;
        port_443_taken = port_443_taken || p->port == AWS_SERVICES_PORT;
        jb_push(c, chains, filter_chain(c, chain_match(c, p->port, dual_stack), filter));
    }

    json_t *aws = chain_match(c, AWS_SERVICES_PORT, dual_stack);
    json_t *names = jb_array(c);
    jb_push(c, names, jb_string(c, "*.amazonaws.com"));
    jb_set(c, aws, "server_names", names);
    jb_push(c, chains, filter_chain(c, aws, passthrough_filter(c, cluster_amazonaws(c))));

    if (allow_all) {
        const char *cluster = cluster_allow_all(c);
        if (!port_443_taken)
            jb_push(c, chains, filter_chain(c, chain_match(c, AWS_SERVICES_PORT, dual_stack),
                                            passthrough_filter(c, cluster)));
        jb_push(c, chains, filter_chain(c, chain_match(c, 0, dual_stack),
                                        passthrough_filter(c, cluster)));
    }

    const char *name = name_listener(&c->arena, "egress", NAME_EGRESS_PORT);
    json_t *listener = listener_shell(c, name, NAME_EGRESS_PORT, "OUTBOUND", dual_stack);
    jb_set(c, listener, "filter_chains", chains);
    json_t *filters = jb_array(c);
    jb_push(c, filters, listener_filter_original_dst(c));
    jb_push(c, filters, listener_filter_tls_inspector(c));
    jb_set(c, listener, "listener_filters", filters);
    ctx_add_resource(c, TRELLIS_XDS_LISTENER, name, listener);
}
