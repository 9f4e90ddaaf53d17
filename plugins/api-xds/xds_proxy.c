#include "xds_proxy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envoy/config/core/v3/base.pb-c.h"
#include "pb_wire.h"

static const trellis_host *host_of(const xds_proxy *p)
{
    return p->server->host;
}

void xds_set_string(char **slot, const char *value)
{
    if (*slot != NULL && value != NULL && strcmp(*slot, value) == 0)
        return;
    free(*slot);
    *slot = value ? strdup(value) : NULL;
}

static const char *flavor_name(uint32_t flavor)
{
    return flavor == TRELLIS_XDS_PROXYLESS ? "proxyless" : flavor == TRELLIS_XDS_SIDECAR ? "sidecar" : "";
}

static void pump(xds_proxy *p)
{
    if (p->protocol == ADS_SOTW)
        ads_sotw_pump(p);
    else
        ads_delta_pump(p);
}

/* ------------------------------------------------------------------------ */
/* Stream lifecycle                                                          */
/* ------------------------------------------------------------------------ */

static void on_message(void *arg, const uint8_t *data, size_t len)
{
    xds_proxy *p = arg;
    if (p->finishing)
        return;
    if (p->protocol == ADS_SOTW)
        ads_sotw_on_message(p, data, len);
    else
        ads_delta_on_message(p, data, len);
}

static void on_half_close(void *arg)
{
    xds_proxy *p = arg;
    /* No more requests can come (so no ACKs): end the stream cleanly. */
    xds_proxy_finish(p, GRPC_OK, "%s", "");
}

static void on_send_done(void *arg)
{
    xds_proxy *p = arg;
    pump(p);
}

static void release_identity(xds_proxy *p)
{
    if (p->identity == NULL)
        return;
    xds_server *s = p->server;
    void **slot = strmap_get(&s->identity_streams, p->identity);
    if (slot != NULL) {
        uintptr_t n = (uintptr_t)*slot;
        if (n <= 1)
            strmap_remove(&s->identity_streams, p->identity);
        else
            *slot = (void *)(n - 1);
    }
    s->identified_count--;
    host_of(p)->metric_set(s->metrics.proxies, (double)s->identified_count);
}

static void on_close(void *arg)
{
    xds_proxy *p = arg;
    xds_server *s = p->server;
    const trellis_host *h = host_of(p);
    p->call = NULL;
    if (p->watch)
        h->xds_unwatch(p->watch);
    mbb_free(p);
    if (p->snapshot)
        h->xds_snapshot_unref(p->snapshot);
    if (p->identity != NULL && h->log_enabled(s->ctx, TRELLIS_LOG_INFO)) {
        trellis_log_field fields[] = {
            {"identity", p->identity}, {"node", p->node_id ? p->node_id : ""}, {"peer", p->peer},
        };
        h->log_fields(s->ctx, TRELLIS_LOG_INFO, "proxy_disconnected", fields,
                      sizeof(fields) / sizeof(fields[0]));
    }
    release_identity(p);
    if (p->all_prev)
        p->all_prev->all_next = p->all_next;
    else
        s->proxies = p->all_next;
    if (p->all_next)
        p->all_next->all_prev = p->all_prev;
    s->proxy_count--;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        ads_type_state *st = &p->types[t];
        name_set_free(&st->names);
        free(st->client_version);
        free(st->sent_version);
        free(st->acked_version);
        free(st->nack_version);
        free(st->nack_message);
        free(st->error);
        free(st->error_version);
        free(st->idle_version);
        free(st->evaluated_version);
        ads_delta_free_state(st);
    }
    free(p->node_id);
    free(p->node_cluster);
    free(p->user_agent);
    free(p->identity);
    free(p);
}

static const grpc_call_handler proxy_handler = {
    .on_message = on_message,
    .on_half_close = on_half_close,
    .on_send_done = on_send_done,
    .on_close = on_close,
};

