#include "listener_proxyless.h"

#include "json_build.h"
#include "naming.h"
#include "network_filters.h"
#include "virtual_hosts.h"

#define PROXYLESS_STAT_PREFIX "egress"

static void proxyless_service(compile_ctx *c, const plan_service *service)
{
    const char *listener_name = name_proxyless_listener(&c->arena, service->name, service->port);
    const char *rds = name_proxyless_route_config(&c->arena, service->name, service->port);
    if (listener_name == NULL || rds == NULL ||
        ctx_resource(c, TRELLIS_XDS_LISTENER, listener_name) != NULL)
        return;

    bool uses_path = false;
    virtual_host_list hosts;
    virtual_hosts_init(c, &hosts);
    virtual_hosts_add(c, &hosts, virtual_host_build(c, service, service->port, true, &uses_path));
    virtual_hosts_finish(c, &hosts, rds);

    hcm_options o = {.stat_prefix = PROXYLESS_STAT_PREFIX, .route_config_name = rds};
    json_t *api = jb_object(c);
    jb_set(c, api, "api_listener", hcm_config(c, &o));
    json_t *listener = jb_object(c);
    jb_set_string(c, listener, "name", listener_name);
    jb_set(c, listener, "api_listener", api);
    ctx_add_resource(c, TRELLIS_XDS_LISTENER, listener_name, listener);
}

void proxyless_compile(compile_ctx *c, const egress_plan *plan)
{
    for (size_t i = 0; i < plan->service_count; i++) {
        const plan_service *service = &plan->services[i];
        if (protocol_is_http_family(service->protocol))
            proxyless_service(c, service);
    }
}
