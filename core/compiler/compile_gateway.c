#include "compile_gateway.h"

#include <string.h>

#include "api/references.h"
#include "clusters.h"
#include "egress_plan.h"
#include "json_build.h"
#include "listener_common.h"
#include "naming.h"
#include "network_filters.h"
#include "route_build.h"
#include "route_match.h"
#include "route_order.h"
#include "timeouts.h"
#include "virtual_hosts.h"

#define VIRTUAL_SERVICE_HEADER "x-app-mesh-virtual-service"
#define DEFAULT_BACKEND_HOST "default_backend"
#define SELF_REDIRECT_HOST "self_redirect"

typedef struct gateway_target {
    const char *service;        /* virtual service name */
    json_int_t port;            /* target.port of the first gateway route naming it, or 0 */
    size_t chosen;              /* index into plan.services, or SIZE_MAX */
    bool by_header;             /* some gateway route keeps the Host (defaultTargetHostname DISABLED) */
} gateway_target;

typedef struct gateway_listener {
    const json_t *listener;
    uint32_t port;
    mesh_protocol protocol;
    plan_route *routes;         /* gateway routes attached here, in match order */
    size_t route_count;
} gateway_listener;

typedef struct gateway {
    compile_ctx *c;
    gateway_listener *listeners;
    size_t listener_count;
    const catalog_entry **entries; /* every gateway route of the gateway */
    size_t entry_count, entry_capacity;
    gateway_target *targets;
    size_t target_count;
    egress_plan plan;
} gateway;

static bool collect_gateway_route(const catalog_entry *e, void *arg)
{
    gateway *g = arg;
    if (g->entry_count == g->entry_capacity) {
        size_t grown = g->entry_capacity ? g->entry_capacity * 2 : 16;
        const catalog_entry **fresh =
            arena_grow(&g->c->arena, g->entries, g->entry_count, grown, sizeof(*fresh));
        if (fresh == NULL)
            return false;
        g->entries = fresh;
        g->entry_capacity = grown;
    }
    g->entries[g->entry_count++] = e;
    return true;
}

static const char *target_service(const json_t *route)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(route, "action"), "target"),
                        "virtualService"),
        "virtualServiceName"));
}

static gateway_target *find_target(gateway *g, const char *service)
{
    for (size_t i = 0; i < g->target_count; i++) {
        if (strcmp(g->targets[i].service, service) == 0)
            return &g->targets[i];
    }
    return NULL;
}

static bool keeps_host(const json_t *route)
{
    const char *rewrite = json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(route, "action"), "rewrite"), "hostname"),
        "defaultTargetHostname"));
    return rewrite != NULL && strcmp(rewrite, "DISABLED") == 0;
}

/* Listeners, the gateway routes attached to each, and the distinct targets. */
static bool gather(gateway *g)
{
    compile_ctx *c = g->c;
    const json_t *listeners = json_object_get(c->self_spec, "listeners");
    size_t n = json_array_size(listeners);
    g->listeners = arena_alloc(&c->arena, (n ? n : 1) * sizeof(*g->listeners));
    if (g->listeners == NULL)
        return false;
    size_t i;
    const json_t *listener;
    json_array_foreach(listeners, i, listener) {
        gateway_listener *gl = &g->listeners[g->listener_count];
        if (!protocol_port_mapping(listener, &gl->port, &gl->protocol) ||
            !protocol_is_http_family(gl->protocol))
            continue;
        bool repeated = false;
        for (size_t k = 0; k < g->listener_count && !repeated; k++)
            repeated = g->listeners[k].port == gl->port;
        if (repeated)
            continue;
        gl->listener = listener;
        g->listener_count++;
    }
    reader_scan(&c->reader, RESOURCE_GATEWAY_ROUTE, c->id->mesh, c->id->name,
                collect_gateway_route, g);
    g->targets = arena_alloc(&c->arena, (g->entry_count ? g->entry_count : 1) * sizeof(*g->targets));
    if (g->targets == NULL || c->arena.failed)
        return false;

    for (size_t l = 0; l < g->listener_count; l++) {
        gateway_listener *gl = &g->listeners[l];
        gl->routes = arena_alloc(&c->arena, (g->entry_count ? g->entry_count : 1) * sizeof(plan_route));
        if (gl->routes == NULL)
            return false;
        const char *member = protocol_route_member(gl->protocol);
        for (size_t e = 0; e < g->entry_count; e++) {
            json_t *route = NULL;
            const json_t *spec = reader_spec(g->entries[e]);
            const char *type = references_route_type(spec, references_gateway_route_types, &route, NULL);
            const char *service = target_service(route);
            if (type == NULL || strcmp(type, member) != 0 || service == NULL)
                continue;
            const json_t *port = json_object_get(json_object_get(route, "match"), "port");
            if (port != NULL ? json_integer_value(port) != (json_int_t)gl->port
                             : json_array_size(listeners) != 1)
                continue;
            const json_t *priority = json_object_get(spec, "priority");
            gl->routes[gl->route_count++] = (plan_route){
                g->entries[e]->name, route, gl->protocol,
                json_is_integer(priority) ? (int)json_integer_value(priority) : ROUTE_PRIORITY_UNSET,
                NULL, 0};
        }
        route_order_sort(gl->routes, gl->route_count);
        for (size_t r = 0; r < gl->route_count; r++) {
            const json_t *route = gl->routes[r].route;
            gateway_target *t = find_target(g, target_service(route));
            if (t == NULL) {
                t = &g->targets[g->target_count++];
                t->service = target_service(route);
                const json_t *target = json_object_get(json_object_get(route, "action"), "target");
                t->port = json_integer_value(json_object_get(target, "port"));
                t->chosen = SIZE_MAX;
            }
            t->by_header = t->by_header || keeps_host(route);
        }
    }
    return true;
}

