/*
 * xds_probe — one ADS client on the command line, for integration tests that
 * drive a real `trellis serve`. It subscribes like Envoy (LDS and CDS by
 * wildcard, then the RDS and EDS names they reference) or like a proxyless
 * gRPC client (--names: LDS by name, then RDS, CDS by name, EDS), ACKs every
 * response (or NACKs one type with --nack), and prints one JSON line per
 * event:
 *
 *   {"event":"response","type":"Listener","version":"..","nonce":"..","resources":["a"]}
 *   {"event":"status","code":3,"message":".."}       the server ended the stream
 *   {"event":"done","reason":"quiet"}                no response for --quiet-ms
 *
 *   xds_probe --server 127.0.0.1:15010 --node mesh/m/virtualNode/web
 *             [--names svc.local:8080,...] [--nack Cluster] [--quiet-ms 1500] [--max-ms 30000]
 * Exit status 0 (the events say what happened), 2 on usage or connection errors.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ads_client.h"
#include "envoy_like.h"

#define LDS_URL "type.googleapis.com/envoy.config.listener.v3.Listener"
#define RDS_URL "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
#define CDS_URL "type.googleapis.com/envoy.config.cluster.v3.Cluster"
#define EDS_URL "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
#define ADS_PATH "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static const char *short_type(const char *url)
{
    const char *dot = strrchr(url, '.');
    return dot ? dot + 1 : url;
}

typedef struct probe {
    ads_client *c;
    int32_t stream;
    const char *node;
    const char *nack_type;
    name_set subscribed[4];     /* LDS, RDS, CDS, EDS as last requested */
    bool wildcard[4];
    bool requested[4];
    char *version[4];
    char *nonce[4];
    bool node_sent;
} probe;

static int type_index(const char *url)
{
    if (strcmp(url, LDS_URL) == 0) return 0;
    if (strcmp(url, RDS_URL) == 0) return 1;
    if (strcmp(url, CDS_URL) == 0) return 2;
    if (strcmp(url, EDS_URL) == 0) return 3;
    return -1;
}

static const char *const urls[4] = {LDS_URL, RDS_URL, CDS_URL, EDS_URL};

static void send_request(probe *p, int t, const char *nack)
{
    ads_request_spec spec = {
        .type_url = urls[t],
        .version_info = p->version[t] ? p->version[t] : "",
        .response_nonce = p->nonce[t] ? p->nonce[t] : "",
        .names = p->wildcard[t] ? NULL : (const char *const *)p->subscribed[t].names,
        .name_count = p->wildcard[t] ? 0 : p->subscribed[t].count,
        .node_id = p->node_sent ? NULL : p->node,
        .user_agent = "trellis-xds-probe",
        .nack_message = nack,
    };
    p->node_sent = true;
    p->requested[t] = true;
    ads_send_request(p->c, p->stream, &spec);
}

/* Subscribes type t to `names` if they differ from the current subscription. */
static void follow(probe *p, int t, name_set *names)
{
    if (p->requested[t] && name_set_equal(names, &p->subscribed[t]))
        return;
    if (names->count == 0 && !p->requested[t])
        return;
    name_set_move(&p->subscribed[t], names);
    send_request(p, t, NULL);
}

static void handle(probe *p, const Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    int t = type_index(r->type_url);
    name_set names;
    name_set_init(&names);
    envoy_like_resource_names(r, &names);
    printf("{\"event\":\"response\",\"type\":\"%s\",\"version\":", short_type(r->type_url));
    print_json_string(r->version_info);
    printf(",\"nonce\":");
    print_json_string(r->nonce);
    printf(",\"resources\":[");
    for (size_t i = 0; i < names.count; i++) {
        printf(i ? "," : "");
        print_json_string(names.names[i]);
    }
    printf("]}\n");
    fflush(stdout);
    name_set_free(&names);
    if (t < 0)
        return;
    bool nack = p->nack_type && strcmp(p->nack_type, short_type(r->type_url)) == 0;
    free(p->nonce[t]);
    p->nonce[t] = strdup(r->nonce);
    if (!nack) {
        free(p->version[t]);
        p->version[t] = strdup(r->version_info);
    }
    send_request(p, t, nack ? "rejected by xds_probe --nack" : NULL);
    name_set next;
    name_set_init(&next);
    if (t == 0) {
        envoy_like_route_names(r, &next);
        follow(p, 1, &next);
    } else if (t == 1 && !p->wildcard[2]) {
        envoy_like_cluster_names(r, &next);
        follow(p, 2, &next);
    } else if (t == 2) {
        envoy_like_endpoint_names(r, &next);
        follow(p, 3, &next);
    }
    name_set_free(&next);
}

