#include "catalog_key.h"

#include <stdio.h>
#include <string.h>

static bool needs_escape(unsigned char c)
{
    return c == '%' || c == '/' || c < 0x20 || c == 0x7f;
}

/* Appends an escaped name; false on overflow. */
static bool put_name(char *out, size_t size, size_t *len, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (needs_escape(*p)) {
            if (*len + 3 >= size)
                return false;
            out[(*len)++] = '%';
            out[(*len)++] = hex[*p >> 4];
            out[(*len)++] = hex[*p & 15];
        } else {
            if (*len + 1 >= size)
                return false;
            out[(*len)++] = (char)*p;
        }
    }
    out[*len] = '\0';
    return true;
}

static bool put_text(char *out, size_t size, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n >= size)
        return false;
    memcpy(out + *len, text, n + 1);
    *len += n;
    return true;
}

bool catalog_key_resource(char *out, size_t size, resource_kind kind, const char *mesh,
                          const char *parent, const char *name)
{
    const resource_kind_info *info = resource_kind_get(kind);
    size_t len = 0;
    if (info == NULL || !put_text(out, size, &len, info->key_prefix) ||
        !put_text(out, size, &len, "/"))
        return false;
    if (kind != RESOURCE_MESH) {
        if (!put_name(out, size, &len, mesh) || !put_text(out, size, &len, "/"))
            return false;
        if (resource_kind_has_parent(kind) &&
            (!put_name(out, size, &len, parent) || !put_text(out, size, &len, "/")))
            return false;
    }
    return put_name(out, size, &len, name);
}

bool catalog_key_list_prefix(char *out, size_t size, resource_kind kind, const char *mesh,
                             const char *parent)
{
    const resource_kind_info *info = resource_kind_get(kind);
    size_t len = 0;
    if (info == NULL || !put_text(out, size, &len, info->key_prefix) ||
        !put_text(out, size, &len, "/"))
        return false;
    if (kind == RESOURCE_MESH)
        return true;
    if (!put_name(out, size, &len, mesh) || !put_text(out, size, &len, "/"))
        return false;
    if (resource_kind_has_parent(kind) &&
        (!put_name(out, size, &len, parent) || !put_text(out, size, &len, "/")))
        return false;
    return true;
}

bool catalog_key_mesh_prefix(char *out, size_t size, resource_kind kind, const char *mesh)
{
    const resource_kind_info *info = resource_kind_get(kind);
    size_t len = 0;
    return info != NULL && kind != RESOURCE_MESH && put_text(out, size, &len, info->key_prefix) &&
           put_text(out, size, &len, "/") && put_name(out, size, &len, mesh) &&
           put_text(out, size, &len, "/");
}

bool catalog_key_scope(char *out, size_t size, const char *mesh)
{
    size_t len = 0;
    if (!put_text(out, size, &len, "scope/"))
        return false;
    /* An escaped mesh name has '%' only before two hex digits, so "%account"
     * can never be a mesh's scope. */
    if (mesh == NULL)
        return put_text(out, size, &len, "%account");
    return put_name(out, size, &len, mesh);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one '/'-terminated segment; returns the position after it (or NULL). */
static const char *take_segment(const char *p, char *out, size_t size, bool last)
{
    size_t len = 0;
    while (*p != '\0' && *p != '/') {
        char c = *p;
        if (c == '%') {
            int hi = hex_value(p[1]);
            int lo = hi < 0 ? -1 : hex_value(p[2]);
            if (lo < 0)
                return NULL;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        if (len + 1 >= size)
            return NULL;
        out[len++] = c;
        p++;
    }
    out[len] = '\0';
    if (len == 0)
        return NULL;
    if (last)
        return *p == '\0' ? p : NULL;
    return *p == '/' ? p + 1 : NULL;
}

bool catalog_key_parse(const char *key, resource_kind *kind_out, char *mesh, char *parent,
                       char *name, size_t name_size)
{
    if (strncmp(key, "scope/", 6) == 0 || strncmp(key, "meta/", 5) == 0) {
        *kind_out = RESOURCE_SYSTEM;
        return true;
    }
    for (int k = 0; k < RESOURCE_KIND_COUNT; k++) {
        const resource_kind_info *info = resource_kind_get((resource_kind)k);
        size_t n = strlen(info->key_prefix);
        if (strncmp(key, info->key_prefix, n) != 0 || key[n] != '/')
            continue;
        const char *p = key + n + 1;
        if (k == RESOURCE_MESH) {
            if (take_segment(p, name, name_size, true) == NULL)
                return false;
            snprintf(mesh, name_size, "%s", name);
            parent[0] = '\0';
        } else {
            p = take_segment(p, mesh, name_size, false);
            if (p == NULL)
                return false;
            parent[0] = '\0';
            if (resource_kind_has_parent((resource_kind)k)) {
                p = take_segment(p, parent, name_size, false);
                if (p == NULL)
                    return false;
            }
            if (take_segment(p, name, name_size, true) == NULL)
                return false;
        }
        *kind_out = (resource_kind)k;
        return true;
    }
    return false;
}
