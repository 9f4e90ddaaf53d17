/*
 * The sync-status debug provider "proxies" (see sync_status.c for the view).
 */
#ifndef TRELLIS_XDS_SYNC_STATUS_H
#define TRELLIS_XDS_SYNC_STATUS_H

#include <trellis/plugin.h>

/* trellis_debug_fn over an xds_server (`arg`). */
trellis_status xds_sync_status(void *arg, const char *query, char **json_out, trellis_error *err);

#endif
