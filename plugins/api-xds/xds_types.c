#include "xds_types.h"

#include <string.h>

#include "pb_registry.h"

static const xds_type_info types[TRELLIS_XDS_TYPE_COUNT] = {
    [TRELLIS_XDS_LISTENER] = {TRELLIS_XDS_LISTENER,
                              "type.googleapis.com/envoy.config.listener.v3.Listener", "Listener",
                              "envoy.config.listener.v3.Listener", true},
    [TRELLIS_XDS_ROUTE] = {TRELLIS_XDS_ROUTE,
                           "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
                           "RouteConfiguration", "envoy.config.route.v3.RouteConfiguration", false},
    [TRELLIS_XDS_CLUSTER] = {TRELLIS_XDS_CLUSTER, "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                             "Cluster", "envoy.config.cluster.v3.Cluster", true},
    [TRELLIS_XDS_ENDPOINT] = {TRELLIS_XDS_ENDPOINT,
                              "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
                              "ClusterLoadAssignment", "envoy.config.endpoint.v3.ClusterLoadAssignment",
                              false},
    [TRELLIS_XDS_SECRET] = {TRELLIS_XDS_SECRET,
                            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
                            "Secret", "envoy.extensions.transport_sockets.tls.v3.Secret", false},
};

const trellis_xds_type xds_push_order[TRELLIS_XDS_TYPE_COUNT] = {
    TRELLIS_XDS_CLUSTER, TRELLIS_XDS_ENDPOINT, TRELLIS_XDS_LISTENER, TRELLIS_XDS_ROUTE,
    TRELLIS_XDS_SECRET,
};

const xds_type_info *xds_type_info_of(trellis_xds_type type)
{
    return (unsigned)type < TRELLIS_XDS_TYPE_COUNT ? &types[type] : NULL;
}

const xds_type_info *xds_type_by_url(const char *url)
{
    for (int i = 0; i < TRELLIS_XDS_TYPE_COUNT; i++)
        if (strcmp(types[i].url, url) == 0)
            return &types[i];
    return NULL;
}

const ProtobufCMessageDescriptor *xds_type_descriptor(trellis_xds_type type)
{
    const xds_type_info *info = xds_type_info_of(type);
    return info ? pb_registry_find(info->message, strlen(info->message)) : NULL;
}
