#include "endpoints.h"

#include <string.h>

#include "json_build.h"

static json_t *lb_endpoint(compile_ctx *c, const char *address, uint32_t port, uint32_t health_port)
{
    json_t *endpoint = jb_object(c);
    jb_set(c, endpoint, "address", jb_socket_address(c, address, port));
    if (health_port != 0) {
        json_t *health = jb_object(c);
        jb_set_integer(c, health, "port_value", health_port);
        jb_set(c, endpoint, "health_check_config", health);
    }
    json_t *lb = jb_object(c);
    jb_set(c, lb, "endpoint", endpoint);
    return lb;
}

json_t *endpoints_single(compile_ctx *c, const char *cluster_name, const char *address,
                         uint32_t port, uint32_t health_port)
{
    json_t *lb_endpoints = jb_array(c);
    jb_push(c, lb_endpoints, lb_endpoint(c, address, port, health_port));
    json_t *locality = jb_object(c);
    jb_set(c, locality, "lb_endpoints", lb_endpoints);
    json_t *list = jb_array(c);
    jb_push(c, list, locality);
    json_t *assignment = jb_object(c);
    jb_set_string(c, assignment, "cluster_name", cluster_name);
    jb_set(c, assignment, "endpoints", list);
    return assignment;
}

static const char *zone_of(const compile_endpoint *e)
{
    return e->zone != NULL ? e->zone : "";
}

bool endpoints_resolves_dns(compile_ctx *c, const char *node)
{
    if (c->src->resolves_dns == NULL)
        return false;
    c->reader.endpoints = true;
    return c->src->resolves_dns(c->src->endpoints_arg, c->id->mesh, node, c->id->flavor);
}

void endpoints_discovered(compile_ctx *c, const char *cluster_name, const char *node,
                          uint32_t default_port, ip_preference preference, uint32_t health_port)
{
    if (ctx_resource(c, TRELLIS_XDS_ENDPOINT, cluster_name) != NULL)
        return;
    const compile_endpoint *found = NULL;
    size_t count = 0;
    c->reader.endpoints = true;
    if (c->src->endpoints == NULL ||
        !c->src->endpoints(c->src->endpoints_arg, c->id->mesh, node, &found, &count))
        count = 0;

    /* Usable endpoints in zone order (stable), without repeats. */
    const compile_endpoint **usable = arena_alloc(&c->arena, (count ? count : 1) * sizeof(*usable));
    uint32_t *ports = arena_alloc(&c->arena, (count ? count : 1) * sizeof(*ports));
    size_t n = 0;
    for (size_t i = 0; usable != NULL && ports != NULL && i < count; i++) {
        const compile_endpoint *e = &found[i];
        uint32_t port = e->port != 0 ? e->port : default_port;
        if (e->address == NULL || e->address[0] == '\0' || port > 65535 ||
            !ip_preference_allows(preference, e->address))
            continue;
        bool repeated = false;
        for (size_t k = 0; k < n && !repeated; k++)
            repeated = ports[k] == port && strcmp(usable[k]->address, e->address) == 0;
        if (repeated)
            continue;
        /* Insert after the last endpoint of the same zone (keeps zones together). */
        size_t at = n;
        for (size_t k = n; k > 0; k--) {
            if (strcmp(zone_of(usable[k - 1]), zone_of(e)) == 0) {
                at = k;
                break;
            }
        }
        memmove(&usable[at + 1], &usable[at], (n - at) * sizeof(*usable));
        memmove(&ports[at + 1], &ports[at], (n - at) * sizeof(*ports));
        usable[at] = e;
        ports[at] = port;
        n++;
    }

    json_t *localities = jb_array(c);
    for (size_t i = 0; i < n;) {
        const char *zone = zone_of(usable[i]);
        json_t *lb_endpoints = jb_array(c);
        size_t members = 0;
        for (; i < n && strcmp(zone_of(usable[i]), zone) == 0; i++, members++)
            jb_push(c, lb_endpoints, lb_endpoint(c, usable[i]->address, ports[i], health_port));
        json_t *locality = jb_object(c);
        if (zone[0] != '\0')
            jb_set_string(c, locality, "zone", zone);
        json_t *group = jb_object(c);
        jb_set(c, group, "locality", locality);
        jb_set(c, group, "lb_endpoints", lb_endpoints);
        jb_set_integer(c, group, "load_balancing_weight", (long long)members);
        jb_push(c, localities, group);
    }
    json_t *assignment = jb_object(c);
    jb_set_string(c, assignment, "cluster_name", cluster_name);
    jb_set(c, assignment, "endpoints", localities);
    ctx_add_resource(c, TRELLIS_XDS_ENDPOINT, cluster_name, assignment);
}
