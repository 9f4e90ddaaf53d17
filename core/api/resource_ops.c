/*
 * Create, Describe, Update, Delete and List for all seven resource kinds.
 * The kinds differ only in names, parents, quotas and spec rules, which come
 * from resource_kind_info and spec_rules.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_ops.h"
#include "arn.h"
#include "catalog/catalog_key.h"
#include "ids.h"
#include "pagination.h"
#include "references.h"
#include "spec_rules.h"

#define LIST_DEFAULT_LIMIT 100

/* The resource an operation addresses, from its input. */
typedef struct target {
    const resource_kind_info *info;
    const char *mesh;
    const char *parent;    /* router or gateway of routes, else NULL */
    const char *name;
    char key[CATALOG_KEY_MAX];
} target;

static bool check_mesh_owner(api_call *call, const char *mesh)
{
    const char *owner = api_input_string(call, "meshOwner");
    if (owner != NULL && strcmp(owner, call->cp->settings.account_id) != 0)
        return api_fail(call, API_NOT_FOUND,
                        "mesh '%s' owned by account %s not found (only meshes of account %s exist "
                        "here)",
                        mesh, owner, call->cp->settings.account_id);
    return true;
}

static bool resolve_target(api_call *call, target *t)
{
    t->info = resource_kind_get(call->handler->kind);
    t->mesh = api_input_string(call, "meshName");
    t->parent = t->info->parent_member ? api_input_string(call, t->info->parent_member) : NULL;
    t->name = api_input_string(call, t->info->name_member);
    if (t->mesh == NULL || t->name == NULL || (t->info->parent_member && t->parent == NULL))
        return api_fail(call, API_BAD_REQUEST, "the request does not name the %s",
                        t->info->display_name);
    if (!check_mesh_owner(call, t->mesh))
        return false;
    if (!catalog_key_resource(t->key, sizeof(t->key), t->info->kind, t->mesh, t->parent, t->name))
        return api_fail(call, API_BAD_REQUEST,
                        "the names addressing this %s are too long for trellis's store keys "
                        "(%d bytes): together they may take about %d bytes of UTF-8, with "
                        "'%%' and control characters counting 3 bytes each",
                        t->info->display_name, CATALOG_KEY_MAX, CATALOG_KEY_MAX - 24);
    return true;
}

static const catalog_entry *find(api_call *call, resource_kind kind, const char *mesh,
                                 const char *parent, const char *name)
{
    return catalog_get_resource(call->cp->cat, kind, mesh, parent, name);
}

static bool fail_not_found(api_call *call, const target *t)
{
    if (t->info->kind == RESOURCE_MESH)
        return api_fail(call, API_NOT_FOUND, "mesh '%s' not found", t->name);
    if (t->parent != NULL) {
        const resource_kind_info *p = resource_kind_get(t->info->parent);
        return api_fail(call, API_NOT_FOUND, "%s '%s' not found in %s '%s' of mesh '%s'",
                        t->info->display_name, t->name, p->display_name, t->parent, t->mesh);
    }
    return api_fail(call, API_NOT_FOUND, "%s '%s' not found in mesh '%s'", t->info->display_name,
                    t->name, t->mesh);
}

/* The mesh (and parent router/gateway) must exist for anything inside them. */
static bool check_container(api_call *call, const target *t, const catalog_entry **parent_out)
{
    if (t->info->kind == RESOURCE_MESH)
        return true;
    if (find(call, RESOURCE_MESH, NULL, NULL, t->mesh) == NULL)
        return api_fail(call, API_NOT_FOUND, "mesh '%s' not found", t->mesh);
    if (t->parent != NULL) {
        const catalog_entry *p = find(call, t->info->parent, t->mesh, NULL, t->parent);
        if (p == NULL)
            return api_fail(call, API_NOT_FOUND, "%s '%s' not found in mesh '%s'",
                            resource_kind_get(t->info->parent)->display_name, t->parent, t->mesh);
        if (parent_out != NULL)
            *parent_out = p;
    }
    return true;
}

/* ---- describe ---- */

