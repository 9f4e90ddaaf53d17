/*
 * The xDS resource types api.xds serves (v3 only) and what the protocol says
 * about each: its type URL, the message it carries, and whether a SotW
 * response is the full state (Listener and Cluster: a resource missing from
 * the response is deleted, and they support wildcard subscriptions) or not
 * (RouteConfiguration, ClusterLoadAssignment, Secret: always by name).
 */
#ifndef TRELLIS_XDS_TYPES_H
#define TRELLIS_XDS_TYPES_H

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>
#include <trellis/plugin.h>

typedef struct xds_type_info {
    trellis_xds_type type;
    const char *url;            /* "type.googleapis.com/envoy.config.listener.v3.Listener" */
    const char *short_name;     /* "Listener": for logs, metrics and the sync-status view */
    const char *message;        /* full proto name */
    bool full_state;            /* LDS, CDS */
} xds_type_info;

const xds_type_info *xds_type_info_of(trellis_xds_type type);
/* NULL for a type URL api.xds does not serve. */
const xds_type_info *xds_type_by_url(const char *url);
/* The descriptor of the type's message (never NULL for a served type). */
const ProtobufCMessageDescriptor *xds_type_descriptor(trellis_xds_type type);

/* The order in which pending types are pushed on one stream: clusters before
 * their endpoints, then listeners before their routes, then secrets; so Envoy
 * never warms a listener whose clusters it does not know yet. */
extern const trellis_xds_type xds_push_order[TRELLIS_XDS_TYPE_COUNT];

#endif
