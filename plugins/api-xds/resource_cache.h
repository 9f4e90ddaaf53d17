/*
 * Encoded resources, by content: each distinct resource (its type and the
 * snapshot's content hash) is turned from JSON into a protobuf Any body once,
 * then copied into every response that carries it, whichever identity or
 * stream asks. Failures are remembered too, so a resource the encoder refuses
 * is reported once, not once per stream. Bounded by bytes; the least
 * recently used entries go first. Loop thread.
 */
#ifndef TRELLIS_XDS_RESOURCE_CACHE_H
#define TRELLIS_XDS_RESOURCE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "refbuf.h"

typedef struct resource_cache resource_cache;

/* max_bytes: cache budget; max_resource_bytes: the largest encoded resource. */
resource_cache *resource_cache_new(size_t max_bytes, size_t max_resource_bytes);
void resource_cache_free(resource_cache *c);

/*
 * The google.protobuf.Any body (type_url, value) of `r`, borrowed until the
 * next call; or NULL with the reason in *error ("$.path: ...", borrowed
 * likewise). *first_failure is set when this call discovered the failure
 * (the caller logs it once). NULL with *error "out of memory" is not cached.
 */
const refbuf *resource_cache_get(resource_cache *c, trellis_xds_type type,
                                 const trellis_xds_resource *r, const char **error,
                                 bool *first_failure);

#endif
