#include "ads_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "envoy/config/core/v3/base.pb-c.h"
#include "google/rpc/status.pb-c.h"

struct ads_client {
    int fd;
    nghttp2_session *session;
    ads_call *calls;
    bool closed;
    bool goaway;
    uint32_t goaway_code;
    uint64_t pings;
    uint8_t *out;           /* bytes nghttp2 produced that the socket did not take yet */
    size_t out_len, out_off, out_cap;
};

int ads_connect_tcp(const char *ip, int port, const char *source_ip)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (source_ip != NULL) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, source_ip, &src.sin_addr);
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

ads_call *ads_client_call(ads_client *c, int32_t stream)
{
    for (ads_call *s = c->calls; s; s = s->next)
        if (s->id == stream)
            return s;
    return NULL;
}

static void deliver(ads_call *s, uint8_t *data, size_t len)
{
    ads_rx_message *m = calloc(1, sizeof(*m));
    m->data = data;
    m->len = len;
    if (s->tail)
        s->tail->next = m;
    else
        s->head = m;
    s->tail = m;
    s->message_count++;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)session;
    (void)flags;
    ads_call *s = ads_client_call(user_data, stream_id);
    if (s == NULL)
        return 0;
    while (len > 0) {
        if (s->prefix_have < 5) {
            size_t n = 5 - s->prefix_have < len ? 5 - s->prefix_have : len;
            memcpy(s->prefix + s->prefix_have, data, n);
            s->prefix_have += n;
            data += n;
            len -= n;
            if (s->prefix_have < 5)
                break;
            s->partial_len = (size_t)s->prefix[1] << 24 | (size_t)s->prefix[2] << 16 |
                             (size_t)s->prefix[3] << 8 | s->prefix[4];
            s->partial = malloc(s->partial_len ? s->partial_len : 1);
            s->partial_have = 0;
        }
        size_t n = s->partial_len - s->partial_have < len ? s->partial_len - s->partial_have : len;
        memcpy(s->partial + s->partial_have, data, n);
        s->partial_have += n;
        data += n;
        len -= n;
        if (s->partial_have == s->partial_len) {
            deliver(s, s->partial, s->partial_len);
            s->partial = NULL;
            s->prefix_have = 0;
        }
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)session;
    (void)flags;
    ads_call *s = ads_client_call(user_data, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        s->http_status = atoi((const char *)value);
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        char tmp[16];
        snprintf(tmp, sizeof(tmp), "%.*s", (int)valuelen, value);
        s->grpc_status = atoi(tmp);
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        size_t n = 0;
        for (size_t i = 0; i < valuelen && n + 1 < sizeof(s->grpc_message); i++) {
            if (value[i] == '%' && i + 2 < valuelen && hexval((char)value[i + 1]) >= 0) {
                s->grpc_message[n++] = (char)(hexval((char)value[i + 1]) * 16 + hexval((char)value[i + 2]));
                i += 2;
            } else {
                s->grpc_message[n++] = (char)value[i];
            }
        }
        s->grpc_message[n] = '\0';
    }
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    (void)session;
    ads_call *s = ads_client_call(user_data, stream_id);
    if (s != NULL) {
        s->closed = true;
        s->close_error = error_code;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    ads_client *c = user_data;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = true;
        c->goaway_code = frame->goaway.error_code;
    }
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)session;
    ads_client *c = user_data;
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK))
        c->pings++;
    return 0;
}

static ssize_t read_tx(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                       uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    ads_call *s = source->ptr;
    size_t avail = s->tx_len - s->tx_off;
    if (avail == 0) {
        if (s->tx_end) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        s->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < length ? avail : length;
    memcpy(buf, s->tx + s->tx_off, n);
    s->tx_off += n;
    if (s->tx_off == s->tx_len) {
        s->tx_off = s->tx_len = 0;
        if (s->tx_end)
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

ads_client *ads_client_new(int fd)
{
    return ads_client_new_with_window(fd, 16u << 20);
}

ads_client *ads_client_new_with_window(int fd, uint32_t window)
{
    ads_client *c = calloc(1, sizeof(*c));
    c->fd = fd;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 1);
    if (window > 65535)
        nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, (int32_t)window * 4);
    return c;
}

int ads_client_fd(const ads_client *c)
{
    return c->fd;
}

void ads_client_free(ads_client *c)
{
    if (c == NULL)
        return;
    for (ads_call *s = c->calls, *n; s; s = n) {
        n = s->next;
        for (ads_rx_message *m = s->head, *mn; m; m = mn) {
            mn = m->next;
            free(m->data);
            free(m);
        }
        free(s->partial);
        free(s->tx);
        free(s);
    }
    nghttp2_session_del(c->session);
    free(c->out);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

int32_t ads_client_start(ads_client *c, const char *path, const char *content_type,
                         const char *method)
{
    ads_call *s = calloc(1, sizeof(*s));
    s->grpc_status = -1;
    const char *ct = content_type ? content_type : "application/grpc";
    const char *m = method ? method : "POST";
    nghttp2_nv nva[] = {
        {(uint8_t *)":method", (uint8_t *)m, 7, strlen(m), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)":authority", (uint8_t *)"xds", 10, 3, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)ct, 12, strlen(ct), NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"te", (uint8_t *)"trailers", 2, 8, NGHTTP2_NV_FLAG_NONE},
    };
    nghttp2_data_provider provider = {.source.ptr = s, .read_callback = read_tx};
    int32_t id = nghttp2_submit_request(c->session, NULL, nva, sizeof(nva) / sizeof(nva[0]),
                                        &provider, s);
    if (id < 0) {
        free(s);
        return -1;
    }
    s->id = id;
    s->next = c->calls;
    c->calls = s;
    ads_client_flush(c);
    return id;
}

