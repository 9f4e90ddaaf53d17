/*
 * discovery.dns against a real DNS server on loopback that the test
 * controls (tests/support/dns_responder.py, UDP and TCP), through the plugin
 * harness: TTLs respected within [min_ttl, max_ttl], changed answers,
 * NXDOMAIN as an empty set, timeouts and SERVFAIL as failures that keep the
 * last set, the IP preferences (and only the families they need asked),
 * CNAME chains, TCP after a truncated answer, decoy answers ignored, random
 * source ports, and search domains.
 *
 *   dns_plugin_test <plugin dir> <dns_responder.py> [python]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <trellis/discovery.h>

#include "line_process.h"
#include "plugin_harness.h"
#include "test_check.h"

#define CALL_MS 10000

static harness *h;
static line_process *dns;
static char server[64];

typedef struct recorder {
    trellis_discovery_watch *watch;
    int updates;
    int failures;
    char last[512];
    char error[512];
    uint64_t last_update_ns;
} recorder;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int text_compare(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void on_update(void *arg, trellis_status status, const trellis_endpoint *eps, size_t count,
                      const char *message)
{
    recorder *r = arg;
    r->last_update_ns = now_ns();
    if (status != TRELLIS_OK) {
        r->failures++;
        snprintf(r->error, sizeof(r->error), "%s", message ? message : "");
        return;
    }
    r->updates++;
    const char *sorted[32];
    size_t n = count < 32 ? count : 32;
    for (size_t i = 0; i < n; i++) {
        sorted[i] = eps[i].address;
        CHECK_INT(eps[i].port, 0); /* DNS has no ports: the core uses the listener's */
    }
    qsort(sorted, n, sizeof(*sorted), text_compare);
    r->last[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(r->last);
        snprintf(r->last + len, sizeof(r->last) - len, "%s%s", i ? " " : "", sorted[i]);
    }
}

/* ---- the DNS server ---- */

static void dns_call(const char *fmt, const char *a, const char *b)
{
    char line[1024];
    snprintf(line, sizeof(line), fmt, a, b);
    json_t *reply = line_process_call(dns, line, CALL_MS);
    CHECK(reply != NULL);
    json_decref(reply);
}

static void set_records(const char *name, const char *a_json, const char *aaaa_json, int ttl)
{
    char line[1024];
    snprintf(line, sizeof(line), "{\"op\": \"set\", \"name\": \"%s\", \"A\": %s, \"AAAA\": %s, \"ttl\": %d}",
             name, a_json, aaaa_json, ttl);
    json_t *reply = line_process_call(dns, line, CALL_MS);
    CHECK(reply != NULL);
    json_decref(reply);
}

static void set_mode(const char *mode)
{
    dns_call("{\"op\": \"mode\", \"mode\": \"%s\"%s}", mode, "");
}

/* How often the server was asked for name/TYPE; the UDP ports seen. */
static long queries_for(const char *name_type)
{
    json_t *stats = line_process_call(dns, "{\"op\": \"stats\"}", CALL_MS);
    long n = (long)json_integer_value(json_object_get(json_object_get(stats, "names"), name_type));
    json_decref(stats);
    return n;
}

static long stat_value(const char *key)
{
    json_t *stats = line_process_call(dns, "{\"op\": \"stats\"}", CALL_MS);
    long n = (long)json_integer_value(json_object_get(stats, key));
    json_decref(stats);
    return n;
}

/* ---- plugin instances ---- */

typedef struct instance {
    harness_instance *hi;
    const trellis_discovery_ops *ops;
    void *plugin;
} instance;

static bool instance_start(instance *in, const char *extra_config)
{
    char config[1024], err[1024];
    snprintf(config, sizeof(config),
             "{\"nameservers\": [\"%s\"], \"resolv_conf\": \"\", \"timeout_ms\": 200, "
             "\"attempts\": 1, \"min_ttl_ms\": 100, \"max_ttl_ms\": 5000%s%s}",
             server, extra_config[0] ? ", " : "", extra_config);
    in->hi = harness_create(h, "discovery.dns", config, err, sizeof(err));
    if (in->hi == NULL || !harness_start(in->hi, err, sizeof(err))) {
        fprintf(stderr, "discovery.dns: %s\n", err);
        CHECK(false);
        return false;
    }
    in->ops = harness_ops(in->hi);
    in->plugin = harness_plugin_instance(in->hi);
    return true;
}

