/*
 * State-of-the-world ADS against api.xds on the fake host: initial fetch,
 * ACK, NACK (logged, counted, shown, not resent), stale nonces ignored,
 * reconnect with a known version, wildcard vs named subscriptions, resources
 * that appear later, removal by absence, coalescing for a slow reader, the
 * sync-status view and the metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_check.h"
#include "xds_test_env.h"

#define NODE_A "mesh/m/virtualNode/a"

static fake_snapshot *base_snapshot(uint64_t changed_ns, const char *c2_timeout)
{
    fake_snapshot *s = fake_snapshot_new(changed_ns);
    fake_snapshot_add(s, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000",
                      listener_json("lds_ingress_0.0.0.0_15000", 15000));
    fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c1", cluster_json("c1", "1s"));
    if (c2_timeout)
        fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c2", cluster_json("c2", c2_timeout));
    fake_snapshot_add(s, TRELLIS_XDS_ROUTE, "r1", route_json("r1", "c1"));
    fake_snapshot_add(s, TRELLIS_XDS_ENDPOINT, "c1", endpoint_json("c1", "10.0.0.1"));
    return s;
}

static void free_response(Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_initial_fetch_ack_nack(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(1, "2s"));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);

    /* Envoy: LDS and CDS by wildcard, the node on the first request only */
    tc_request(t, s, "arn:aws:appmesh:us-west-2:111122223333:mesh/m/virtualNode/a", LDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *lds = tc_next(t, s, 2000);
    CHECK(lds != NULL);
    if (lds == NULL) {
        env_stop(&e);
        return;
    }
    CHECK_STR(lds->type_url, LDS);
    CHECK_STR(lds->version_info, fake_host_version(e.fh, NODE_A, 0, TRELLIS_XDS_LISTENER));
    CHECK_STR(response_names(lds), "lds_ingress_0.0.0.0_15000");
    CHECK(lds->nonce[0] != '\0');
    CHECK_STR(lds->resources[0]->type_url, LDS);
    CHECK(lds->control_plane != NULL && strncmp(lds->control_plane->identifier, "trellis/", 8) == 0);
    tc_ack(t, s, lds, NULL);

    tc_request(t, s, NULL, CDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *cds = tc_next(t, s, 2000);
    CHECK(cds != NULL && strcmp(cds->type_url, CDS) == 0);
    CHECK_STR(response_names(cds), "c1,c2");
    CHECK(strcmp(cds->nonce, lds->nonce) != 0);
    /* NACK it: the proxy keeps its last config; nothing is resent */
    tc_nack(t, s, CDS, "", cds->nonce, "cluster c2: unknown field 'x'");
    CHECK(tc_next(t, s, 300) == NULL);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_nacks_total", "type=\"Cluster\""), 1);
    CHECK(fake_host_log_contains(e.fh, "cluster c2: unknown field 'x'"));
    CHECK(fake_host_log_contains(e.fh, "identity=\"mesh/m/virtualNode/a\""));
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_INT(st, TRELLIS_OK);
    CHECK_CONTAINS(view, "\"message\":\"cluster c2: unknown field 'x'\"");
    CHECK_CONTAINS(view, "\"out_of_sync\":1");
    CHECK_CONTAINS(view, "\"nacked\":1");
    CHECK_CONTAINS(view, "\"flavor\":\"sidecar\"");
    free(view);

    /* RDS and EDS by name */
    const char *r1[] = {"r1", NULL};
    tc_request(t, s, NULL, RDS, "", "", r1);
    Envoy__Service__Discovery__V3__DiscoveryResponse *rds = tc_next(t, s, 2000);
    CHECK(rds != NULL && strcmp(rds->type_url, RDS) == 0);
    CHECK_STR(response_names(rds), "r1");
    if (rds)
        tc_ack(t, s, rds, r1);

    /* A new cluster version goes out even after the NACK */
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(fake_host_table(e.fh)->monotonic_ns(), "3s"));
    Envoy__Service__Discovery__V3__DiscoveryResponse *cds2 = tc_next(t, s, 2000);
    CHECK(cds2 != NULL && strcmp(cds2->type_url, CDS) == 0);
    if (cds2) {
        CHECK(strcmp(cds2->version_info, cds->version_info) != 0);
        tc_ack(t, s, cds2, NULL);
    }
    /* routes and listeners did not change: nothing else comes */
    CHECK(tc_next(t, s, 300) == NULL);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_acks_total", "type=\"Cluster\""), 1);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_acks_total", "type=\"Listener\""), 1);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_pushes_total", "type=\"Cluster\""), 2);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_connected_proxies", NULL), 1);
    /* the update's latency (snapshot changed_ns -> ACK) was observed */
    CHECK_INT(fake_host_histogram_count(e.fh, "trellis_xds_push_latency_seconds"), 1);
    view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"out_of_sync\":0");
    CHECK_CONTAINS(view, "\"in_sync\":true");
    free(view);

    free_response(lds);
    free_response(cds);
    free_response(cds2);
    free_response(rds);
    tc_close(t);
    fake_host_run_for(e.fh, 50);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_connected_proxies", NULL), 0);
    CHECK_INT(fake_host_watch_count(e.fh), 0);
    env_stop(&e);
}