static bool append_tx(ads_client *c, ads_call *s, const void *data, size_t len)
{
    if (s->tx_len + len > s->tx_cap) {
        size_t cap = s->tx_cap ? s->tx_cap : 1024;
        while (cap < s->tx_len + len)
            cap *= 2;
        s->tx = realloc(s->tx, cap);
        s->tx_cap = cap;
    }
    memcpy(s->tx + s->tx_len, data, len);
    s->tx_len += len;
    if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(c->session, s->id);
    }
    return ads_client_flush(c);
}

bool ads_client_send(ads_client *c, int32_t stream, const void *message, size_t len)
{
    ads_call *s = ads_client_call(c, stream);
    if (s == NULL)
        return false;
    uint8_t prefix[5] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    if (s->tx_len + len + 5 > s->tx_cap) {
        size_t cap = s->tx_cap ? s->tx_cap : 1024;
        while (cap < s->tx_len + len + 5)
            cap *= 2;
        s->tx = realloc(s->tx, cap);
        s->tx_cap = cap;
    }
    memcpy(s->tx + s->tx_len, prefix, 5);
    s->tx_len += 5;
    return append_tx(c, s, message, len);
}

bool ads_client_send_raw(ads_client *c, int32_t stream, const void *bytes, size_t len)
{
    ads_call *s = ads_client_call(c, stream);
    return s != NULL && append_tx(c, s, bytes, len);
}

void ads_client_end(ads_client *c, int32_t stream)
{
    ads_call *s = ads_client_call(c, stream);
    if (s == NULL)
        return;
    s->tx_end = true;
    if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(c->session, s->id);
    }
    ads_client_flush(c);
}

void ads_client_reset(ads_client *c, int32_t stream)
{
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL);
    ads_client_flush(c);
}

bool ads_client_flush(ads_client *c)
{
    if (c->closed)
        return false;
    for (;;) {
        /* first what is already buffered */
        while (c->out_off < c->out_len) {
            ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return true;
                c->closed = true;
                return false;
            }
            c->out_off += (size_t)w;
        }
        c->out_off = c->out_len = 0;
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) {
            c->closed = true;
            return false;
        }
        if (n == 0)
            return true;
        if ((size_t)n > c->out_cap) {
            c->out = realloc(c->out, (size_t)n);
            c->out_cap = (size_t)n;
        }
        memcpy(c->out, data, (size_t)n);
        c->out_len = (size_t)n;
    }
}

bool ads_client_wants_write(const ads_client *c)
{
    return c->out_off < c->out_len || nghttp2_session_want_write(c->session);
}

bool ads_client_io(ads_client *c, unsigned events)
{
    (void)events;
    if (c->closed)
        return false;
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0) {
                c->closed = true;
                return false;
            }
            if ((size_t)n < sizeof(buf))
                break;
        } else if (n == 0) {
            c->closed = true;
            return false;
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                c->closed = true;
                return false;
            }
            break;
        }
    }
    return ads_client_flush(c);
}

ads_rx_message *ads_client_pop(ads_client *c, int32_t stream)
{
    ads_call *s = ads_client_call(c, stream);
    if (s == NULL || s->head == NULL)
        return NULL;
    ads_rx_message *m = s->head;
    s->head = m->next;
    if (s->head == NULL)
        s->tail = NULL;
    return m;
}

bool ads_client_closed(const ads_client *c)
{
    return c->closed;
}

bool ads_client_goaway(const ads_client *c, uint32_t *error_code)
{
    if (c->goaway && error_code)
        *error_code = c->goaway_code;
    return c->goaway;
}