/* Resolves every target service and picks the (service, port) it uses. */
static bool resolve_targets(gateway *g)
{
    memset(&g->plan, 0, sizeof(g->plan));
    for (size_t i = 0; i < g->target_count; i++) {
        if (!egress_plan_add_service(g->c, &g->plan, g->targets[i].service, NULL, i))
            return false;
    }
    for (size_t i = 0; i < g->target_count; i++) {
        gateway_target *t = &g->targets[i];
        for (size_t s = 0; s < g->plan.service_count; s++) {
            const plan_service *ps = &g->plan.services[s];
            if (strcmp(ps->name, t->service) != 0 || !protocol_is_http_family(ps->protocol))
                continue;
            if (t->port != 0 ? ps->port == (uint32_t)t->port
                             : t->chosen == SIZE_MAX || ps->port < g->plan.services[t->chosen].port)
                t->chosen = s;
        }
    }
    return true;
}

/* The largest timeouts among a service's routes (0 = disabled beats any). */
static bool service_timeouts(const plan_service *service, mesh_timeouts *out)
{
    if (service->route_count == 0)
        return false;
    for (size_t i = 0; i < service->route_count; i++) {
        mesh_timeouts t = timeouts_of(json_object_get(service->routes[i].route, "timeout"));
        if (i == 0) {
            *out = t;
            continue;
        }
        out->request_ms = out->request_ms == 0 || t.request_ms == 0 ? 0
                          : t.request_ms > out->request_ms ? t.request_ms : out->request_ms;
        out->idle_ms = out->idle_ms == 0 || t.idle_ms == 0 ? 0
                       : t.idle_ms > out->idle_ms ? t.idle_ms : out->idle_ms;
    }
    return true;
}

static void add_authority_match(compile_ctx *c, json_t *match, const json_t *hostname)
{
    const char *exact = json_string_value(json_object_get(hostname, "exact"));
    const char *suffix = json_string_value(json_object_get(hostname, "suffix"));
    if (exact == NULL && (suffix == NULL || suffix[0] == '\0'))
        return;
    json_t *method = jb_object(c);
    jb_set_string(c, method, exact != NULL ? "exact" : "suffix", exact != NULL ? exact : suffix);
    json_t *header = route_match_header(c, ":authority", method, false);
    json_decref(method);
    json_t *headers = json_object_get(match, "headers");
    if (headers == NULL) {
        headers = jb_array(c);
        jb_set(c, match, "headers", headers);
    }
    jb_push(c, headers, header);
}

static void set_rewrites(compile_ctx *c, json_t *action, const plan_route *gr, const json_t *match)
{
    const json_t *rewrite = json_object_get(json_object_get(gr->route, "action"), "rewrite");
    if (gr->type == PROTOCOL_GRPC)
        return;
    const char *path_rewrite =
        json_string_value(json_object_get(json_object_get(rewrite, "path"), "exact"));
    if (json_object_get(match, "prefix") != NULL) {
        const json_t *prefix = json_object_get(rewrite, "prefix");
        const char *value = json_string_value(json_object_get(prefix, "value"));
        const char *mode = json_string_value(json_object_get(prefix, "defaultPrefix"));
        if (value != NULL)
            jb_set_string(c, action, "prefix_rewrite", value);
        else if (mode == NULL || strcmp(mode, "DISABLED") != 0)
            jb_set_string(c, action, "prefix_rewrite", "/");
    } else if (path_rewrite != NULL && json_object_get(match, "path") != NULL) {
        jb_set_string(c, action, "prefix_rewrite", path_rewrite);
    } else if (path_rewrite != NULL) {
        json_t *pattern = jb_object(c);
        jb_set_string(c, pattern, "regex", "^.*$");
        json_t *regex_rewrite = jb_object(c);
        jb_set(c, regex_rewrite, "pattern", pattern);
        jb_set_string(c, regex_rewrite, "substitution", path_rewrite);
        jb_set(c, action, "regex_rewrite", regex_rewrite);
    }
}