int main(int argc, char **argv)
{
    const char *server = NULL, *names = NULL;
    probe p = {0};
    int quiet_ms = 1500, max_ms = 30000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--server") == 0) server = argv[i + 1];
        else if (strcmp(argv[i], "--node") == 0) p.node = argv[i + 1];
        else if (strcmp(argv[i], "--names") == 0) names = argv[i + 1];
        else if (strcmp(argv[i], "--nack") == 0) p.nack_type = argv[i + 1];
        else if (strcmp(argv[i], "--quiet-ms") == 0) quiet_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--max-ms") == 0) max_ms = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (server == NULL || p.node == NULL) {
        fprintf(stderr, "usage: xds_probe --server HOST:PORT --node ID [--names a,b] [--nack TYPE]\n");
        return 2;
    }
    char host[64];
    const char *colon = strrchr(server, ':');
    snprintf(host, sizeof(host), "%.*s", (int)(colon - server), server);
    int fd = ads_connect_tcp(host, atoi(colon + 1), NULL);
    if (fd < 0) {
        perror("connect");
        return 2;
    }
    p.c = ads_client_new(fd);
    p.stream = ads_client_start(p.c, ADS_PATH, NULL, NULL);
    for (int t = 0; t < 4; t++)
        name_set_init(&p.subscribed[t]);
    if (names != NULL) {
        char *copy = strdup(names);
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
            name_set_add(&p.subscribed[0], tok);
        free(copy);
        send_request(&p, 0, NULL);
    } else {
        p.wildcard[0] = p.wildcard[2] = true;
        send_request(&p, 0, NULL);
        send_request(&p, 2, NULL);
    }
    uint64_t start = now_ms(), last = start;
    const char *reason = "timeout";
    for (;;) {
        uint64_t now = now_ms();
        if (now - start > (uint64_t)max_ms)
            break;
        if (now - last > (uint64_t)quiet_ms) {
            reason = "quiet";
            break;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN | (ads_client_wants_write(p.c) ? POLLOUT : 0)};
        poll(&pfd, 1, 50);
        if (!ads_client_io(p.c, 0) && ads_client_closed(p.c)) {
            reason = "connection closed";
            break;
        }
        ads_rx_message *m;
        while ((m = ads_client_pop(p.c, p.stream)) != NULL) {
            Envoy__Service__Discovery__V3__DiscoveryResponse *r = ads_unpack_response(m->data, m->len);
            if (r != NULL) {
                handle(&p, r);
                protobuf_c_message_free_unpacked(&r->base, NULL);
            }
            free(m->data);
            free(m);
            last = now_ms();
        }
        ads_call *call = ads_client_call(p.c, p.stream);
        if (call != NULL && call->grpc_status >= 0) {
            printf("{\"event\":\"status\",\"code\":%d,\"message\":", call->grpc_status);
            print_json_string(call->grpc_message);
            printf("}\n");
            reason = "stream ended";
            break;
        }
    }
    printf("{\"event\":\"done\",\"reason\":\"%s\"}\n", reason);
    for (int t = 0; t < 4; t++) {
        name_set_free(&p.subscribed[t]);
        free(p.version[t]);
        free(p.nonce[t]);
    }
    ads_client_free(p.c);
    return 0;
}
