/*
 * Make before break (make_before_break.h) against api.xds on the fake host,
 * with an Envoy-like client that follows listeners to routes and clusters to
 * endpoints, and ACKs (or NACKs, or holds back) what it gets:
 *
 *  - a sidecar whose route moves from cluster a to b gets a Cluster response
 *    with both (its own version), then the routes, and the Cluster response
 *    without a only once it ACKed them; two streams get the same union;
 *  - a NACK of the new routes keeps the union until newer routes are ACKed;
 *  - a removal nothing references goes out at once, with the snapshot's own
 *    version (also in the middle of a move);
 *  - clusters named by listeners (tcp_proxy) are kept until the Listener ACK;
 *  - a proxy that does not answer its routes pins no trail of versions: its
 *    Cluster responses keep what its ACKed and in-flight routes name, and
 *    the next routes coalesce to the newest snapshot;
 *  - delta: removed_resources for a cluster (and its endpoints) only after
 *    the RouteConfiguration ACK;
 *  - proxyless clients: routes first, clusters after, never a union.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envoy_like.h"
#include "test_check.h"
#include "xds_test_env.h"

#define SIDECAR "mesh/m/virtualNode/web"
#define SIDECAR_2 "mesh/m/virtualNode/web2"
#define PROXYLESS "mesh/m/virtualNode/grpc"

#define HCM_TYPE                                                                                   \
    "type.googleapis.com/"                                                                         \
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER_FILTER                                                                              \
    "\"http_filters\":[{\"name\":\"envoy.filters.http.router\",\"typed_config\":{\"@type\":"       \
    "\"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\"}}]"
#define RDS_SOURCE "\"config_source\":{\"ads\":{},\"resource_api_version\":\"V3\"}"

typedef Envoy__Service__Discovery__V3__DiscoveryResponse response;
typedef Envoy__Service__Discovery__V3__DeltaDiscoveryResponse delta_response;

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

/* An egress listener: HTTP through RDS "r1". */
static const char *http_listener_json(void)
{
    return "{\"name\":\"http\",\"address\":{\"socket_address\":{\"address\":\"0.0.0.0\","
           "\"port_value\":15001}},\"filter_chains\":[{\"filters\":[{\"name\":"
           "\"envoy.filters.network.http_connection_manager\",\"typed_config\":{\"@type\":"
           "\"" HCM_TYPE
           "\",\"stat_prefix\":\"egress\",\"rds\":{\"route_config_name\":\"r1\"," RDS_SOURCE
           "}," ROUTER_FILTER "}}]}]}";
}

/* A TCP listener proxying to `cluster`. */
static const char *tcp_listener_json(const char *cluster)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"name\":\"tcp\",\"address\":{\"socket_address\":{\"address\":\"0.0.0.0\","
             "\"port_value\":15002}},\"filter_chains\":[{\"filters\":[{\"name\":"
             "\"envoy.filters.network.tcp_proxy\",\"typed_config\":{\"@type\":"
             "\"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\","
             "\"stat_prefix\":\"tcp\",\"cluster\":\"%s\"}}]}]}",
             cluster);
    return buf;
}

/* A proxyless client's listener "svc:80": an api_listener through RDS "r1". */
static const char *api_listener_json(void)
{
    return "{\"name\":\"svc:80\",\"api_listener\":{\"api_listener\":{\"@type\":\"" HCM_TYPE
           "\",\"rds\":{\"route_config_name\":\"r1\"," RDS_SOURCE "}," ROUTER_FILTER "}}}";
}

/*
 * Listener "http" (or "svc:80" when proxyless), route configuration r1 to
 * `route_to`, listener "tcp" to `tcp_to` when not NULL, and the EDS clusters
 * in `clusters` ("a,b") with their endpoint assignments.
 */
