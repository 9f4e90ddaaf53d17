/*
 * Incremental ADS against api.xds: wildcard and named subscriptions, only
 * changed resources sent, removals in removed_resources, "does not exist"
 * answered once, unsubscribe, initial_resource_versions on a reconnect, NACK.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_check.h"
#include "xds_test_env.h"

#define NODE "mesh/m/virtualNode/d"

typedef Envoy__Service__Discovery__V3__DeltaDiscoveryResponse delta_response;

static void free_delta(delta_response *r)
{
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

static const char *resource_version(const delta_response *r, const char *name)
{
    for (size_t i = 0; r && i < r->n_resources; i++)
        if (strcmp(r->resources[i]->name, name) == 0)
            return r->resources[i]->version;
    return NULL;
}

static void ack(tclient *t, int32_t s, const delta_response *r)
{
    ads_delta_spec spec = {.type_url = r->type_url, .response_nonce = r->nonce};
    ads_send_delta_request(t->c, s, &spec);
}

static fake_snapshot *snapshot(uint64_t changed, const char *c1_timeout, bool with_c2, bool with_c3)
{
    fake_snapshot *s = fake_snapshot_new(changed);
    fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c1", cluster_json("c1", c1_timeout));
    if (with_c2)
        fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c2", cluster_json("c2", "1s"));
    if (with_c3)
        fake_snapshot_add(s, TRELLIS_XDS_CLUSTER, "c3", cluster_json("c3", "1s"));
    fake_snapshot_add(s, TRELLIS_XDS_ENDPOINT, "c1", endpoint_json("c1", "10.0.0.1"));
    fake_snapshot_add(s, TRELLIS_XDS_ENDPOINT, "c2", endpoint_json("c2", "10.0.0.2"));
    return s;
}

static void test_wildcard_changes_and_removals(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_host_publish(e.fh, NODE, 0, snapshot(1, "1s", true, false));
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, DELTA_PATH);
    ads_delta_spec first = {.type_url = CDS, .node_id = NODE};
    ads_send_delta_request(t->c, s, &first);
    delta_response *r = tc_next_delta(t, s, 2000);
    CHECK(r != NULL);
    CHECK_STR(ads_delta_summary(r), "c1,c2");
    if (r == NULL) {
        env_stop(&e);
        return;
    }
    CHECK_STR(r->type_url, CDS);
    CHECK_STR(r->system_version_info, fake_host_version(e.fh, NODE, 0, TRELLIS_XDS_CLUSTER));
    CHECK(resource_version(r, "c1") != NULL && strlen(resource_version(r, "c1")) > 0);
    CHECK_STR(r->resources[0]->resource->type_url, CDS);
    char c2_version[64];
    snprintf(c2_version, sizeof(c2_version), "%s", resource_version(r, "c2"));
    ack(t, s, r);
    free_delta(r);

    /* c1 changes, c2 goes, c3 comes: only the difference is sent */
    fake_host_publish(e.fh, NODE, 0, snapshot(2, "5s", false, true));
    r = tc_next_delta(t, s, 2000);
    CHECK_STR(ads_delta_summary(r), "c1,c3,-c2");
    if (r)
        ack(t, s, r);
    free_delta(r);
    /* an unchanged snapshot for this type sends nothing */
    fake_host_publish(e.fh, NODE, 0, snapshot(3, "5s", false, true));
    CHECK(tc_next_delta(t, s, 300) == NULL);

    /* EDS by name, then a name that does not exist (answered once), then unsubscribe */
    const char *sub[] = {"c1", "nope"};
    ads_delta_spec eds = {.type_url = EDS, .subscribe = sub, .subscribe_count = 2};
    ads_send_delta_request(t->c, s, &eds);
    r = tc_next_delta(t, s, 2000);
    CHECK_STR(ads_delta_summary(r), "c1,-nope");
    if (r)
        ack(t, s, r);
    free_delta(r);
    const char *unsub[] = {"c1"};
    ads_delta_spec eds_off = {.type_url = EDS, .unsubscribe = unsub, .unsubscribe_count = 1};
    ads_send_delta_request(t->c, s, &eds_off);
    CHECK(tc_next_delta(t, s, 300) == NULL);
    /* the unsubscribed endpoint changes: nothing comes */
    fake_snapshot *s4 = snapshot(4, "5s", false, true);
    fake_snapshot_add(s4, TRELLIS_XDS_ENDPOINT, "c3", endpoint_json("c3", "10.0.0.3"));
    fake_host_publish(e.fh, NODE, 0, s4);
    CHECK(tc_next_delta(t, s, 300) == NULL);

    /* NACK: counted and shown; the rejected resources are not resent */
    fake_host_publish(e.fh, NODE, 0, snapshot(5, "7s", false, true));
    r = tc_next_delta(t, s, 2000);
    CHECK_STR(ads_delta_summary(r), "c1");
    if (r) {
        ads_delta_spec nack = {.type_url = CDS, .response_nonce = r->nonce,
                               .nack_message = "c1: connect_timeout too large"};
        ads_send_delta_request(t->c, s, &nack);
    }
    free_delta(r);
    CHECK(tc_next_delta(t, s, 300) == NULL);
    CHECK_INT(fake_host_metric(e.fh, "trellis_xds_nacks_total", "type=\"Cluster\""), 1);
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "\"protocol\":\"delta\"");
    CHECK_CONTAINS(view, "c1: connect_timeout too large");
    free(view);
    tc_close(t);

    /* A reconnect with initial_resource_versions: what is current is not resent */
    t = tc_connect(&e);
    s = tc_open(t, DELTA_PATH);
    fake_host_publish(e.fh, NODE, 0, snapshot(6, "7s", true, true));
    fake_host_run_for(e.fh, 20);
    const char *names[] = {"c2", "gone"};
    const char *versions[] = {c2_version, "0123"};
    ads_delta_spec again = {.type_url = CDS, .node_id = NODE, .initial_names = names,
                            .initial_versions = versions, .initial_count = 2};
    ads_send_delta_request(t->c, s, &again);
    r = tc_next_delta(t, s, 2000);
    CHECK_STR(ads_delta_summary(r), "c1,c3,-gone");
    free_delta(r);
    tc_close(t);
    env_stop(&e);
}

