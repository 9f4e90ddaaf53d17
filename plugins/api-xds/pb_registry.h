/*
 * The protobuf message descriptors api.xds knows (generated from
 * proto/manifest.txt), looked up by full proto name or by type URL.
 */
#ifndef TRELLIS_XDS_PB_REGISTRY_H
#define TRELLIS_XDS_PB_REGISTRY_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* "envoy.config.listener.v3.Listener" -> descriptor, or NULL. */
const ProtobufCMessageDescriptor *pb_registry_find(const char *full_name, size_t len);

/* "type.googleapis.com/envoy.config.listener.v3.Listener" -> descriptor, or
 * NULL. Any host part before the last '/' is accepted, as proto3 JSON does. */
const ProtobufCMessageDescriptor *pb_registry_find_type_url(const char *type_url);

/* For tests and the field check: the whole table. */
size_t pb_registry_count(void);
const ProtobufCMessageDescriptor *pb_registry_at(size_t index);

#endif
