/*
 * TagResource, UntagResource and ListTagsForResource. Tags live in the
 * resource's stored document beside its data; tagging changes neither the
 * resource's version nor its lastUpdatedAt.
 */
#include <stdio.h>
#include <string.h>

#include "api_ops.h"
#include "arn.h"
#include "catalog/catalog_key.h"
#include "pagination.h"

#define TAGS_MAX 50
#define TAGS_LIST_DEFAULT_LIMIT 100

/* The catalog entry a resourceArn names; NULL with the error set. */
static const catalog_entry *find_by_arn(api_call *call, arn_parts *parts)
{
    const char *arn = api_input_string(call, "resourceArn");
    if (arn == NULL || !arn_parse(arn, parts)) {
        api_fail(call, API_BAD_REQUEST, "resourceArn: '%s' is not an App Mesh resource ARN",
                 arn ? arn : "");
        return NULL;
    }
    const control_plane_settings *s = &call->cp->settings;
    const catalog_entry *e = NULL;
    if (strcmp(parts->region, s->region) == 0 && strcmp(parts->account, s->account_id) == 0)
        e = catalog_get_resource(call->cp->cat, parts->kind, parts->mesh, parts->parent, parts->name);
    if (e == NULL)
        api_fail(call, API_NOT_FOUND, "resource '%s' not found", arn);
    return e;
}

bool tags_write_lane(api_call *call)
{
    arn_parts parts;
    const char *arn = api_input_string(call, "resourceArn");
    if (arn == NULL || !arn_parse(arn, &parts))
        return api_fail(call, API_BAD_REQUEST, "resourceArn: '%s' is not an App Mesh resource ARN",
                        arn ? arn : "");
    snprintf(call->lane, sizeof(call->lane), "%s", parts.mesh);
    return true;
}

/* Replaces the tags of `e` (a new document, same data) in the write plan. */
static bool plan_tags(api_call *call, const catalog_entry *e, const arn_parts *parts, json_t *tags)
{
    json_t *record = json_copy(e->record);
    if (record == NULL || json_object_set_new(record, "tags", tags) != 0) {
        json_decref(record);
        return api_fail(call, API_INTERNAL, "out of memory");
    }
    call->response = json_object();
    return api_plan_op(call, TRELLIS_STORE_PUT, e->key, record, NULL, e->version) &&
           api_plan_scope(call, parts->mesh, false);
}

static json_t *find_tag(json_t *tags, const char *key, size_t *index_out)
{
    size_t i;
    json_t *tag;
    json_array_foreach(tags, i, tag) {
        if (strcmp(json_string_value(json_object_get(tag, "key")), key) == 0) {
            if (index_out != NULL)
                *index_out = i;
            return tag;
        }
    }
    return NULL;
}

bool tags_check_unique_keys(api_call *call, const json_t *tags, const char *member)
{
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(tags, i, a) {
        json_array_foreach(tags, j, b) {
            if (j >= i)
                break;
            if (strcmp(json_string_value(json_object_get(a, "key")),
                       json_string_value(json_object_get(b, "key"))) == 0)
                return api_fail(call, API_BAD_REQUEST, "%s: tag key '%s' is given twice", member,
                                json_string_value(json_object_get(a, "key")));
        }
    }
    return true;
}

bool tags_plan_tag(api_call *call)
{
    arn_parts parts;
    const catalog_entry *e = find_by_arn(call, &parts);
    if (e == NULL)
        return false;
    json_t *added = api_input_get(call, "tags");
    if (!tags_check_unique_keys(call, added, "tags"))
        return false;
    size_t i;
    json_t *tag;
    json_t *tags = json_deep_copy(json_object_get(e->record, "tags"));
    if (tags == NULL)
        tags = json_array();
    json_array_foreach(added, i, tag) {
        json_t *current = find_tag(tags, json_string_value(json_object_get(tag, "key")), NULL);
        if (current != NULL)
            json_object_set(current, "value", json_object_get(tag, "value"));
        else
            json_array_append(tags, tag);
    }
    if (json_array_size(tags) > TAGS_MAX) {
        size_t total = json_array_size(tags);
        json_decref(tags);
        return api_fail(call, API_TOO_MANY_TAGS,
                        "the resource would have %zu tags; at most %d are allowed and none of "
                        "the tags in this request were applied",
                        total, TAGS_MAX);
    }
    return plan_tags(call, e, &parts, tags);
}

bool tags_plan_untag(api_call *call)
{
    arn_parts parts;
    const catalog_entry *e = find_by_arn(call, &parts);
    if (e == NULL)
        return false;
    json_t *tags = json_deep_copy(json_object_get(e->record, "tags"));
    if (tags == NULL)
        tags = json_array();
    size_t i;
    json_t *key;
    json_array_foreach(api_input_get(call, "tagKeys"), i, key) {
        size_t index;
        if (find_tag(tags, json_string_value(key), &index) != NULL)
            json_array_remove(tags, index);
    }
    return plan_tags(call, e, &parts, tags);
}

void tags_list(api_call *call)
{
    arn_parts parts;
    const catalog_entry *e = find_by_arn(call, &parts);
    if (e == NULL)
        return;
    json_t *tags = json_object_get(e->record, "tags");
    char listing[CATALOG_KEY_MAX + 64];
    snprintf(listing, sizeof(listing), "%s|%s", call->op->name, e->key);
    size_t start = 0;
    const char *token = api_input_string(call, "nextToken");
    if (token != NULL) {
        char after[CATALOG_KEY_MAX];
        size_t index;
        if (!pagination_token_decode(call->cp, listing, token, call->now, after, sizeof(after)) ||
            find_tag(tags, after, &index) == NULL) {
            api_fail(call, API_BAD_REQUEST,
                     "nextToken: the token is invalid, expired, or belongs to another listing");
            return;
        }
        start = index + 1;
    }
    json_t *limit = api_input_get(call, "limit");
    size_t max = limit ? (size_t)json_integer_value(limit) : TAGS_LIST_DEFAULT_LIMIT;
    json_t *page = json_array();
    call->response = json_object();
    if (page == NULL || call->response == NULL) {
        json_decref(page);
        api_fail(call, API_INTERNAL, "out of memory");
        return;
    }
    size_t i;
    for (i = start; i < json_array_size(tags) && json_array_size(page) < max; i++)
        json_array_append(page, json_array_get(tags, i));
    json_object_set_new(call->response, "tags", page);
    if (i < json_array_size(tags)) {
        char next[PAGINATION_TOKEN_MAX * 2];
        const char *last = json_string_value(json_object_get(json_array_get(tags, i - 1), "key"));
        if (!pagination_token_encode(call->cp, listing, last, call->now, next, sizeof(next))) {
            api_fail(call, API_INTERNAL, "cannot encode nextToken");
            return;
        }
        json_object_set_new(call->response, "nextToken", json_string(next));
    }
}