static fake_snapshot *mesh(uint64_t changed, const char *clusters, const char *route_to,
                           const char *tcp_to, bool proxyless)
{
    fake_snapshot *s = fake_snapshot_new(changed);
    if (proxyless)
        fake_snapshot_add(s, TRELLIS_XDS_LISTENER, "svc:80", api_listener_json());
    else
        fake_snapshot_add(s, TRELLIS_XDS_LISTENER, "http", http_listener_json());
    if (tcp_to != NULL)
        fake_snapshot_add(s, TRELLIS_XDS_LISTENER, "tcp", tcp_listener_json(tcp_to));
    fake_snapshot_add(s, TRELLIS_XDS_ROUTE, "r1", route_json("r1", route_to));
    char *copy = strdup(clusters);
    int ip = 1;
    for (char *name = strtok(copy, ","); name; name = strtok(NULL, ",")) {
        char addr[32];
        snprintf(addr, sizeof(addr), "10.0.0.%d", ip++);
        fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, name, cluster_json(name, "1s"));
        fake_snapshot_add(s, TRELLIS_XDS_ENDPOINT, name, endpoint_json(name, addr));
    }
    free(copy);
    return s;
}

/* ------------------------------------------------------------------------ */
/* An Envoy-like state-of-the-world client                                   */
/* ------------------------------------------------------------------------ */

enum {
    L = TRELLIS_XDS_LISTENER,
    R = TRELLIS_XDS_ROUTE,
    C = TRELLIS_XDS_CLUSTER,
    E = TRELLIS_XDS_ENDPOINT
};
#define TYPES 4
static const char *const type_urls[TYPES] = {LDS, RDS, CDS, EDS};
static const char *const type_names[TYPES] = {"LDS", "RDS", "CDS", "EDS"};

typedef struct event {
    int type;
    char *names; /* "a,b" */
    char *version;
} event;

#define MAX_EVENTS 256

typedef struct sim {
    tclient *t;
    int32_t s;
    const char *node;
    bool proxyless; /* LDS by name; CDS follows the routes by name */
    name_set subscribed[TYPES];
    bool requested[TYPES];
    char *version[TYPES]; /* the version accepted */
    char *nonce[TYPES];   /* the latest nonce received */
    int nack_type;        /* NACK responses of this type (-1: none) */
    bool hold[TYPES];     /* answer responses of this type only when released */
    bool held[TYPES];     /* a response is waiting for its answer */
    event events[MAX_EVENTS];
    size_t count;
} sim;

static int type_index(const char *url)
{
    for (int t = 0; t < TYPES; t++)
        if (strcmp(url, type_urls[t]) == 0)
            return t;
    return -1;
}

static void sim_send(sim *m, int t, const char *nack)
{
    bool wildcard = !m->proxyless && (t == L || t == C);
    ads_request_spec spec = {
        .type_url = type_urls[t],
        .version_info = m->version[t] ? m->version[t] : "",
        .response_nonce = m->nonce[t] ? m->nonce[t] : "",
        .names = wildcard ? NULL : (const char *const *)m->subscribed[t].names,
        .name_count = wildcard ? 0 : m->subscribed[t].count,
        .node_id = m->node,
        .nack_message = nack,
    };
    m->node = NULL; /* the first request only */
    m->requested[t] = true;
    ads_send_request(m->t->c, m->s, &spec);
}

/* Subscribes type t to `names` (Envoy sends them with the type's latest nonce). */
static void sim_follow(sim *m, int t, name_set *names)
{
    if ((m->requested[t] && name_set_equal(names, &m->subscribed[t])) ||
        (names->count == 0 && !m->requested[t]))
        return;
    name_set_move(&m->subscribed[t], names);
    sim_send(m, t, NULL);
}

/* ACKs (keeping `version`) or NACKs the latest response of type t. */
static void sim_answer(sim *m, int t, const char *version)
{
    m->held[t] = false;
    bool nack = m->nack_type == t;
    if (!nack) {
        free(m->version[t]);
        m->version[t] = strdup(version);
    }
    sim_send(m, t, nack ? "rejected by the test" : NULL);
}

