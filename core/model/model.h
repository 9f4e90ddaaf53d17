/*
 * The App Mesh 2019-01-25 model: shapes, operations and errors, generated from
 * botocore's service-2.json by gen_appmesh_model.py (appmesh_model.c is
 * generated and committed; the build needs no Python), plus the generic
 * validator that enforces every constraint in it.
 *
 * Validation messages follow AWS's format, e.g.
 *   1 validation error detected: Value '70000' at 'spec.listeners.1.member.portMapping.port'
 *   failed to satisfy constraint: Member must have value less than or equal to 65535
 */
#ifndef TRELLIS_CORE_MODEL_H
#define TRELLIS_CORE_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

typedef enum model_type {
    MODEL_STRUCTURE = 1,
    MODEL_LIST,
    MODEL_MAP,
    MODEL_STRING,
    MODEL_INTEGER,
    MODEL_LONG,
    MODEL_BOOLEAN,
    MODEL_TIMESTAMP,
    MODEL_DOUBLE
} model_type;

typedef enum model_location {
    MODEL_IN_BODY = 0,
    MODEL_IN_URI,
    MODEL_IN_QUERY,
    MODEL_IN_HEADER
} model_location;

typedef struct model_shape model_shape;

typedef struct model_member {
    const char *name;              /* JSON member name, e.g. "meshName" */
    const model_shape *shape;
    uint8_t location;              /* model_location */
    const char *location_name;     /* URI placeholder / query key / header name */
    bool required;
    bool idempotency_token;
} model_member;

struct model_shape {
    const char *name;              /* botocore shape name, e.g. "VirtualNodeSpec" */
    uint8_t type;                  /* model_type */
    bool is_union;                 /* structure with exactly one member set */
    bool has_min;
    bool has_max;
    int64_t min;                   /* string length, list length, or number value */
    int64_t max;
    const char *const *enum_values; /* NULL-terminated, or NULL */
    const char *pattern;           /* POSIX ERE equivalent of the model pattern, or NULL */
    const model_shape *element;    /* list member shape; map value shape */
    const model_shape *key;        /* map key shape */
    const model_member *members;   /* structure members, in model order */
    size_t member_count;
};

typedef struct model_operation {
    const char *name;              /* "CreateVirtualNode" */
    const char *http_method;       /* "PUT" */
    const char *request_uri;       /* "/v20190125/meshes/{meshName}/virtualNodes" */
    const model_shape *input;
    const model_shape *output;
    const char *output_payload;    /* member of output that is the response body, or NULL */
    const char *const *errors;     /* NULL-terminated error shape names it may return */
} model_operation;

/* Every operation, in name order. */
extern const model_operation model_operations[];
extern const size_t model_operation_count;

/* Every shape, in name order (strcmp), including the error shapes. */
extern const model_shape model_shapes[];
extern const size_t model_shape_count;

/* An error shape of the model and the HTTP status it is answered with. */
typedef struct model_error {
    const char *name;              /* "NotFoundException" */
    int http_status;               /* 404 */
    bool sender_fault;             /* the client's fault (4xx) rather than the service's */
} model_error;

/* Every error shape, in name order. */
extern const model_error model_errors[];
extern const size_t model_error_count;

const model_operation *model_operation_find(const char *name);
const model_shape *model_shape_find(const char *name);
const model_member *model_member_find(const model_shape *structure, const char *name);

/* HTTP status the model assigns to an error shape ("NotFoundException" -> 404);
 * 500 for an unknown name. */
int model_error_http_status(const char *error_type);

/*
 * Validates `value` against `shape`: JSON types, required members, unknown
 * members, unions with exactly one member, string/list lengths, number
 * ranges, enums and patterns. `path` is the AWS-style path of `value` ("" for
 * the top level). Every violation is counted; the message lists them in
 * AWS's format. Returns the number of violations (0 = valid).
 */
size_t model_validate(const model_shape *shape, const json_t *value, const char *path,
                      char *message, size_t message_size);

/*
 * Builds an operation's input document: parses `body` (empty means {}; it
 * must be a JSON object), adds each param (a member bound to the URI, query
 * string or a header) converted to its member's type, then validates the
 * whole input. Returns a new reference, or NULL with a BadRequestException
 * message (malformed JSON, a param that is not a valid integer, a body
 * member that belongs in the URI, or validation errors).
 *
 * Details: a body of only whitespace counts as empty; duplicate keys,
 * invalid UTF-8 and \u0000 are malformed JSON; integer params must be
 * canonical decimals ("10", not "010" or "+10"); a param the operation does
 * not bind, or the same param twice, is a BadRequest. JSON null members are
 * "not set" (as in Coral) and are removed from the returned document.
 */
json_t *model_build_input(const model_operation *op, const trellis_api_param *params,
                          size_t param_count, const char *body, size_t body_len, char *message,
                          size_t message_size);

/*
 * RE2 syntax check for user regexes (route and gateway route matches): App
 * Mesh's Envoy uses RE2, which has no look-around and no back-references.
 * Returns true if `pattern` is valid RE2; otherwise false with the reason.
 */
bool model_re2_syntax_ok(const char *pattern, char *reason, size_t reason_size);

#endif
