/*
 * State-of-the-world ADS (StreamAggregatedResources).
 *
 * Per type on a stream: the subscription (wildcard or names), the version and
 * nonce of the last response, and what the client said about it.
 *
 *  - A request whose response_nonce is not the latest one we sent for its
 *    type is stale and ignored entirely (the client will answer the newer
 *    response, with its current subscription).
 *  - A request answering the latest nonce is an ACK, or a NACK when it
 *    carries error_detail. After a NACK the proxy keeps its last accepted
 *    config and the rejected version is not sent again: the next response
 *    goes out when the type's version changes (or the subscription does).
 *  - Listener and Cluster: an empty resource_names on the first request is a
 *    wildcard subscription (Envoy), "*" is one explicitly; names without "*"
 *    subscribe to those names (proxyless gRPC). Every response is the full
 *    state of the subscription: a resource missing from it is removed, and
 *    asking for a listener that does not exist is answered (without it) so
 *    the client knows at once.
 *  - RouteConfiguration, ClusterLoadAssignment, Secret: by name only. A
 *    response carries the requested resources that exist; when none exists,
 *    nothing is sent until one appears (the client's fetch timeout covers it).
 *  - The first request of a type on a new stream may carry the version the
 *    client already has (a reconnect): if it is still current, nothing is
 *    resent until something changes.
 *  - One response in flight per stream; types wait as "pending" and are
 *    built from the newest snapshot when their turn comes (clusters, then
 *    endpoints, listeners, routes, secrets), so a slow reader coalesces.
 *  - Sidecars, make before break (make_before_break.h): while the proxy may
 *    hold listeners or routes naming clusters its snapshot dropped, its
 *    Cluster and ClusterLoadAssignment responses keep them, under their own
 *    version; the response without them follows the ACK of the listeners
 *    and routes that stop naming them. A Listener or RouteConfiguration
 *    response waits while the previous one of its type is unanswered.
 *  - Proxyless gRPC clients get listeners and routes first, and no cluster,
 *    endpoint or secret response while a listener or route response is
 *    unanswered. They subscribe to clusters by name, following their routes:
 *    an update that moves a route from cluster A to cluster B removes A from
 *    the clusters they asked for, and a Cluster response without A sent
 *    before the new route would fail every call still routed to A (gRPC:
 *    UNAVAILABLE "Cluster resource A does not exist"). Routes first, the
 *    client asks for B and lets go of A, then the clusters: make before break.
 */
#include <stdlib.h>
#include <string.h>

#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "xds_proxy.h"
#include "xds_wire.h"

/* Applies the names of a request to the type's subscription; true if it changed. */
static bool update_subscription(ads_type_state *st, const xds_type_info *info, char **names,
                                size_t count)
{
    name_set next;
    name_set_init(&next);
    name_set_add_all(&next, names, count); /* out of memory: keep what fit */
    bool star = name_set_remove(&next, "*");
    bool wildcard = false;
    if (info->full_state) {
        if (!st->names_given && count == 0) {
            wildcard = true; /* legacy wildcard: no names ever given */
        } else {
            st->names_given = true;
            wildcard = star;
        }
    }
    bool changed = wildcard != st->wildcard || !name_set_equal(&next, &st->names);
    st->wildcard = wildcard;
    name_set_move(&st->names, &next);
    return changed;
}

static void handle_request(xds_proxy *p, const Envoy__Service__Discovery__V3__DiscoveryRequest *req)
{
    const xds_type_info *info = xds_type_by_url(req->type_url);
    if (!p->started && !xds_proxy_start(p, "DiscoveryRequest", req->type_url, req->node,
                                        req->resource_names, req->n_resource_names))
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
            return;
        }
        st->answered_nonce = st->sent_nonce;
        /* Taken when the proxy now reports the version sent; Envoy answers
         * with its previous version a response it did not apply. */
        bool taken = req->error_detail == NULL && st->sent_version != NULL &&
                     strcmp(req->version_info, st->sent_version) == 0;
        if (req->error_detail != NULL)
            xds_proxy_record_nack(p, info->type, req->error_detail->message);
        else
            xds_proxy_record_ack(p, info->type, req->version_info);
        mbb_on_answered(p, info->type, taken);
    }
    bool changed = update_subscription(st, info, req->resource_names, req->n_resource_names);
    if (!st->subscribed) {
        st->subscribed = true;
        if (req->version_info[0] != '\0' && nonce[0] == '\0') {
            /* A reconnect: answer only if the client's version is not current
             * (decided against the snapshot in needs_response). */
            xds_set_string(&st->client_version, req->version_info);
            changed = false;
        } else {
            changed = true;
        }
    }
    if (changed)
        st->pending = true;
    ads_sotw_pump(p);
}