static void sim_handle(sim *m, const response *r)
{
    int t = type_index(r->type_url);
    if (t < 0)
        return;
    if (m->count < MAX_EVENTS) {
        event *e = &m->events[m->count++];
        e->type = t;
        e->names = strdup(response_names(r));
        e->version = strdup(r->version_info);
    }
    free(m->nonce[t]);
    m->nonce[t] = strdup(r->nonce);
    if (m->hold[t])
        m->held[t] = true;
    else
        sim_answer(m, t, r->version_info);
    name_set next;
    name_set_init(&next);
    if (t == L) {
        envoy_like_route_names(r, &next);
        sim_follow(m, R, &next);
    } else if (t == R && m->proxyless) {
        envoy_like_cluster_names(r, &next);
        sim_follow(m, C, &next);
    } else if (t == C) {
        envoy_like_endpoint_names(r, &next);
        sim_follow(m, E, &next);
    }
    name_set_free(&next);
}

/* Handles responses until none comes for `quiet_ms`; the number handled. */
static size_t sim_run(sim *m, int quiet_ms)
{
    size_t n = 0;
    response *r;
    while ((r = tc_next(m->t, m->s, quiet_ms)) != NULL) {
        sim_handle(m, r);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        n++;
    }
    return n;
}

/* Answers the held response of type t (ACK, or NACK when nack_type is t). */
static void sim_release(sim *m, int t)
{
    if (!m->held[t])
        return;
    /* the version of the newest response of the type */
    for (size_t i = m->count; i-- > 0;)
        if (m->events[i].type == t) {
            sim_answer(m, t, m->events[i].version);
            return;
        }
}

static sim *sim_start(xds_env *e, const char *node, bool proxyless)
{
    sim *m = calloc(1, sizeof(*m));
    m->t = tc_connect(e);
    m->s = tc_open(m->t, SOTW_PATH);
    m->node = node;
    m->proxyless = proxyless;
    m->nack_type = -1;
    for (int t = 0; t < TYPES; t++)
        name_set_init(&m->subscribed[t]);
    if (proxyless) {
        name_set_add(&m->subscribed[L], "svc:80");
        sim_send(m, L, NULL);
    } else {
        sim_send(m, C, NULL); /* Envoy: CDS and LDS by wildcard */
        sim_send(m, L, NULL);
    }
    return m;
}

static void sim_free(sim *m)
{
    for (int t = 0; t < TYPES; t++) {
        name_set_free(&m->subscribed[t]);
        free(m->version[t]);
        free(m->nonce[t]);
    }
    for (size_t i = 0; i < m->count; i++) {
        free(m->events[i].names);
        free(m->events[i].version);
    }
    tc_close(m->t);
    free(m);
}

