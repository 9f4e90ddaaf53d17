/*
 * Pieces shared by the sidecar listeners: the bind address (0.0.0.0, or
 * "::" with ipv4_compat when the node prefers or requires IPv6), the
 * listener filters, and one filter chain with a filter.
 */
#ifndef TRELLIS_COMPILER_LISTENER_COMMON_H
#define TRELLIS_COMPILER_LISTENER_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "compile_context.h"

/* {"name", "address", "traffic_direction"} of a sidecar listener; the caller
 * adds filter_chains and listener_filters. */
json_t *listener_shell(compile_ctx *c, const char *name, uint32_t port, const char *direction,
                       bool dual_stack);
/* envoy.filters.listener.original_dst: restores the destination the iptables
 * redirect replaced, so chains can match on the application's port. */
json_t *listener_filter_original_dst(compile_ctx *c);
/* envoy.filters.listener.tls_inspector, run only for destination port 443
 * (the only chains matching on SNI); server-first protocols on other ports
 * (MySQL, SMTP) are not held up waiting for a ClientHello (research RT-06). */
json_t *listener_filter_tls_inspector(compile_ctx *c);
/* {"filter_chain_match": match (stolen, may be NULL), "filters": [filter]}. */
json_t *filter_chain(compile_ctx *c, json_t *match, json_t *filter);

#endif
