#include "virtual_hosts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "json_build.h"
#include "naming.h"
#include "route_build.h"

void virtual_hosts_init(compile_ctx *c, virtual_host_list *list)
{
    list->hosts = jb_array(c);
    list->domains = jb_object(c);
    list->names = jb_object(c);
}

static char *lowercase(compile_ctx *c, const char *text)
{
    char *copy = arena_strdup(&c->arena, text);
    for (char *p = copy; p != NULL && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return copy;
}

bool virtual_hosts_add(compile_ctx *c, virtual_host_list *list, json_t *host)
{
    const char *name = json_string_value(json_object_get(host, "name"));
    json_t *domains = json_object_get(host, "domains");
    bool taken = name == NULL || json_object_get(list->names, name) != NULL;
    size_t i;
    json_t *domain;
    json_array_foreach(domains, i, domain) {
        char *key = lowercase(c, json_string_value(domain));
        taken = taken || key == NULL || json_object_get(list->domains, key) != NULL;
    }
    if (taken) {
        json_decref(host);
        return false;
    }
    json_array_foreach(domains, i, domain)
        jb_set(c, list->domains, lowercase(c, json_string_value(domain)), json_true());
    jb_set(c, list->names, name, json_true());
    jb_push(c, list->hosts, host);
    return true;
}

bool virtual_hosts_has_name(const virtual_host_list *list, const char *name)
{
    return json_object_get(list->names, name) != NULL;
}

void virtual_hosts_finish(compile_ctx *c, virtual_host_list *list, const char *name)
{
    json_t *config = jb_object(c);
    jb_set_string(c, config, "name", name);
    jb_set(c, config, "virtual_hosts", list->hosts);
    ctx_add_resource(c, TRELLIS_XDS_ROUTE, name, config);
    json_decref(list->domains);
    json_decref(list->names);
    memset(list, 0, sizeof(*list));
}

json_t *virtual_host_build(compile_ctx *c, const plan_service *service, uint32_t domain_port,
                           bool proxyless, bool *uses_path)
{
    json_t *domains = jb_array(c);
    jb_push(c, domains, jb_string(c, service->name));
    jb_push(c, domains, jb_string(c, name_domain_with_port(&c->arena, service->name, domain_port)));
    json_t *routes = jb_array(c);
    for (size_t i = 0; i < service->route_count; i++) {
        json_t *route = route_build_http(c, &service->routes[i], proxyless, uses_path);
        if (route != NULL)
            jb_push(c, routes, route);
    }
    json_t *host = jb_object(c);
    jb_set_string(c, host, "name", service->name);
    jb_set(c, host, "domains", domains);
    jb_set(c, host, "routes", routes);
    return host;
}

json_t *virtual_host_new(compile_ctx *c, const char *name, const char *domain, json_t *routes)
{
    json_t *domains = jb_array(c);
    jb_push(c, domains, jb_string(c, domain));
    json_t *host = jb_object(c);
    jb_set_string(c, host, "name", name);
    jb_set(c, host, "domains", domains);
    jb_set(c, host, "routes", routes);
    return host;
}