static void test_stale_nonce_ignored(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(1, NULL));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    tc_request(t, s, NODE_A, CDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *v1 = tc_next(t, s, 2000);
    CHECK(v1 != NULL);
    if (v1 == NULL) {
        env_stop(&e);
        return;
    }
    /* the server pushes v2 before the client ACKed v1 */
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(2, "5s"));
    Envoy__Service__Discovery__V3__DiscoveryResponse *v2 = tc_next(t, s, 2000);
    CHECK(v2 != NULL);
    /* the ACK of v1 (now stale), even with a changed subscription, is ignored */
    const char *named[] = {"c1", NULL};
    tc_request(t, s, NULL, CDS, v1->version_info, v1->nonce, named);
    CHECK(tc_next(t, s, 300) == NULL);
    /* a nonce we never sent too */
    tc_request(t, s, NULL, CDS, "", "987654", named);
    CHECK(tc_next(t, s, 300) == NULL);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_stale_requests_total", NULL), 2);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_acks_total", NULL), 0);
    /* answering the latest nonce with the new names is a subscription change */
    if (v2) {
        tc_request(t, s, NULL, CDS, v2->version_info, v2->nonce, named);
        Envoy__Service__Discovery__V3__DiscoveryResponse *v3 = tc_next(t, s, 2000);
        CHECK(v3 != NULL);
        CHECK_STR(response_names(v3), "c1");
        free_response(v3);
    }
    free_response(v1);
    free_response(v2);
    tc_close(t);
    env_stop(&e);
}

static void test_reconnect_with_known_version(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(1, NULL));
    const char *current = fake_host_version(e.fh, NODE_A, 0, TRELLIS_XDS_CLUSTER);
    char version[64];
    snprintf(version, sizeof(version), "%s", current);

    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    /* a reconnecting Envoy sends the version it has, without a nonce */
    tc_request(t, s, NODE_A, CDS, version, "", NULL);
    CHECK(tc_next(t, s, 300) == NULL);
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"in_sync\":true");
    free(view);
    /* the next change is pushed */
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(2, "9s"));
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(t, s, 2000);
    CHECK(r != NULL);
    CHECK_STR(response_names(r), "c1,c2");
    free_response(r);
    tc_close(t);

    /* a reconnect with an outdated version gets the current one at once */
    t = tc_connect(&e);
    s = tc_open(t, SOTW_PATH);
    tc_request(t, s, NODE_A, CDS, version, "", NULL);
    r = tc_next(t, s, 2000);
    CHECK(r != NULL);
    if (r)
        CHECK(strcmp(r->version_info, version) != 0);
    free_response(r);
    tc_close(t);
    env_stop(&e);
}