void resource_describe(api_call *call)
{
    target t;
    if (!resolve_target(call, &t))
        return;
    const catalog_entry *e = catalog_get(call->cp->cat, t.key);
    if (e == NULL) {
        /* Say which container is missing, as create/update/delete do. */
        if (check_container(call, &t, NULL))
            fail_not_found(call, &t);
        return;
    }
    call->response_text = e->data_text;
    call->response_len = e->data_len;
}

/* ---- list ---- */

/* A list item: the Ref shape's members, from the data and its metadata. */
static json_t *make_ref(const model_shape *ref_shape, const json_t *data)
{
    json_t *ref = json_object();
    const json_t *metadata = json_object_get(data, "metadata");
    for (size_t i = 0; ref != NULL && i < ref_shape->member_count; i++) {
        const char *member = ref_shape->members[i].name;
        json_t *value = json_object_get(data, member);
        if (value == NULL)
            value = json_object_get(metadata, member);
        if (value != NULL)
            json_object_set(ref, member, value);
    }
    return ref;
}

/* A growable response body; `failed` after an allocation failure. */
typedef struct body_text {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} body_text;

static void body_append(body_text *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

typedef struct list_state {
    const model_shape *ref_shape;
    body_text *body;
    size_t limit;
    size_t count;
    const char *after;          /* continue after this key, or NULL */
    const char *last_key;       /* last key returned */
    bool more;
    bool failed;
} list_state;

/* A list item as text: built once per stored version of the resource. */
static bool append_ref(list_state *ls, const catalog_entry *e)
{
    if (e->ref_text == NULL) {
        json_t *ref = make_ref(ls->ref_shape, e->data);
        char *text = ref ? json_dumps(ref, CATALOG_JSON_FLAGS) : NULL;
        json_decref(ref);
        if (text == NULL)
            return false;
        catalog_entry_cache_ref_text(e, text);
    }
    if (ls->count > 0)
        body_append(ls->body, ",", 1);
    body_append(ls->body, e->ref_text, e->ref_len);
    return !ls->body->failed;
}

static bool visit_list(const catalog_entry *e, void *arg)
{
    list_state *ls = arg;
    if (ls->after != NULL && strcmp(e->key, ls->after) <= 0)
        return true;
    if (ls->count == ls->limit) {
        ls->more = true;
        return false;
    }
    if (!append_ref(ls, e)) {
        ls->failed = true;
        return false;
    }
    ls->count++;
    ls->last_key = e->key;
    return true;
}

void resource_list(api_call *call)
{
    const resource_kind_info *info = resource_kind_get(call->handler->kind);
    const char *mesh = api_input_string(call, "meshName");
    const char *parent = info->parent_member ? api_input_string(call, info->parent_member) : NULL;
    if (info->kind != RESOURCE_MESH) {
        if (!check_mesh_owner(call, mesh))
            return;
        target container = {.info = info, .mesh = mesh, .parent = parent};
        if (!check_container(call, &container, NULL))
            return;
    }
    char prefix[CATALOG_KEY_MAX];
    if (!catalog_key_list_prefix(prefix, sizeof(prefix), info->kind, mesh, parent)) {
        api_fail(call, API_BAD_REQUEST, "name too long");
        return;
    }
    char listing[CATALOG_KEY_MAX + 64];
    snprintf(listing, sizeof(listing), "%s|%s", call->op->name, prefix);

    char after[CATALOG_KEY_MAX];
    const char *token = api_input_string(call, "nextToken");
    if (token != NULL && (!pagination_token_decode(call->cp, listing, token, call->now, after,
                                                   sizeof(after)) ||
                          strncmp(after, prefix, strlen(prefix)) != 0)) {
        api_fail(call, API_BAD_REQUEST,
                 "nextToken: the token is invalid, expired, or belongs to another listing");
        return;
    }
    json_t *limit = api_input_get(call, "limit");
    body_text body = {0};
    list_state ls = {
        .ref_shape = model_shape_find(info->ref_shape),
        .body = &body,
        .limit = limit ? (size_t)json_integer_value(limit) : LIST_DEFAULT_LIMIT,
        .after = token ? after : NULL,
    };
    if (ls.ref_shape == NULL) {
        api_fail(call, API_INTERNAL, "internal error: no %s shape", info->ref_shape);
        return;
    }
    /* {"<list member>":[item,...]} with items serialized once and reused. */
    body_append(&body, "{\"", 2);
    body_append(&body, info->list_member, strlen(info->list_member));
    body_append(&body, "\":[", 3);
    catalog_scan_prefix(call->cp->cat, prefix, visit_list, &ls);
    body_append(&body, "]", 1);
    if (ls.more && !ls.failed) {
        char next[PAGINATION_TOKEN_MAX * 2];
        if (!pagination_token_encode(call->cp, listing, ls.last_key, call->now, next, sizeof(next))) {
            free(body.data);
            api_fail(call, API_INTERNAL, "cannot encode nextToken");
            return;
        }
        /* The token is base64url: no JSON escaping needed. */
        body_append(&body, ",\"nextToken\":\"", 14);
        body_append(&body, next, strlen(next));
        body_append(&body, "\"", 1);
    }
    body_append(&body, "}", 1);
    if (ls.failed || body.failed) {
        free(body.data);
        api_fail(call, API_INTERNAL, "out of memory building the list");
        return;
    }
    call->owned_text = body.data;
    call->response_text = body.data;
    call->response_len = body.len;
}

/* ---- writes: shared pieces ---- */

bool resource_write_lane(api_call *call)
{
    const char *mesh = api_input_string(call, "meshName");
    if (mesh == NULL)
        return api_fail(call, API_BAD_REQUEST, "the request does not name a mesh");
    snprintf(call->lane, sizeof(call->lane), "%s", mesh);
    return true;
}

static json_t *new_data(api_call *call, const target *t, json_t *spec)
{
    char arn[ARN_MAX];
    char uid[UUID_TEXT_SIZE];
    const control_plane_settings *s = &call->cp->settings;
    if (!arn_build(arn, sizeof(arn), s->region, s->account_id, t->info->kind, t->mesh, t->parent,
                   t->name))
        return NULL;
    ids_new_uuid(uid);
    double now = call->now;
    json_t *data = json_pack("{s:s, s:{s:s, s:f, s:f, s:s, s:s, s:s, s:i}, s:O, s:{s:s}}",
                             "meshName", t->mesh, "metadata", "arn", arn, "createdAt", now,
                             "lastUpdatedAt", now, "meshOwner", s->account_id, "resourceOwner",
                             s->account_id, "uid", uid, "version", 1, "spec", spec, "status",
                             "status", "ACTIVE");
    if (data == NULL)
        return NULL;
    if (t->info->kind != RESOURCE_MESH)
        json_object_set_new(data, t->info->name_member, json_string(t->name));
    if (t->parent != NULL)
        json_object_set_new(data, t->info->parent_member, json_string(t->parent));
    return data;
}

/* The stored document: data, tags and the idempotency fingerprint. */
static json_t *new_record(json_t *data, json_t *tags, const char *token, const char *fingerprint)
{
    json_t *record = json_pack("{s:O, s:O}", "data", data, "tags", tags);
    if (record != NULL && token != NULL) {
        json_object_set_new(record, "clientToken", json_string(token));
        json_object_set_new(record, "inputHash", json_string(fingerprint));
    }
    return record;
}

static const char *record_fingerprint(const catalog_entry *e)
{
    return json_string_value(json_object_get(e->record, "inputHash"));
}

/*
 * clientToken idempotency. Returns 1 when this request repeats the write that
 * last produced `entry` (answer with its current state, change nothing), 0 to
 * proceed, -1 on a token reused with different input (error set).
 */
static int check_client_token(api_call *call, const catalog_entry *entry, const char *token,
                              const char *fingerprint)
{
    if (token == NULL)
        return 0;
    const catalog_entry *owner = catalog_find_token(call->cp->cat, token);
    if (owner == NULL)
        return 0;
    const char *previous = record_fingerprint(owner);
    if (owner == entry && previous != NULL && strcmp(previous, fingerprint) == 0)
        return 1;
    api_fail(call, API_CONFLICT,
             "clientToken '%s' was used for a previous request with different parameters "
             "(%s '%s'); retry with a new client token",
             token, resource_kind_get(owner->kind)->display_name, owner->name);
    return -1;
}

static bool check_quota(api_call *call, const target *t)
{
    char prefix[CATALOG_KEY_MAX];
    if (!catalog_key_list_prefix(prefix, sizeof(prefix), t->info->kind, t->mesh, t->parent))
        return api_fail(call, API_BAD_REQUEST, "name too long");
    size_t count = catalog_count_prefix(call->cp->cat, prefix);
    uint32_t quota = call->cp->settings.quota[t->info->kind];
    if (count < quota)
        return true;
    if (t->info->kind == RESOURCE_MESH)
        return api_fail(call, API_LIMIT, "the account already has %zu meshes (limit %u)", count, quota);
    const resource_kind_info *p = resource_kind_get(t->info->parent);
    return api_fail(call, API_LIMIT, "%s '%s' already has %zu %ss (limit %u)", p->display_name,
                    t->parent ? t->parent : t->mesh, count, t->info->display_name, quota);
}

/* Spec rules by kind. `parent` is the router or gateway entry of routes. */
static bool check_spec(api_call *call, const target *t, const catalog_entry *parent,
                       const json_t *spec)
{
    switch (t->info->kind) {
    case RESOURCE_MESH: return true;
    case RESOURCE_VIRTUAL_SERVICE: return rules_virtual_service_spec(call, t->mesh, spec);
    case RESOURCE_VIRTUAL_NODE: return rules_virtual_node_spec(call, t->mesh, spec);
    case RESOURCE_VIRTUAL_ROUTER: return rules_virtual_router_spec(call, t->mesh, t->name, spec);
    case RESOURCE_ROUTE:
        return rules_route_spec(call, t->mesh, json_object_get(parent->data, "spec"), spec);
    case RESOURCE_VIRTUAL_GATEWAY: return rules_virtual_gateway_spec(call, t->mesh, t->name, spec);
    case RESOURCE_GATEWAY_ROUTE:
        return rules_gateway_route_spec(call, t->mesh, json_object_get(parent->data, "spec"), spec);
    default: return api_fail(call, API_INTERNAL, "unknown resource kind");
    }
}

/* The spec from the input; a mesh's spec is optional and defaults to {}. */
static json_t *input_spec(api_call *call, const target *t)
{
    json_t *spec = api_input_get(call, "spec");
    if (spec != NULL)
        return json_deep_copy(spec);
    if (t->info->kind == RESOURCE_MESH)
        return json_object();
    api_fail(call, API_BAD_REQUEST, "spec is required");
    return NULL;
}

/* The scope guards of a write: the mesh's, plus the account's for meshes. */
static bool plan_scopes(api_call *call, const target *t, bool bump_account)
{
    if (!api_plan_scope(call, t->mesh, true))
        return false;
    return !bump_account || api_plan_scope(call, NULL, true);
}

/* ---- create ---- */

bool resource_plan_create(api_call *call)
{
    target t;
    const catalog_entry *parent = NULL;
    if (!resolve_target(call, &t))
        return false;
    if (!rules_resource_name(call, t.info->name_member, t.name) ||
        (t.info->kind != RESOURCE_MESH && !rules_resource_name(call, "meshName", t.mesh)))
        return false;
    if (!check_container(call, &t, &parent))
        return false;

    const char *token = api_input_string(call, "clientToken");
    char fingerprint[FINGERPRINT_SIZE] = "";
    if (token != NULL && !ids_input_fingerprint(call->input, fingerprint))
        return api_fail(call, API_INTERNAL, "cannot fingerprint the request");
    const catalog_entry *existing = catalog_get(call->cp->cat, t.key);
    int repeat = check_client_token(call, existing, token, fingerprint);
    if (repeat < 0)
        return false;
    if (repeat > 0) {
        call->response = json_incref(existing->data);
        return true;
    }
    if (existing != NULL) {
        if (t.info->kind == RESOURCE_MESH)
            return api_fail(call, API_CONFLICT, "a mesh named '%s' already exists", t.name);
        return api_fail(call, API_CONFLICT, "a %s named '%s' already exists in mesh '%s'",
                        t.info->display_name, t.name, t.mesh);
    }

    json_t *spec = input_spec(call, &t);
    if (spec == NULL)
        return call->error_type ? false : api_fail(call, API_INTERNAL, "out of memory");
    json_t *tags = api_input_get(call, "tags");
    bool ok = check_spec(call, &t, parent, spec) && check_quota(call, &t) &&
              tags_check_unique_keys(call, tags, "tags");
    json_t *data = ok ? new_data(call, &t, spec) : NULL;
    json_decref(spec);
    if (!ok)
        return false;
    json_t *empty_tags = json_array();
    json_t *record = data ? new_record(data, tags ? tags : empty_tags, token, fingerprint) : NULL;
    json_decref(empty_tags);
    if (record == NULL) {
        json_decref(data);
        return api_fail(call, API_INTERNAL, "out of memory");
    }
    call->response = data;
    return api_plan_op(call, TRELLIS_STORE_PUT, t.key, record, NULL, TRELLIS_STORE_ABSENT) &&
           plan_scopes(call, &t, t.info->kind == RESOURCE_MESH);
}

/* ---- update ---- */

bool resource_plan_update(api_call *call)
{
    target t;
    const catalog_entry *parent = NULL;
    if (!resolve_target(call, &t) || !check_container(call, &t, &parent))
        return false;
    const catalog_entry *entry = catalog_get(call->cp->cat, t.key);
    if (entry == NULL)
        return fail_not_found(call, &t);

    const char *token = api_input_string(call, "clientToken");
    char fingerprint[FINGERPRINT_SIZE] = "";
    if (token != NULL && !ids_input_fingerprint(call->input, fingerprint))
        return api_fail(call, API_INTERNAL, "cannot fingerprint the request");
    int repeat = check_client_token(call, entry, token, fingerprint);
    if (repeat < 0)
        return false;
    if (repeat > 0) {
        call->response = json_incref(entry->data);
        return true;
    }

    json_t *spec = input_spec(call, &t);
    if (spec == NULL)
        return call->error_type ? false : api_fail(call, API_INTERNAL, "out of memory");
    if (!check_spec(call, &t, parent, spec)) {
        json_decref(spec);
        return false;
    }
    json_t *data = json_deep_copy(entry->data);
    json_t *metadata = json_object_get(data, "metadata");
    if (data == NULL || metadata == NULL) {
        json_decref(spec);
        json_decref(data);
        return api_fail(call, API_INTERNAL, "stored %s has no metadata", t.info->display_name);
    }
    json_object_set_new(data, "spec", spec);
    json_object_set_new(metadata, "version",
                        json_integer(json_integer_value(json_object_get(metadata, "version")) + 1));
    json_object_set_new(metadata, "lastUpdatedAt", json_real(call->now));
    json_object_set_new(data, "status", json_pack("{s:s}", "status", "ACTIVE"));
    json_t *record = new_record(data, json_object_get(entry->record, "tags"), token, fingerprint);
    if (record == NULL) {
        json_decref(data);
        return api_fail(call, API_INTERNAL, "out of memory");
    }
    call->response = data;
    return api_plan_op(call, TRELLIS_STORE_PUT, t.key, record, NULL, entry->version) &&
           plan_scopes(call, &t, false);
}

/* ---- delete ---- */

bool resource_plan_delete(api_call *call)
{
    target t;
    if (!resolve_target(call, &t))
        return false;
    const catalog_entry *entry = catalog_get(call->cp->cat, t.key);
    if (entry == NULL) {
        if (!check_container(call, &t, NULL))
            return false;
        return fail_not_found(call, &t);
    }
    char user[600];
    if (references_find_user(call->cp->cat, t.info->kind, t.mesh, t.name, user, sizeof(user))) {
        if (t.info->kind == RESOURCE_MESH)
            return api_fail(call, API_IN_USE,
                            "mesh '%s' still contains %s; delete its resources first", t.name, user);
        return api_fail(call, API_IN_USE, "%s '%s' is in use by %s", t.info->display_name, t.name,
                        user);
    }
    json_t *data = json_deep_copy(entry->data);
    if (data == NULL)
        return api_fail(call, API_INTERNAL, "out of memory");
    json_object_set_new(json_object_get(data, "metadata"), "lastUpdatedAt", json_real(call->now));
    json_object_set_new(data, "status", json_pack("{s:s}", "status", "DELETED"));
    call->response = data;
    return api_plan_op(call, TRELLIS_STORE_DELETE, t.key, NULL, NULL, entry->version) &&
           plan_scopes(call, &t, t.info->kind == RESOURCE_MESH);
}
