#include "http_frontend.h"

http_server *http_frontend_start(const trellis_host *host, trellis_host_ctx *ctx,
                                 const trellis_config *config, http_server_options options,
                                 const char *what, http_handler_fn handler, void *handler_arg,
                                 trellis_error *err)
{
    options.listen = host->config_get0_string(config, "listen");
    options.max_connections = (size_t)host->config_get_int(config, "max_connections");
    options.request_timeout_ms = (uint64_t)host->config_get_int(config, "request_timeout_ms");
    options.idle_timeout_ms = (uint64_t)host->config_get_int(config, "idle_timeout_ms");
    http_server *server = http_server_start(host, ctx, &options, handler, handler_arg, err);
    if (server != NULL)
        host->log(ctx, TRELLIS_LOG_INFO, "listening", "%s on http://%s", what, options.listen);
    return server;
}
