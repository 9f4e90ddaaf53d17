/*
 * Node identity and the statuses App Mesh ended streams with: 3 for an
 * unknown mesh or node, a malformed or missing node.id, and an identity
 * deleted while connected; 8 above the per-identity quota; 14 while the
 * catalog is not loaded. Each only ends its own stream. Also the
 * sync-status view's filters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_check.h"
#include "xds_test_env.h"

static fake_snapshot *one_cluster(uint64_t changed)
{
    fake_snapshot *s = fake_snapshot_new(changed);
    fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c1", cluster_json("c1", "1s"));
    return s;
}

/* Opens a stream, sends a CDS request as `node`, returns the stream. */
static int32_t open_as(tclient *t, const char *node)
{
    int32_t s = tc_open(t, SOTW_PATH);
    tc_request(t, s, node, CDS, "", "", NULL);
    return s;
}

static void free_response(Envoy__Service__Discovery__V3__DiscoveryResponse *r)
{
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_refusals(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, "mesh/m/virtualNode/ok", 0, one_cluster(1));
    tclient *good = tc_connect(&e);
    int32_t gs = open_as(good, "mesh/m/virtualNode/ok");
    Envoy__Service__Discovery__V3__DiscoveryResponse *r = tc_next(good, gs, 2000);
    CHECK(r != NULL);
    if (r)
        tc_ack(good, gs, r, NULL);
    free_response(r);

    tclient *t = tc_connect(&e);
    /* unknown node in a known format */
    int32_t s1 = open_as(t, "mesh/m/virtualNode/nobody");
    CHECK_INT(tc_status(t, s1, 2000), 3);
    CHECK_CONTAINS(ads_client_call(t->c, s1)->grpc_message, "mesh/m/virtualNode/nobody");
    /* unknown mesh, ARN form */
    int32_t s2 = open_as(t, "arn:aws:appmesh:us-east-1:123456789012:mesh/ghost/virtualNode/x");
    CHECK_INT(tc_status(t, s2, 2000), 3);
    CHECK_CONTAINS(ads_client_call(t->c, s2)->grpc_message, "ghost");
    /* malformed */
    int32_t s3 = open_as(t, "my-envoy");
    CHECK_INT(tc_status(t, s3, 2000), 3);
    CHECK_CONTAINS(ads_client_call(t->c, s3)->grpc_message, "malformed node.id \"my-envoy\"");
    /* no node at all */
    int32_t s4 = open_as(t, NULL);
    CHECK_INT(tc_status(t, s4, 2000), 3);
    CHECK_CONTAINS(ads_client_call(t->c, s4)->grpc_message, "node.id");
    /* catalog not loaded yet: retryable */
    fake_host_set_unavailable(e.fh, true);
    int32_t s5 = open_as(t, "mesh/m/virtualNode/ok");
    CHECK_INT(tc_status(t, s5, 2000), 14);
    fake_host_set_unavailable(e.fh, false);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_refused_total", "reason=\"unknown_node\""), 2);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_refused_total", "reason=\"invalid_node\""), 2);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_refused_total", "reason=\"unavailable\""), 1);
    CHECK(fake_host_log_contains(e.fh, "grpc_status=\"3\""));
    /* the same connection still serves a good stream */
    int32_t s6 = open_as(t, "mesh/m/virtualNode/ok");
    r = tc_next(t, s6, 2000);
    CHECK(r != NULL);
    free_response(r);

    /* the good client's stream was not disturbed: it gets the next version */
    fake_snapshot *s = one_cluster(2);
    fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c2", cluster_json("c2", "1s"));
    fake_host_publish(e.fh, "mesh/m/virtualNode/ok", 0, s);
    r = tc_next(good, gs, 2000);
    CHECK_STR(response_names(r), "c1,c2");
    free_response(r);

    /* the node is deleted while connected: both its streams end with 3 */
    fake_host_delete(e.fh, "mesh/m/virtualNode/ok");
    CHECK_INT(tc_status(good, gs, 2000), 3);
    CHECK_CONTAINS(ads_client_call(good->c, gs)->grpc_message,
                   "mesh/m/virtualNode/ok no longer exists");
    CHECK_INT(tc_status(t, s6, 2000), 3);
    fake_host_run_for(e.fh, 50);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_connected_proxies", NULL), 0);
    CHECK_INT(fake_host_watch_count(e.fh), 0);
    tc_close(t);
    tc_close(good);
    env_stop(&e);
}

