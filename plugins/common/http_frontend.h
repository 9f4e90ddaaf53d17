/*
 * The HTTP server of a frontend plugin (api.admin, api.appmesh), started
 * the same way by each: the connection settings every HTTP frontend takes
 * from its config, and a log line saying where it serves.
 */
#ifndef TRELLIS_PLUGIN_HTTP_FRONTEND_H
#define TRELLIS_PLUGIN_HTTP_FRONTEND_H

#include <trellis/plugin.h>

#include "http_server.h"

/*
 * Starts an HTTP server with `options`, whose listen, max_connections,
 * request_timeout_ms and idle_timeout_ms are replaced by the config keys of
 * those names (the plugin's schema declares them), and logs "listening":
 * "<what> on http://<listen>". NULL with the reason in `err` on failure
 * (see http_server_start); else the caller owns the server: stop it with
 * http_server_drain(), free it with http_server_free().
 */
http_server *http_frontend_start(const trellis_host *host, trellis_host_ctx *ctx,
                                 const trellis_config *config, http_server_options options,
                                 const char *what, http_handler_fn handler, void *handler_arg,
                                 trellis_error *err);

#endif
