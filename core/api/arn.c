#include "arn.h"

#include <stdio.h>
#include <string.h>

bool arn_build(char *out, size_t size, const char *region, const char *account,
               resource_kind kind, const char *mesh, const char *parent, const char *name)
{
    int n;
    const resource_kind_info *info = resource_kind_get(kind);
    if (info == NULL)
        return false;
    if (kind == RESOURCE_MESH) {
        n = snprintf(out, size, "arn:aws:appmesh:%s:%s:mesh/%s", region, account, name);
    } else if (resource_kind_has_parent(kind)) {
        const resource_kind_info *parent_info = resource_kind_get(info->parent);
        n = snprintf(out, size, "arn:aws:appmesh:%s:%s:mesh/%s/%s/%s/%s/%s", region, account, mesh,
                     parent_info->arn_segment, parent, info->arn_segment, name);
    } else {
        n = snprintf(out, size, "arn:aws:appmesh:%s:%s:mesh/%s/%s/%s", region, account, mesh,
                     info->arn_segment, name);
    }
    return n > 0 && (size_t)n < size;
}

/* Copies the next ':'-separated field; returns the rest or NULL. */
static const char *take_field(const char *p, char sep, char *out, size_t size)
{
    const char *end = strchr(p, sep);
    if (end == NULL || (size_t)(end - p) >= size)
        return NULL;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return end + 1;
}

static bool copy_segment(char *out, size_t size, const char *start, size_t len)
{
    if (len == 0 || len >= size)
        return false;
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

bool arn_parse(const char *arn, arn_parts *out)
{
    char service[32];
    memset(out, 0, sizeof(*out));
    if (strncmp(arn, "arn:", 4) != 0)
        return false;
    const char *p = take_field(arn + 4, ':', out->partition, sizeof(out->partition));
    p = p ? take_field(p, ':', service, sizeof(service)) : NULL;
    p = p ? take_field(p, ':', out->region, sizeof(out->region)) : NULL;
    p = p ? take_field(p, ':', out->account, sizeof(out->account)) : NULL;
    if (p == NULL || strcmp(service, "appmesh") != 0 || strncmp(p, "mesh/", 5) != 0)
        return false;

    /* Split the resource part on '/': names cannot contain '/'. */
    const char *segments[6];
    size_t lengths[6];
    size_t count = 0;
    for (const char *s = p; count < 6;) {
        const char *slash = strchr(s, '/');
        segments[count] = s;
        lengths[count] = slash ? (size_t)(slash - s) : strlen(s);
        count++;
        if (slash == NULL)
            break;
        s = slash + 1;
        if (count == 6)
            return false; /* too many segments */
    }
    if (!copy_segment(out->mesh, sizeof(out->mesh), segments[1], count > 1 ? lengths[1] : 0))
        return false;
    if (count == 2) {
        out->kind = RESOURCE_MESH;
        return copy_segment(out->name, sizeof(out->name), segments[1], lengths[1]);
    }
    if (count == 4 || count == 6) {
        size_t kind_index = count == 4 ? 2 : 4;
        for (int k = 1; k < RESOURCE_KIND_COUNT; k++) {
            const resource_kind_info *info = resource_kind_get((resource_kind)k);
            if (strlen(info->arn_segment) != lengths[kind_index] ||
                strncmp(info->arn_segment, segments[kind_index], lengths[kind_index]) != 0)
                continue;
            if (resource_kind_has_parent((resource_kind)k) != (count == 6))
                return false;
            if (count == 6) {
                const resource_kind_info *parent_info = resource_kind_get(info->parent);
                if (strlen(parent_info->arn_segment) != lengths[2] ||
                    strncmp(parent_info->arn_segment, segments[2], lengths[2]) != 0 ||
                    !copy_segment(out->parent, sizeof(out->parent), segments[3], lengths[3]))
                    return false;
            }
            out->kind = (resource_kind)k;
            return copy_segment(out->name, sizeof(out->name), segments[kind_index + 1],
                                lengths[kind_index + 1]);
        }
    }
    return false;
}
