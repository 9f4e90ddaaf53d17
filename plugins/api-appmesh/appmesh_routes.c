/*
 * GENERATED FILE - DO NOT EDIT.
 * The App Mesh 2019-01-25 REST routes: HTTP method + URI template -> operation, and
 * where each bound input member comes from (URI label, query key, header).
 * Source: botocore data/appmesh/2019-01-25/service-2.json (model sha256 00d409a1fa001cba6e2e359629651259fd2761858554621e6dcd239bf159b0dd).
 * Regenerate: python3 core/model/gen_appmesh_model.py [path/to/service-2.json]
 */
#include "appmesh_routes.h"

/* BIND(location, location name, member name) */
#define BIND(loc, loc_name, member) {loc, loc_name, member}

static const appmesh_binding bind_CreateGatewayRoute[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_CreateRoute[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_CreateVirtualGateway[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
};
static const appmesh_binding bind_CreateVirtualNode[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
};
static const appmesh_binding bind_CreateVirtualRouter[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
};
static const appmesh_binding bind_CreateVirtualService[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
};
static const appmesh_binding bind_DeleteGatewayRoute[] = {
    BIND(APPMESH_IN_URI, "gatewayRouteName", "gatewayRouteName"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_DeleteMesh[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
};
static const appmesh_binding bind_DeleteRoute[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "routeName", "routeName"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_DeleteVirtualGateway[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_DeleteVirtualNode[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualNodeName", "virtualNodeName"),
};
static const appmesh_binding bind_DeleteVirtualRouter[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_DeleteVirtualService[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualServiceName", "virtualServiceName"),
};
static const appmesh_binding bind_DescribeGatewayRoute[] = {
    BIND(APPMESH_IN_URI, "gatewayRouteName", "gatewayRouteName"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_DescribeMesh[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
};
static const appmesh_binding bind_DescribeRoute[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "routeName", "routeName"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_DescribeVirtualGateway[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_DescribeVirtualNode[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualNodeName", "virtualNodeName"),
};
static const appmesh_binding bind_DescribeVirtualRouter[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_DescribeVirtualService[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualServiceName", "virtualServiceName"),
};
static const appmesh_binding bind_ListGatewayRoutes[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_ListMeshes[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
};
static const appmesh_binding bind_ListRoutes[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_ListTagsForResource[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
    BIND(APPMESH_IN_QUERY, "resourceArn", "resourceArn"),
};
static const appmesh_binding bind_ListVirtualGateways[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
};
static const appmesh_binding bind_ListVirtualNodes[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
};
static const appmesh_binding bind_ListVirtualRouters[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
};
static const appmesh_binding bind_ListVirtualServices[] = {
    BIND(APPMESH_IN_QUERY, "limit", "limit"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_QUERY, "nextToken", "nextToken"),
};
static const appmesh_binding bind_TagResource[] = {
    BIND(APPMESH_IN_QUERY, "resourceArn", "resourceArn"),
};
static const appmesh_binding bind_UntagResource[] = {
    BIND(APPMESH_IN_QUERY, "resourceArn", "resourceArn"),
};
static const appmesh_binding bind_UpdateGatewayRoute[] = {
    BIND(APPMESH_IN_URI, "gatewayRouteName", "gatewayRouteName"),
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_UpdateMesh[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
};
static const appmesh_binding bind_UpdateRoute[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "routeName", "routeName"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_UpdateVirtualGateway[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualGatewayName", "virtualGatewayName"),
};
static const appmesh_binding bind_UpdateVirtualNode[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualNodeName", "virtualNodeName"),
};
static const appmesh_binding bind_UpdateVirtualRouter[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualRouterName", "virtualRouterName"),
};
static const appmesh_binding bind_UpdateVirtualService[] = {
    BIND(APPMESH_IN_URI, "meshName", "meshName"),
    BIND(APPMESH_IN_QUERY, "meshOwner", "meshOwner"),
    BIND(APPMESH_IN_URI, "virtualServiceName", "virtualServiceName"),
};

const appmesh_route appmesh_routes[] = {
    {"PUT", "/v20190125/meshes/{meshName}/virtualGateway/{virtualGatewayName}/gatewayRoutes", "CreateGatewayRoute", bind_CreateGatewayRoute, 3},
    {"PUT", "/v20190125/meshes", "CreateMesh", NULL, 0},
    {"PUT", "/v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes", "CreateRoute", bind_CreateRoute, 3},
    {"PUT", "/v20190125/meshes/{meshName}/virtualGateways", "CreateVirtualGateway", bind_CreateVirtualGateway, 2},
    {"PUT", "/v20190125/meshes/{meshName}/virtualNodes", "CreateVirtualNode", bind_CreateVirtualNode, 2},
    {"PUT", "/v20190125/meshes/{meshName}/virtualRouters", "CreateVirtualRouter", bind_CreateVirtualRouter, 2},
    {"PUT", "/v20190125/meshes/{meshName}/virtualServices", "CreateVirtualService", bind_CreateVirtualService, 2},
    {"DELETE", "/v20190125/meshes/{meshName}/virtualGateway/{virtualGatewayName}/gatewayRoutes/{gatewayRouteName}", "DeleteGatewayRoute", bind_DeleteGatewayRoute, 4},
    {"DELETE", "/v20190125/meshes/{meshName}", "DeleteMesh", bind_DeleteMesh, 1},
    {"DELETE", "/v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes/{routeName}", "DeleteRoute", bind_DeleteRoute, 4},
    {"DELETE", "/v20190125/meshes/{meshName}/virtualGateways/{virtualGatewayName}", "DeleteVirtualGateway", bind_DeleteVirtualGateway, 3},
    {"DELETE", "/v20190125/meshes/{meshName}/virtualNodes/{virtualNodeName}", "DeleteVirtualNode", bind_DeleteVirtualNode, 3},
    {"DELETE", "/v20190125/meshes/{meshName}/virtualRouters/{virtualRouterName}", "DeleteVirtualRouter", bind_DeleteVirtualRouter, 3},
    {"DELETE", "/v20190125/meshes/{meshName}/virtualServices/{virtualServiceName}", "DeleteVirtualService", bind_DeleteVirtualService, 3},
    {"GET", "/v20190125/meshes/{meshName}/virtualGateway/{virtualGatewayName}/gatewayRoutes/{gatewayRouteName}", "DescribeGatewayRoute", bind_DescribeGatewayRoute, 4},
    {"GET", "/v20190125/meshes/{meshName}", "DescribeMesh", bind_DescribeMesh, 2},
    {"GET", "/v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes/{routeName}", "DescribeRoute", bind_DescribeRoute, 4},
    {"GET", "/v20190125/meshes/{meshName}/virtualGateways/{virtualGatewayName}", "DescribeVirtualGateway", bind_DescribeVirtualGateway, 3},
    {"GET", "/v20190125/meshes/{meshName}/virtualNodes/{virtualNodeName}", "DescribeVirtualNode", bind_DescribeVirtualNode, 3},
    {"GET", "/v20190125/meshes/{meshName}/virtualRouters/{virtualRouterName}", "DescribeVirtualRouter", bind_DescribeVirtualRouter, 3},
    {"GET", "/v20190125/meshes/{meshName}/virtualServices/{virtualServiceName}", "DescribeVirtualService", bind_DescribeVirtualService, 3},
    {"GET", "/v20190125/meshes/{meshName}/virtualGateway/{virtualGatewayName}/gatewayRoutes", "ListGatewayRoutes", bind_ListGatewayRoutes, 5},
    {"GET", "/v20190125/meshes", "ListMeshes", bind_ListMeshes, 2},
    {"GET", "/v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes", "ListRoutes", bind_ListRoutes, 5},
    {"GET", "/v20190125/tags", "ListTagsForResource", bind_ListTagsForResource, 3},
    {"GET", "/v20190125/meshes/{meshName}/virtualGateways", "ListVirtualGateways", bind_ListVirtualGateways, 4},
    {"GET", "/v20190125/meshes/{meshName}/virtualNodes", "ListVirtualNodes", bind_ListVirtualNodes, 4},
    {"GET", "/v20190125/meshes/{meshName}/virtualRouters", "ListVirtualRouters", bind_ListVirtualRouters, 4},
    {"GET", "/v20190125/meshes/{meshName}/virtualServices", "ListVirtualServices", bind_ListVirtualServices, 4},
    {"PUT", "/v20190125/tag", "TagResource", bind_TagResource, 1},
    {"PUT", "/v20190125/untag", "UntagResource", bind_UntagResource, 1},
    {"PUT", "/v20190125/meshes/{meshName}/virtualGateway/{virtualGatewayName}/gatewayRoutes/{gatewayRouteName}", "UpdateGatewayRoute", bind_UpdateGatewayRoute, 4},
    {"PUT", "/v20190125/meshes/{meshName}", "UpdateMesh", bind_UpdateMesh, 1},
    {"PUT", "/v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes/{routeName}", "UpdateRoute", bind_UpdateRoute, 4},
    {"PUT", "/v20190125/meshes/{meshName}/virtualGateways/{virtualGatewayName}", "UpdateVirtualGateway", bind_UpdateVirtualGateway, 3},
    {"PUT", "/v20190125/meshes/{meshName}/virtualNodes/{virtualNodeName}", "UpdateVirtualNode", bind_UpdateVirtualNode, 3},
    {"PUT", "/v20190125/meshes/{meshName}/virtualRouters/{virtualRouterName}", "UpdateVirtualRouter", bind_UpdateVirtualRouter, 3},
    {"PUT", "/v20190125/meshes/{meshName}/virtualServices/{virtualServiceName}", "UpdateVirtualService", bind_UpdateVirtualService, 3},
};
const size_t appmesh_route_count = 38;