static void test_named_and_missing_resources(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_snapshot *snap = fake_snapshot_new(1);
    fake_snapshot_add(snap, TRELLIS_XDS_LISTENER, "echo.local:8080", listener_json("echo.local:8080", 0));
    fake_snapshot_add(snap, TRELLIS_XDS_LISTENER, "other.local:80", listener_json("other.local:80", 0));
    fake_host_publish(e.fh, NODE_A, TRELLIS_XDS_PROXYLESS, snap);

    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    /* a proxyless gRPC client names its listener */
    const char *echo[] = {"echo.local:8080", NULL};
    tc_request(t, s, NODE_A, LDS, "", "", echo);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(t, s, 2000);
    CHECK(r != NULL);
    CHECK_STR(response_names(r), "echo.local:8080");
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"flavor\":\"proxyless\"");
    CHECK_CONTAINS(view, "\"subscription\":[\"echo.local:8080\"]");
    free(view);
    /* a listener that does not exist: LDS answers (without it) so the client knows */
    const char *missing[] = {"missing.local:1", NULL};
    if (r)
        tc_request(t, s, NULL, LDS, r->version_info, r->nonce, missing);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r2 = tc_next(t, s, 2000);
    CHECK(r2 != NULL);
    if (r2)
        CHECK_INT(r2->n_resources, 0);
    /* a route that does not exist: nothing is sent until it appears */
    const char *route[] = {"echo.local:8080", NULL};
    tc_request(t, s, NULL, RDS, "", "", route);
    CHECK(tc_next(t, s, 300) == NULL);
    fake_snapshot *snap2 = fake_snapshot_new(2);
    fake_snapshot_add(snap2, TRELLIS_XDS_LISTENER, "echo.local:8080", listener_json("echo.local:8080", 0));
    fake_snapshot_add(snap2, TRELLIS_XDS_ROUTE, "echo.local:8080", route_json("echo.local:8080", "c1"));
    fake_host_publish(e.fh, NODE_A, TRELLIS_XDS_PROXYLESS, snap2);
    /* listeners changed too (LDS goes first), then the route arrives */
    Envoy__Service__Discovery__V3__DiscoveryResponse *r3 = tc_next(t, s, 2000);
    if (r3 != NULL && strcmp(r3->type_url, LDS) == 0) {
        free_response(r3);
        r3 = tc_next(t, s, 2000);
    }
    CHECK(r3 != NULL);
    if (r3) {
        CHECK_STR(r3->type_url, RDS);
        CHECK_STR(response_names(r3), "echo.local:8080");
    }
    /* the sidecar flavor of the same node is another identity here: not found */
    tclient *t2 = tc_connect(&e);
    int32_t s2 = tc_open(t2, SOTW_PATH);
    tc_request(t2, s2, NODE_A, LDS, "", "", NULL);
    CHECK_INT(tc_status(t2, s2, 2000), 3);
    tc_close(t2);
    free_response(r);
    free_response(r2);
    free_response(r3);
    tc_close(t);
    env_stop(&e);
}

static void test_removal(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(1, "2s"));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    tc_request(t, s, NODE_A, CDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(t, s, 2000);
    CHECK_STR(response_names(r), "c1,c2");
    if (r)
        tc_ack(t, s, r, NULL);
    free_response(r);
    /* c2 disappears: the next full-state response lacks it */
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(2, NULL));
    r = tc_next(t, s, 2000);
    CHECK_STR(response_names(r), "c1");
    free_response(r);

    tc_close(t);
    env_stop(&e);
}

/* A cluster of about `kib` KiB (a long metadata value), version `v`. */
static const char *big_cluster_json(int kib, int v)
{
    static char *buf;
    free(buf);
    size_t n = (size_t)kib * 1024;
    buf = malloc(n + 256);
    int len = snprintf(buf, 256, "{\"name\":\"big\",\"connect_timeout\":\"%ds\",\"metadata\":"
                                 "{\"filter_metadata\":{\"m\":{\"blob\":\"", v);
    memset(buf + len, 'x', n);
    snprintf(buf + len + n, 64, "\"}}}}");
    return buf;
}