static void test_explicit_wildcard_and_empty_initial(void)
{
    xds_env e;
    CHECK(env_start(&e, ""));
    fake_snapshot *snap = fake_snapshot_new(1);
    fake_host_publish(e.fh, NODE, 0, snap); /* no clusters at all */
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, DELTA_PATH);
    const char *star[] = {"*"};
    ads_delta_spec first = {.type_url = CDS, .node_id = NODE, .subscribe = star, .subscribe_count = 1};
    ads_send_delta_request(t->c, s, &first);
    /* the first request is always answered, even with nothing in it */
    delta_response *r = tc_next_delta(t, s, 2000);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->n_resources, 0);
        CHECK_INT(r->n_removed_resources, 0);
        ack(t, s, r);
    }
    free_delta(r);
    fake_host_publish(e.fh, NODE, 0, snapshot(2, "1s", false, false));
    r = tc_next_delta(t, s, 2000);
    CHECK_STR(ads_delta_summary(r), "c1");
    free_delta(r);
    tc_close(t);
    env_stop(&e);
}

/* A response past max_response_bytes is not sent and changes nothing of what
 * the stream believes the client holds: a later snapshot that fits sends
 * every resource, not removals of resources the client never got. */
static void test_oversized_response_changes_nothing(void)
{
    xds_env e;
    CHECK(env_start(&e, "\"max_response_bytes\":65536"));
    fake_snapshot *big = fake_snapshot_new(1);
    char name[32];
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof(name), "c%03d", i);
        fake_snapshot_add(big, TRELLIS_XDS_CLUSTER, name, cluster_json(name, "1s"));
    }
    fake_host_publish(e.fh, NODE, 0, big);
    tclient *t = tc_connect(&e);
    int32_t s = tc_open(t, DELTA_PATH);
    ads_delta_spec first = {.type_url = CDS, .node_id = NODE};
    ads_send_delta_request(t->c, s, &first);
    CHECK(tc_next_delta(t, s, 300) == NULL);
    trellis_status st;
    char *view = fake_host_debug(e.fh, "proxies", "", &st);
    CHECK_CONTAINS(view, "exceeds max_response_bytes (65536)");
    free(view);

    fake_snapshot *small = fake_snapshot_new(2);
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "c%03d", i);
        fake_snapshot_add(small, TRELLIS_XDS_CLUSTER, name, cluster_json(name, "1s"));
    }
    fake_host_publish(e.fh, NODE, 0, small);
    delta_response *r = tc_next_delta(t, s, 2000);
    CHECK_STR(ads_delta_summary(r), "c000,c001,c002");
    free_delta(r);
    tc_close(t);
    env_stop(&e);
}

int main(void)
{
    test_wildcard_changes_and_removals();
    test_explicit_wildcard_and_empty_initial();
    test_oversized_response_changes_nothing();
    return test_finish("xds_ads_delta");
}
