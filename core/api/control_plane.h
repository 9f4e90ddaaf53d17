/*
 * The control plane: the catalog, its store link, the account settings and
 * the write lanes. One per server; api_invoke() reaches it through the host
 * environment. Loop thread only.
 */
#ifndef TRELLIS_CORE_CONTROL_PLANE_H
#define TRELLIS_CORE_CONTROL_PLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <trellis/plugin.h>
#include <trellis/store.h>

#include "catalog/catalog.h"
#include "catalog/catalog_store.h"
#include "catalog/resource_kind.h"

typedef struct api_call api_call;
typedef struct write_lanes write_lanes;

typedef struct control_plane_settings {
    char region[33];
    char account_id[13];
    uint32_t quota[RESOURCE_KIND_COUNT];   /* per parent (account for meshes) */
    uint32_t quota_backends_per_virtual_node;
} control_plane_settings;

typedef struct control_plane {
    control_plane_settings settings;
    catalog *cat;
    catalog_store *link;        /* NULL until a store is attached */
    bool ready;                 /* catalog loaded */
    char not_ready_reason[256];
    write_lanes *lanes;
    unsigned char pagination_key[32];
    bool have_pagination_key;
} control_plane;

/* Reads region, account and quotas from the core settings. */
control_plane *control_plane_new(const trellis_config *core_settings);
void control_plane_free(control_plane *cp);

/* Attaches the store instance and loads the catalog asynchronously. */
void control_plane_attach_store(control_plane *cp, const trellis_store_ops *ops,
                                void *store_instance);

#endif