static bool has_name(const event *e, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = e->names; (p = strstr(p, name)) != NULL; p += len)
        if ((p == e->names || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
            return true;
    return false;
}

/* The index of the first event from `from` of type t whose names are exactly
 * `names` (NULL: any), or -1. */
static long find(const sim *m, size_t from, int t, const char *names)
{
    for (size_t i = from; i < m->count; i++)
        if (m->events[i].type == t && (names == NULL || strcmp(m->events[i].names, names) == 0))
            return (long)i;
    return -1;
}

static size_t count_type(const sim *m, size_t from, int t)
{
    size_t n = 0;
    for (size_t i = from; i < m->count; i++)
        n += m->events[i].type == t;
    return n;
}

static void print_events(const sim *m, size_t from, const char *why)
{
    fprintf(stderr, "  events (%s):\n", why);
    for (size_t i = from; i < m->count; i++)
        fprintf(stderr, "    %zu %s [%s] %.12s\n", i, type_names[m->events[i].type],
                m->events[i].names, m->events[i].version);
}

/* Whether the events from `from` hold a response of type t without `name`. */
static bool any_without(const sim *m, size_t from, int t, const char *name)
{
    for (size_t i = from; i < m->count; i++)
        if (m->events[i].type == t && !has_name(&m->events[i], name))
            return true;
    return false;
}

static double metric(xds_env *e, const char *name, const char *type)
{
    char label[64];
    snprintf(label, sizeof(label), "type=\"%s\"", type);
    return fake_host_metric(e->fh, name, label);
}

/* ------------------------------------------------------------------------ */
/* State of the world                                                        */
/* ------------------------------------------------------------------------ */

static void test_union_then_routes_then_shrunk(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, SIDECAR, 0, mesh(1, "a,z", "a", NULL, false));
    sim *m = sim_start(&e, SIDECAR, false);
    sim *m2 = sim_start(&e, SIDECAR, false);
    sim_run(m, 300);
    sim_run(m2, 300);
    CHECK(find(m, 0, C, "a,z") >= 0 && find(m, 0, E, "a,z") >= 0 && find(m, 0, L, "http") >= 0 &&
          find(m, 0, R, "r1") >= 0);
    char s1_clusters[64];
    snprintf(s1_clusters, sizeof(s1_clusters), "%s",
             fake_host_version(e.fh, SIDECAR, 0, TRELLIS_XDS_CLUSTER));

    /* r1 moves from a to b; z (named by nothing) goes too */
    size_t start = m->count, start2 = m2->count;
    m->hold[R] = true;
    fake_host_publish(e.fh, SIDECAR, 0, mesh(2, "b", "b", NULL, false));
    sim_run(m, 300);
    const char *s2_clusters = fake_host_version(e.fh, SIDECAR, 0, TRELLIS_XDS_CLUSTER);
    long cds = find(m, start, C, NULL), rds = find(m, start, R, "r1");
    /* endpoints: a's kept (z's dropped) before the routes; b's once the
     * proxy, seeing cluster b, asked for them */
    long eds_first = find(m, start, E, NULL), eds = find(m, start, E, "a,b");
    CHECK(cds >= 0 && eds_first >= 0 && eds >= 0 && rds >= 0);
    if (eds_first >= 0)
        CHECK_STR(m->events[eds_first].names, "a");
    if (cds < 0 || rds < 0) {
        print_events(m, start, "after the move");
    } else {
        /* the first Cluster response keeps a, adds b, drops z at once */
        CHECK_STR(m->events[cds].names, "a,b");
        CHECK(cds < rds && eds_first < rds);
        /* its own version: neither snapshot's */
        CHECK(strcmp(m->events[cds].version, s2_clusters) != 0);
        CHECK(strcmp(m->events[cds].version, s1_clusters) != 0);
        /* nothing drops a before the proxy answered the routes */
        CHECK(!any_without(m, start, C, "a"));
    }
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "node=" SIDECAR, &st);
    CHECK_CONTAINS(view, "\"resources_retained\":1");
    CHECK_CONTAINS(view, "\"in_sync\":false");
    free(view);

    /* the routes ACKed: clusters and endpoints without a, the snapshot's version */
    size_t acked = m->count;
    sim_release(m, R);
    sim_run(m, 300);
    long shrunk = find(m, acked, C, "b");
    CHECK(shrunk >= 0);
    if (shrunk >= 0)
        CHECK_STR(m->events[shrunk].version, s2_clusters);
    CHECK(find(m, acked, E, "b") >= 0);
    CHECK(!any_without(m, acked, C, "b"));
    view = fake_host_debug(e.fh, "proxies", "node=" SIDECAR, &st);
    CHECK_CONTAINS(view, "\"out_of_sync\":1"); /* m2 has not read its responses yet */
    free(view);
    CHECK(metric(&e, "trellis_xds_retained_pushes_total", "Cluster") >= 2);
    CHECK(metric(&e, "trellis_xds_retained_pushes_total", "ClusterLoadAssignment") >= 1);

    /* another stream of the identity, in the same state, gets the same union */
    sim_run(m2, 300);
    long cds2 = find(m2, start2, C, "a,b");
    CHECK(cds2 >= 0 && cds >= 0);
    if (cds2 >= 0 && cds >= 0)
        CHECK_STR(m2->events[cds2].version, m->events[cds].version);
    CHECK(find(m2, start2, C, "b") > cds2);
    view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"out_of_sync\":0");
    free(view);
    sim_free(m);
    sim_free(m2);
    env_stop(&e);
}

