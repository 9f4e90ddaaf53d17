/*
 * Incremental ADS (DeltaAggregatedResources).
 *
 * Per type on a stream the server tracks what the client holds: resource
 * name -> version (the resource's content hash), seeded from the first
 * request's initial_resource_versions (a reconnecting client keeps what is
 * still current). A response carries only resources whose version differs
 * and, in removed_resources, the names the client holds that are gone.
 *
 *  - Subscriptions change by resource_names_subscribe / _unsubscribe; "*"
 *    subscribes or unsubscribes the wildcard. An empty first request for
 *    Listener or Cluster is a (legacy) wildcard. Unsubscribed names are
 *    forgotten without a removal.
 *  - A name subscribed explicitly that does not exist is answered in
 *    removed_resources once (the delta protocol's "does not exist"), and sent
 *    when it appears.
 *  - The first request of a type always gets a response (possibly empty),
 *    so the client's initial fetch completes.
 *  - Subscription changes are applied from every request, even one with a
 *    stale nonce (they are incremental and would be lost otherwise); only
 *    its ACK/NACK meaning is ignored. A NACK leaves the client on its old
 *    resources; they are sent again when they change.
 *  - Sidecars, make before break (make_before_break.h): clusters and
 *    endpoint assignments the proxy's listeners or routes may still name
 *    stay out of removed_resources until the proxy ACKed the listeners and
 *    routes that stop naming them. A Listener or RouteConfiguration
 *    response waits while the previous one of its type is unanswered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "pb_wire.h"
#include "xds_proxy.h"
#include "xds_wire.h"

/* The value of a name the client was told does not exist. */
static const char absent[] = "";

static void known_set(strmap *known, const char *name, const char *version)
{
    void **slot = strmap_get(known, name);
    if (slot != NULL) {
        if (*slot != absent)
            free(*slot);
        *slot = version == absent ? (void *)absent : strdup(version);
        return;
    }
    void *value = version == absent ? (void *)absent : strdup(version);
    if (value == NULL || !strmap_put(known, name, value)) {
        if (value != absent)
            free(value);
    }
}

static void known_remove(strmap *known, const char *name)
{
    void *value = strmap_remove(known, name);
    if (value != NULL && value != absent)
        free(value);
}

void ads_delta_free_state(ads_type_state *st)
{
    size_t cursor = 0;
    const char *key;
    void *value;
    while (strmap_next(&st->known, &cursor, &key, &value))
        if (value != absent)
            free(value);
    strmap_free(&st->known);
}

static void handle_request(xds_proxy *p,
                           const Envoy__Service__Discovery__V3__DeltaDiscoveryRequest *req)
{
    const xds_type_info *info = xds_type_by_url(req->type_url);
    if (!p->started &&
        !xds_proxy_start(p, "DeltaDiscoveryRequest", req->type_url, req->node,
                         req->resource_names_subscribe, req->n_resource_names_subscribe))
        return;
    if (info == NULL) {
        xds_proxy_ignore_type(p, req->type_url);
        return;
    }
    ads_type_state *st = &p->types[info->type];
    const char *nonce = req->response_nonce;
    if (nonce[0] != '\0' && st->sent_nonce != 0) {
        if (xds_parse_nonce(nonce) != st->sent_nonce) {
            xds_proxy_record_stale(p, info->type, nonce);
        } else {
            st->answered_nonce = st->sent_nonce;
            if (req->error_detail != NULL)
                xds_proxy_record_nack(p, info->type, req->error_detail->message);
            else
                xds_proxy_record_ack(p, info->type, st->sent_version);
            mbb_on_answered(p, info->type, req->error_detail == NULL);
        }
    }
    bool changed = false;
    if (!st->subscribed) {
        st->subscribed = true;
        changed = true;
        for (size_t i = 0; i < req->n_initial_resource_versions; i++) {
            const char *key = req->initial_resource_versions[i]->key;
            const char *value = req->initial_resource_versions[i]->value;
            known_set(&st->known, key, value ? value : absent);
        }
        if (info->full_state && req->n_resource_names_subscribe == 0)
            st->wildcard = true;
    }
    size_t before = st->names.count;
    name_set_add_all(&st->names, req->resource_names_subscribe, req->n_resource_names_subscribe);
    if (name_set_remove(&st->names, "*") && info->full_state && !st->wildcard) {
        st->wildcard = true;
        changed = true;
    }
    if (st->names.count != before)
        changed = true;
    for (size_t i = 0; i < req->n_resource_names_unsubscribe; i++) {
        const char *name = req->resource_names_unsubscribe[i];
        if (strcmp(name, "*") == 0) {
            if (st->wildcard) {
                st->wildcard = false;
                changed = true;
            }
        } else if (!st->wildcard) {
            known_remove(&st->known, name);
        }
    }
    if (name_set_remove_all(&st->names, req->resource_names_unsubscribe, req->n_resource_names_unsubscribe) > 0)
        changed = true;
    if (changed)
        st->pending = true;
    ads_delta_pump(p);
}