static void test_slow_reader_coalesces(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_snapshot *snap = fake_snapshot_new(1);
    fake_snapshot_add(snap, TRELLIS_XDS_CLUSTER, "big", big_cluster_json(200, 1));
    fake_host_publish(e.fh, NODE_A, 0, snap);
    /* a client with a 64 KiB HTTP/2 window that stops reading: flow control
     * holds the server back after 64 KiB */
    int fd = ads_connect_tcp("127.0.0.1", e.port, NULL);
    tclient *t = calloc(1, sizeof(*t));
    t->env = &e;
    t->c = ads_client_new_with_window(fd, 65535);
    ads_client_flush(t->c);
    int32_t s = ads_client_start(t->c, SOTW_PATH, NULL, NULL);
    tc_request(t, s, NODE_A, CDS, "", "", NULL);
    fake_host_run_for(e.fh, 200);
    for (int i = 0; i < 10; i++) {
        fake_snapshot *next = fake_snapshot_new(2 + (uint64_t)i);
        fake_snapshot_add(next, TRELLIS_XDS_CLUSTER, "big", big_cluster_json(200, 2 + i));
        fake_host_publish(e.fh, NODE_A, 0, next);
        fake_host_run_for(e.fh, 20);
    }
    const char *newest = fake_host_version(e.fh, NODE_A, 0, TRELLIS_XDS_CLUSTER);
    char newest_copy[64];
    snprintf(newest_copy, sizeof(newest_copy), "%s", newest);
    /* now it reads (polling its socket): the first response, then only the newest */
    int received = 0;
    bool got_newest = false;
    Envoy__Service__Discovery__V3__DiscoveryResponse *r;
    uint64_t deadline = fake_host_table(e.fh)->monotonic_ns() + 3000000000ull;
    while (!got_newest && fake_host_table(e.fh)->monotonic_ns() < deadline) {
        ads_client_io(t->c, TRELLIS_WATCH_READ);
        fake_host_run_once(e.fh, 5);
        ads_rx_message *m;
        while ((m = ads_client_pop(t->c, s)) != NULL) {
            r = ads_unpack_response(m->data, m->len);
            received++;
            if (r && strcmp(r->version_info, newest_copy) == 0)
                got_newest = true;
            free_response(r);
            free(m->data);
            free(m);
        }
    }
    CHECK(got_newest);
    CHECK(received >= 2 && received <= 3);
    ads_client_free(t->c);
    free(t);
    env_stop(&e);
}

/* One snapshot changes clusters and routes at once: both types arrive, in
 * order (clusters first), each after the previous one went out. From the
 * second round on, the cluster the routes leave stays in that Cluster
 * response and goes in a third one, after the routes' ACK (make before
 * break, test_make_before_break.c has the details). */
