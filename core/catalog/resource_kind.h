/*
 * The seven App Mesh resource kinds and the facts about each that are not in
 * the model: naming members, ARN segment, parent, quota setting.
 */
#ifndef TRELLIS_CORE_RESOURCE_KIND_H
#define TRELLIS_CORE_RESOURCE_KIND_H

#include <stdbool.h>

typedef enum resource_kind {
    RESOURCE_MESH = 0,
    RESOURCE_VIRTUAL_SERVICE,
    RESOURCE_VIRTUAL_NODE,
    RESOURCE_VIRTUAL_ROUTER,
    RESOURCE_ROUTE,
    RESOURCE_VIRTUAL_GATEWAY,
    RESOURCE_GATEWAY_ROUTE,
    RESOURCE_KIND_COUNT,
    RESOURCE_SYSTEM = RESOURCE_KIND_COUNT /* scope/meta records, not App Mesh resources */
} resource_kind;

typedef struct resource_kind_info {
    resource_kind kind;
    const char *key_prefix;     /* store key namespace, e.g. "virtualNode" */
    const char *arn_segment;    /* "virtualNode" in ...:mesh/m/virtualNode/n */
    const char *name_member;    /* "virtualNodeName" */
    const char *payload_member; /* "virtualNode" (operation payloads) */
    const char *list_member;    /* "virtualNodes" (list output) */
    const char *ref_shape;      /* "VirtualNodeRef" (list items) */
    const char *type_name;      /* "VirtualNode" (operation names: Create<type_name>) */
    const char *display_name;   /* "virtual node" (messages) */
    resource_kind parent;       /* RESOURCE_MESH for mesh children; router/gateway for routes */
    const char *parent_member;  /* "virtualRouterName", or NULL */
    const char *quota_setting;  /* core setting holding the quota per parent */
} resource_kind_info;

const resource_kind_info *resource_kind_get(resource_kind kind);

/* Whether the kind lives inside a virtual router or gateway (routes). */
bool resource_kind_has_parent(resource_kind kind);

#endif