static void watch(instance *in, const char *hostname, uint32_t ip_preference, recorder *r)
{
    memset(r, 0, sizeof(*r));
    trellis_discovery_target t = {.size = sizeof(t), .method = TRELLIS_DISCOVERY_DNS,
                                  .mesh = "m", .virtual_node = "n", .hostname = hostname,
                                  .ip_preference = ip_preference,
                                  .clients = TRELLIS_DISCOVERY_FOR_SIDECARS};
    CHECK(in->ops->accepts(in->plugin, &t));
    CHECK_INT(in->ops->watch(in->plugin, &t, on_update, r, &r->watch), TRELLIS_OK);
}

typedef struct goal {
    recorder *r;
    const char *set;
    int min_updates;
    int min_failures;
} goal;

static bool reached(void *arg)
{
    const goal *g = arg;
    if (g->min_failures > 0)
        return g->r->failures >= g->min_failures;
    return g->r->updates >= g->min_updates && strcmp(g->r->last, g->set) == 0;
}

static bool wait_set(recorder *r, const char *set, uint64_t timeout_ms)
{
    goal g = {r, set, 1, 0};
    bool ok = harness_run_until(h, reached, &g, timeout_ms);
    if (!ok)
        fprintf(stderr, "  expected \"%s\", have \"%s\" (%d updates, %d failures: %s)\n", set,
                r->last, r->updates, r->failures, r->error);
    return ok;
}

static bool wait_failure(recorder *r, int failures, uint64_t timeout_ms)
{
    goal g = {r, NULL, 0, failures};
    return harness_run_until(h, reached, &g, timeout_ms);
}

/* ---- cases ---- */

static void test_ttl_and_changes(void)
{
    instance in;
    if (!instance_start(&in, ""))
        return;
    set_records("ttl.test", "[\"10.0.0.1\"]", "[]", 1);
    recorder r;
    watch(&in, "ttl.test", TRELLIS_IP_IPV4_ONLY, &r);
    CHECK(wait_set(&r, "10.0.0.1", 3000));
    uint64_t first = r.last_update_ns;
    set_records("ttl.test", "[\"10.0.0.2\", \"10.0.0.3\"]", "[]", 1);
    CHECK(wait_set(&r, "10.0.0.2 10.0.0.3", 4000));
    uint64_t waited_ms = (r.last_update_ns - first) / 1000000u;
    CHECK(waited_ms >= 900); /* not before the 1 s TTL ran out */
    CHECK(waited_ms <= 2500);
    /* Only A was asked (IPv4_ONLY). */
    CHECK(queries_for("ttl.test/A") >= 2);
    CHECK_INT(queries_for("ttl.test/AAAA"), 0);
    in.ops->unwatch(in.plugin, r.watch);
    harness_stop(in.hi);
}

static void test_ttl_bounds(void)
{
    instance in;
    if (!instance_start(&in, "\"min_ttl_ms\": 400, \"max_ttl_ms\": 800"))
        return;
    /* TTL 0: asked again no sooner than min_ttl. */
    set_records("zero.test", "[\"10.1.0.1\"]", "[]", 0);
    recorder zero;
    watch(&in, "zero.test", TRELLIS_IP_IPV4_ONLY, &zero);
    CHECK(wait_set(&zero, "10.1.0.1", 3000));
    long before = queries_for("zero.test/A");
    harness_run_for(h, 1000);
    long asked = queries_for("zero.test/A") - before;
    CHECK(asked >= 1 && asked <= 3);
    /* TTL one hour: asked again no later than max_ttl. */
    set_records("long.test", "[\"10.2.0.1\"]", "[]", 3600);
    recorder longer;
    watch(&in, "long.test", TRELLIS_IP_IPV4_ONLY, &longer);
    CHECK(wait_set(&longer, "10.2.0.1", 3000));
    set_records("long.test", "[\"10.2.0.2\"]", "[]", 3600);
    CHECK(wait_set(&longer, "10.2.0.2", 2000));
    in.ops->unwatch(in.plugin, zero.watch);
    in.ops->unwatch(in.plugin, longer.watch);
    harness_stop(in.hi);
}

