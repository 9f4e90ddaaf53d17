/*
 * What a virtual node's endpoints are discovered from, derived from its spec
 * and its mesh's (the IP preference): an owned trellis_discovery_target for
 * the plugins, and a canonical key that is equal exactly for nodes that
 * discover the same thing, so they share one watch.
 */
#ifndef TRELLIS_CORE_DISCOVERY_TARGET_H
#define TRELLIS_CORE_DISCOVERY_TARGET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <trellis/discovery.h>

typedef struct discovery_target {
    trellis_discovery_target view;  /* every string points into this object */
    char *key;                      /* canonical identity (not for display) */
    char *mesh, *node;              /* view.mesh, view.virtual_node */
    char *namespace_name, *service_name, *hostname;
    trellis_discovery_attribute *attributes; /* sorted by key, then value */
} discovery_target;

/*
 * The target of a node, or NULL when the node has no service discovery
 * (*failed false) or memory ran out (*failed true). `clients` goes into the
 * view (TRELLIS_DISCOVERY_FOR_* bits).
 */
discovery_target *discovery_target_derive(const json_t *node_spec, const json_t *mesh_spec,
                                          const char *mesh, const char *node, uint32_t clients,
                                          bool *failed);
void discovery_target_free(discovery_target *target);

/* "Cloud Map apps.local/web [k=v]" or "DNS web.apps.local", for logs. */
void discovery_target_describe(const discovery_target *target, char *out, size_t size);

#endif
