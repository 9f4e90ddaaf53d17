/*
 * Shared state-of-the-world responses: for one snapshot, type and
 * subscription (wildcard, or a set of names) the DiscoveryResponse is built
 * once, without its nonce, and every stream sending it appends only its own
 * nonce (protobuf field order does not matter). Streams of an identity, and
 * identities the snapshot engine gave the same snapshot, share one body.
 *
 * A sidecar in the middle of a make-before-break change gets the snapshot's
 * resources plus the ones retained for it (retention.h), under the union's
 * own version; those responses are cached the same way, keyed by the union's
 * version too, so the streams of an identity moving together share them.
 *
 * Entries hold a reference to their snapshot (the key is its address, which
 * must not be reused while the entry lives). Bounded by bytes; entries not
 * used for a while are dropped by response_cache_sweep(). Loop thread.
 */
#ifndef TRELLIS_XDS_RESPONSE_CACHE_H
#define TRELLIS_XDS_RESPONSE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "name_set.h"
#include "refbuf.h"
#include "resource_cache.h"
#include "retention.h"

typedef struct response_cache response_cache;

typedef struct sotw_response {
    refbuf *body;           /* version_info + resources + type_url + control_plane; NULL on error */
    const char *version;    /* the snapshot's version of the type, or the union's */
    size_t resource_count;
    size_t retained_count;  /* of which retained (not in the snapshot) */
    const char *error;      /* why the response cannot be built ("Cluster c1: $.x: ..."), or NULL */
} sotw_response;

/* `control_plane` is the identifier sent in every response's control_plane. */
response_cache *response_cache_new(const trellis_host *host, resource_cache *resources,
                                   size_t max_bytes, size_t max_message_bytes,
                                   const char *control_plane);
void response_cache_free(response_cache *c);

/*
 * The response for (snapshot, type, subscription), with the resources of
 * `keep` too when it is not NULL (they are not in the snapshot), borrowed
 * until the next call that may evict (take a reference to the body to keep
 * it). NULL only on allocation failure. *first_error is set when this call
 * found the encode error (the caller logs it once).
 */
const sotw_response *response_cache_get(response_cache *c, trellis_xds_snapshot *snapshot,
                                        trellis_xds_type type, bool wildcard, const name_set *names,
                                        const retained_list *keep, bool *first_error);

/* Drops entries unused since `idle_before_ns` (monotonic). */
void response_cache_sweep(response_cache *c, uint64_t idle_before_ns);

/* Appends the control_plane field (DiscoveryResponse 6 / DeltaDiscoveryResponse 7). */
struct byte_buffer;
void xds_put_control_plane(struct byte_buffer *b, uint32_t field, const char *identifier);

#endif
