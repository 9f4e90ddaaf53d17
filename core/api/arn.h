/*
 * App Mesh ARNs: arn:aws:appmesh:<region>:<account>:mesh/<mesh>[/<kind>/<name>]
 * with routes and gateway routes under their router or gateway:
 *   mesh/m/virtualRouter/r/route/n, mesh/m/virtualGateway/g/gatewayRoute/n
 */
#ifndef TRELLIS_CORE_ARN_H
#define TRELLIS_CORE_ARN_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog/resource_kind.h"

#define ARN_MAX 1600
/* A name is at most 255 characters: up to 1020 bytes of UTF-8. */
#define ARN_NAME_MAX 1024

bool arn_build(char *out, size_t size, const char *region, const char *account,
               resource_kind kind, const char *mesh, const char *parent, const char *name);

typedef struct arn_parts {
    char partition[16];
    char region[64];
    char account[64];
    resource_kind kind;
    char mesh[ARN_NAME_MAX];
    char parent[ARN_NAME_MAX];
    char name[ARN_NAME_MAX];
} arn_parts;

/* Splits an App Mesh resource ARN; false if it is not one (malformed). */
bool arn_parse(const char *arn, arn_parts *out);

#endif
