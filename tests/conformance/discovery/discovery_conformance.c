/*
 * The discovery kind's conformance suite: what the core relies on from every
 * discovery plugin (trellis/discovery.h), checked against a real backend.
 *
 *   discovery_conformance --plugin-dir DIR --plugin NAME --backend SCRIPT
 *                         [--shared-metric GAUGE] [--python PATH]
 *
 * The backend is a helper program driven one JSON line at a time (see
 * backends/): it runs the real registry or DNS server and changes what it
 * holds.
 *   {"op": "start"}  -> {"ok": true, "config": {plugin config}, "settle_ms": N,
 *                        "fail_within_ms": N} (or "cannot_run": reason: a failure; a check that cannot run never passes as skipped)
 *   {"op": "target", "name": T} -> {"ok": true, "target": {"method": "cloudmap",
 *                        "namespace": ..., "service": ...} | {"method": "dns", "hostname": ...}}
 *   {"op": "set", "name": T, "addresses": [...]}  the target now has exactly these
 *   {"op": "down"} / {"op": "up"}                 the backend stops / resumes answering
 *   {"op": "stop"}
 * settle_ms bounds how long a change takes to show; fail_within_ms how long
 * a failure takes to be reported.
 *
 * Checked: accepts() its own method only; a watch delivers the full set
 * (never from inside watch()); updates come only when the set changes; an
 * empty set is an answer; IP preferences pick families; a failure is
 * reported, keeps the last set (no empty set sent) and shows in the
 * instance's readiness detail, and the watch converges once the backend is
 * back; unwatch stops updates; two watches of one target share one poll
 * (--shared-metric: a gauge of distinct targets the plugin follows) and both
 * hear every change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/discovery.h>

#include "line_process.h"
#include "plugin_harness.h"
#include "test_check.h"

#define CALL_TIMEOUT_MS 60000
#define MAX_ENDPOINTS 16

static harness *h;
static harness_instance *hi;
static const trellis_discovery_ops *ops;
static void *plugin;
static line_process *backend;
static uint64_t settle_ms;
static uint64_t fail_within_ms;
static uint32_t own_method;

/* ---- watches and what they heard ---- */

typedef struct recorder {
    trellis_discovery_watch *watch;
    bool inside_watch;              /* set while watch() runs */
    bool called_inside_watch;
    int updates;                    /* successful updates */
    int failures;
    int empty_after_failure;        /* OK updates with no endpoints while failing */
    bool failing;
    char last[512];                 /* the last set: sorted "address" lines */
    size_t last_count;
} recorder;