bool xds_service_open(xds_server *s, grpc_call *call, const char *path)
{
    ads_protocol protocol;
    if (strcmp(path, ADS_SOTW_PATH) == 0)
        protocol = ADS_SOTW;
    else if (strcmp(path, ADS_DELTA_PATH) == 0)
        protocol = ADS_DELTA;
    else
        return false;
    if (s->stopping) {
        grpc_call_finish(call, GRPC_UNAVAILABLE, "the xDS server is shutting down");
        return true;
    }
    xds_proxy *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        grpc_call_finish(call, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return true;
    }
    p->server = s;
    p->call = call;
    p->protocol = protocol;
    snprintf(p->peer, sizeof(p->peer), "%s", grpc_call_peer(call));
    p->connected_at = s->host->wall_time();
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        name_set_init(&p->types[t].names);
        strmap_init(&p->types[t].known);
    }
    p->all_next = s->proxies;
    if (s->proxies)
        s->proxies->all_prev = p;
    s->proxies = p;
    s->proxy_count++;
    grpc_call_set_handler(call, &proxy_handler, p);
    return true;
}

void xds_proxy_finish(xds_proxy *p, int code, const char *fmt, ...)
{
    if (p->finishing || p->call == NULL)
        return;
    p->finishing = true;
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (code != GRPC_OK) {
        const trellis_host *h = host_of(p);
        char status[16];
        snprintf(status, sizeof(status), "%d", code);
        trellis_log_field fields[] = {
            {"node", p->node_id ? p->node_id : ""}, {"peer", p->peer}, {"grpc_status", status},
            {"message", message},
        };
        h->log_fields(p->server->ctx, TRELLIS_LOG_WARN, "stream_ended", fields,
                      sizeof(fields) / sizeof(fields[0]));
    }
    grpc_call_finish(p->call, code, message);
}

/* ------------------------------------------------------------------------ */
/* Identity, flavor, watch                                                   */
/* ------------------------------------------------------------------------ */

/* The first request tells: a full-state type (Listener, Cluster) asked for
 * by wildcard is a sidecar's, by name a proxyless gRPC client's; after any
 * other first type the user agent tells (gRPC's start with "grpc"). */
static uint32_t flavor_for(const xds_type_info *first_type, bool wildcard,
                           const char *user_agent_name)
{
    if (first_type != NULL && first_type->full_state)
        return wildcard ? TRELLIS_XDS_SIDECAR : TRELLIS_XDS_PROXYLESS;
    if (user_agent_name != NULL && strncasecmp(user_agent_name, "grpc", 4) == 0)
        return TRELLIS_XDS_PROXYLESS;
    return TRELLIS_XDS_SIDECAR;
}

static void on_snapshot(void *arg, trellis_xds_snapshot *snapshot)
{
    xds_proxy *p = arg;
    const trellis_host *h = host_of(p);
    if (p->finishing)
        return;
    if (snapshot == NULL) {
        p->server->host->metric_add(p->server->metrics.refused[XDS_REFUSED_UNKNOWN_NODE], 1);
        xds_proxy_finish(p, GRPC_INVALID_ARGUMENT,
                         "%s no longer exists (its mesh, virtual node or virtual gateway was deleted)",
                         p->identity ? p->identity : p->node_id);
        return;
    }
    trellis_xds_snapshot *old = p->snapshot;
    p->snapshot = h->xds_snapshot_ref(snapshot);
    if (old != NULL) {
        h->xds_snapshot_unref(old);
        p->first_snapshot_seen = true;
    }
    mbb_on_snapshot(p);
    pump(p);
}

