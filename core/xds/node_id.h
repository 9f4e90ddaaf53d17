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

#include "catalog/resource_kind.h"

typedef struct node_identity {
    resource_kind kind;        /* RESOURCE_VIRTUAL_NODE or RESOURCE_VIRTUAL_GATEWAY */
    char mesh[256];
    char name[256];
    char owner[64];            /* account from the ARN or "@OWNER", or "" */
    char region[64];           /* from the ARN, or "" */
} node_identity;

/* Parses a node id; false with the reason when it is malformed. */
bool node_id_parse(const char *node_id, node_identity *out, char *reason, size_t reason_size);

/* "mesh/M/virtualNode/N" */
void node_id_canonical(const node_identity *id, char *out, size_t size);

#endif
