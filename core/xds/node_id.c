#include "node_id.h"

#include <stdio.h>
#include <string.h>

static bool copy_part(char *out, size_t size, const char *start, size_t len)
{
    if (len == 0 || len >= size)
        return false;
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

bool node_id_parse(const char *node_id, node_identity *out, char *reason, size_t reason_size)
{
    memset(out, 0, sizeof(*out));
    if (node_id == NULL || node_id[0] == '\0') {
        snprintf(reason, reason_size, "node.id is empty; set APPMESH_RESOURCE_ARN");
        return false;
    }
    const char *resource = node_id;
    if (strncmp(node_id, "arn:", 4) == 0) {
        /* arn:PARTITION:appmesh:REGION:ACCOUNT:mesh/... */
        const char *fields[6];
        size_t lengths[6];
        const char *p = node_id;
        for (int i = 0; i < 6; i++) {
            const char *colon = i < 5 ? strchr(p, ':') : NULL;
            fields[i] = p;
            lengths[i] = colon ? (size_t)(colon - p) : strlen(p);
            if (i < 5 && colon == NULL) {
                snprintf(reason, reason_size, "node.id '%s' is not an App Mesh ARN", node_id);
                return false;
            }
            p = colon ? colon + 1 : p;
        }
        if (lengths[2] != 7 || strncmp(fields[2], "appmesh", 7) != 0 ||
            !copy_part(out->region, sizeof(out->region), fields[3], lengths[3]) ||
            !copy_part(out->owner, sizeof(out->owner), fields[4], lengths[4])) {
            snprintf(reason, reason_size, "node.id '%s' is not an App Mesh ARN", node_id);
            return false;
        }
        resource = fields[5];
    }
    if (strncmp(resource, "mesh/", 5) != 0) {
        snprintf(reason, reason_size,
                 "node.id '%s' must be mesh/<mesh>/virtualNode/<name>, "
                 "mesh/<mesh>/virtualGateway/<name> or the resource's ARN",
                 node_id);
        return false;
    }
    const char *mesh = resource + 5;
    const char *slash = strchr(mesh, '/');
    const char *kind = slash ? slash + 1 : NULL;
    const char *kind_end = kind ? strchr(kind, '/') : NULL;
    const char *name = kind_end ? kind_end + 1 : NULL;
    if (slash == NULL || kind_end == NULL || name[0] == '\0' || strchr(name, '/') != NULL) {
        snprintf(reason, reason_size,
                 "node.id '%s' must be mesh/<mesh>/virtualNode/<name> or "
                 "mesh/<mesh>/virtualGateway/<name>",
                 node_id);
        return false;
    }
    size_t kind_len = (size_t)(kind_end - kind);
    if (kind_len == 11 && strncmp(kind, "virtualNode", 11) == 0) {
        out->kind = RESOURCE_VIRTUAL_NODE;
    } else if (kind_len == 14 && strncmp(kind, "virtualGateway", 14) == 0) {
        out->kind = RESOURCE_VIRTUAL_GATEWAY;
    } else {
        snprintf(reason, reason_size,
                 "node.id '%s' names a '%.*s'; a proxy is a virtualNode or a virtualGateway",
                 node_id, (int)kind_len, kind);
        return false;
    }
    size_t mesh_len = (size_t)(slash - mesh);
    const char *at = memchr(mesh, '@', mesh_len);
    if (at != NULL) {
        if (out->owner[0] != '\0' ||
            !copy_part(out->owner, sizeof(out->owner), at + 1, (size_t)(slash - at - 1))) {
            snprintf(reason, reason_size, "node.id '%s' has a malformed mesh owner", node_id);
            return false;
        }
        mesh_len = (size_t)(at - mesh);
    }
    if (!copy_part(out->mesh, sizeof(out->mesh), mesh, mesh_len) ||
        !copy_part(out->name, sizeof(out->name), name, strlen(name))) {
        snprintf(reason, reason_size, "node.id '%s' has an empty or too long name", node_id);
        return false;
    }
    return true;
}

void node_id_canonical(const node_identity *id, char *out, size_t size)
{
    snprintf(out, size, "mesh/%s/%s/%s", id->mesh,
             id->kind == RESOURCE_VIRTUAL_GATEWAY ? "virtualGateway" : "virtualNode", id->name);
}
