#include "resource_kind.h"

#include <stddef.h>

static const resource_kind_info kinds[RESOURCE_KIND_COUNT] = {
    {RESOURCE_MESH, "mesh", "mesh", "meshName", "mesh", "meshes", "MeshRef", "Mesh", "mesh",
     RESOURCE_MESH, NULL, "quota_meshes"},
    {RESOURCE_VIRTUAL_SERVICE, "virtualService", "virtualService", "virtualServiceName",
     "virtualService", "virtualServices", "VirtualServiceRef", "VirtualService", "virtual service",
     RESOURCE_MESH, NULL, "quota_virtual_services_per_mesh"},
    {RESOURCE_VIRTUAL_NODE, "virtualNode", "virtualNode", "virtualNodeName", "virtualNode",
     "virtualNodes", "VirtualNodeRef", "VirtualNode", "virtual node", RESOURCE_MESH, NULL,
     "quota_virtual_nodes_per_mesh"},
    {RESOURCE_VIRTUAL_ROUTER, "virtualRouter", "virtualRouter", "virtualRouterName",
     "virtualRouter", "virtualRouters", "VirtualRouterRef", "VirtualRouter", "virtual router",
     RESOURCE_MESH, NULL, "quota_virtual_routers_per_mesh"},
    {RESOURCE_ROUTE, "route", "route", "routeName", "route", "routes", "RouteRef", "Route",
     "route", RESOURCE_VIRTUAL_ROUTER, "virtualRouterName", "quota_routes_per_virtual_router"},
    {RESOURCE_VIRTUAL_GATEWAY, "virtualGateway", "virtualGateway", "virtualGatewayName",
     "virtualGateway", "virtualGateways", "VirtualGatewayRef", "VirtualGateway",
     "virtual gateway", RESOURCE_MESH, NULL, "quota_virtual_gateways_per_mesh"},
    {RESOURCE_GATEWAY_ROUTE, "gatewayRoute", "gatewayRoute", "gatewayRouteName", "gatewayRoute",
     "gatewayRoutes", "GatewayRouteRef", "GatewayRoute", "gateway route",
     RESOURCE_VIRTUAL_GATEWAY, "virtualGatewayName", "quota_gateway_routes_per_virtual_gateway"},
};

const resource_kind_info *resource_kind_get(resource_kind kind)
{
    return (unsigned)kind < RESOURCE_KIND_COUNT ? &kinds[kind] : NULL;
}

bool resource_kind_has_parent(resource_kind kind)
{
    return kind == RESOURCE_ROUTE || kind == RESOURCE_GATEWAY_ROUTE;
}