static json_t *gateway_route(gateway *g, const plan_route *gr, const char *cluster, bool *uses_path)
{
    compile_ctx *c = g->c;
    gateway_target *t = find_target(g, target_service(gr->route));
    if (t == NULL || t->chosen == SIZE_MAX)
        return NULL; /* the service cannot be reached: no route to nowhere */
    const plan_service *service = &g->plan.services[t->chosen];
    const json_t *spec_match = json_object_get(gr->route, "match");
    route_match_result m = route_match_build(c, spec_match, gr->type, false);
    if (m.match == NULL)
        return NULL;
    add_authority_match(c, m.match, json_object_get(spec_match, "hostname"));
    *uses_path = *uses_path || m.uses_path;

    json_t *action = jb_object(c);
    jb_set_string(c, action, "cluster", cluster);
    set_rewrites(c, action, gr, m.match);
    json_t *route = jb_object(c);
    jb_set_string(c, route, "name", gr->name);
    jb_set(c, route, "match", m.match);
    if (keeps_host(gr->route)) {
        json_t *header = jb_object(c);
        jb_set_string(c, header, "key", VIRTUAL_SERVICE_HEADER);
        jb_set_string(c, header, "value", service->name);
        json_t *option = jb_object(c);
        jb_set(c, option, "header", header);
        jb_set_string(c, option, "append_action", "OVERWRITE_IF_EXISTS_OR_ADD");
        json_t *list = jb_array(c);
        jb_push(c, list, option);
        jb_set(c, route, "request_headers_to_add", list);
    } else {
        jb_set_string(c, action, "host_rewrite_literal", service->name);
    }
    mesh_timeouts timeouts;
    if (service_timeouts(service, &timeouts)) {
        jb_set(c, action, "timeout", jb_duration_ms(c, timeouts.request_ms));
        jb_set(c, action, "idle_timeout", jb_duration_ms(c, timeouts.idle_ms));
    }
    jb_set(c, route, "route", action);
    return route;
}

static void ingress_listener(gateway *g, const gateway_listener *gl)
{
    compile_ctx *c = g->c;
    bool several = g->listener_count > 1;
    const char *cluster = cluster_self_redirect(c, gl->listener, several, gl->port, gl->protocol);
    const char *rds = name_route_config(&c->arena, "ingress", gl->protocol, gl->port);
    bool uses_path = false;
    json_t *routes = jb_array(c);
    for (size_t i = 0; i < gl->route_count; i++) {
        json_t *route = gateway_route(g, &gl->routes[i], cluster, &uses_path);
        if (route != NULL)
            jb_push(c, routes, route);
    }
    virtual_host_list hosts;
    virtual_hosts_init(c, &hosts);
    virtual_hosts_add(c, &hosts, virtual_host_new(c, SELF_REDIRECT_HOST, "*", routes));
    virtual_hosts_finish(c, &hosts, rds);

    hcm_options o = {.stat_prefix = name_ingress_stat_prefix(&c->arena, several, gl->protocol, gl->port),
                     .route_config_name = rds, .websocket = gl->protocol == PROTOCOL_HTTP,
                     .normalize_path = uses_path, .access_log = true};
    json_t *match = jb_object(c);
    jb_set_integer(c, match, "destination_port", gl->port);
    json_t *chains = jb_array(c);
    jb_push(c, chains, filter_chain(c, match, hcm_filter(c, &o)));
    const char *name = name_listener(&c->arena, "ingress", gl->port);
    json_t *listener = listener_shell(c, name, gl->port, "INBOUND",
                                      ip_preference_dual_stack(c->mesh_ip_preference));
    jb_set(c, listener, "filter_chains", chains);
    json_t *filters = jb_array(c);
    jb_push(c, filters,
            jb_extension(c, "envoy.filters.listener.tls_inspector",
                         jb_typed(c, "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector")));
    jb_set(c, listener, "listener_filters", filters);
    ctx_add_resource(c, TRELLIS_XDS_LISTENER, name, listener);
}