void ads_sotw_on_message(xds_proxy *p, const uint8_t *data, size_t len)
{
    Envoy__Service__Discovery__V3__DiscoveryRequest *req =
        (Envoy__Service__Discovery__V3__DiscoveryRequest *)xds_proxy_decode_request(
            p, &envoy__service__discovery__v3__discovery_request__descriptor, data, len);
    if (req == NULL)
        return;
    handle_request(p, req);
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

/* Whether type `t` needs a response now; `target` is the version it would
 * carry (the snapshot's, or a make-before-break union's). */
static bool needs_response(xds_proxy *p, trellis_xds_type t, const char *target)
{
    ads_type_state *st = &p->types[t];
    if (!st->subscribed)
        return false;
    if (st->pending)
        return true;
    if (st->sent_nonce == 0 && st->client_version != NULL) {
        if (strcmp(st->client_version, target) == 0) {
            /* A reconnect with the current version: the client has it. */
            xds_set_string(&st->sent_version, target);
            xds_set_string(&st->acked_version, target);
            free(st->client_version);
            st->client_version = NULL;
            mbb_on_current(p, t);
            return false;
        }
        free(st->client_version);
        st->client_version = NULL;
    }
    if (st->sent_version != NULL && strcmp(st->sent_version, target) == 0)
        return false; /* sent (and ACKed, NACKed or in flight) */
    if (st->error_version != NULL && strcmp(st->error_version, target) == 0)
        return false; /* cannot be built; reported */
    if (st->idle_version != NULL && strcmp(st->idle_version, target) == 0)
        return false; /* nothing to send for this subscription */
    return true;
}

/* Proxyless push order: what the client follows references from comes first. */
static const trellis_xds_type proxyless_push_order[TRELLIS_XDS_TYPE_COUNT] = {
    TRELLIS_XDS_LISTENER, TRELLIS_XDS_ROUTE, TRELLIS_XDS_CLUSTER, TRELLIS_XDS_ENDPOINT,
    TRELLIS_XDS_SECRET,
};

void ads_sotw_pump(xds_proxy *p)
{
    if (p->finishing || p->call == NULL || p->snapshot == NULL || !grpc_call_can_send(p->call))
        return;
    xds_server *s = p->server;
    const trellis_host *h = s->host;
    bool proxyless = p->flavor == TRELLIS_XDS_PROXYLESS;
    /* proxyless: hold clusters, endpoints and secrets while the client has
     * not answered a listener or route response (see the top of this file) */
    bool hold = proxyless && (xds_type_unanswered(&p->types[TRELLIS_XDS_LISTENER]) ||
                              xds_type_unanswered(&p->types[TRELLIS_XDS_ROUTE]));
    for (int i = 0; i < TRELLIS_XDS_TYPE_COUNT; i++) {
        trellis_xds_type t = proxyless ? proxyless_push_order[i] : xds_push_order[i];
        if (hold && t != TRELLIS_XDS_LISTENER && t != TRELLIS_XDS_ROUTE)
            break;
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
        if (!needs_response(p, t, target))
            continue;
        bool first_error = false;
        const sotw_response *r = response_cache_get(s->responses, p->snapshot, t, st->wildcard,
                                                    &st->names, keep, &first_error);
        if (r == NULL) {
            xds_proxy_finish(p, GRPC_RESOURCE_EXHAUSTED, "out of memory building a response");
            return;
        }
        st->pending = false;
        if (r->error != NULL) {
            xds_proxy_record_error(p, t, target, r->error, first_error);
            continue;
        }
        xds_proxy_clear_error(st);
        if (r->resource_count == 0 && !xds_type_info_of(t)->full_state) {
            xds_set_string(&st->idle_version, target);
            continue;
        }
        free(st->idle_version);
        st->idle_version = NULL;
        uint64_t nonce = ++p->next_nonce;
        uint8_t tail[32];
        size_t tail_len = xds_nonce_field(DISCOVERY_RESPONSE_NONCE, nonce, tail);
        bool is_update = st->sent_version != NULL && strcmp(st->sent_version, r->version) != 0;
        if (grpc_call_send(p->call, r->body, tail, tail_len) != TRELLIS_OK) {
            xds_proxy_finish(p, GRPC_RESOURCE_EXHAUSTED, "out of memory sending a response");
            return;
        }
        xds_proxy_record_sent(p, t, r->version, nonce, r->resource_count, r->retained_count,
                              is_update);
        return; /* one response in flight; on_send_done pumps again */
    }
}