static void test_nack_keeps_the_union(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, SIDECAR, 0, mesh(1, "a", "a", NULL, false));
    sim *m = sim_start(&e, SIDECAR, false);
    sim_run(m, 300);
    size_t start = m->count;
    m->nack_type = R;
    fake_host_publish(e.fh, SIDECAR, 0, mesh(2, "b", "b", NULL, false));
    sim_run(m, 300);
    /* the proxy rejected the routes naming b: it still routes to a */
    CHECK(find(m, start, C, "a,b") >= 0 && find(m, start, R, "r1") >= 0);
    CHECK(!any_without(m, start, C, "a"));
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_nacks_total", "type=\"RouteConfiguration\""), 1);
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"resources_retained\":1");
    CHECK_CONTAINS(view, "\"nacked\":1");
    free(view);

    /* newer routes (to c), accepted: a stays until their ACK, then goes;
     * b, named only by the rejected routes, is the snapshot's again */
    m->nack_type = -1;
    start = m->count;
    fake_host_publish(e.fh, SIDECAR, 0, mesh(3, "b,c", "c", NULL, false));
    sim_run(m, 300);
    long with_a = find(m, start, C, "a,b,c"), routes = find(m, start, R, "r1"),
         without_a = find(m, start, C, "b,c");
    CHECK(with_a >= 0 && routes > with_a && without_a > routes);
    if (!(with_a >= 0 && routes > with_a && without_a > routes))
        print_events(m, start, "after the accepted routes");
    if (without_a >= 0)
        CHECK_STR(m->events[without_a].version,
                  fake_host_version(e.fh, SIDECAR, 0, TRELLIS_XDS_CLUSTER));
    sim_free(m);
    env_stop(&e);
}

static void test_unreferenced_removal_goes_at_once(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, SIDECAR, 0, mesh(1, "a,z", "a", NULL, false));
    sim *m = sim_start(&e, SIDECAR, false);
    sim_run(m, 300);
    size_t start = m->count;
    m->hold[R] = m->hold[L] = true; /* nothing to wait for: no route or listener changes */
    fake_host_publish(e.fh, SIDECAR, 0, mesh(2, "a", "a", NULL, false));
    sim_run(m, 300);
    long cds = find(m, start, C, NULL);
    CHECK(cds >= 0);
    if (cds >= 0) {
        CHECK_STR(m->events[cds].names, "a");
        CHECK_STR(m->events[cds].version, fake_host_version(e.fh, SIDECAR, 0, TRELLIS_XDS_CLUSTER));
    }
    CHECK_INT(count_type(m, start, R) + count_type(m, start, L), 0);
    CHECK_INT(metric(&e, "trellis_xds_retained_pushes_total", "Cluster"), 0);
    sim_free(m);
    env_stop(&e);
}

static void test_listener_references_keep_clusters(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, SIDECAR, 0, mesh(1, "a,t", "a", "t", false));
    sim *m = sim_start(&e, SIDECAR, false);
    sim_run(m, 300);
    CHECK(find(m, 0, L, "http,tcp") >= 0);
    size_t start = m->count;
    m->hold[L] = true;
    /* the TCP listener moves from t to u */
    fake_host_publish(e.fh, SIDECAR, 0, mesh(2, "a,u", "a", "u", false));
    sim_run(m, 300);
    long with_t = find(m, start, C, "a,t,u"), listeners = find(m, start, L, "http,tcp");
    CHECK(with_t >= 0 && listeners > with_t);
    CHECK(!any_without(m, start, C, "t"));
    size_t acked = m->count;
    sim_release(m, L);
    sim_run(m, 300);
    CHECK(find(m, acked, C, "a,u") >= 0);
    sim_free(m);
    env_stop(&e);
}