static void test_nxdomain_and_failures(void)
{
    instance in;
    if (!instance_start(&in, ""))
        return;
    set_records("flaky.test", "[\"10.3.0.1\"]", "[]", 0);
    recorder r, gone;
    watch(&in, "flaky.test", TRELLIS_IP_IPV4_ONLY, &r);
    watch(&in, "nowhere.test", TRELLIS_IP_DEFAULT, &gone);
    CHECK(wait_set(&r, "10.3.0.1", 3000));
    /* NXDOMAIN: an empty set, not an error. */
    CHECK(wait_set(&gone, "", 3000));
    CHECK_INT(gone.failures, 0);

    /* Timeouts: a failure, the set stays (no update), and it says why. */
    set_mode("drop");
    CHECK(wait_failure(&r, 1, 3000));
    CHECK_CONTAINS(r.error, "no answer from");
    CHECK_INT(r.updates, 1);
    const char *detail = NULL;
    harness_ready(in.hi, &detail);
    CHECK_CONTAINS(detail, "flaky.test");

    /* SERVFAIL: a failure too. */
    set_mode("servfail");
    CHECK(wait_failure(&r, r.failures + 1, 3000));
    CHECK_CONTAINS(r.error, "SERVFAIL");
    CHECK_INT(r.updates, 1);

    /* Back: the new answer arrives (the backoff is bounded by max_ttl). */
    set_mode("normal");
    set_records("flaky.test", "[\"10.3.0.2\"]", "[]", 0);
    CHECK(wait_set(&r, "10.3.0.2", 8000));
    harness_run_for(h, 1100); /* metrics refresh every second */
    CHECK(harness_metric(h, "trellis_dns_timeouts_total") >= 1);
    CHECK(harness_metric(h, "trellis_dns_failures_total") >= 2);
    in.ops->unwatch(in.plugin, r.watch);
    in.ops->unwatch(in.plugin, gone.watch);
    harness_stop(in.hi);
}

static void test_ip_preferences(void)
{
    instance in;
    if (!instance_start(&in, ""))
        return;
    set_records("dual.test", "[\"10.4.0.1\"]", "[\"fd00::4\"]", 5);
    set_records("v4.test", "[\"10.4.0.2\"]", "[]", 5);
    recorder def, v4pref, v6pref, v4only, v6only, fallback, v6none;
    watch(&in, "dual.test", TRELLIS_IP_DEFAULT, &def);
    watch(&in, "dual.test", TRELLIS_IP_IPV4_PREFERRED, &v4pref);
    watch(&in, "dual.test", TRELLIS_IP_IPV6_PREFERRED, &v6pref);
    watch(&in, "dual.test", TRELLIS_IP_IPV4_ONLY, &v4only);
    watch(&in, "dual.test", TRELLIS_IP_IPV6_ONLY, &v6only);
    watch(&in, "v4.test", TRELLIS_IP_DEFAULT, &fallback);
    watch(&in, "v4.test", TRELLIS_IP_IPV6_ONLY, &v6none);
    CHECK(wait_set(&def, "fd00::4", 3000)); /* Envoy's AUTO: IPv6 first */
    CHECK(wait_set(&v4pref, "10.4.0.1", 3000));
    CHECK(wait_set(&v6pref, "fd00::4", 3000));
    CHECK(wait_set(&v4only, "10.4.0.1", 3000));
    CHECK(wait_set(&v6only, "fd00::4", 3000));
    CHECK(wait_set(&fallback, "10.4.0.2", 3000));
    CHECK(wait_set(&v6none, "", 3000));
    recorder *all[] = {&def, &v4pref, &v6pref, &v4only, &v6only, &fallback, &v6none};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        in.ops->unwatch(in.plugin, all[i]->watch);
    harness_stop(in.hi);
}

