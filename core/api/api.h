/*
 * The App Mesh control-plane API entry point behind host->api_invoke():
 * finds the operation, converts and validates its input against the model,
 * and runs it against the catalog.
 */
#ifndef TRELLIS_CORE_API_H
#define TRELLIS_CORE_API_H

#include <trellis/plugin.h>

trellis_status api_invoke(trellis_host_ctx *ctx, const trellis_api_request *request,
                          trellis_api_done_fn done, void *arg);

#endif
