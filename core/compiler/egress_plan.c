#include "egress_plan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/references.h"
#include "route_order.h"
#include "service_discovery.h"

/* The routes of one router, scanned once per compile however many virtual
 * services it provides. */
struct router_routes {
    const char *router;
    const catalog_entry **entries;
    size_t count, capacity;
    router_routes *next;
};

typedef struct route_collector {
    compile_ctx *c;
    router_routes *routes;
} route_collector;

static bool collect_route(const catalog_entry *e, void *arg)
{
    route_collector *rc = arg;
    router_routes *rr = rc->routes;
    if (rr->count == rr->capacity) {
        size_t grown = rr->capacity ? rr->capacity * 2 : 8;
        const catalog_entry **fresh =
            arena_grow(&rc->c->arena, rr->entries, rr->count, grown, sizeof(*fresh));
        if (fresh == NULL)
            return false;
        rr->entries = fresh;
        rr->capacity = grown;
    }
    rr->entries[rr->count++] = e;
    return true;
}

static router_routes *routes_of_router(compile_ctx *c, egress_plan *plan, const char *router)
{
    for (router_routes *rr = plan->routers; rr != NULL; rr = rr->next) {
        if (strcmp(rr->router, router) == 0)
            return rr;
    }
    router_routes *rr = arena_alloc(&c->arena, sizeof(*rr));
    if (rr == NULL)
        return NULL;
    rr->router = router;
    route_collector rc = {c, rr};
    reader_scan(&c->reader, RESOURCE_ROUTE, c->id->mesh, router, collect_route, &rc);
    rr->next = plan->routers;
    plan->routers = rr;
    return rr;
}

/* The listener of a node on a port; with port 0, the node's only listener. */
static const json_t *node_listener(const json_t *node_spec, uint32_t port)
{
    const json_t *listeners = json_object_get(node_spec, "listeners");
    if (port == 0)
        return json_array_size(listeners) == 1 ? json_array_get(listeners, 0) : NULL;
    size_t i;
    const json_t *listener;
    json_array_foreach(listeners, i, listener) {
        uint32_t p;
        mesh_protocol protocol;
        if (protocol_port_mapping(listener, &p, &protocol) && p == port)
            return listener;
    }
    return NULL;
}

static bool resolve_target(compile_ctx *c, const char *node_name, uint32_t port, uint32_t weight,
                           plan_target *out)
{
    const json_t *spec = reader_spec(reader_get(&c->reader, RESOURCE_VIRTUAL_NODE, c->id->mesh,
                                                NULL, node_name));
    if (spec == NULL || !service_discovery_reachable(spec))
        return false;
    const json_t *listener = node_listener(spec, port);
    if (listener == NULL || !protocol_port_mapping(listener, &out->port, &out->protocol))
        return false;
    out->node = node_name;
    out->node_spec = spec;
    out->listener = listener;
    out->weight = weight;
    return true;
}

/* Resolves weightedTargets; false when no target can carry traffic. */
static bool resolve_targets(compile_ctx *c, const json_t *targets, plan_route *route)
{
    size_t n = json_array_size(targets);
    route->targets = arena_alloc(&c->arena, (n ? n : 1) * sizeof(*route->targets));
    if (route->targets == NULL)
        return false;
    bool some_weight = false;
    size_t i;
    const json_t *target;
    json_array_foreach(targets, i, target) {
        const char *node = json_string_value(json_object_get(target, "virtualNode"));
        json_int_t port = json_integer_value(json_object_get(target, "port"));
        json_int_t weight = json_integer_value(json_object_get(target, "weight"));
        if (node == NULL || port < 0 || port > 65535 || weight < 0)
            continue;
        if (weight > UINT32_MAX)
            weight = UINT32_MAX;
        plan_target *t = &route->targets[route->target_count];
        if (resolve_target(c, node, (uint32_t)port, (uint32_t)weight, t)) {
            route->target_count++;
            some_weight = some_weight || weight > 0;
        }
    }
    return some_weight;
}

