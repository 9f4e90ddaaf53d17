#include "api.h"

#include "instance.h"

trellis_status api_invoke(trellis_host_ctx *ctx, const trellis_api_request *request,
                          trellis_api_done_fn done, void *arg)
{
    (void)ctx;
    (void)request;
    (void)done;
    (void)arg;
    /* The control plane (catalog + store) is wired in by the API work. */
    return TRELLIS_ERR_UNAVAILABLE;
}
