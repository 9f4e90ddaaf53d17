/*
 * A descriptor-driven proto3 JSON -> protobuf binary encoder.
 *
 * The core hands over Envoy resources as canonical proto3 JSON with proto
 * field names; this walks the JSON next to the protobuf-c descriptors of
 * plugins/api-xds/generated and writes the wire format directly (no
 * intermediate C structs): varints, zigzag, fixed-width, length-delimited,
 * packed repeated scalars, maps, oneofs, enums by name, and the well-known
 * types' JSON forms (Any with "@type" resolved through pb_registry, Duration
 * "1.5s", Timestamp, wrappers as plain values, Struct/Value/ListValue).
 *
 * It never drops data: an unknown field, an unknown "@type", a JSON value of
 * the wrong type, an out-of-range number, an unknown enum name or two members
 * of one oneof fail the whole encode with a message naming the JSON path,
 * e.g. "$.filter_chains[0].filters[0].typed_config.http_filters[1]: unknown
 * field \"typed_confg\" in envoy.extensions...HttpFilter".
 *
 * Proto3 scalar fields without presence are skipped when they hold the
 * default value (as every protobuf serializer does); fields with presence
 * (oneof members, `optional`, messages, map entries) are always written.
 */
#ifndef TRELLIS_XDS_PB_JSON_H
#define TRELLIS_XDS_PB_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "byte_buffer.h"

/* Appends the encoding of `value` as message `desc` (the message's fields,
 * no tag or length) to `out`. On failure returns false with "path: reason" in
 * err (NUL-terminated, truncated to err_size) and `out` in an unspecified
 * state. */
bool pb_json_encode(const ProtobufCMessageDescriptor *desc, const json_t *value, byte_buffer *out,
                    char *err, size_t err_size);

/* The same from JSON text (parsed strictly: duplicate keys are an error). */
bool pb_json_encode_text(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                         byte_buffer *out, char *err, size_t err_size);

/* Appends a google.protobuf.Any body (type_url = "type.googleapis.com/" +
 * desc->name, value = the encoded message) for a resource given as JSON text
 * without its own "@type". */
bool pb_json_encode_any_text(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                             byte_buffer *out, char *err, size_t err_size);

#endif
