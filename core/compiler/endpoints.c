#include "endpoints.h"

#include <stdlib.h>
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

/* One endpoint as a (address, port) pair, for finding repeats. */
typedef struct endpoint_key {
    const char *address;
    uint32_t port;
    size_t index;
} endpoint_key;

static int endpoint_key_compare(const void *pa, const void *pb)
{
    const endpoint_key *a = pa, *b = pb;
    int cmp = strcmp(a->address, b->address);
    if (cmp != 0)
        return cmp;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* repeated[i]: found[i] has the address and port (after the default) of an
 * earlier endpoint. One sort, not a scan per endpoint: sets reach 1,000. */
static void mark_repeats(compile_ctx *c, const compile_endpoint *found, size_t count,
                         uint32_t default_port, bool *repeated)
{
    endpoint_key *keys = arena_alloc(&c->arena, (count ? count : 1) * sizeof(*keys));
    for (size_t i = 0; i < count; i++)
        repeated[i] = false;
    if (keys == NULL)
        return;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (found[i].address != NULL)
            keys[n++] = (endpoint_key){found[i].address,
                                       found[i].port != 0 ? found[i].port : default_port, i};
    }
    qsort(keys, n, sizeof(*keys), endpoint_key_compare);
    for (size_t i = 1; i < n; i++) {
        if (keys[i].port == keys[i - 1].port && strcmp(keys[i].address, keys[i - 1].address) == 0)
            repeated[keys[i].index] = true;
    }
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
    bool *repeated = arena_alloc(&c->arena, (count ? count : 1) * sizeof(*repeated));
    if (usable == NULL || ports == NULL || repeated == NULL)
        count = 0;
    mark_repeats(c, found, count, default_port, repeated);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const compile_endpoint *e = &found[i];
        uint32_t port = e->port != 0 ? e->port : default_port;
        if (repeated[i] || e->address == NULL || e->address[0] == '\0' || port > 65535 ||
            !ip_preference_allows(preference, e->address))
            continue;
        /* Insert after the last endpoint of the same zone (keeps zones together;
         * the source's sets come sorted by zone, so this finds it at once). */
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