static int text_compare(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void on_update(void *arg, trellis_status status, const trellis_endpoint *endpoints,
                      size_t count, const char *message)
{
    recorder *r = arg;
    if (r->inside_watch)
        r->called_inside_watch = true;
    if (status != TRELLIS_OK) {
        r->failures++;
        r->failing = true;
        CHECK(endpoints == NULL && count == 0);
        CHECK(message != NULL && message[0] != '\0');
        return;
    }
    if (r->failing && count == 0)
        r->empty_after_failure++;
    r->failing = false;
    r->updates++;
    const char *sorted[MAX_ENDPOINTS];
    size_t n = count < MAX_ENDPOINTS ? count : MAX_ENDPOINTS;
    for (size_t i = 0; i < n; i++)
        sorted[i] = endpoints[i].address;
    qsort(sorted, n, sizeof(*sorted), text_compare);
    r->last[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(r->last);
        snprintf(r->last + len, sizeof(r->last) - len, "%s%s", i ? " " : "", sorted[i]);
    }
    r->last_count = count;
}

/* The target the backend names, kept with its strings. */
typedef struct target_holder {
    trellis_discovery_target target;
    char method_text[16];
    char a[256], b[256];
} target_holder;

static bool make_target(const char *name, uint32_t ip_preference, target_holder *out)
{
    json_t *reply = line_process_callf(backend, CALL_TIMEOUT_MS, "{\"op\": \"target\", \"name\": \"%s\"}",
                                       name);
    if (reply == NULL)
        return false;
    const json_t *t = json_object_get(reply, "target");
    const char *method = json_string_value(json_object_get(t, "method"));
    memset(out, 0, sizeof(*out));
    out->target.size = sizeof(out->target);
    out->target.mesh = "conformance";
    out->target.virtual_node = name;
    out->target.ip_preference = ip_preference;
    out->target.default_port = 80;
    out->target.clients = TRELLIS_DISCOVERY_FOR_SIDECARS | TRELLIS_DISCOVERY_FOR_PROXYLESS;
    if (method != NULL && strcmp(method, "cloudmap") == 0) {
        out->target.method = TRELLIS_DISCOVERY_CLOUD_MAP;
        snprintf(out->a, sizeof(out->a), "%s", json_string_value(json_object_get(t, "namespace")));
        snprintf(out->b, sizeof(out->b), "%s", json_string_value(json_object_get(t, "service")));
        out->target.namespace_name = out->a;
        out->target.service_name = out->b;
    } else {
        out->target.method = TRELLIS_DISCOVERY_DNS;
        snprintf(out->a, sizeof(out->a), "%s", json_string_value(json_object_get(t, "hostname")));
        out->target.hostname = out->a;
    }
    json_decref(reply);
    return true;
}

static void backend_set(const char *name, const char *addresses_json)
{
    json_t *reply = line_process_callf(backend, CALL_TIMEOUT_MS,
                                       "{\"op\": \"set\", \"name\": \"%s\", \"addresses\": %s}", name,
                                       addresses_json);
    CHECK(reply != NULL);
    json_decref(reply);
}

static void backend_op(const char *op)
{
    json_t *reply = line_process_callf(backend, CALL_TIMEOUT_MS, "{\"op\": \"%s\"}", op);
    CHECK(reply != NULL);
    json_decref(reply);
}

static bool watch(const char *name, uint32_t ip_preference, recorder *r)
{
    target_holder t;
    if (!make_target(name, ip_preference, &t))
        return false;
    memset(r, 0, sizeof(*r));
    r->inside_watch = true;
    trellis_status st = ops->watch(plugin, &t.target, on_update, r, &r->watch);
    r->inside_watch = false;
    CHECK_INT(st, TRELLIS_OK);
    CHECK(!r->called_inside_watch);
    return st == TRELLIS_OK;
}

typedef struct expectation {
    const recorder *r;
    const char *set;
    int min_updates;
} expectation;

static bool has_set(void *arg)
{
    const expectation *e = arg;
    return e->r->updates >= e->min_updates && strcmp(e->r->last, e->set) == 0;
}

/* Runs the loop until the watch's last set is `set` (space-separated,
 * sorted), within settle time plus slack. */
static bool wait_for_set(const recorder *r, const char *set)
{
    expectation e = {r, set, 1};
    bool ok = harness_run_until(h, has_set, &e, settle_ms * 4 + 5000);
    if (!ok)
        fprintf(stderr, "  expected set \"%s\", last is \"%s\" after %d updates, %d failures\n", set,
                r->last, r->updates, r->failures);
    return ok;
}

static bool failed_once(void *arg)
{
    return ((const recorder *)arg)->failures > 0;
}

/* ---- the cases ---- */

static void test_accepts(void)
{
    target_holder t;
    CHECK(make_target("t0", TRELLIS_IP_DEFAULT, &t));
    own_method = t.target.method;
    CHECK(ops->accepts(plugin, &t.target));
    trellis_discovery_target other = t.target;
    other.method = own_method == TRELLIS_DISCOVERY_DNS ? TRELLIS_DISCOVERY_CLOUD_MAP : TRELLIS_DISCOVERY_DNS;
    other.namespace_name = other.service_name = other.hostname = "x";
    CHECK(!ops->accepts(plugin, &other));
}

static void test_full_set_and_changes(void)
{
    backend_set("t1", "[\"10.1.0.2\", \"10.1.0.1\"]");
    recorder r;
    CHECK(watch("t1", TRELLIS_IP_DEFAULT, &r));
    CHECK(wait_for_set(&r, "10.1.0.1 10.1.0.2"));
    CHECK_INT(r.updates, 1); /* the first update is the full set */
    CHECK_INT(r.last_count, 2);

    /* Nothing changes: no update, however often the plugin looks. */
    harness_run_for(h, settle_ms * 2);
    CHECK_INT(r.updates, 1);

    backend_set("t1", "[\"10.1.0.1\", \"10.1.0.2\", \"10.1.0.3\"]");
    CHECK(wait_for_set(&r, "10.1.0.1 10.1.0.2 10.1.0.3"));
    harness_run_for(h, settle_ms);
    CHECK_INT(r.updates, 2);

    /* An empty set is an answer, not an error. */
    backend_set("t1", "[]");
    CHECK(wait_for_set(&r, ""));
    CHECK_INT(r.updates, 3);
    CHECK_INT(r.failures, 0);
    ops->unwatch(plugin, r.watch);
}

static void test_ip_preference(void)
{
    backend_set("t2", "[\"fd00::1\"]");
    recorder v4_only, v6_only, fallback;
    CHECK(watch("t2", TRELLIS_IP_IPV4_ONLY, &v4_only));
    CHECK(watch("t2", TRELLIS_IP_IPV6_ONLY, &v6_only));
    CHECK(watch("t2", TRELLIS_IP_IPV4_PREFERRED, &fallback));
    CHECK(wait_for_set(&v6_only, "fd00::1"));
    CHECK(wait_for_set(&fallback, "fd00::1"));
    CHECK(wait_for_set(&v4_only, "")); /* IPv4_ONLY with only IPv6: empty */
    CHECK_INT(v4_only.failures, 0);
    ops->unwatch(plugin, v4_only.watch);
    ops->unwatch(plugin, v6_only.watch);
    ops->unwatch(plugin, fallback.watch);
}

static void test_failure_keeps_last_set(void)
{
    backend_set("t3", "[\"10.3.0.1\"]");
    recorder r;
    CHECK(watch("t3", TRELLIS_IP_DEFAULT, &r));
    CHECK(wait_for_set(&r, "10.3.0.1"));
    int updates = r.updates;

    backend_op("down");
    CHECK(harness_run_until(h, failed_once, &r, fail_within_ms + settle_ms * 4));
    CHECK_INT(r.updates, updates); /* no set at all while it fails, let alone an empty one */
    const char *detail = NULL;
    CHECK(harness_ready(hi, &detail));
    CHECK(detail != NULL && detail[0] != '\0');
    if (detail != NULL)
        fprintf(stderr, "  readiness detail while failing: %s\n", detail);

    backend_op("up");
    backend_set("t3", "[\"10.3.0.2\"]");
    CHECK(wait_for_set(&r, "10.3.0.2"));
    CHECK_INT(r.empty_after_failure, 0);
    harness_run_for(h, settle_ms);
    CHECK(harness_ready(hi, &detail));
    CHECK(detail != NULL && detail[0] == '\0');
    ops->unwatch(plugin, r.watch);
}

static void test_unwatch_stops_updates(void)
{
    backend_set("t4", "[\"10.4.0.1\"]");
    recorder r;
    CHECK(watch("t4", TRELLIS_IP_DEFAULT, &r));
    CHECK(wait_for_set(&r, "10.4.0.1"));
    ops->unwatch(plugin, r.watch);
    int updates = r.updates, failures = r.failures;
    backend_set("t4", "[\"10.4.0.2\"]");
    harness_run_for(h, settle_ms * 2);
    CHECK_INT(r.updates, updates);
    CHECK_INT(r.failures, failures);
}

typedef struct metric_goal {
    const char *name;
    double value;
} metric_goal;

static bool metric_is(void *arg)
{
    const metric_goal *g = arg;
    return harness_metric(h, g->name) == g->value;
}

static void test_shared_watches(const char *shared_metric)
{
    double before = shared_metric ? harness_metric(h, shared_metric) : 0;
    backend_set("t5", "[\"10.5.0.1\"]");
    recorder a, b;
    CHECK(watch("t5", TRELLIS_IP_DEFAULT, &a));
    CHECK(watch("t5", TRELLIS_IP_DEFAULT, &b));
    CHECK(wait_for_set(&a, "10.5.0.1"));
    CHECK(wait_for_set(&b, "10.5.0.1"));
    if (shared_metric != NULL) {
        /* One target, one poll: the plugin follows one more target, not two. */
        metric_goal goal = {shared_metric, before + 1};
        CHECK(harness_run_until(h, metric_is, &goal, 5000));
        harness_run_for(h, 1200);
        CHECK(harness_metric(h, shared_metric) == before + 1);
    }
    backend_set("t5", "[\"10.5.0.2\"]");
    CHECK(wait_for_set(&a, "10.5.0.2"));
    CHECK(wait_for_set(&b, "10.5.0.2"));
    ops->unwatch(plugin, a.watch);
    backend_set("t5", "[\"10.5.0.3\"]");
    CHECK(wait_for_set(&b, "10.5.0.3"));
    CHECK_STR(a.last, "10.5.0.2");
    ops->unwatch(plugin, b.watch);
}

static const char *arg_value(int argc, char **argv, const char *name, const char *fallback)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    }
    return fallback;
}