/* The service's routes again, selected by the x-app-mesh-virtual-service header. */
static void add_header_routes(compile_ctx *c, json_t *routes, const plan_service *service,
                              bool *uses_path)
{
    for (size_t i = 0; i < service->route_count; i++) {
        json_t *route = route_build_http(c, &service->routes[i], false, uses_path);
        if (route == NULL)
            continue;
        json_t *method = jb_object(c);
        jb_set_string(c, method, "exact", service->name);
        json_t *header = route_match_header(c, VIRTUAL_SERVICE_HEADER, method, false);
        json_decref(method);
        json_t *match = json_object_get(route, "match");
        json_t *headers = json_object_get(match, "headers");
        if (headers == NULL) {
            headers = jb_array(c);
            jb_set(c, match, "headers", headers);
        }
        jb_push(c, headers, header);
        json_t *remove = jb_array(c);
        jb_push(c, remove, jb_string(c, VIRTUAL_SERVICE_HEADER));
        jb_set(c, route, "request_headers_to_remove", remove);
        jb_push(c, routes, route);
    }
}

static void egress_listener(gateway *g)
{
    compile_ctx *c = g->c;
    mesh_protocol protocol = PROTOCOL_NONE;
    bool websocket = false;
    for (size_t i = 0; i < g->listener_count; i++) {
        if (protocol == PROTOCOL_NONE || g->listeners[i].protocol < protocol)
            protocol = g->listeners[i].protocol;
        websocket = websocket || g->listeners[i].protocol == PROTOCOL_HTTP;
    }
    if (protocol == PROTOCOL_NONE)
        protocol = PROTOCOL_HTTP;

    virtual_host_list hosts;
    virtual_hosts_init(c, &hosts);
    bool uses_path = false, by_header = false;
    for (size_t i = 0; i < g->target_count; i++) {
        const gateway_target *t = &g->targets[i];
        if (t->chosen == SIZE_MAX)
            continue;
        virtual_hosts_add(c, &hosts, virtual_host_build(c, &g->plan.services[t->chosen],
                                                        NAME_EGRESS_PORT, false, &uses_path));
        by_header = by_header || t->by_header;
    }
    if (by_header) {
        json_t *routes = jb_array(c);
        for (size_t i = 0; i < g->target_count; i++) {
            if (g->targets[i].chosen != SIZE_MAX && g->targets[i].by_header)
                add_header_routes(c, routes, &g->plan.services[g->targets[i].chosen], &uses_path);
        }
        /* Service names cannot contain '/': the fallback name is always free. */
        const char *host_name = virtual_hosts_has_name(&hosts, DEFAULT_BACKEND_HOST)
                                    ? DEFAULT_BACKEND_HOST "/*"
                                    : DEFAULT_BACKEND_HOST;
        virtual_hosts_add(c, &hosts, virtual_host_new(c, host_name, "*", routes));
    }
    const char *rds = name_route_config(&c->arena, "egress", protocol, NAME_EGRESS_PORT);
    virtual_hosts_finish(c, &hosts, rds);

    hcm_options o = {.stat_prefix = "egress", .route_config_name = rds, .websocket = websocket,
                     .normalize_path = uses_path, .access_log = true};
    json_t *match = jb_object(c);
    jb_set_integer(c, match, "destination_port", NAME_EGRESS_PORT);
    json_t *chains = jb_array(c);
    jb_push(c, chains, filter_chain(c, match, hcm_filter(c, &o)));
    const char *name = name_listener(&c->arena, "egress", NAME_EGRESS_PORT);
    json_t *listener = listener_shell(c, name, NAME_EGRESS_PORT, "OUTBOUND",
                                      ip_preference_dual_stack(c->mesh_ip_preference));
    jb_set(c, listener, "filter_chains", chains);
    json_t *filters = jb_array(c);
    jb_push(c, filters,
            jb_extension(c, "envoy.filters.listener.tls_inspector",
                         jb_typed(c, "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector")));
    jb_set(c, listener, "listener_filters", filters);
    ctx_add_resource(c, TRELLIS_XDS_LISTENER, name, listener);
}

void gateway_compile(compile_ctx *c)
{
    gateway g;
    memset(&g, 0, sizeof(g));
    g.c = c;
    if (!gather(&g) || !resolve_targets(&g))
        return;
    for (size_t i = 0; i < g.listener_count; i++)
        ingress_listener(&g, &g.listeners[i]);
    egress_listener(&g);
}
