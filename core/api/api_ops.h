/*
 * The operation handlers behind api_invoke(). Reads answer at once; writes
 * produce a plan (the response and the store ops) that api.c commits inside
 * the mesh's write lane, re-planning if the store reports a conflict.
 */
#ifndef TRELLIS_CORE_API_OPS_H
#define TRELLIS_CORE_API_OPS_H

#include "api_call.h"

typedef enum api_verb {
    VERB_CREATE,
    VERB_DESCRIBE,
    VERB_UPDATE,
    VERB_DELETE,
    VERB_LIST,
    VERB_TAG,
    VERB_UNTAG,
    VERB_LIST_TAGS
} api_verb;

struct api_operation {
    const char *name;
    api_verb verb;
    resource_kind kind;   /* unused for the tag operations */
};

/* Reads: fill the call's response or error. */
void resource_describe(api_call *call);
void resource_list(api_call *call);
void tags_list(api_call *call);

/* Writes: return false with the error set, or true with call->response set
 * and call->ops holding what to commit (none when nothing changes). */
bool resource_plan_create(api_call *call);
bool resource_plan_update(api_call *call);
bool resource_plan_delete(api_call *call);
/* Fails the call (BadRequest, naming `member`) if two tags share a key. */
bool tags_check_unique_keys(api_call *call, const json_t *tags, const char *member);
bool tags_plan_tag(api_call *call);
bool tags_plan_untag(api_call *call);

/* Plans any write operation (the write lanes' planner). */
bool api_plan_write(api_call *call);

/* The lane a write runs in: the mesh it touches. false with the error set
 * when the target cannot be named (e.g. a malformed resourceArn). */
bool resource_write_lane(api_call *call);
bool tags_write_lane(api_call *call);

#endif
