#include "envoy_sidecar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#include "envoy_like.h"
#include "xds_types.h"

#define ADS_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"

uint64_t envoy_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool envoy_sidecars_reserve_files(int count)
{
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (rlim_t)count + 64) {
        fprintf(stderr, "the open-file limit (%ld) is too low for %d streams\n", (long)limit.rlim_cur, count);
        return false;
    }
    return true;
}

static void send_request(envoy_sidecar *s, int type, const char *nonce)
{
    bool wildcard = type == TRELLIS_XDS_LISTENER || type == TRELLIS_XDS_CLUSTER;
    ads_request_spec spec = {
        .type_url = xds_type_info_of((trellis_xds_type)type)->url,
        .version_info = s->version[type],
        .response_nonce = nonce ? nonce : "",
        .names = wildcard ? NULL : (const char *const *)s->names[type].names,
        .name_count = wildcard ? 0 : s->names[type].count,
        .node_id = s->node_sent ? NULL : s->node,
        .user_agent = "envoy",
    };
    s->node_sent = true;
    s->requested[type] = true;
    ads_send_request(s->client, s->stream, &spec);
}

bool envoy_sidecar_connect(envoy_sidecar *s, int epoll_fd, uint32_t index, const char *ip, int port,
                           const char *source_ip, const char *node_id)
{
    s->grpc_status = -1;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
        name_set_init(&s->names[t]);
    snprintf(s->node, sizeof(s->node), "%s", node_id);
    s->fd = ads_connect_tcp(ip, port, source_ip);
    if (s->fd < 0)
        return false;
    s->client = ads_client_new(s->fd);
    s->stream = ads_client_start(s->client, ADS_PATH, NULL, NULL);
    send_request(s, TRELLIS_XDS_LISTENER, NULL);
    send_request(s, TRELLIS_XDS_CLUSTER, NULL);
    ads_client_flush(s->client);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = index};
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->fd, &ev) == 0;
}

bool envoy_sidecar_settled(const envoy_sidecar *s)
{
    return s->received[TRELLIS_XDS_LISTENER] && s->received[TRELLIS_XDS_CLUSTER] &&
           (s->names[TRELLIS_XDS_ROUTE].count == 0 || s->received[TRELLIS_XDS_ROUTE]) &&
           (s->names[TRELLIS_XDS_ENDPOINT].count == 0 || s->received[TRELLIS_XDS_ENDPOINT]);
}

int envoy_sidecars_settled(const envoy_sidecar *sidecars, int count)
{
    int settled = 0;
    for (int i = 0; i < count; i++)
        settled += envoy_sidecar_settled(&sidecars[i]);
    return settled;
}

void envoy_sidecar_free(envoy_sidecar *s)
{
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
        name_set_free(&s->names[t]);
    ads_client_free(s->client); /* closes the socket */
    s->client = NULL;
}

/* Subscribes to `next` for `type` if that changes what was asked (Envoy
 * does not ask again for the same names). */
static void follow(envoy_sidecar *s, int type, name_set *next)
{
    if (name_set_equal(next, &s->names[type]) && (s->requested[type] || next->count == 0))
        return;
    name_set_move(&s->names[type], next);
    send_request(s, type, NULL);
}

static void on_response(envoy_sidecar *s, const Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    const xds_type_info *info = xds_type_by_url(r->type_url);
    if (info == NULL)
        return;
    int type = (int)info->type;
    if (strcmp(s->version[type], r->version_info) != 0)
        s->changed_ns[type] = envoy_now_ns();
    snprintf(s->version[type], sizeof(s->version[type]), "%s", r->version_info);
    s->received[type] = true;
    send_request(s, type, r->nonce); /* the ACK */
    name_set next;
    name_set_init(&next);
    if (type == TRELLIS_XDS_LISTENER) {
        envoy_like_route_names(r, &next);
        follow(s, TRELLIS_XDS_ROUTE, &next);
    } else if (type == TRELLIS_XDS_CLUSTER) {
        envoy_like_endpoint_names(r, &next);
        follow(s, TRELLIS_XDS_ENDPOINT, &next);
    }
    name_set_free(&next);
}

static void serve(envoy_sidecar *s, int epoll_fd, uint32_t index)
{
    ads_client_io(s->client, 0);
    ads_rx_message *m;
    while ((m = ads_client_pop(s->client, s->stream)) != NULL) {
        Envoy__Service__Discovery__V3__DiscoveryResponse *r = ads_unpack_response(m->data, m->len);
        if (r != NULL) {
            on_response(s, r);
            protobuf_c_message_free_unpacked(&r->base, NULL);
        }
        free(m->data);
        free(m);
    }
    ads_client_flush(s->client);
    ads_call *call = ads_client_call(s->client, s->stream);
    if (call && call->grpc_status >= 0 && s->grpc_status < 0) {
        s->grpc_status = call->grpc_status;
        fprintf(stderr, "stream %s ended: %d %s\n", s->node, call->grpc_status, call->grpc_message);
    }
    bool wants_write = ads_client_wants_write(s->client);
    if (wants_write != s->wants_write) {
        struct epoll_event ev = {.events = EPOLLIN | (wants_write ? EPOLLOUT : 0), .data.u32 = index};
        epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
        s->wants_write = wants_write;
    }
}

void envoy_sidecars_pump(int epoll_fd, envoy_sidecar *sidecars, int timeout_ms)
{
    struct epoll_event events[512];
    int got = epoll_wait(epoll_fd, events, 512, timeout_ms);
    for (int i = 0; i < got; i++) {
        envoy_sidecar *s = &sidecars[events[i].data.u32];
        if (s->client != NULL)
            serve(s, epoll_fd, events[i].data.u32);
    }
}