void ads_delta_on_message(xds_proxy *p, const uint8_t *data, size_t len)
{
    Envoy__Service__Discovery__V3__DeltaDiscoveryRequest *req =
        (Envoy__Service__Discovery__V3__DeltaDiscoveryRequest *)xds_proxy_decode_request(
            p, &envoy__service__discovery__v3__delta_discovery_request__descriptor, data, len);
    if (req == NULL)
        return;
    handle_request(p, req);
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* Appends one Resource (field 2) holding `r`; false with *error set. */
static bool put_resource(xds_proxy *p, byte_buffer *body, trellis_xds_type type,
                         const trellis_xds_resource *r, const char **error, bool *first_error)
{
    const refbuf *any = resource_cache_get(p->server->resources, type, r, error, first_error);
    if (any == NULL)
        return false;
    pb_put_tag(body, DELTA_RESPONSE_RESOURCES, PB_WIRE_LEN);
    size_t mark = pb_begin_len(body);
    pb_put_string_field(body, RESOURCE_NAME, r->name);
    pb_put_string_field(body, RESOURCE_VERSION, r->hash);
    pb_put_bytes_field(body, RESOURCE_RESOURCE, any->data, any->len);
    pb_end_len(body, mark);
    return true;
}

typedef struct delta_build {
    size_t upserts;
    size_t removals;
    size_t retained;        /* names the client holds that stay for make before break */
    const char *error;
    const char *error_name;
    bool first_error;
} delta_build;

/* The resources the client should hold: the snapshot's and the retained
 * ones; wildcard: all of them (index < desired_count), else by name. */
static size_t desired_count(xds_proxy *p, trellis_xds_type t, const retained_list *keep)
{
    ads_type_state *st = &p->types[t];
    if (!st->wildcard)
        return st->names.count;
    return p->server->host->xds_snapshot_count(p->snapshot, t) + (keep ? keep->count : 0);
}

static const trellis_xds_resource *desired_at(xds_proxy *p, trellis_xds_type t,
                                              const retained_list *keep, size_t i)
{
    const trellis_host *h = p->server->host;
    ads_type_state *st = &p->types[t];
    if (st->wildcard) {
        size_t own = h->xds_snapshot_count(p->snapshot, t);
        return i < own ? h->xds_snapshot_at(p->snapshot, t, i) : keep->items[i - own];
    }
    const trellis_xds_resource *r = h->xds_snapshot_find(p->snapshot, t, st->names.names[i]);
    return r == NULL && keep != NULL ? retained_find(keep, st->names.names[i]) : r;
}

static bool exists(xds_proxy *p, trellis_xds_type t, const retained_list *keep, const char *name)
{
    return p->server->host->xds_snapshot_find(p->snapshot, t, name) != NULL ||
           (keep != NULL && retained_find(keep, name) != NULL);
}

/*
 * Writes the response body for type `t`, then updates what the client is
 * known to hold. Returns false on an encode error; on an encode error or a
 * body past its limit (bb_failed) nothing is changed, so the next attempt
 * starts from what the client really holds.
 */
static bool build_response(xds_proxy *p, trellis_xds_type t, const char *version,
                           const retained_list *keep, byte_buffer *body, delta_build *out)
{
    ads_type_state *st = &p->types[t];
    memset(out, 0, sizeof(*out));
    if (version[0] != '\0')
        pb_put_string_field(body, DELTA_RESPONSE_SYSTEM_VERSION_INFO, version);

    /* Write: everything that changed, ... */
    size_t n = desired_count(p, t, keep);
    for (size_t i = 0; i < n; i++) {
        const trellis_xds_resource *r = desired_at(p, t, keep, i);
        if (r == NULL)
            continue;
        void **held = strmap_get(&st->known, r->name);
        if (held != NULL && *held != absent && strcmp(*held, r->hash) == 0)
            continue;
        if (!put_resource(p, body, t, r, &out->error, &out->first_error)) {
            out->error_name = r->name;
            return false;
        }
        out->upserts++;
    }
    /* ... names the client holds that are gone, ... */
    size_t cursor = 0;
    const char *key;
    void *value;
    while (strmap_next(&st->known, &cursor, &key, &value)) {
        if ((!st->wildcard && !name_set_contains(&st->names, key)) || value == absent)
            continue; /* forgotten silently, or already reported absent */
        if (!exists(p, t, keep, key)) {
            pb_put_string_field(body, DELTA_RESPONSE_REMOVED_RESOURCES, key);
            out->removals++;
        } else if (keep != NULL && retained_find(keep, key) != NULL) {
            out->retained++;
        }
    }
    /* ... and explicit names that never existed: "does not exist", once. */
    for (size_t i = 0; i < st->names.count; i++) {
        const char *name = st->names.names[i];
        if (strmap_get(&st->known, name) == NULL && !exists(p, t, keep, name)) {
            pb_put_string_field(body, DELTA_RESPONSE_REMOVED_RESOURCES, name);
            out->removals++;
        }
    }
    pb_put_string_field(body, DELTA_RESPONSE_TYPE_URL, xds_type_info_of(t)->url);
    xds_put_control_plane(body, DELTA_RESPONSE_CONTROL_PLANE, p->server->control_plane);
    if (bb_failed(body))
        return true;

    /* Apply: the client now holds what was written. Removal decisions are
     * taken on `known` as it was, before the new versions are recorded. */
    for (size_t i = 0; i < st->names.count; i++) {
        const char *name = st->names.names[i];
        if (strmap_get(&st->known, name) == NULL && !exists(p, t, keep, name))
            known_set(&st->known, name, absent);
    }
    cursor = 0;
    while (strmap_next(&st->known, &cursor, &key, &value)) {
        bool named = name_set_contains(&st->names, key);
        if (!st->wildcard && !named)
            known_remove(&st->known, key);
        else if (value != absent && !exists(p, t, keep, key) && named)
            known_set(&st->known, key, absent); /* told removed; kept as "absent" */
        else if (value != absent && !exists(p, t, keep, key))
            known_remove(&st->known, key);      /* wildcard: told removed, forgotten */
    }
    for (size_t i = 0; i < n; i++) {
        const trellis_xds_resource *r = desired_at(p, t, keep, i);
        if (r != NULL)
            known_set(&st->known, r->name, r->hash);
    }
    return true;
}

/* Whether the proxy accepted the latest response of a type (or none was sent). */
static bool last_response_taken(const ads_type_state *st)
{
    if (st->nack_version == NULL || st->sent_version == NULL ||
        strcmp(st->nack_version, st->sent_version) != 0)
        return true;
    return st->acked_version != NULL && strcmp(st->acked_version, st->sent_version) == 0;
}

void ads_delta_pump(xds_proxy *p)
{
    if (p->finishing || p->call == NULL || p->snapshot == NULL || !grpc_call_can_send(p->call))
        return;
    xds_server *s = p->server;
    const trellis_host *h = s->host;
    for (int i = 0; i < TRELLIS_XDS_TYPE_COUNT; i++) {
        trellis_xds_type t = xds_push_order[i];
        ads_type_state *st = &p->types[t];
        if (!st->subscribed || mbb_waits(p, t))
            continue;
        bool failed = false;
        const retained_list *keep = mbb_retained(p, t, &failed);
        if (failed) {
            xds_proxy_finish(p, GRPC_RESOURCE_EXHAUSTED, "out of memory building a response");
            return;
        }
        const char *target = keep ? keep->version : h->xds_snapshot_version(p->snapshot, t);
        if (target == NULL)
            target = "";
        if (!st->pending && st->evaluated_version != NULL &&
            strcmp(st->evaluated_version, target) == 0)
            continue;
        if (st->error_version != NULL && strcmp(st->error_version, target) == 0 && !st->pending)
            continue;
        byte_buffer body;
        bb_init(&body, s->cfg.max_response_bytes);
        delta_build b;
        bool ok = build_response(p, t, target, keep, &body, &b);
        st->pending = false;
        if (!ok || bb_failed(&body)) {
            char message[1200];
            if (!ok)
                snprintf(message, sizeof(message), "%s %s: %s", xds_type_info_of(t)->short_name,
                         b.error_name, b.error);
            else
                snprintf(message, sizeof(message),
                         "the %s response exceeds max_response_bytes (%zu) or memory ran out",
                         xds_type_info_of(t)->short_name, s->cfg.max_response_bytes);
            xds_proxy_record_error(p, t, target, message, ok ? true : b.first_error);
            bb_free(&body);
            continue;
        }
        xds_proxy_clear_error(st);
        bool was_update = st->initial_sent && st->evaluated_version != NULL &&
                          strcmp(st->evaluated_version, target) != 0;
        xds_set_string(&st->evaluated_version, target);
        if (b.upserts == 0 && b.removals == 0 && st->initial_sent) {
            bb_free(&body);
            /* Nothing differs from what the client holds: it holds this
             * snapshot's version (unless it rejected the last response). */
            if (last_response_taken(st))
                mbb_on_current(p, t);
            continue;
        }
        refbuf *payload = refbuf_copy(body.data, body.len);
        bb_free(&body);
        uint64_t nonce = ++p->next_nonce;
        uint8_t tail[32];
        size_t tail_len = xds_nonce_field(DELTA_RESPONSE_NONCE, nonce, tail);
        if (payload == NULL || grpc_call_send(p->call, payload, tail, tail_len) != TRELLIS_OK) {
            refbuf_unref(payload);
            xds_proxy_finish(p, GRPC_RESOURCE_EXHAUSTED, "out of memory sending a response");
            return;
        }
        refbuf_unref(payload); /* the call holds its own reference */
        st->initial_sent = true;
        xds_proxy_record_sent(p, t, target, nonce, b.upserts, b.retained, was_update);
        return;
    }
}
