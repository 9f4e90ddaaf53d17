/*
 * Field numbers of the discovery messages api.xds writes by hand (the
 * responses are assembled from cached pieces, not from descriptors).
 * tests/test_xds_wire.c checks each against the generated descriptors.
 */
#ifndef TRELLIS_XDS_WIRE_H
#define TRELLIS_XDS_WIRE_H

/* envoy.service.discovery.v3.DiscoveryResponse */
#define DISCOVERY_RESPONSE_VERSION_INFO 1
#define DISCOVERY_RESPONSE_RESOURCES 2
#define DISCOVERY_RESPONSE_TYPE_URL 4
#define DISCOVERY_RESPONSE_NONCE 5
#define DISCOVERY_RESPONSE_CONTROL_PLANE 6

/* envoy.service.discovery.v3.DeltaDiscoveryResponse */
#define DELTA_RESPONSE_SYSTEM_VERSION_INFO 1
#define DELTA_RESPONSE_RESOURCES 2
#define DELTA_RESPONSE_TYPE_URL 4
#define DELTA_RESPONSE_NONCE 5
#define DELTA_RESPONSE_REMOVED_RESOURCES 6
#define DELTA_RESPONSE_CONTROL_PLANE 7

/* envoy.service.discovery.v3.Resource */
#define RESOURCE_VERSION 1
#define RESOURCE_RESOURCE 2
#define RESOURCE_NAME 3

/* envoy.config.core.v3.ControlPlane */
#define CONTROL_PLANE_IDENTIFIER 1

#endif