int main(int argc, char **argv)
{
    const char *plugin_dir = arg_value(argc, argv, "--plugin-dir", NULL);
    const char *plugin_name = arg_value(argc, argv, "--plugin", NULL);
    const char *script = arg_value(argc, argv, "--backend", NULL);
    const char *python = arg_value(argc, argv, "--python", "/usr/bin/python3");
    const char *shared_metric = arg_value(argc, argv, "--shared-metric", NULL);
    if (plugin_dir == NULL || plugin_name == NULL || script == NULL) {
        fprintf(stderr, "usage: %s --plugin-dir DIR --plugin NAME --backend SCRIPT "
                        "[--shared-metric GAUGE] [--python PATH]\n", argv[0]);
        return 2;
    }
    char *backend_argv[] = {(char *)python, (char *)script, NULL};
    backend = line_process_start(backend_argv);
    json_t *started = backend ? line_process_call(backend, "{\"op\": \"start\"}", CALL_TIMEOUT_MS) : NULL;
    if (started == NULL) {
        fprintf(stderr, "the backend %s did not start\n", script);
        line_process_stop(backend);
        return 1;
    }
    const char *cannot_run = json_string_value(json_object_get(started, "cannot_run"));
    if (cannot_run != NULL) {
        fprintf(stderr, "cannot run: %s\n", cannot_run);
        json_decref(started);
        line_process_stop(backend);
        return 1;
    }
    settle_ms = (uint64_t)json_integer_value(json_object_get(started, "settle_ms"));
    fail_within_ms = (uint64_t)json_integer_value(json_object_get(started, "fail_within_ms"));
    char *config = json_dumps(json_object_get(started, "config"), JSON_COMPACT);
    json_decref(started);

    char err[1024] = "the plugin harness could not start";
    h = harness_new(plugin_dir);
    hi = h ? harness_create(h, plugin_name, config, err, sizeof(err)) : NULL;
    free(config);
    if (hi == NULL || !harness_start(hi, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", plugin_name, err);
        CHECK(false);
    } else {
        ops = harness_ops(hi);
        plugin = harness_plugin_instance(hi);
        test_accepts();
        test_full_set_and_changes();
        test_ip_preference();
        test_failure_keeps_last_set();
        test_unwatch_stops_updates();
        test_shared_watches(shared_metric);
    }
    harness_stop(hi);
    if (test_failures > 0 && h != NULL)
        harness_log_dump(h, stderr);
    harness_free(h);
    backend_op("stop");
    line_process_stop(backend);
    return test_finish("discovery_conformance");
}