uint64_t ads_client_pings_answered(const ads_client *c)
{
    return c->pings;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* The packed bytes of `m` (malloc'd, never NULL but on allocation failure). */
static uint8_t *pack_message(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(*len ? *len : 1);
    protobuf_c_message_pack(m, out);
    return out;
}

uint8_t *ads_pack_request(const ads_request_spec *spec, size_t *len)
{
    Envoy__Service__Discovery__V3__DiscoveryRequest req = ENVOY__SERVICE__DISCOVERY__V3__DISCOVERY_REQUEST__INIT;
    Envoy__Config__Core__V3__Node node = ENVOY__CONFIG__CORE__V3__NODE__INIT;
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    req.type_url = (char *)(spec->type_url ? spec->type_url : "");
    req.version_info = (char *)(spec->version_info ? spec->version_info : "");
    req.response_nonce = (char *)(spec->response_nonce ? spec->response_nonce : "");
    req.resource_names = (char **)spec->names;
    req.n_resource_names = spec->name_count;
    if (spec->node_id) {
        node.id = (char *)spec->node_id;
        if (spec->user_agent)
            node.user_agent_name = (char *)spec->user_agent;
        req.node = &node;
    }
    if (spec->nack_message) {
        status.code = 3;
        status.message = (char *)spec->nack_message;
        req.error_detail = &status;
    }
    return pack_message(&req.base, len);
}

uint8_t *ads_pack_delta_request(const ads_delta_spec *spec, size_t *len)
{
    Envoy__Service__Discovery__V3__DeltaDiscoveryRequest req =
        ENVOY__SERVICE__DISCOVERY__V3__DELTA_DISCOVERY_REQUEST__INIT;
    Envoy__Config__Core__V3__Node node = ENVOY__CONFIG__CORE__V3__NODE__INIT;
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    req.type_url = (char *)spec->type_url;
    req.response_nonce = (char *)(spec->response_nonce ? spec->response_nonce : "");
    req.resource_names_subscribe = (char **)spec->subscribe;
    req.n_resource_names_subscribe = spec->subscribe_count;
    req.resource_names_unsubscribe = (char **)spec->unsubscribe;
    req.n_resource_names_unsubscribe = spec->unsubscribe_count;
    Envoy__Service__Discovery__V3__DeltaDiscoveryRequest__InitialResourceVersionsEntry entries[16];
    Envoy__Service__Discovery__V3__DeltaDiscoveryRequest__InitialResourceVersionsEntry *ptrs[16];
    for (size_t i = 0; i < spec->initial_count && i < 16; i++) {
        envoy__service__discovery__v3__delta_discovery_request__initial_resource_versions_entry__init(&entries[i]);
        entries[i].key = (char *)spec->initial_names[i];
        entries[i].value = (char *)spec->initial_versions[i];
        ptrs[i] = &entries[i];
    }
    req.initial_resource_versions = ptrs;
    req.n_initial_resource_versions = spec->initial_count < 16 ? spec->initial_count : 16;
    if (spec->node_id) {
        node.id = (char *)spec->node_id;
        req.node = &node;
    }
    if (spec->nack_message) {
        status.code = 3;
        status.message = (char *)spec->nack_message;
        req.error_detail = &status;
    }
    return pack_message(&req.base, len);
}

bool ads_send_request(ads_client *c, int32_t stream, const ads_request_spec *spec)
{
    size_t len;
    uint8_t *msg = ads_pack_request(spec, &len);
    bool sent = ads_client_send(c, stream, msg, len);
    free(msg);
    return sent;
}

bool ads_send_delta_request(ads_client *c, int32_t stream, const ads_delta_spec *spec)
{
    size_t len;
    uint8_t *msg = ads_pack_delta_request(spec, &len);
    bool sent = ads_client_send(c, stream, msg, len);
    free(msg);
    return sent;
}

Envoy__Service__Discovery__V3__DiscoveryResponse *ads_unpack_response(const uint8_t *data, size_t len)
{
    return (Envoy__Service__Discovery__V3__DiscoveryResponse *)protobuf_c_message_unpack(
        &envoy__service__discovery__v3__discovery_response__descriptor, NULL, len, data);
}

Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *ads_unpack_delta_response(const uint8_t *data,
                                                                                 size_t len)
{
    return (Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *)protobuf_c_message_unpack(
        &envoy__service__discovery__v3__delta_discovery_response__descriptor, NULL, len, data);
}

const char *ads_delta_summary(const Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *r)
{
    static char out[2048];
    size_t n = 0;
    out[0] = '\0';
    /* past the end the rest is cut (n stops growing once it reaches the size) */
    for (size_t i = 0; r && i < r->n_resources && n < sizeof(out); i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", n ? "," : "",
                              r->resources[i]->name);
    for (size_t i = 0; r && i < r->n_removed_resources && n < sizeof(out); i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s-%s", n ? "," : "",
                              r->removed_resources[i]);
    return out;
}
