/*
 * Small builders for Envoy proto3 JSON. Every builder records an allocation
 * failure in the compile context (c->failed) instead of returning an error,
 * so resource code reads as the document it builds; the compile checks the
 * flag once at the end. Keys are constant ASCII and strings come from the
 * catalog (valid UTF-8), hence the *_nocheck jansson calls.
 */
#ifndef TRELLIS_COMPILER_JSON_BUILD_H
#define TRELLIS_COMPILER_JSON_BUILD_H

#include <jansson.h>
#include <stdint.h>

#include "compile_context.h"

#define ENVOY_TYPE_PREFIX "type.googleapis.com/"

json_t *jb_object(compile_ctx *c);
json_t *jb_array(compile_ctx *c);
json_t *jb_string(compile_ctx *c, const char *value);
json_t *jb_integer(compile_ctx *c, long long value);
json_t *jb_bool(compile_ctx *c, bool value);

/* object[key] = value (stolen); a NULL value records a failure. */
void jb_set(compile_ctx *c, json_t *object, const char *key, json_t *value);
void jb_set_string(compile_ctx *c, json_t *object, const char *key, const char *value);
void jb_set_integer(compile_ctx *c, json_t *object, const char *key, long long value);
void jb_set_bool(compile_ctx *c, json_t *object, const char *key, bool value);
/* array += value (stolen). */
void jb_push(compile_ctx *c, json_t *array, json_t *value);
/* A new reference to a shared piece (which must never be modified). */
json_t *jb_share(compile_ctx *c, json_t *shared);

/* A google.protobuf.Duration in proto3 JSON: "15s", "0.250s". */
json_t *jb_duration_ms(compile_ctx *c, int64_t millis);
/* {"@type": "type.googleapis.com/<type>"} to fill in. */
json_t *jb_typed(compile_ctx *c, const char *type);
/* {"name": name, "typed_config": typed} (typed stolen). */
json_t *jb_extension(compile_ctx *c, const char *name, json_t *typed);
/* {"socket_address": {"address": a, "port_value": p}} */
json_t *jb_socket_address(compile_ctx *c, const char *address, uint32_t port);
/* A ConfigSource over ADS, v3 (shared). */
json_t *jb_ads_source(compile_ctx *c);

#endif