static void test_unanswered_routes_coalesce(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, SIDECAR, 0, mesh(1, "c0", "c0", NULL, false));
    sim *m = sim_start(&e, SIDECAR, false);
    sim_run(m, 300);
    size_t start = m->count;
    m->hold[R] = true; /* the proxy does not answer its routes */
    fake_host_publish(e.fh, SIDECAR, 0, mesh(2, "c1", "c1", NULL, false));
    sim_run(m, 200);
    CHECK(find(m, start, C, "c0,c1") >= 0 && find(m, start, R, "r1") >= 0);
    for (int k = 2; k <= 8; k++) {
        char name[8];
        snprintf(name, sizeof(name), "c%d", k);
        fake_host_publish(e.fh, SIDECAR, 0, mesh(10 + (uint64_t)k, name, name, NULL, false));
        sim_run(m, 100);
    }
    /* the clusters its ACKed routes (c0) and its unanswered routes (c1) name,
     * and the newest snapshot's: never a trail of c2..c7 */
    long last = -1;
    for (size_t i = start; i < m->count; i++) {
        if (m->events[i].type != C)
            continue;
        last = (long)i;
        CHECK(has_name(&m->events[i], "c0") && has_name(&m->events[i], "c1"));
        CHECK(strlen(m->events[i].names) <= strlen("c0,c1,c8"));
    }
    CHECK(last >= 0);
    if (last >= 0)
        CHECK_STR(m->events[last].names, "c0,c1,c8");
    CHECK_INT(count_type(m, start, R), 1); /* no routes while the last ones are unanswered */

    /* it answers: the newest routes (one response for seven snapshots), and
     * clusters for what it may hold now */
    size_t answered = m->count;
    sim_release(m, R);
    sim_run(m, 300);
    CHECK_INT(count_type(m, answered, R), 1);
    CHECK(find(m, answered, C, "c1,c8") >= 0);
    CHECK(find(m, answered, C, "c8") < 0);
    answered = m->count;
    sim_release(m, R);
    sim_run(m, 300);
    CHECK(find(m, answered, C, "c8") >= 0);
    if (find(m, answered, C, "c8") < 0)
        print_events(m, start, "coalescing");
    sim_free(m);
    env_stop(&e);
}

static void test_proxyless_routes_first_no_union(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, PROXYLESS, TRELLIS_XDS_PROXYLESS, mesh(1, "a", "a", NULL, true));
    sim *m = sim_start(&e, PROXYLESS, true);
    sim_run(m, 300);
    CHECK(find(m, 0, L, "svc:80") >= 0 && find(m, 0, R, "r1") >= 0 && find(m, 0, C, "a") >= 0 &&
          find(m, 0, E, "a") >= 0);
    size_t start = m->count;
    fake_host_publish(e.fh, PROXYLESS, TRELLIS_XDS_PROXYLESS, mesh(2, "b", "b", NULL, true));
    sim_run(m, 300);
    long routes = find(m, start, R, "r1"), clusters = find(m, start, C, NULL);
    CHECK(routes >= 0 && clusters > routes);
    /* it follows the routes by name: never both clusters, never a union version */
    for (size_t i = start; i < m->count; i++)
        if (m->events[i].type == C) {
            CHECK(!(has_name(&m->events[i], "a") && has_name(&m->events[i], "b")));
            CHECK_STR(
                m->events[i].version,
                fake_host_version(e.fh, PROXYLESS, TRELLIS_XDS_PROXYLESS, TRELLIS_XDS_CLUSTER));
        }
    CHECK(find(m, start, C, "b") >= 0);
    CHECK_INT(metric(&e, "trellis_xds_retained_pushes_total", "Cluster"), 0);
    sim_free(m);
    env_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Delta                                                                     */
/* ------------------------------------------------------------------------ */

