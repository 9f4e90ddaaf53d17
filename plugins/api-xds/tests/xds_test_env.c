#include "xds_test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "google/protobuf/any.pb-c.h"

const trellis_plugin_descriptor *trellis_plugin_entry(void);

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    socklen_t len = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

bool env_start(xds_env *e, const char *extra_config)
{
    memset(e, 0, sizeof(*e));
    e->fh = fake_host_new();
    e->descriptor = trellis_plugin_entry();
    e->port = free_port();
    snprintf(e->address, sizeof(e->address), "127.0.0.1:%d", e->port);
    char json[2048];
    snprintf(json, sizeof(json), "{\"listen\":\"%s\"%s%s}", e->address,
             extra_config && *extra_config ? "," : "", extra_config ? extra_config : "");
    const trellis_config *config = fake_host_config(e->fh, e->descriptor->config_schema, json);
    if (config == NULL) {
        fprintf(stderr, "bad test config %s\n", json);
        return false;
    }
    trellis_error *err = fake_host_table(e->fh)->error_new();
    trellis_status st = e->descriptor->create(fake_host_table(e->fh), fake_host_ctx(e->fh), config,
                                              &e->instance, err);
    if (st == TRELLIS_OK)
        st = e->descriptor->start(e->instance, err);
    if (st != TRELLIS_OK)
        fprintf(stderr, "api.xds did not start: %s\n", fake_host_table(e->fh)->error_get0_message(err));
    fake_host_table(e->fh)->error_free(err);
    return st == TRELLIS_OK;
}

static bool nothing(void *arg)
{
    (void)arg;
    return false;
}

void env_stop(xds_env *e)
{
    if (e->instance) {
        if (e->descriptor->stop(e->instance) == TRELLIS_AGAIN)
            fake_host_run_until(e->fh, nothing, NULL, 100);
        e->descriptor->destroy(e->instance);
    }
    fake_host_free(e->fh);
}

static void on_client_io(int fd, unsigned events, void *arg)
{
    (void)fd;
    tclient *t = arg;
    ads_client_io(t->c, events);
}

tclient *tc_connect(xds_env *e)
{
    int fd = ads_connect_tcp("127.0.0.1", e->port, NULL);
    if (fd < 0)
        return NULL;
    tclient *t = calloc(1, sizeof(*t));
    t->env = e;
    t->c = ads_client_new(fd);
    t->watch = fake_host_watch(e->fh, fd, TRELLIS_WATCH_READ, on_client_io, t);
    ads_client_flush(t->c);
    return t;
}

void tc_close(tclient *t)
{
    if (t == NULL)
        return;
    fake_host_table(t->env->fh)->watch_free(t->watch);
    ads_client_free(t->c);
    free(t);
}

int32_t tc_open(tclient *t, const char *path)
{
    return ads_client_start(t->c, path, NULL, NULL);
}

static size_t count_names(const char *const *names)
{
    size_t n = 0;
    while (names && names[n])
        n++;
    return n;
}

void tc_request(tclient *t, int32_t stream, const char *node_id, const char *type_url,
                const char *version, const char *nonce, const char *const *names)
{
    ads_request_spec spec = {
        .type_url = type_url, .version_info = version, .response_nonce = nonce,
        .names = names, .name_count = count_names(names), .node_id = node_id,
    };
    ads_send_request(t->c, stream, &spec);
}

void tc_nack(tclient *t, int32_t stream, const char *type_url, const char *version,
             const char *nonce, const char *message)
{
    ads_request_spec spec = {
        .type_url = type_url, .version_info = version, .response_nonce = nonce,
        .nack_message = message,
    };
    ads_send_request(t->c, stream, &spec);
}

typedef struct wait_state {
    tclient *t;
    int32_t stream;
} wait_state;

static bool has_message_or_end(void *arg)
{
    wait_state *w = arg;
    ads_call *call = ads_client_call(w->t->c, w->stream);
    return call == NULL || call->head != NULL || call->grpc_status >= 0 || call->closed ||
           ads_client_closed(w->t->c);
}

