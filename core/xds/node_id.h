/*
 * Envoy node.id -> App Mesh proxy identity. Accepted forms (App Mesh's):
 *   arn:aws:appmesh:REGION:ACCOUNT:mesh/M/virtualNode/N   (APPMESH_RESOURCE_ARN)
 *   arn:aws:appmesh:REGION:ACCOUNT:mesh/M/virtualGateway/G
 *   mesh/M/virtualNode/N, mesh/M/virtualGateway/G         (APPMESH_VIRTUAL_NODE_NAME)
 *   mesh/M@OWNER/virtualNode/N                            (a mesh shared by OWNER)
 */
#ifndef TRELLIS_CORE_NODE_ID_H
#define TRELLIS_CORE_NODE_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog_key.h"
#include "catalog/resource_kind.h"

/* A mesh or proxy name takes at most what a store key holds (names count
 * characters: 255 of them may take 1020 bytes of UTF-8). */
#define NODE_ID_NAME_MAX CATALOG_KEY_MAX
/* "mesh/M/virtualGateway/N" with its NUL */
#define NODE_ID_CANONICAL_MAX (2 * NODE_ID_NAME_MAX + 32)

typedef struct node_identity {
    resource_kind kind;        /* RESOURCE_VIRTUAL_NODE or RESOURCE_VIRTUAL_GATEWAY */
    char mesh[NODE_ID_NAME_MAX];
    char name[NODE_ID_NAME_MAX];
    char owner[64];            /* account from the ARN or "@OWNER", or "" */
    char region[64];           /* from the ARN, or "" */
} node_identity;

/* Parses a node id; false with the reason when it is malformed. */
bool node_id_parse(const char *node_id, node_identity *out, char *reason, size_t reason_size);

/* "mesh/M/virtualNode/N" */
void node_id_canonical(const node_identity *id, char *out, size_t size);

#endif
