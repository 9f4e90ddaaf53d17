/*
 * Egress route configurations: one virtual host per virtual service on a
 * port, named after the service, with domains "<service>" and
 * "<service>:<port>" (Envoy matches the Host header exactly, so both the
 * bare name and the name with the port the application used must be
 * there), holding the service's routes in App Mesh order.
 *
 * A route configuration never holds the same domain twice (Envoy rejects
 * it): a virtual host whose domains collide, ignoring case, with one already
 * added is left out (e.g. services "a" and "A", or a service named "*" next
 * to the ALLOW_ALL catch-all).
 */
#ifndef TRELLIS_COMPILER_VIRTUAL_HOSTS_H
#define TRELLIS_COMPILER_VIRTUAL_HOSTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "compile_context.h"
#include "egress_plan.h"

typedef struct virtual_host_list {
    json_t *hosts;              /* the virtual_hosts array being built (owned) */
    json_t *domains;            /* lower-cased domains already used (a set) */
    json_t *names;              /* virtual host names already used (a set) */
} virtual_host_list;

void virtual_hosts_init(compile_ctx *c, virtual_host_list *list);
/* Adds a virtual host (stolen) unless a domain or its name is taken; false
 * when it was left out. */
bool virtual_hosts_add(compile_ctx *c, virtual_host_list *list, json_t *host);
/* Whether a virtual host name is taken. */
bool virtual_hosts_has_name(const virtual_host_list *list, const char *name);
/* Adds RouteConfiguration `name` holding the list's hosts, and releases the list. */
void virtual_hosts_finish(compile_ctx *c, virtual_host_list *list, const char *name);

/* The virtual host of a service, domains "<service>" and "<service>:<domain_port>"
 * (the port the application connects to). *uses_path is set when a route
 * matches on the path. Routes that cannot apply are left out (route_build.h). */
json_t *virtual_host_build(compile_ctx *c, const plan_service *service, uint32_t domain_port,
                           bool proxyless, bool *uses_path);

/* {"name", "domains": [domain], "routes": routes (stolen)}. */
json_t *virtual_host_new(compile_ctx *c, const char *name, const char *domain, json_t *routes);

#endif