static ads_rx_message *next_raw(tclient *t, int32_t stream, int timeout_ms)
{
    wait_state w = {t, stream};
    fake_host_run_until(t->env->fh, has_message_or_end, &w, timeout_ms);
    return ads_client_pop(t->c, stream);
}

Envoy__Service__Discovery__V3__DiscoveryResponse *tc_next(tclient *t, int32_t stream, int timeout_ms)
{
    ads_rx_message *m = next_raw(t, stream, timeout_ms);
    if (m == NULL)
        return NULL;
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = ads_unpack_response(m->data, m->len);
    free(m->data);
    free(m);
    return r;
}

Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *tc_next_delta(tclient *t, int32_t stream,
                                                                     int timeout_ms)
{
    ads_rx_message *m = next_raw(t, stream, timeout_ms);
    if (m == NULL)
        return NULL;
    Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *r = ads_unpack_delta_response(m->data, m->len);
    free(m->data);
    free(m);
    return r;
}

static bool has_status(void *arg)
{
    wait_state *w = arg;
    ads_call *call = ads_client_call(w->t->c, w->stream);
    return call == NULL || call->grpc_status >= 0 || ads_client_closed(w->t->c);
}

int tc_status(tclient *t, int32_t stream, int timeout_ms)
{
    wait_state w = {t, stream};
    fake_host_run_until(t->env->fh, has_status, &w, timeout_ms);
    ads_call *call = ads_client_call(t->c, stream);
    return call ? call->grpc_status : -1;
}

void tc_ack(tclient *t, int32_t stream, const Envoy__Service__Discovery__V3__DiscoveryResponse *r,
            const char *const *names)
{
    tc_request(t, stream, NULL, r->type_url, r->version_info, r->nonce, names);
}

const char *response_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    static char out[4096];
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; r && i < r->n_resources; i++) {
        const Google__Protobuf__Any *any = r->resources[i];
        const ProtobufCMessageDescriptor *d = NULL;
        if (strstr(any->type_url, "Listener"))
            d = &envoy__config__listener__v3__listener__descriptor;
        else if (strstr(any->type_url, "RouteConfiguration"))
            d = &envoy__config__route__v3__route_configuration__descriptor;
        else if (strstr(any->type_url, "Cluster") && !strstr(any->type_url, "LoadAssignment"))
            d = &envoy__config__cluster__v3__cluster__descriptor;
        else
            d = &envoy__config__endpoint__v3__cluster_load_assignment__descriptor;
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, any->value.len, any->value.data);
        const char *name = "?";
        if (m != NULL) {
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
                d, d == &envoy__config__endpoint__v3__cluster_load_assignment__descriptor ? "cluster_name"
                                                                                            : "name");
            name = *(char **)((char *)m + f->offset);
        }
        if (n < sizeof(out)) /* past the end: the rest is cut */
            n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "", name);
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
    }
    return out;
}

const char *listener_json(const char *name, int port)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"name\":\"%s\",\"address\":{\"socket_address\":{\"address\":\"0.0.0.0\","
             "\"port_value\":%d}}}",
             name, port);
    return buf;
}

const char *cluster_json(const char *name, const char *timeout)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"name\":\"%s\",\"type\":\"EDS\",\"connect_timeout\":\"%s\",\"eds_cluster_config\":"
             "{\"eds_config\":{\"ads\":{},\"resource_api_version\":\"V3\"}}}",
             name, timeout);
    return buf;
}

const char *route_json(const char *name, const char *cluster)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"name\":\"%s\",\"virtual_hosts\":[{\"name\":\"vh\",\"domains\":[\"*\"],\"routes\":"
             "[{\"match\":{\"prefix\":\"/\"},\"route\":{\"cluster\":\"%s\"}}]}]}",
             name, cluster);
    return buf;
}

const char *endpoint_json(const char *cluster, const char *ip)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"cluster_name\":\"%s\",\"endpoints\":[{\"lb_endpoints\":[{\"endpoint\":{\"address\":"
             "{\"socket_address\":{\"address\":\"%s\",\"port_value\":8080}}}}]}]}",
             cluster, ip);
    return buf;
}