static void test_cname_tcp_decoys_ports_search(void)
{
    instance in;
    if (!instance_start(&in, "\"search\": [\"svc.test\"], \"ndots\": 1"))
        return;
    /* A CNAME chain. */
    set_records("backend.test", "[\"10.5.0.1\", \"10.5.0.2\"]", "[]", 0);
    dns_call("{\"op\": \"cname\", \"name\": \"%s\", \"target\": \"%s\", \"ttl\": 0}", "alias.test",
             "backend.test");
    recorder alias;
    watch(&in, "alias.test", TRELLIS_IP_IPV4_ONLY, &alias);
    CHECK(wait_set(&alias, "10.5.0.1 10.5.0.2", 3000));
    set_records("backend.test", "[\"10.5.0.3\"]", "[]", 0);
    CHECK(wait_set(&alias, "10.5.0.3", 3000));

    /* Truncated over UDP: asked again over TCP. */
    long tcp_before = stat_value("tcp");
    set_mode("truncate");
    set_records("big.test", "[\"10.6.0.1\", \"10.6.0.2\", \"10.6.0.3\"]", "[]", 0);
    recorder big;
    watch(&in, "big.test", TRELLIS_IP_IPV4_ONLY, &big);
    CHECK(wait_set(&big, "10.6.0.1 10.6.0.2 10.6.0.3", 3000));
    CHECK(stat_value("tcp") > tcp_before);
    set_mode("normal");

    /* Decoys (a wrong id, a wrong question) first: ignored. */
    set_mode("spoof");
    set_records("decoy.test", "[\"10.7.0.1\"]", "[]", 0);
    recorder decoy;
    watch(&in, "decoy.test", TRELLIS_IP_IPV4_ONLY, &decoy);
    CHECK(wait_set(&decoy, "10.7.0.1", 3000));
    harness_run_for(h, 1100); /* metrics refresh every second */
    CHECK(harness_metric(h, "trellis_dns_ignored_total") >= 2);
    CHECK(strstr(decoy.last, "6.6.6.6") == NULL);
    set_mode("normal");

    /* Fresh sockets: the source ports vary. */
    CHECK(stat_value("ports") > 3);

    /* A short name through the search list. */
    set_records("web.svc.test", "[\"10.8.0.1\"]", "[]", 5);
    recorder shortname;
    watch(&in, "web", TRELLIS_IP_IPV4_ONLY, &shortname);
    CHECK(wait_set(&shortname, "10.8.0.1", 3000));

    recorder *all[] = {&alias, &big, &decoy, &shortname};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        in.ops->unwatch(in.plugin, all[i]->watch);

    /* A name found at the second search-list candidate is one resolution. */
    harness_run_for(h, 1100);
    double rounds_before = harness_metric(h, "trellis_dns_rounds_total");
    set_records("solo", "[\"10.9.0.1\"]", "[]", 30);
    recorder solo;
    watch(&in, "solo", TRELLIS_IP_IPV4_ONLY, &solo);
    CHECK(wait_set(&solo, "10.9.0.1", 3000));
    harness_run_for(h, 1100);
    CHECK(harness_metric(h, "trellis_dns_rounds_total") - rounds_before == 1);
    in.ops->unwatch(in.plugin, solo.watch);
    harness_stop(in.hi);
}

/* Configured for proxyless clients only: sidecar targets are not its own. */
static void test_clients(void)
{
    instance in;
    if (!instance_start(&in, "\"sidecars\": false"))
        return;
    trellis_discovery_target t = {.size = sizeof(t), .method = TRELLIS_DISCOVERY_DNS,
                                  .hostname = "web.test", .clients = TRELLIS_DISCOVERY_FOR_SIDECARS};
    CHECK(!in.ops->accepts(in.plugin, &t));
    t.clients = TRELLIS_DISCOVERY_FOR_PROXYLESS;
    CHECK(in.ops->accepts(in.plugin, &t));
    t.clients |= TRELLIS_DISCOVERY_FOR_SIDECARS;
    CHECK(in.ops->accepts(in.plugin, &t));
    t.method = TRELLIS_DISCOVERY_CLOUD_MAP;
    CHECK(!in.ops->accepts(in.plugin, &t));
    harness_stop(in.hi);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <plugin dir> <dns_responder.py> [python]\n", argv[0]);
        return 2;
    }
    char *dns_argv[] = {argc > 3 ? argv[3] : "/usr/bin/python3", argv[2], NULL};
    dns = line_process_start(dns_argv);
    json_t *address = dns ? line_process_call(dns, "{\"op\": \"address\"}", CALL_MS) : NULL;
    if (address == NULL) {
        fprintf(stderr, "the DNS responder did not start\n");
        return 1;
    }
    snprintf(server, sizeof(server), "%s", json_string_value(json_object_get(address, "address")));
    json_decref(address);
    h = harness_new(argv[1]);
    test_ttl_and_changes();
    test_ttl_bounds();
    test_nxdomain_and_failures();
    test_ip_preferences();
    test_cname_tcp_decoys_ports_search();
    test_clients();
    if (test_failures > 0)
        harness_log_dump(h, stderr);
    harness_free(h);
    json_decref(line_process_call(dns, "{\"op\": \"quit\"}", CALL_MS));
    line_process_stop(dns);
    return test_finish("dns_plugin");
}
