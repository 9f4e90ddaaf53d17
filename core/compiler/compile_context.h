/*
 * The state of one compile: the source and identity, the recording catalog
 * reader, the per-compile arena, the resources built so far, and the small
 * immutable JSON pieces every resource of this compile shares by reference.
 */
#ifndef TRELLIS_COMPILER_COMPILE_CONTEXT_H
#define TRELLIS_COMPILER_COMPILE_CONTEXT_H

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "catalog_reader.h"
#include "compiler.h"
#include "ip_preference.h"

typedef struct compile_ctx {
    const compile_source *src;
    const compile_identity *id;
    arena arena;
    catalog_reader reader;

    const json_t *mesh_spec;            /* spec of the identity's mesh (borrowed) */
    const json_t *self_spec;            /* spec of the node or gateway (borrowed) */
    ip_preference mesh_ip_preference;

    /* Per type: resource name -> resource. Owned here until the compile hands
     * them to compile_output. */
    json_t *resources[TRELLIS_XDS_TYPE_COUNT];

    bool failed;                        /* a JSON allocation failed */

    /* Shared, never modified after creation (built lazily, released at the end). */
    json_t *shared_ads_source;          /* {"ads": {}, "resource_api_version": "V3"} */
    json_t *shared_default_breakers;    /* App Mesh's 2147483647 thresholds, or NULL */
    json_t *shared_http_filters;        /* [router] */
    json_t *shared_http2_options;       /* typed_extension_protocol_options for HTTP/2 */
    json_t *shared_default_retry;       /* App Mesh's default route retry policy */
    json_t *shared_access_logs;         /* the node's access_log list, or NULL when none */
    bool access_logs_built;
} compile_ctx;

/* The resource of a type with a name, or NULL. */
json_t *ctx_resource(compile_ctx *c, trellis_xds_type type, const char *name);
/* Adds a resource (stolen). A second resource with the same name is dropped:
 * the first one wins (callers check ctx_resource first when it matters). */
void ctx_add_resource(compile_ctx *c, trellis_xds_type type, const char *name, json_t *resource);

#endif
