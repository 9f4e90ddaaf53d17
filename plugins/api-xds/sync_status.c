/*
 * The "proxies" debug view (api.admin serves it at GET /debug/proxies): every
 * connected proxy with its identity, flavor, peer and connection time, and
 * per subscribed type the version the snapshot holds, the version sent, the
 * version ACKed and the last NACK; a summary counts proxies out of sync.
 *
 * Query: node=<node id>, identity=<mesh/M/virtualNode/N>, out_of_sync=1,
 * limit=<n> (default 1000; the summary always covers every proxy).
 *
 * A type is in sync when the proxy ACKed the version its snapshot holds (or
 * when there is nothing to send it: named routes or endpoints that do not
 * exist yet). A proxy is in sync when its identity was accepted, its first
 * snapshot arrived and every type it subscribed to is in sync. A sidecar
 * in the middle of a make-before-break change (make_before_break.h) is out
 * of sync: its Cluster response carries the union's version, and
 * resources_retained says how many resources it kept.
 */
#include "sync_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_server.h"
#include "text_buffer.h"
#include "xds_proxy.h"

#define DEFAULT_LIMIT 1000
#define MAX_LIMIT 1000000
/* a node id or identity filter: an ARN with two names of up to 1,020 bytes */
#define FILTER_MAX 4096

static void append_time(text_buffer *out, double t)
{
    if (t <= 0) {
        tb_append(out, "null");
        return;
    }
    time_t secs = (time_t)t;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[48];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    tb_appendf(out, "\"%s.%03dZ\"", buf, (int)((t - (double)secs) * 1000) % 1000);
}

static void append_string_or_null(text_buffer *out, const char *s)
{
    if (s == NULL)
        tb_append(out, "null");
    else
        tb_append_json_string(out, s);
}

static const char *current_version(const xds_proxy *p, trellis_xds_type t)
{
    if (p->snapshot == NULL)
        return NULL;
    return p->server->host->xds_snapshot_version(p->snapshot, t);
}

static bool type_in_sync(const xds_proxy *p, trellis_xds_type t)
{
    const ads_type_state *st = &p->types[t];
    if (!st->subscribed)
        return true;
    const char *current = current_version(p, t);
    if (current == NULL || st->error != NULL)
        return false;
    if (st->acked_version != NULL && strcmp(st->acked_version, current) == 0)
        return true;
    return st->idle_version != NULL && strcmp(st->idle_version, current) == 0;
}

static bool proxy_in_sync(const xds_proxy *p)
{
    if (p->identity == NULL || p->snapshot == NULL || p->finishing)
        return false;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
        if (!type_in_sync(p, (trellis_xds_type)t))
            return false;
    return true;
}

static bool proxy_nacked(const xds_proxy *p)
{
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        const ads_type_state *st = &p->types[t];
        /* A NACK counts while the rejected version is still the newest sent. */
        if (st->nack_version != NULL && st->sent_version != NULL &&
            strcmp(st->nack_version, st->sent_version) == 0 &&
            (st->acked_version == NULL || strcmp(st->acked_version, st->sent_version) != 0))
            return true;
    }
    return false;
}

static void append_type(text_buffer *out, const xds_proxy *p, trellis_xds_type t)
{
    const ads_type_state *st = &p->types[t];
    tb_append(out, "{\"subscription\":");
    if (st->wildcard) {
        tb_append(out, "\"*\"");
        if (st->names.count > 0)
            tb_append(out, ",\"also_named\":");
    }
    if (!st->wildcard || st->names.count > 0) {
        tb_append(out, "[");
        for (size_t i = 0; i < st->names.count; i++) {
            tb_append(out, i ? "," : "");
            tb_append_json_string(out, st->names.names[i]);
        }
        tb_append(out, "]");
    }
    tb_append(out, ",\"version_current\":");
    append_string_or_null(out, current_version(p, t));
    tb_append(out, ",\"version_sent\":");
    append_string_or_null(out, st->sent_version);
    tb_appendf(out,
               ",\"nonce_sent\":\"%llu\",\"resources_sent\":%zu,\"resources_retained\":%zu,"
               "\"sent_at\":",
               (unsigned long long)st->sent_nonce, st->sent_count, st->sent_retained);
    append_time(out, st->sent_nonce ? st->sent_at : 0);
    tb_append(out, ",\"version_acked\":");
    append_string_or_null(out, st->acked_version);
    tb_append(out, ",\"acked_at\":");
    append_time(out, st->acked_at);
    tb_appendf(out, ",\"acks\":%llu,\"nacks\":%llu,\"last_nack\":", (unsigned long long)st->ack_count,
               (unsigned long long)st->nack_count);
    if (st->nack_message != NULL) {
        tb_append(out, "{\"version\":");
        append_string_or_null(out, st->nack_version);
        tb_append(out, ",\"message\":");
        tb_append_json_string(out, st->nack_message);
        tb_append(out, ",\"at\":");
        append_time(out, st->nack_at);
        tb_append(out, "}");
    } else {
        tb_append(out, "null");
    }
    tb_append(out, ",\"error\":");
    append_string_or_null(out, st->error);
    tb_appendf(out, ",\"in_sync\":%s}", type_in_sync(p, t) ? "true" : "false");
}

