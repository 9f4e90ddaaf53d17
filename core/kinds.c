#include "kinds.h"

#include <stdio.h>
#include <string.h>

#include <trellis/discovery.h>
#include <trellis/frontend.h>
#include <trellis/plugin.h>
#include <trellis/store.h>

typedef struct kind_info {
    uint32_t kind;
    const char *name;
    uint32_t ops_version;   /* newest ops version this host knows; 0: none defined yet */
    uint32_t ops_min_size;  /* smallest ops table accepted for ops version 1 */
} kind_info;

static const kind_info kinds[] = {
    {TRELLIS_KIND_STORE, "store", TRELLIS_STORE_OPS_VERSION, sizeof(trellis_store_ops)},
    {TRELLIS_KIND_DISCOVERY, "discovery", TRELLIS_DISCOVERY_OPS_VERSION,
     sizeof(trellis_discovery_ops)},
    {TRELLIS_KIND_CERTS, "certs", 0, 0},
    {TRELLIS_KIND_SINK, "sink", 0, 0},
    {TRELLIS_KIND_FRONTEND, "frontend", TRELLIS_FRONTEND_OPS_VERSION, sizeof(trellis_frontend_ops)},
};

static const kind_info *kind_find(uint32_t kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (kinds[i].kind == kind)
            return &kinds[i];
    }
    return NULL;
}

const char *kind_name(uint32_t kind)
{
    const kind_info *k = kind_find(kind);
    return k ? k->name : NULL;
}

bool kind_check_ops(uint32_t kind, const void *ops, char *errbuf, size_t errbuf_size)
{
    const kind_info *k = kind_find(kind);
    if (k == NULL) {
        snprintf(errbuf, errbuf_size, "unknown kind %u", kind);
        return false;
    }
    if (k->ops_version == 0) {
        snprintf(errbuf, errbuf_size,
                 "kind '%s' has no ops table in this host (ABI %d.%d); a newer trellis is needed",
                 k->name, TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR);
        return false;
    }
    if (ops == NULL) {
        snprintf(errbuf, errbuf_size, "kind '%s' needs an ops table, descriptor has none", k->name);
        return false;
    }
    const trellis_ops_header *header = ops;
    if (header->version == 0 || header->version > k->ops_version) {
        snprintf(errbuf, errbuf_size, "%s ops version %u is not supported (this host knows 1..%u)",
                 k->name, header->version, k->ops_version);
        return false;
    }
    if (header->size < k->ops_min_size) {
        snprintf(errbuf, errbuf_size, "%s ops table is %u bytes, version %u needs at least %u",
                 k->name, header->size, header->version, k->ops_min_size);
        return false;
    }
    /* Every ops table is the header followed by function pointers; all are required. */
    typedef void (*any_fn)(void);
    for (size_t offset = sizeof(trellis_ops_header); offset + sizeof(any_fn) <= k->ops_min_size;
         offset += sizeof(any_fn)) {
        any_fn fn;
        memcpy(&fn, (const char *)ops + offset, sizeof(fn));
        if (fn == NULL) {
            snprintf(errbuf, errbuf_size, "%s ops table has no function in slot %zu", k->name,
                     (offset - sizeof(trellis_ops_header)) / sizeof(any_fn));
            return false;
        }
    }
    return true;
}

bool kind_replaceable_live(uint32_t kind)
{
    return kind != TRELLIS_KIND_STORE;
}