static bool append_service(compile_ctx *c, egress_plan *plan, const plan_service *service)
{
    if (plan->service_count == plan->service_capacity) {
        size_t grown = plan->service_capacity ? plan->service_capacity * 2 : 16;
        plan_service *fresh =
            arena_grow(&c->arena, plan->services, plan->service_count, grown, sizeof(*fresh));
        if (fresh == NULL)
            return false;
        plan->services = fresh;
        plan->service_capacity = grown;
    }
    plan->services[plan->service_count++] = *service;
    return true;
}

/* The routes of `router` that attach to its listener on (port, protocol). */
static bool router_service_routes(compile_ctx *c, egress_plan *plan, const char *router,
                                  size_t listener_count, plan_service *service)
{
    router_routes *rr = routes_of_router(c, plan, router);
    if (rr == NULL)
        return false;
    service->routes = arena_alloc(&c->arena, (rr->count ? rr->count : 1) * sizeof(plan_route));
    if (service->routes == NULL)
        return false;
    const char *member = protocol_route_member(service->protocol);
    for (size_t i = 0; i < rr->count; i++) {
        const catalog_entry *e = rr->entries[i];
        json_t *route = NULL;
        const char *type = references_route_type(reader_spec(e), references_route_types, &route, NULL);
        if (type == NULL || strcmp(type, member) != 0)
            continue;
        const json_t *match_port = json_object_get(json_object_get(route, "match"), "port");
        if (match_port != NULL ? json_integer_value(match_port) != (json_int_t)service->port
                               : listener_count != 1)
            continue;
        plan_route *pr = &service->routes[service->route_count];
        memset(pr, 0, sizeof(*pr));
        pr->name = e->name;
        pr->route = route;
        pr->type = service->protocol;
        const json_t *priority = json_object_get(reader_spec(e), "priority");
        pr->priority = json_is_integer(priority) ? (int)json_integer_value(priority)
                                                 : ROUTE_PRIORITY_UNSET;
        if (resolve_targets(c, json_object_get(json_object_get(route, "action"), "weightedTargets"),
                            pr))
            service->route_count++;
    }
    route_order_sort(service->routes, service->route_count);
    return !c->arena.failed;
}

static bool add_router_services(compile_ctx *c, egress_plan *plan, plan_service base,
                                const char *router)
{
    const json_t *spec = reader_spec(
        reader_get(&c->reader, RESOURCE_VIRTUAL_ROUTER, c->id->mesh, NULL, router));
    const json_t *listeners = json_object_get(spec, "listeners");
    size_t i;
    const json_t *listener;
    json_array_foreach(listeners, i, listener) {
        plan_service service = base;
        if (!protocol_port_mapping(listener, &service.port, &service.protocol))
            continue;
        if (!router_service_routes(c, plan, router, json_array_size(listeners), &service) ||
            !append_service(c, plan, &service))
            return false;
    }
    return true;
}

static bool add_node_services(compile_ctx *c, egress_plan *plan, plan_service base,
                              const char *node)
{
    const json_t *spec = reader_spec(
        reader_get(&c->reader, RESOURCE_VIRTUAL_NODE, c->id->mesh, NULL, node));
    if (spec == NULL || !service_discovery_reachable(spec))
        return true;
    size_t i;
    const json_t *listener;
    json_array_foreach(json_object_get(spec, "listeners"), i, listener) {
        plan_service service = base;
        if (!protocol_port_mapping(listener, &service.port, &service.protocol))
            continue;
        plan_route *route = arena_alloc(&c->arena, sizeof(*route));
        plan_target *target = arena_alloc(&c->arena, sizeof(*target));
        if (route == NULL || target == NULL)
            return false;
        *target = (plan_target){node, spec, listener, service.port, service.protocol, 100};
        *route = (plan_route){NULL, NULL, service.protocol, ROUTE_PRIORITY_UNSET, target, 1};
        service.routes = route;
        service.route_count = 1;
        if (!append_service(c, plan, &service))
            return false;
    }
    return true;
}

bool egress_plan_add_service(compile_ctx *c, egress_plan *plan, const char *virtual_service,
                             const json_t *backend, size_t backend_index)
{
    const json_t *spec = reader_spec(
        reader_get(&c->reader, RESOURCE_VIRTUAL_SERVICE, c->id->mesh, NULL, virtual_service));
    const json_t *provider = json_object_get(spec, "provider");
    plan_service base = {.name = virtual_service, .backend = backend, .backend_index = backend_index};
    const char *router = json_string_value(
        json_object_get(json_object_get(provider, "virtualRouter"), "virtualRouterName"));
    if (router != NULL)
        return add_router_services(c, plan, base, router);
    const char *node = json_string_value(
        json_object_get(json_object_get(provider, "virtualNode"), "virtualNodeName"));
    if (node != NULL)
        return add_node_services(c, plan, base, node);
    return true; /* no provider: nothing to reach */
}

