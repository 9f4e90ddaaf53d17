#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_ops.h"
#include "ids.h"
#include "instance.h"
#include "write_lanes.h"

#define RESOURCE_OPS(Type, kind)                                                                 \
    {"Create" Type, VERB_CREATE, kind}, {"Describe" Type, VERB_DESCRIBE, kind},                  \
        {"Update" Type, VERB_UPDATE, kind}, {"Delete" Type, VERB_DELETE, kind}

static const api_operation operations[] = {
    RESOURCE_OPS("Mesh", RESOURCE_MESH),
    {"ListMeshes", VERB_LIST, RESOURCE_MESH},
    RESOURCE_OPS("VirtualService", RESOURCE_VIRTUAL_SERVICE),
    {"ListVirtualServices", VERB_LIST, RESOURCE_VIRTUAL_SERVICE},
    RESOURCE_OPS("VirtualNode", RESOURCE_VIRTUAL_NODE),
    {"ListVirtualNodes", VERB_LIST, RESOURCE_VIRTUAL_NODE},
    RESOURCE_OPS("VirtualRouter", RESOURCE_VIRTUAL_ROUTER),
    {"ListVirtualRouters", VERB_LIST, RESOURCE_VIRTUAL_ROUTER},
    RESOURCE_OPS("Route", RESOURCE_ROUTE),
    {"ListRoutes", VERB_LIST, RESOURCE_ROUTE},
    RESOURCE_OPS("VirtualGateway", RESOURCE_VIRTUAL_GATEWAY),
    {"ListVirtualGateways", VERB_LIST, RESOURCE_VIRTUAL_GATEWAY},
    RESOURCE_OPS("GatewayRoute", RESOURCE_GATEWAY_ROUTE),
    {"ListGatewayRoutes", VERB_LIST, RESOURCE_GATEWAY_ROUTE},
    {"TagResource", VERB_TAG, RESOURCE_MESH},
    {"UntagResource", VERB_UNTAG, RESOURCE_MESH},
    {"ListTagsForResource", VERB_LIST_TAGS, RESOURCE_MESH},
};

static const api_operation *find_operation(const char *name)
{
    for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++) {
        if (strcmp(operations[i].name, name) == 0)
            return &operations[i];
    }
    return NULL;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Millisecond precision, as App Mesh reports timestamps. */
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

/* ---- writes ---- */

bool api_plan_write(api_call *call)
{
    switch (call->handler->verb) {
    case VERB_CREATE: return resource_plan_create(call);
    case VERB_UPDATE: return resource_plan_update(call);
    case VERB_DELETE: return resource_plan_delete(call);
    case VERB_TAG: return tags_plan_tag(call);
    case VERB_UNTAG: return tags_plan_untag(call);
    default: return api_fail(call, API_INTERNAL, "not a write operation");
    }
}

/* ---- entry point ---- */

trellis_status api_invoke(trellis_host_ctx *ctx, const trellis_api_request *request,
                          trellis_api_done_fn done, void *arg)
{
    control_plane *cp = ctx->env->cp;
    if (cp == NULL || request == NULL || request->operation == NULL || done == NULL)
        return TRELLIS_ERR_UNAVAILABLE;
    api_call *call = calloc(1, sizeof(*call));
    if (call == NULL)
        return TRELLIS_ERR_NOMEM;
    call->cp = cp;
    call->done = done;
    call->done_arg = arg;
    call->now = wall_now();
    if (request->request_id != NULL)
        snprintf(call->request_id, sizeof(call->request_id), "%s", request->request_id);
    else
        ids_new_uuid(call->request_id);

    call->op = model_operation_find(request->operation);
    call->handler = find_operation(request->operation);
    if (call->op == NULL || call->handler == NULL) {
        api_fail(call, API_BAD_REQUEST, "unknown operation '%s'", request->operation);
        api_call_finish(call);
        return TRELLIS_OK;
    }
    if (!cp->ready) {
        api_fail(call, API_UNAVAILABLE, "the App Mesh API is not ready: %s", cp->not_ready_reason);
        api_call_finish(call);
        return TRELLIS_OK;
    }
    call->input = model_build_input(call->op, request->params, request->param_count, request->body,
                                    request->body_len, call->message, sizeof(call->message));
    if (call->input == NULL) {
        call->error_type = API_BAD_REQUEST;
        api_call_finish(call);
        return TRELLIS_OK;
    }
    switch (call->handler->verb) {
    case VERB_DESCRIBE:
        resource_describe(call);
        api_call_finish(call);
        return TRELLIS_OK;
    case VERB_LIST:
        resource_list(call);
        api_call_finish(call);
        return TRELLIS_OK;
    case VERB_LIST_TAGS:
        tags_list(call);
        api_call_finish(call);
        return TRELLIS_OK;
    default:
        break;
    }
    bool named = call->handler->verb == VERB_TAG || call->handler->verb == VERB_UNTAG
                     ? tags_write_lane(call)
                     : resource_write_lane(call);
    if (!named) {
        api_call_finish(call);
        return TRELLIS_OK;
    }
    if (!write_lanes_submit(cp->lanes, call)) {
        api_fail(call, API_UNAVAILABLE, "out of memory queueing the write");
        api_call_finish(call);
    }
    return TRELLIS_OK;
}
