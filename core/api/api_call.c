#include "api_call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

bool api_fail(api_call *call, const char *error_type, const char *fmt, ...)
{
    call->error_type = error_type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->message, sizeof(call->message), fmt, ap);
    va_end(ap);
    return false;
}

const char *api_input_string(const api_call *call, const char *member)
{
    return json_string_value(json_object_get(call->input, member));
}

json_t *api_input_get(const api_call *call, const char *member)
{
    return json_object_get(call->input, member);
}

bool api_plan_op(api_call *call, trellis_store_op_type type, const char *key, json_t *record,
                 const char *raw_value, uint64_t expected_version)
{
    if (call->op_count == API_MAX_OPS) {
        json_decref(record);
        return api_fail(call, API_INTERNAL, "internal error: write plan too large");
    }
    size_t i = call->op_count++;
    snprintf(call->op_keys[i], sizeof(call->op_keys[i]), "%s", key);
    call->ops[i] = (catalog_op){
        .type = type,
        .key = call->op_keys[i],
        .record = record,
        .raw_value = raw_value,
        .raw_len = raw_value ? strlen(raw_value) : 0,
        .expected_version = expected_version,
    };
    return true;
}

bool api_plan_scope(api_call *call, const char *mesh, bool bump)
{
    char key[CATALOG_KEY_MAX];
    if (!catalog_key_scope(key, sizeof(key), mesh))
        return api_fail(call, API_BAD_REQUEST, "mesh name too long");
    const catalog_entry *scope = catalog_get(call->cp->cat, key);
    uint64_t version = scope ? scope->version : TRELLIS_STORE_ABSENT;
    if (!bump)
        return api_plan_op(call, TRELLIS_STORE_CHECK, key, NULL, NULL, version);
    if (call->op_count == API_MAX_OPS)
        return api_fail(call, API_INTERNAL, "internal error: write plan too large");
    /* The value is the scope's new version: readable in a store dump. */
    size_t slot = call->op_count;
    snprintf(call->op_values[slot], sizeof(call->op_values[slot]), "%llu",
             (unsigned long long)version + 1);
    return api_plan_op(call, TRELLIS_STORE_PUT, key, NULL, call->op_values[slot], version);
}

void api_call_reset(api_call *call)
{
    for (size_t i = 0; i < call->op_count; i++)
        json_decref(call->ops[i].record);
    call->op_count = 0;
    json_decref(call->response);
    call->response = NULL;
    free(call->owned_text);
    call->owned_text = NULL;
    call->response_text = NULL;
    call->response_len = 0;
    call->error_type = NULL;
    call->message[0] = '\0';
}

void api_call_finish(api_call *call)
{
    trellis_api_response response = {.size = sizeof(response)};
    char *owned_body = NULL;
    if (call->error_type != NULL) {
        json_t *body = json_pack("{s:s}", "message", call->message);
        owned_body = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        response.error_type = call->error_type;
        response.http_status = (uint32_t)model_error_http_status(call->error_type);
        response.body = owned_body ? owned_body : "{}";
        response.body_len = strlen(response.body);
        log_core(strcmp(call->error_type, API_INTERNAL) == 0 ? TRELLIS_LOG_ERROR : TRELLIS_LOG_DEBUG,
                 "api_error", "%s %s: %s: %s", call->request_id, call->op ? call->op->name : "?",
                 call->error_type, call->message);
    } else {
        response.http_status = 200;
        if (call->response_text != NULL) {
            response.body = call->response_text;
            response.body_len = call->response_len;
        } else {
            owned_body = call->response
                             ? json_dumps(call->response, CATALOG_JSON_FLAGS)
                             : NULL;
            response.body = owned_body ? owned_body : "{}";
            response.body_len = strlen(response.body);
        }
    }
    call->done(call->done_arg, &response);
    free(owned_body);
    api_call_reset(call);
    json_decref(call->input);
    free(call);
}
