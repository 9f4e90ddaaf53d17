/*
 * One API operation in flight: its validated input, the caller's callback,
 * and either an error or a response. Handlers fill it; api_call_finish()
 * answers the caller exactly once and frees the call.
 */
#ifndef TRELLIS_CORE_API_CALL_H
#define TRELLIS_CORE_API_CALL_H

#include <jansson.h>
#include <stdbool.h>

#include <trellis/plugin.h>

#include "catalog/catalog_key.h"
#include "catalog/catalog_store.h"
#include "control_plane.h"
#include "model/model.h"

#define API_MAX_OPS 8
/* Room for one validation error quoting the longest value the validator
 * quotes (2048 characters, up to 4 bytes each) with its path and constraint:
 * a shorter buffer cut the message before it named the field. */
#define API_MESSAGE_MAX 16384

/* App Mesh error types used by the handlers. */
#define API_BAD_REQUEST "BadRequestException"
#define API_NOT_FOUND "NotFoundException"
#define API_CONFLICT "ConflictException"
#define API_IN_USE "ResourceInUseException"
#define API_LIMIT "LimitExceededException"
#define API_TOO_MANY_TAGS "TooManyTagsException"
#define API_UNAVAILABLE "ServiceUnavailableException"
#define API_INTERNAL "InternalServerErrorException"

typedef struct api_operation api_operation;

struct api_call {
    control_plane *cp;
    const model_operation *op;
    const api_operation *handler;
    json_t *input;                       /* owned, validated */
    trellis_api_done_fn done;
    void *done_arg;
    char request_id[64];
    double now;                          /* wall time when the call arrived */

    /* Outcome. */
    const char *error_type;              /* NULL on success */
    char message[API_MESSAGE_MAX];
    json_t *response;                    /* owned response document, or NULL */
    const char *response_text;           /* pre-serialized response (borrowed or owned) */
    size_t response_len;
    char *owned_text;                    /* response_text when the call owns it */

    /* Write plan (writes only). */
    catalog_op ops[API_MAX_OPS];
    char op_keys[API_MAX_OPS][CATALOG_KEY_MAX];
    char op_values[API_MAX_OPS][24];     /* small raw values (scope records) */
    size_t op_count;
    unsigned attempts;

    /* Write lane membership (see write_lanes.h). */
    char lane[CATALOG_KEY_MAX];
    struct lane *write_lane;             /* the lane it is queued in (set on submit) */
    api_call *lane_next;
    uint64_t seq;                        /* this planning's sequence in the lane */
    bool commit_pending;                 /* its commit has not come back yet */
    trellis_status commit_status;        /* how its commit came back */
    char commit_message[256];
};

/* Records an error; returns false so handlers can `return api_fail(...)`. */
bool api_fail(api_call *call, const char *error_type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forgets the outcome and the write plan (before planning again). */
void api_call_reset(api_call *call);

/* Answers the caller and frees the call. */
void api_call_finish(api_call *call);

/* Input accessors (NULL / 0 when absent). */
const char *api_input_string(const api_call *call, const char *member);
json_t *api_input_get(const api_call *call, const char *member);

/* Adds a store op to the write plan, taking ownership of `record`; false
 * (internal error set) if the plan is full. */
bool api_plan_op(api_call *call, trellis_store_op_type type, const char *key, json_t *record,
                 const char *raw_value, uint64_t expected_version);

/* Adds the guard of a scope (mesh, or the account with mesh NULL): a PUT that
 * bumps it (`bump`) or a CHECK that it did not move. */
bool api_plan_scope(api_call *call, const char *mesh, bool bump);

#endif
