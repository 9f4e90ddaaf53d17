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
#include "loop.h"

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
    loop_timer *load_retry;     /* next load attempt after an unavailable store */
    unsigned load_attempts;
    char not_ready_reason[256];
    write_lanes *lanes;
    unsigned char pagination_key[32];
} control_plane;

/* Reads region, account and quotas from the core settings. */
control_plane *control_plane_new(const trellis_config *core_settings);
void control_plane_free(control_plane *cp);

/* Attaches the store instance and loads the catalog asynchronously. A load
 * the store answers TRELLIS_ERR_UNAVAILABLE (a database not reachable yet)
 * is tried again every CONTROL_PLANE_LOAD_RETRY_MS on `lp` until it works;
 * the API and /readyz say why it is not ready meanwhile. */
void control_plane_attach_store(control_plane *cp, loop *lp, const trellis_store_ops *ops,
                                void *store_instance);

#define CONTROL_PLANE_LOAD_RETRY_MS 1000

#endif
