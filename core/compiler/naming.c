#include "naming.h"

char *name_listener(arena *a, const char *direction, uint32_t port)
{
    return arena_printf(a, "lds_%s_" NAME_ANY_IPV4 "_%u", direction, port);
}

char *name_cluster(arena *a, const char *direction, const char *mesh, const char *node,
                   mesh_protocol protocol, uint32_t port)
{
    return arena_printf(a, "cds_%s_%s_%s_%s_%u", direction, mesh, node, protocol_name(protocol),
                        port);
}

char *name_cluster_amazonaws(arena *a, const char *mesh)
{
    return arena_printf(a, "cds_egress_%s_amazonaws", mesh);
}

char *name_cluster_allow_all(arena *a, const char *mesh)
{
    return arena_printf(a, "cds_egress_%s_mesh-allow-all", mesh);
}

char *name_cluster_self_redirect(arena *a, const char *mesh, const char *gateway,
                                 bool several_listeners, uint32_t listener_port,
                                 mesh_protocol protocol)
{
    if (several_listeners)
        return arena_printf(a, "cds_ingress_%s_%s_self_redirect_%u_%s_%u", mesh, gateway,
                            listener_port, protocol_name(protocol), NAME_EGRESS_PORT);
    return arena_printf(a, "cds_ingress_%s_%s_self_redirect_%s_%u", mesh, gateway,
                        protocol_name(protocol), NAME_EGRESS_PORT);
}

char *name_route_config(arena *a, const char *direction, mesh_protocol protocol, uint32_t port)
{
    return arena_printf(a, "rds_%s_%s_%u", direction, protocol_name(protocol), port);
}

char *name_ingress_stat_prefix(arena *a, bool several_listeners, mesh_protocol protocol,
                               uint32_t port)
{
    if (!several_listeners)
        return arena_strdup(a, "ingress");
    return arena_printf(a, "ingress.%s.%u", protocol_name(protocol), port);
}

char *name_proxyless_listener(arena *a, const char *virtual_service, uint32_t port)
{
    return arena_printf(a, "%s:%u", virtual_service, port);
}

char *name_proxyless_route_config(arena *a, const char *virtual_service, uint32_t port)
{
    return arena_printf(a, "rds_proxyless_%s_%u", virtual_service, port);
}

char *name_domain_with_port(arena *a, const char *virtual_service, uint32_t port)
{
    return arena_printf(a, "%s:%u", virtual_service, port);
}