static int compare_services(const void *a, const void *b)
{
    const plan_service *x = a, *y = b;
    int by_case = strcasecmp(x->name, y->name);
    if (by_case != 0)
        return by_case;
    int exact = strcmp(x->name, y->name);
    if (exact != 0)
        return exact;
    return x->port < y->port ? -1 : x->port > y->port;
}

static plan_port *port_entry(compile_ctx *c, egress_plan *plan, uint32_t port)
{
    for (size_t i = 0; i < plan->port_count; i++) {
        if (plan->ports[i].port == port)
            return &plan->ports[i];
    }
    plan_port *grown = arena_grow(&c->arena, plan->ports, plan->port_count, plan->port_count + 1,
                                  sizeof(*grown));
    if (grown == NULL)
        return NULL;
    plan->ports = grown;
    plan_port *p = &plan->ports[plan->port_count++];
    memset(p, 0, sizeof(*p));
    p->port = port;
    return p;
}

static int compare_ports(const void *a, const void *b)
{
    const plan_port *x = a, *y = b;
    return x->port < y->port ? -1 : x->port > y->port;
}

bool egress_plan_group_ports(compile_ctx *c, egress_plan *plan)
{
    if (plan->service_count > 1)
        qsort(plan->services, plan->service_count, sizeof(*plan->services), compare_services);
    /* First pass: the protocol of each port (HTTP family beats tcp). */
    for (size_t i = 0; i < plan->service_count; i++) {
        plan_service *s = &plan->services[i];
        plan_port *p = port_entry(c, plan, s->port);
        if (p == NULL)
            return false;
        if (p->protocol == PROTOCOL_NONE ||
            (protocol_is_http_family(s->protocol) &&
             (!protocol_is_http_family(p->protocol) || s->protocol < p->protocol)))
            p->protocol = s->protocol;
    }
    /* Second pass: members. */
    for (size_t i = 0; i < plan->port_count; i++) {
        plan_port *p = &plan->ports[i];
        p->services = arena_alloc(&c->arena, plan->service_count * sizeof(*p->services));
        if (p->services == NULL)
            return false;
    }
    for (size_t i = 0; i < plan->service_count; i++) {
        plan_service *s = &plan->services[i];
        plan_port *p = port_entry(c, plan, s->port);
        if (p->protocol == PROTOCOL_TCP) {
            if (s->protocol == PROTOCOL_TCP &&
                (p->service_count == 0 || s->backend_index < p->services[0]->backend_index)) {
                p->services[0] = s;
                p->service_count = 1;
            }
        } else if (protocol_is_http_family(s->protocol)) {
            /* Names equal but for case sort together: the backend listed
             * first in the node's spec keeps the port. */
            plan_service **last = p->service_count > 0 ? &p->services[p->service_count - 1] : NULL;
            if (last != NULL && strcasecmp((*last)->name, s->name) == 0) {
                if (s->backend_index < (*last)->backend_index)
                    *last = s;
            } else {
                p->services[p->service_count++] = s;
            }
        }
    }
    if (plan->port_count > 1)
        qsort(plan->ports, plan->port_count, sizeof(*plan->ports), compare_ports);
    return !c->arena.failed;
}

bool egress_plan_build(compile_ctx *c, const json_t *backends, egress_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    size_t i;
    const json_t *backend;
    json_array_foreach(backends, i, backend) {
        const char *name = json_string_value(
            json_object_get(json_object_get(backend, "virtualService"), "virtualServiceName"));
        if (name == NULL)
            continue;
        bool repeated = false;
        for (size_t k = 0; k < plan->service_count && !repeated; k++)
            repeated = strcmp(plan->services[k].name, name) == 0;
        if (repeated)
            continue;
        if (!egress_plan_add_service(c, plan, name, backend, i))
            return false;
    }
    return egress_plan_group_ports(c, plan);
}
