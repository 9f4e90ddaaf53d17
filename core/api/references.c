#include "references.h"

#include <stdio.h>
#include <string.h>

#include "catalog/catalog_key.h"

const char *const references_route_types[] = {"httpRoute", "http2Route", "grpcRoute", "tcpRoute", NULL};
const char *const references_gateway_route_types[] = {"httpRoute", "http2Route", "grpcRoute", NULL};

const char *references_route_type(const json_t *spec, const char *const *types,
                                  json_t **route_out, size_t *count_out)
{
    const char *found = NULL;
    size_t count = 0;
    for (size_t i = 0; types[i] != NULL; i++) {
        json_t *route = json_object_get(spec, types[i]);
        if (route != NULL) {
            if (count++ == 0) {
                found = types[i];
                if (route_out != NULL)
                    *route_out = route;
            }
        }
    }
    if (count_out != NULL)
        *count_out = count;
    return count == 1 ? found : NULL;
}

typedef struct search {
    const char *name;
    char *user;
    size_t user_size;
    bool found;
} search;

static json_t *spec_of(const catalog_entry *e)
{
    return json_object_get(e->data, "spec");
}

/* A route whose weighted targets name the virtual node. */
static bool visit_route_targets(const catalog_entry *e, void *arg)
{
    search *s = arg;
    json_t *route = NULL;
    if (references_route_type(spec_of(e), references_route_types, &route, NULL) == NULL)
        return true;
    json_t *targets = json_object_get(json_object_get(route, "action"), "weightedTargets");
    size_t i;
    json_t *target;
    json_array_foreach(targets, i, target) {
        const char *node = json_string_value(json_object_get(target, "virtualNode"));
        if (node != NULL && strcmp(node, s->name) == 0) {
            snprintf(s->user, s->user_size, "route '%s' of virtual router '%s'", e->name, e->parent);
            s->found = true;
            return false;
        }
    }
    return true;
}

typedef struct provider_search {
    search base;
    const char *provider_kind;   /* "virtualNode" / "virtualRouter" */
    const char *provider_member; /* "virtualNodeName" / "virtualRouterName" */
} provider_search;

static bool visit_service_providers(const catalog_entry *e, void *arg)
{
    provider_search *ps = arg;
    json_t *provider = json_object_get(json_object_get(spec_of(e), "provider"), ps->provider_kind);
    const char *name = json_string_value(json_object_get(provider, ps->provider_member));
    if (name != NULL && strcmp(name, ps->base.name) == 0) {
        snprintf(ps->base.user, ps->base.user_size, "virtual service '%s'", e->name);
        ps->base.found = true;
        return false;
    }
    return true;
}

static bool visit_gateway_route_targets(const catalog_entry *e, void *arg)
{
    search *s = arg;
    json_t *route = NULL;
    if (references_route_type(spec_of(e), references_gateway_route_types, &route, NULL) == NULL)
        return true;
    json_t *target = json_object_get(json_object_get(route, "action"), "target");
    const char *service = json_string_value(
        json_object_get(json_object_get(target, "virtualService"), "virtualServiceName"));
    if (service != NULL && strcmp(service, s->name) == 0) {
        snprintf(s->user, s->user_size, "gateway route '%s' of virtual gateway '%s'", e->name,
                 e->parent);
        s->found = true;
        return false;
    }
    return true;
}

static bool visit_any(const catalog_entry *e, void *arg)
{
    search *s = arg;
    const resource_kind_info *info = resource_kind_get(e->kind);
    snprintf(s->user, s->user_size, "%s '%s'", info ? info->display_name : "resource", e->name);
    s->found = true;
    return false;
}

/* Scans a kind in a mesh; for routes and gateway routes `parent` NULL means
 * under every router or gateway. */
static void scan_kind(const catalog *cat, resource_kind kind, const char *mesh, const char *parent,
                      catalog_visit_fn fn, void *arg)
{
    char prefix[CATALOG_KEY_MAX];
    bool ok = (resource_kind_has_parent(kind) && parent == NULL)
                  ? catalog_key_mesh_prefix(prefix, sizeof(prefix), kind, mesh)
                  : catalog_key_list_prefix(prefix, sizeof(prefix), kind, mesh, parent);
    if (ok)
        catalog_scan_prefix(cat, prefix, fn, arg);
}

bool references_find_user(const catalog *cat, resource_kind kind, const char *mesh,
                          const char *name, char *user, size_t user_size)
{
    search s = {.name = name, .user = user, .user_size = user_size};
    switch (kind) {
    case RESOURCE_MESH: {
        static const resource_kind kinds[] = {RESOURCE_VIRTUAL_SERVICE, RESOURCE_VIRTUAL_NODE,
                                              RESOURCE_VIRTUAL_ROUTER, RESOURCE_VIRTUAL_GATEWAY};
        for (size_t i = 0; i < 4 && !s.found; i++)
            scan_kind(cat, kinds[i], name, NULL, visit_any, &s);
        return s.found;
    }
    case RESOURCE_VIRTUAL_NODE: {
        scan_kind(cat, RESOURCE_ROUTE, mesh, NULL, visit_route_targets, &s);
        if (s.found)
            return true;
        provider_search ps = {.base = s, .provider_kind = "virtualNode",
                              .provider_member = "virtualNodeName"};
        scan_kind(cat, RESOURCE_VIRTUAL_SERVICE, mesh, NULL, visit_service_providers, &ps);
        return ps.base.found;
    }
    case RESOURCE_VIRTUAL_ROUTER: {
        scan_kind(cat, RESOURCE_ROUTE, mesh, name, visit_any, &s);
        if (s.found)
            return true;
        provider_search ps = {.base = s, .provider_kind = "virtualRouter",
                              .provider_member = "virtualRouterName"};
        scan_kind(cat, RESOURCE_VIRTUAL_SERVICE, mesh, NULL, visit_service_providers, &ps);
        return ps.base.found;
    }
    case RESOURCE_VIRTUAL_SERVICE:
        scan_kind(cat, RESOURCE_GATEWAY_ROUTE, mesh, NULL, visit_gateway_route_targets, &s);
        return s.found;
    case RESOURCE_VIRTUAL_GATEWAY:
        scan_kind(cat, RESOURCE_GATEWAY_ROUTE, mesh, name, visit_any, &s);
        return s.found;
    default:
        return false;
    }
}