/* Identity, flavor, watch, quota; false when the stream was ended. */
static bool identify_and_watch(xds_proxy *p, const char *node_id, const char *node_cluster,
                               const char *user_agent_name, const char *user_agent_version,
                               uint32_t flavor)
{
    xds_server *s = p->server;
    const trellis_host *h = s->host;
    p->started = true;
    if (node_id == NULL || node_id[0] == '\0') {
        h->metric_add(s->metrics.refused[XDS_REFUSED_INVALID_NODE], 1);
        xds_proxy_finish(p, GRPC_INVALID_ARGUMENT,
                         "the first request must carry node.id: the virtual node or virtual gateway "
                         "ARN, or mesh/<mesh>/virtualNode/<name>");
        return false;
    }
    xds_set_string(&p->node_id, node_id);
    xds_set_string(&p->node_cluster, node_cluster && *node_cluster ? node_cluster : NULL);
    if (user_agent_name && *user_agent_name) {
        char ua[256];
        snprintf(ua, sizeof(ua), "%s%s%s", user_agent_name, user_agent_version && *user_agent_version ? " " : "",
                 user_agent_version ? user_agent_version : "");
        xds_set_string(&p->user_agent, ua);
    }
    p->flavor = flavor;

    trellis_error *err = h->error_new();
    trellis_status st = h->xds_watch(s->ctx, node_id, flavor, on_snapshot, p, &p->watch, err);
    if (st != TRELLIS_OK) {
        const char *why = err ? h->error_get0_message(err) : "";
        switch (st) {
        case TRELLIS_ERR_NOT_FOUND:
            h->metric_add(s->metrics.refused[XDS_REFUSED_UNKNOWN_NODE], 1);
            xds_proxy_finish(p, GRPC_INVALID_ARGUMENT, "%s", *why ? why : "no such mesh or node");
            break;
        case TRELLIS_ERR_INVALID:
            h->metric_add(s->metrics.refused[XDS_REFUSED_INVALID_NODE], 1);
            xds_proxy_finish(p, GRPC_INVALID_ARGUMENT, "malformed node.id \"%s\": %s", node_id,
                             *why ? why : "not an App Mesh virtual node or gateway");
            break;
        case TRELLIS_ERR_UNAVAILABLE:
            h->metric_add(s->metrics.refused[XDS_REFUSED_UNAVAILABLE], 1);
            xds_proxy_finish(p, GRPC_UNAVAILABLE, "%s", *why ? why : "the catalog is not loaded yet");
            break;
        default:
            xds_proxy_finish(p, GRPC_INTERNAL, "%s", *why ? why : "cannot watch this node");
            break;
        }
        p->watch = NULL;
        h->error_free(err);
        return false;
    }
    h->error_free(err);

    const char *identity = h->xds_watch_identity(p->watch);
    void **slot = strmap_get(&s->identity_streams, identity);
    uintptr_t count = slot ? (uintptr_t)*slot : 0;
    if (count >= s->cfg.max_connections_per_identity) {
        h->xds_unwatch(p->watch);
        p->watch = NULL;
        h->metric_add(s->metrics.refused[XDS_REFUSED_IDENTITY_QUOTA], 1);
        xds_proxy_finish(p, GRPC_RESOURCE_EXHAUSTED,
                         "%s already has %zu connected proxies (max_connections_per_identity %zu)",
                         identity, (size_t)count, s->cfg.max_connections_per_identity);
        return false;
    }
    p->identity = strdup(identity);
    if (p->identity == NULL || !strmap_put(&s->identity_streams, identity, (void *)(count + 1))) {
        free(p->identity);
        p->identity = NULL;
        h->xds_unwatch(p->watch);
        p->watch = NULL;
        xds_proxy_finish(p, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return false;
    }
    s->identified_count++;
    h->metric_set(s->metrics.proxies, (double)s->identified_count);
    if (h->log_enabled(s->ctx, TRELLIS_LOG_INFO)) {
        trellis_log_field fields[] = {
            {"identity", p->identity},
            {"node", node_id},
            {"peer", p->peer},
            {"flavor", flavor_name(flavor)},
            {"protocol", p->protocol == ADS_SOTW ? "sotw" : "delta"},
            {"user_agent", p->user_agent ? p->user_agent : ""},
        };
        h->log_fields(s->ctx, TRELLIS_LOG_INFO, "proxy_connected", fields,
                      sizeof(fields) / sizeof(fields[0]));
    }
    return true;
}

ProtobufCMessage *xds_proxy_decode_request(xds_proxy *p,
                                           const ProtobufCMessageDescriptor *descriptor,
                                           const uint8_t *data, size_t len)
{
    ProtobufCMessage *request = protobuf_c_message_unpack(descriptor, NULL, len, data);
    if (request == NULL) {
        p->server->host->metric_add(p->server->metrics.refused[XDS_REFUSED_BAD_REQUEST], 1);
        xds_proxy_finish(p, GRPC_INVALID_ARGUMENT,
                         "malformed %s (%zu bytes that do not decode as %s)",
                         descriptor->short_name, len, descriptor->name);
    }
    return request;
}

bool xds_proxy_start(xds_proxy *p, const char *request_kind, const char *type_url,
                     const Envoy__Config__Core__V3__Node *node, char *const *names,
                     size_t name_count)
{
    if (type_url[0] == '\0') {
        xds_proxy_finish(p, GRPC_INVALID_ARGUMENT, "type_url is required in a %s", request_kind);
        return false;
    }
    bool wildcard = name_count == 0;
    for (size_t i = 0; i < name_count; i++)
        wildcard |= strcmp(names[i], "*") == 0;
    const char *ua = node ? node->user_agent_name : NULL;
    const char *ua_version =
        node && node->user_agent_version_type_case ==
                    ENVOY__CONFIG__CORE__V3__NODE__USER_AGENT_VERSION_TYPE_USER_AGENT_VERSION
            ? node->user_agent_version
            : NULL;
    return identify_and_watch(p, node ? node->id : NULL, node ? node->cluster : NULL, ua,
                              ua_version, flavor_for(xds_type_by_url(type_url), wildcard, ua));
}

void xds_proxy_ignore_type(xds_proxy *p, const char *type_url)
{
    if (p->unknown_types_logged >= 4)
        return;
    p->unknown_types_logged++;
    const trellis_host *h = host_of(p);
    bool v2 = strstr(type_url, "envoy.api.v2.") != NULL;
    h->log(p->server->ctx, v2 ? TRELLIS_LOG_WARN : TRELLIS_LOG_DEBUG, "unknown_type",
           "node %s (%s) asked for %s%s: not served, ignored", p->node_id ? p->node_id : "?", p->peer,
           type_url[0] ? type_url : "(empty type_url)",
           v2 ? " (xDS v2 is not supported: use resource_api_version V3)" : "");
}

/* ------------------------------------------------------------------------ */
/* Sync status bookkeeping                                                   */
/* ------------------------------------------------------------------------ */

void xds_proxy_record_sent(xds_proxy *p, trellis_xds_type type, const char *version, uint64_t nonce,
                           size_t count, size_t retained, bool is_update)
{
    const trellis_host *h = host_of(p);
    ads_type_state *st = &p->types[type];
    xds_set_string(&st->sent_version, version);
    st->sent_nonce = nonce;
    st->sent_at = h->wall_time();
    st->sent_count = count;
    st->sent_retained = retained;
    if (retained > 0)
        h->metric_add(p->server->metrics.retained_pushes[type], 1);
    mbb_on_sent(p, type);
    /* Latency is measured for updates only: the first response on a stream
     * carries a snapshot that may be hours old. */
    st->sent_changed_ns = is_update && p->first_snapshot_seen ? h->xds_snapshot_changed_ns(p->snapshot) : 0;
    h->metric_add(p->server->metrics.pushes[type], 1);
}

void xds_proxy_record_ack(xds_proxy *p, trellis_xds_type type, const char *version)
{
    const trellis_host *h = host_of(p);
    ads_type_state *st = &p->types[type];
    xds_set_string(&st->acked_version, version);
    st->acked_at = h->wall_time();
    st->ack_count++;
    h->metric_add(p->server->metrics.acks[type], 1);
    if (st->sent_changed_ns != 0) {
        uint64_t now = h->monotonic_ns();
        if (now > st->sent_changed_ns)
            h->metric_observe(p->server->metrics.push_latency, (double)(now - st->sent_changed_ns) / 1e9);
        st->sent_changed_ns = 0;
    }
}

void xds_proxy_record_nack(xds_proxy *p, trellis_xds_type type, const char *message)
{
    const trellis_host *h = host_of(p);
    ads_type_state *st = &p->types[type];
    xds_set_string(&st->nack_version, st->sent_version ? st->sent_version : "");
    xds_set_string(&st->nack_message, message ? message : "");
    st->nack_at = h->wall_time();
    st->nack_count++;
    st->sent_changed_ns = 0;
    h->metric_add(p->server->metrics.nacks[type], 1);
    trellis_log_field fields[] = {
        {"identity", p->identity ? p->identity : ""},
        {"node", p->node_id ? p->node_id : ""},
        {"peer", p->peer},
        {"type", xds_type_info_of(type)->short_name},
        {"version", st->nack_version},
        {"error", st->nack_message},
    };
    h->log_fields(p->server->ctx, TRELLIS_LOG_WARN, "nack", fields, sizeof(fields) / sizeof(fields[0]));
}

void xds_proxy_record_stale(xds_proxy *p, trellis_xds_type type, const char *nonce)
{
    const trellis_host *h = host_of(p);
    h->metric_add(p->server->metrics.stale_requests, 1);
    if (h->log_enabled(p->server->ctx, TRELLIS_LOG_DEBUG))
        h->log(p->server->ctx, TRELLIS_LOG_DEBUG, "stale_nonce",
               "node %s: %s request answers nonce %s, the latest is %llu: ignored",
               p->node_id ? p->node_id : "?", xds_type_info_of(type)->short_name, nonce,
               (unsigned long long)p->types[type].sent_nonce);
}

void xds_proxy_record_error(xds_proxy *p, trellis_xds_type type, const char *version,
                            const char *error, bool first_sight)
{
    const trellis_host *h = host_of(p);
    ads_type_state *st = &p->types[type];
    xds_set_string(&st->error, error);
    xds_set_string(&st->error_version, version);
    if (first_sight) {
        h->metric_add(p->server->metrics.encode_errors, 1);
        trellis_log_field fields[] = {
            {"identity", p->identity ? p->identity : ""},
            {"type", xds_type_info_of(type)->short_name},
            {"version", version},
            {"error", error},
        };
        h->log_fields(p->server->ctx, TRELLIS_LOG_ERROR, "encode_failed", fields,
                      sizeof(fields) / sizeof(fields[0]));
    }
}

bool xds_type_unanswered(const ads_type_state *st)
{
    return st->sent_nonce != 0 && st->answered_nonce != st->sent_nonce;
}

void xds_proxy_clear_error(ads_type_state *st)
{
    free(st->error);
    st->error = NULL;
    free(st->error_version);
    st->error_version = NULL;
}

size_t xds_nonce_field(uint32_t field, uint64_t nonce, uint8_t *out)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)nonce);
    size_t len = pb_varint_encode(((uint64_t)field << 3) | PB_WIRE_LEN, out);
    len += pb_varint_encode((uint64_t)n, out + len);
    memcpy(out + len, digits, (size_t)n);
    return len + (size_t)n;
}

uint64_t xds_parse_nonce(const char *nonce)
{
    uint64_t v = 0;
    if (*nonce == '\0' || strlen(nonce) > 19)
        return 0;
    for (const char *c = nonce; *c; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    return v;
}