/* The next response, expected of `type_url` with `summary`; ACKed unless `hold`. */
static char *delta_expect(int line, tclient *t, int32_t s, const char *type_url,
                          const char *summary, bool hold)
{
    delta_response *r = tc_next_delta(t, s, 2000);
    bool ok = r != NULL && strcmp(r->type_url, type_url) == 0 &&
              strcmp(ads_delta_summary(r), summary) == 0;
    if (!ok)
        fprintf(stderr, "test_make_before_break.c:%d: expected %s [%s], got %s [%s]\n", line,
                strrchr(type_url, '.') + 1, summary, r ? strrchr(r->type_url, '.') + 1 : "nothing",
                ads_delta_summary(r));
    CHECK(ok);
    char *nonce = r ? strdup(r->nonce) : NULL;
    if (r != NULL && !hold) {
        ads_delta_spec ack = {.type_url = type_url, .response_nonce = r->nonce};
        ads_send_delta_request(t->c, s, &ack);
    }
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    return nonce;
}
#define DELTA_EXPECT(t, s, type, summary) free(delta_expect(__LINE__, t, s, type, summary, false))

static void test_delta_removes_after_the_route_ack(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, SIDECAR, 0, mesh(1, "a,z", "a", NULL, false));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, DELTA_PATH);
    ads_delta_spec cds = {.type_url = CDS, .node_id = SIDECAR};
    ads_send_delta_request(t->c, s, &cds);
    DELTA_EXPECT(t, s, CDS, "a,z");
    const char *az[] = {"a", "z"};
    ads_delta_spec eds = {.type_url = EDS, .subscribe = az, .subscribe_count = 2};
    ads_send_delta_request(t->c, s, &eds);
    DELTA_EXPECT(t, s, EDS, "a,z");
    ads_delta_spec lds = {.type_url = LDS};
    ads_send_delta_request(t->c, s, &lds);
    DELTA_EXPECT(t, s, LDS, "http");
    const char *r1[] = {"r1"};
    ads_delta_spec rds = {.type_url = RDS, .subscribe = r1, .subscribe_count = 1};
    ads_send_delta_request(t->c, s, &rds);
    DELTA_EXPECT(t, s, RDS, "r1");
    CHECK(tc_next_delta(t, s, 200) == NULL);

    /* r1 moves from a to b: b comes, z (named by nothing) goes, a stays */
    fake_host_publish(e.fh, SIDECAR, 0, mesh(2, "b", "b", NULL, false));
    DELTA_EXPECT(t, s, CDS, "b,-z");
    DELTA_EXPECT(t, s, EDS, "-z");
    /* the routes; not answered yet */
    char *routes = delta_expect(__LINE__, t, s, RDS, "r1", true);
    /* like Envoy, it subscribes to b's endpoints */
    const char *b[] = {"b"};
    ads_delta_spec eds_b = {.type_url = EDS, .subscribe = b, .subscribe_count = 1};
    ads_send_delta_request(t->c, s, &eds_b);
    DELTA_EXPECT(t, s, EDS, "b");
    CHECK(tc_next_delta(t, s, 300) == NULL);
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"resources_retained\":1");
    free(view);

    /* the RouteConfiguration ACK: now a goes, then its endpoints */
    ads_delta_spec ack = {.type_url = RDS, .response_nonce = routes ? routes : ""};
    ads_send_delta_request(t->c, s, &ack);
    free(routes);
    DELTA_EXPECT(t, s, CDS, "-a");
    DELTA_EXPECT(t, s, EDS, "-a");
    CHECK(tc_next_delta(t, s, 200) == NULL);
    view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"out_of_sync\":0");
    free(view);
    tc_close(t);
    env_stop(&e);
}

int main(void)
{
    test_union_then_routes_then_shrunk();
    test_nack_keeps_the_union();
    test_unreferenced_removal_goes_at_once();
    test_listener_references_keep_clusters();
    test_unanswered_routes_coalesce();
    test_proxyless_routes_first_no_union();
    test_delta_removes_after_the_route_ack();
    return test_finish("xds_make_before_break");
}