static void append_proxy(text_buffer *out, const xds_proxy *p, bool in_sync)
{
    tb_append(out, "{\"identity\":");
    append_string_or_null(out, p->identity);
    tb_append(out, ",\"node_id\":");
    append_string_or_null(out, p->node_id);
    tb_append(out, ",\"node_cluster\":");
    append_string_or_null(out, p->node_cluster);
    tb_appendf(out, ",\"flavor\":%s,\"protocol\":\"%s\",\"peer\":",
               p->flavor == TRELLIS_XDS_PROXYLESS ? "\"proxyless\""
               : p->flavor == TRELLIS_XDS_SIDECAR ? "\"sidecar\""
                                                  : "null",
               p->protocol == ADS_SOTW ? "sotw" : "delta");
    tb_append_json_string(out, p->peer);
    tb_append(out, ",\"user_agent\":");
    append_string_or_null(out, p->user_agent);
    tb_append(out, ",\"connected_since\":");
    append_time(out, p->connected_at);
    tb_appendf(out, ",\"in_sync\":%s,\"types\":{", in_sync ? "true" : "false");
    bool first = true;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        if (!p->types[t].subscribed)
            continue;
        tb_append(out, first ? "" : ",");
        first = false;
        tb_append_json_string(out, xds_type_info_of((trellis_xds_type)t)->short_name);
        tb_append(out, ":");
        append_type(out, p, (trellis_xds_type)t);
    }
    tb_append(out, "}}");
}

static trellis_status parse_query(const trellis_host *h, const char *query, char *node,
                                  size_t node_size, char *identity, size_t identity_size,
                                  bool *out_of_sync, size_t *limit, trellis_error *err)
{
    node[0] = identity[0] = '\0';
    *out_of_sync = false;
    *limit = DEFAULT_LIMIT;
    const char *cursor = query ? query : "";
    char name[64], value[FILTER_MAX];
    bool bad = false;
    while (http_query_next(&cursor, name, sizeof(name), value, sizeof(value), &bad)) {
        if (strcmp(name, "node") == 0) {
            snprintf(node, node_size, "%s", value);
        } else if (strcmp(name, "identity") == 0) {
            snprintf(identity, identity_size, "%s", value);
        } else if (strcmp(name, "out_of_sync") == 0) {
            *out_of_sync = strcmp(value, "1") == 0 || strcmp(value, "true") == 0;
        } else if (strcmp(name, "limit") == 0) {
            char *end;
            long long n = strtoll(value, &end, 10);
            if (*value == '\0' || *end != '\0' || n < 1 || n > MAX_LIMIT) {
                h->error_set(err, NULL, "limit must be an integer between 1 and %d", MAX_LIMIT);
                return TRELLIS_ERR_INVALID;
            }
            *limit = (size_t)n;
        } else {
            h->error_set(err, NULL,
                         "unknown query parameter \"%s\" (node, identity, out_of_sync, limit)", name);
            return TRELLIS_ERR_INVALID;
        }
    }
    if (bad) {
        h->error_set(err, NULL, "undecodable query string");
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}

trellis_status xds_sync_status(void *arg, const char *query, char **json_out, trellis_error *err)
{
    xds_server *s = arg;
    const trellis_host *h = s->host;
    char node[FILTER_MAX], identity[FILTER_MAX];
    bool only_out_of_sync;
    size_t limit;
    trellis_status st = parse_query(h, query, node, sizeof(node), identity, sizeof(identity),
                                    &only_out_of_sync, &limit, err);
    if (st != TRELLIS_OK)
        return st;

    text_buffer list;
    tb_init(&list);
    size_t listed = 0, matched = 0, out_of_sync = 0, nacked = 0, errors = 0;
    for (const xds_proxy *p = s->proxies; p; p = p->all_next) {
        bool in_sync = proxy_in_sync(p);
        if (!in_sync)
            out_of_sync++;
        if (proxy_nacked(p))
            nacked++;
        for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
            if (p->types[t].error != NULL) {
                errors++;
                break;
            }
        if (node[0] && (p->node_id == NULL || strcmp(node, p->node_id) != 0))
            continue;
        if (identity[0] && (p->identity == NULL || strcmp(identity, p->identity) != 0))
            continue;
        if (only_out_of_sync && in_sync)
            continue;
        matched++;
        if (listed >= limit)
            continue;
        tb_append(&list, listed ? ",\n" : "\n");
        append_proxy(&list, p, in_sync);
        listed++;
    }
    text_buffer out;
    tb_init(&out);
    tb_appendf(&out,
               "{\"summary\":{\"streams\":%zu,\"connected_proxies\":%zu,\"identities\":%zu,"
               "\"out_of_sync\":%zu,\"nacked\":%zu,\"encode_errors\":%zu,\"connections\":%zu},"
               "\"matched\":%zu,\"truncated\":%s,\"proxies\":[",
               s->proxy_count, s->identified_count, s->identity_streams.count, out_of_sync, nacked,
               errors, s->conn_count, matched, matched > listed ? "true" : "false");
    tb_append_len(&out, list.data ? list.data : "", list.len);
    tb_append(&out, "]}\n");
    bool failed = tb_failed(&list) || tb_failed(&out);
    tb_free(&list);
    if (failed) {
        tb_free(&out);
        h->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    /* The caller frees with host->free: copy into host memory. */
    char *json = h->alloc(out.len + 1);
    if (json == NULL) {
        tb_free(&out);
        h->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    memcpy(json, out.data, out.len + 1);
    tb_free(&out);
    *json_out = json;
    return TRELLIS_OK;
}