static void test_two_types_change_together(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(1, NULL));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    tc_request(t, s, NODE_A, LDS, "", "", NULL);
    tc_request(t, s, NULL, CDS, "", "", NULL);
    const char *r1[] = {"r1", NULL};
    tc_request(t, s, NULL, RDS, "", "", r1);
    for (int i = 0; i < 3; i++) {
        Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(t, s, 2000);
        CHECK(r != NULL);
        if (r)
            tc_ack(t, s, r, strcmp(r->type_url, RDS) == 0 ? r1 : NULL);
        free_response(r);
    }
    for (int round = 0; round < 20; round++) {
        fake_snapshot *next = fake_snapshot_new(10 + (uint64_t)round);
        char cluster[16], previous[16], timeout[16], both[64], now[64];
        snprintf(cluster, sizeof(cluster), "c%d", round + 10);
        snprintf(previous, sizeof(previous), "c%d", round + 9);
        snprintf(timeout, sizeof(timeout), "%ds", round + 1);
        snprintf(both, sizeof(both), "c1,%s,%s", previous, cluster);
        snprintf(now, sizeof(now), "c1,%s", cluster);
        fake_snapshot_add(next, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000",
                          listener_json("lds_ingress_0.0.0.0_15000", 15000));
        fake_snapshot_add(next, TRELLIS_XDS_CLUSTER, "c1", cluster_json("c1", "1s"));
        fake_snapshot_add(next, TRELLIS_XDS_CLUSTER, cluster, cluster_json(cluster, timeout));
        fake_snapshot_add(next, TRELLIS_XDS_ROUTE, "r1", route_json("r1", cluster));
        fake_host_publish(e.fh, NODE_A, 0, next);
        Envoy__Service__Discovery__V3__DiscoveryResponse *a = tc_next(t, s, 2000);
        Envoy__Service__Discovery__V3__DiscoveryResponse *b = tc_next(t, s, 2000);
        CHECK(a != NULL && strcmp(a->type_url, CDS) == 0);
        CHECK(b != NULL && strcmp(b->type_url, RDS) == 0);
        if (a)
            CHECK_STR(response_names(a), round == 0 ? now : both);
        if (a)
            tc_ack(t, s, a, NULL);
        if (b)
            tc_ack(t, s, b, r1);
        if (round > 0) {
            Envoy__Service__Discovery__V3__DiscoveryResponse *c = tc_next(t, s, 2000);
            CHECK(c != NULL && strcmp(c->type_url, CDS) == 0);
            if (c) {
                CHECK_STR(response_names(c), now);
                tc_ack(t, s, c, NULL);
            }
            free_response(c);
        }
        free_response(a);
        free_response(b);
        if (a == NULL || b == NULL)
            break;
    }
    tc_close(t);
    env_stop(&e);
}

/* A large request (thousands of names, assembled across DATA frames into a
 * growing buffer) is handled like a small one. */
static void test_large_request(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(1, NULL));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    enum { NAMES = 4000 };
    static char storage[NAMES][32];
    static const char *names[NAMES + 1];
    for (int i = 0; i < NAMES; i++) {
        snprintf(storage[i], sizeof(storage[i]), "route-that-does-not-exist-%d", i);
        names[i] = storage[i];
    }
    names[NAMES - 1] = "r1";
    names[NAMES] = NULL;
    tc_request(t, s, NODE_A, RDS, "", "", names);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(t, s, 3000);
    CHECK(r != NULL);
    CHECK_STR(response_names(r), "r1");
    free_response(r);
    tc_close(t);
    env_stop(&e);
}

static void test_unknown_type_and_half_close(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE_A, 0, base_snapshot(1, NULL));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, SOTW_PATH);
    /* an xDS type we do not serve (v2, runtime...) is ignored, the stream lives */
    tc_request(t, s, NODE_A, "type.googleapis.com/envoy.api.v2.Listener", "", "", NULL);
    tc_request(t, s, NULL, "type.googleapis.com/envoy.service.runtime.v3.Runtime", "", "", NULL);
    CHECK(tc_next(t, s, 200) == NULL);
    CHECK(fake_host_log_contains(e.fh, "xDS v2 is not supported"));
    tc_request(t, s, NULL, CDS, "", "", NULL);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(t, s, 2000);
    CHECK(r != NULL);
    free_response(r);
    /* the client half-closes: the stream ends with OK */
    ads_client_end(t->c, s);
    CHECK_INT(tc_status(t, s, 2000), 0);
    tc_close(t);
    env_stop(&e);
}

int main(void)
{
    test_initial_fetch_ack_nack();
    test_stale_nonce_ignored();
    test_reconnect_with_known_version();
    test_named_and_missing_resources();
    test_removal();
    test_slow_reader_coalesces();
    test_two_types_change_together();
    test_large_request();
    test_unknown_type_and_half_close();
    return test_finish("xds_ads_sotw");
}