static void test_identity_quota(void)
{
    xds_env e;
    CHECK(env_start(&e, "\"max_connections_per_identity\":2"));
    fake_host_publish(e.fh, "mesh/m/virtualNode/q", 0, one_cluster(1));
    fake_host_publish(e.fh, "mesh/m/virtualNode/other", 0, one_cluster(1));
    tclient *c[4];
    int32_t s[4];
    /* the node id forms all name the same identity */
    const char *ids[] = {"mesh/m/virtualNode/q", "arn:aws:appmesh:us-west-2:1:mesh/m/virtualNode/q",
                         "mesh/m@222233334444/virtualNode/q", "mesh/m/virtualNode/other"};
    for (int i = 0; i < 4; i++) {
        c[i] = tc_connect(&e);
        s[i] = open_as(c[i], ids[i]);
        fake_host_run_for(e.fh, 30);
    }
    Envoy__Service__Discovery__V3__DiscoveryResponse *r0 = tc_next(c[0], s[0], 2000);
    Envoy__Service__Discovery__V3__DiscoveryResponse *r1 = tc_next(c[1], s[1], 2000);
    CHECK(r0 != NULL && r1 != NULL);
    CHECK_INT(tc_status(c[2], s[2], 2000), 8);
    CHECK_CONTAINS(ads_client_call(c[2]->c, s[2])->grpc_message,
                   "mesh/m/virtualNode/q already has 2 connected proxies");
    Envoy__Service__Discovery__V3__DiscoveryResponse *r3 = tc_next(c[3], s[3], 2000);
    CHECK(r3 != NULL); /* another identity is not affected */
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_refused_total", "reason=\"identity_quota\""), 1);
    free_response(r0);
    free_response(r1);
    free_response(r3);

    /* the debug view's filters */
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "identity=mesh%2Fm%2FvirtualNode%2Fq", &st);
    CHECK_CONTAINS(view, "\"matched\":2");
    CHECK_CONTAINS(view, "\"identities\":2");
    free(view);
    view = fake_host_debug(e.fh, "proxies", "node=mesh%2Fm%2FvirtualNode%2Fother&limit=1", &st);
    CHECK_CONTAINS(view, "\"matched\":1");
    CHECK_CONTAINS(view, "\"node_id\":\"mesh/m/virtualNode/other\"");
    free(view);
    view = fake_host_debug(e.fh, "proxies", "limit=1", &st);
    CHECK_CONTAINS(view, "\"truncated\":true");
    free(view);
    view = fake_host_debug(e.fh, "proxies", "out_of_sync=1", &st);
    CHECK_CONTAINS(view, "\"matched\":3"); /* nobody ACKed yet */
    free(view);
    view = fake_host_debug(e.fh, "proxies", "colour=blue", &st);
    CHECK(view == NULL);
    CHECK_INT(st, TRELLIS_ERR_INVALID);

    /* a slot frees when a stream ends */
    tc_close(c[0]);
    fake_host_run_for(e.fh, 50);
    tclient *again = tc_connect(&e);
    int32_t sa = open_as(again, "mesh/m/virtualNode/q");
    Envoy__Service__Discovery__V3__DiscoveryResponse *ra = tc_next(again, sa, 2000);
    CHECK(ra != NULL);
    free_response(ra);
    tc_close(again);
    for (int i = 1; i < 4; i++)
        tc_close(c[i]);
    env_stop(&e);
}

int main(void)
{
    test_refusals();
    test_identity_quota();
    return test_finish("xds_ads_identity");
}
