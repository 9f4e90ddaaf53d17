/*
 * core/metrics.c: series names and labels are validated and rendered with
 * Prometheus escaping, histograms count into cumulative buckets, exporters
 * see series grouped by name, and an owner's series go away with it.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "test_check.h"

static char errbuf[256];

static metric *series(metrics_registry *reg, const void *owner, trellis_metric_type type,
                      const char *name, const char *const *labels)
{
    errbuf[0] = '\0';
    return metrics_series_new(reg, owner, type, name, "help text", labels, NULL, NULL, 0, errbuf,
                              sizeof(errbuf));
}

static void test_names(void)
{
    metrics_registry *reg = metrics_registry_new();
    CHECK(series(reg, NULL, TRELLIS_METRIC_COUNTER, "a", NULL) != NULL);
    CHECK(series(reg, NULL, TRELLIS_METRIC_COUNTER, "ns:sub_total9", NULL) != NULL);
    CHECK(series(reg, NULL, TRELLIS_METRIC_GAUGE, "_Private", NULL) != NULL);
    static const char *const bad_names[] = {"9lives", "has-dash", "has space", "", "é"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        CHECK(series(reg, NULL, TRELLIS_METRIC_COUNTER, bad_names[i], NULL) == NULL);
        char want[64];
        snprintf(want, sizeof(want), "invalid metric name '%s'", bad_names[i]);
        CHECK_STR(errbuf, want);
    }
    CHECK(series(reg, NULL, TRELLIS_METRIC_COUNTER, NULL, NULL) == NULL);
    CHECK_STR(errbuf, "invalid metric name '(null)'");
    CHECK(series(reg, NULL, (trellis_metric_type)9, "x", NULL) == NULL);
    CHECK_STR(errbuf, "unknown metric type 9");
    metrics_registry_free(reg);
}

typedef struct seen {
    char text[4096];
    size_t visits;
} seen;

/* Renders each visited sample as one line: name{labels} value [count buckets]. */
static void record_sample(const trellis_metric_sample *s, void *arg)
{
    seen *out = arg;
    size_t len = strlen(out->text);
    len += (size_t)snprintf(out->text + len, sizeof(out->text) - len, "%s{%s} %g", s->name,
                            s->labels, s->value);
    if (s->type == TRELLIS_METRIC_HISTOGRAM) {
        len += (size_t)snprintf(out->text + len, sizeof(out->text) - len, " count=%llu",
                                (unsigned long long)s->count);
        for (size_t i = 0; i < s->bucket_count; i++)
            len += (size_t)snprintf(out->text + len, sizeof(out->text) - len, " le%g=%llu",
                                    s->bucket_bounds[i], (unsigned long long)s->bucket_counts[i]);
    }
    snprintf(out->text + len, sizeof(out->text) - len, "\n");
    out->visits++;
}

static void test_labels(void)
{
    metrics_registry *reg = metrics_registry_new();
    static const char *const escaped[] = {"path", "a\\b\"c\nd", "empty", "", NULL};
    static const char *const extra[] = {"plugin", "api.admin", "instance", "admin", NULL};
    metric *m = metrics_series_new(reg, NULL, TRELLIS_METRIC_GAUGE, "escaping", "", escaped,
                                   extra, NULL, 0, errbuf, sizeof(errbuf));
    CHECK(m != NULL);
    metric_set(m, 2.5);
    seen out = {0};
    metrics_foreach(reg, record_sample, &out);
    CHECK_STR(out.text, "escaping{path=\"a\\\\b\\\"c\\nd\",empty=\"\",plugin=\"api.admin\","
                        "instance=\"admin\"} 2.5\n");

    static const char *const reserved[] = {"__name", "x", NULL};
    CHECK(series(reg, NULL, TRELLIS_METRIC_GAUGE, "bad_label", reserved) == NULL);
    CHECK_STR(errbuf, "invalid label name or missing value at label 0");
    static const char *const dash[] = {"ok", "1", "bad-key", "2", NULL};
    CHECK(series(reg, NULL, TRELLIS_METRIC_GAUGE, "bad_label", dash) == NULL);
    CHECK_STR(errbuf, "invalid label name or missing value at label 1");
    static const char *const odd[] = {"key", NULL};
    CHECK(series(reg, NULL, TRELLIS_METRIC_GAUGE, "bad_label", odd) == NULL);
    CHECK_STR(errbuf, "invalid label name or missing value at label 0");

    static char long_value[1100];
    memset(long_value, 'v', sizeof(long_value) - 1);
    const char *too_long[] = {"k", long_value, NULL};
    CHECK(series(reg, NULL, TRELLIS_METRIC_GAUGE, "long_labels", too_long) == NULL);
    CHECK_STR(errbuf, "labels longer than 1024 bytes");

    /* One series per name and label set; one type per name. */
    static const char *const one[] = {"k", "1", NULL};
    static const char *const two[] = {"k", "2", NULL};
    CHECK(series(reg, NULL, TRELLIS_METRIC_COUNTER, "family", one) != NULL);
    CHECK(series(reg, NULL, TRELLIS_METRIC_COUNTER, "family", two) != NULL);
    CHECK(series(reg, NULL, TRELLIS_METRIC_COUNTER, "family", one) == NULL);
    CHECK_STR(errbuf, "metric series family{k=\"1\"} already exists");
    CHECK(series(reg, NULL, TRELLIS_METRIC_GAUGE, "family", NULL) == NULL);
    CHECK_STR(errbuf, "metric family already registered with another type");
    metrics_registry_free(reg);
}

static void test_values_and_histograms(void)
{
    metrics_registry *reg = metrics_registry_new();
    metric *counter = series(reg, NULL, TRELLIS_METRIC_COUNTER, "c_total", NULL);
    metric_add(counter, 2);
    metric_add(counter, -5); /* counters never go down */
    metric_set(counter, 100); /* set is for gauges */
    CHECK(metric_value(counter) == 2);
    metric *gauge = series(reg, NULL, TRELLIS_METRIC_GAUGE, "g", NULL);
    metric_set(gauge, 7);
    metric_add(gauge, -10);
    CHECK(metric_value(gauge) == -3);
    metric_observe(gauge, 1); /* observe is for histograms */
    CHECK(metric_value(gauge) == -3);
    /* The update functions accept NULL (a refused series). */
    metric_add(NULL, 1);
    metric_set(NULL, 1);
    metric_observe(NULL, 1);

    static const double bounds[] = {0.1, 1, 10};
    metric *h = metrics_series_new(reg, NULL, TRELLIS_METRIC_HISTOGRAM, "h_seconds", "", NULL,
                                   NULL, bounds, 3, errbuf, sizeof(errbuf));
    CHECK(h != NULL);
    metric_observe(h, 0.05);
    metric_observe(h, 0.1); /* upper bounds are inclusive */
    metric_observe(h, 5);
    metric_observe(h, 50); /* only in +Inf, i.e. count */
    seen out = {0};
    metrics_foreach(reg, record_sample, &out);
    CHECK_STR(out.text, "c_total{} 2\n"
                        "g{} -3\n"
                        "h_seconds{} 55.15 count=4 le0.1=2 le1=2 le10=3\n");

    static const double descending[] = {1, 0.5};
    CHECK(metrics_series_new(reg, NULL, TRELLIS_METRIC_HISTOGRAM, "h2", "", NULL, NULL, descending,
                             2, errbuf, sizeof(errbuf)) == NULL);
    CHECK_STR(errbuf, "histogram h2 buckets are not ascending");
    CHECK(metrics_series_new(reg, NULL, TRELLIS_METRIC_HISTOGRAM, "h2", "", NULL, NULL, NULL, 0,
                             errbuf, sizeof(errbuf)) == NULL);
    CHECK_STR(errbuf, "histogram h2 needs 1..64 buckets");
    CHECK(metrics_series_new(reg, NULL, TRELLIS_METRIC_GAUGE, "g2", "", NULL, NULL, bounds, 3,
                             errbuf, sizeof(errbuf)) == NULL);
    CHECK_STR(errbuf, "metric g2: buckets are only for histograms");
    metrics_registry_free(reg);
}

static int collector_runs;

static void collector(void *arg)
{
    collector_runs++;
    metric_set(arg, 42);
}

static void test_owners_order_and_collectors(void)
{
    metrics_registry *reg = metrics_registry_new();
    int owner_a = 0, owner_b = 0; /* only their addresses matter */
    static const char *const x[] = {"i", "x", NULL};
    static const char *const a[] = {"i", "a", NULL};
    series(reg, &owner_a, TRELLIS_METRIC_GAUGE, "zeta", NULL);
    series(reg, &owner_b, TRELLIS_METRIC_GAUGE, "alpha", x);
    series(reg, &owner_a, TRELLIS_METRIC_GAUGE, "alpha", a);
    metric *collected = series(reg, NULL, TRELLIS_METRIC_GAUGE, "mid", NULL);
    CHECK(metrics_add_collector(reg, collector, collected));

    seen out = {0};
    metrics_foreach(reg, record_sample, &out);
    CHECK_INT(collector_runs, 1);
    /* Sorted by name, then labels, so a family's series are adjacent. */
    CHECK_STR(out.text, "alpha{i=\"a\"} 0\nalpha{i=\"x\"} 0\nmid{} 42\nzeta{} 0\n");

    metrics_free_owner(reg, &owner_a);
    memset(&out, 0, sizeof(out));
    metrics_foreach(reg, record_sample, &out);
    CHECK_STR(out.text, "alpha{i=\"x\"} 0\nmid{} 42\n");
    /* A freed owner's names can be registered again. */
    CHECK(series(reg, &owner_b, TRELLIS_METRIC_GAUGE, "zeta", NULL) != NULL);
    /* A removed collector runs no more. */
    metrics_remove_collector(reg, collector, collected);
    memset(&out, 0, sizeof(out));
    metrics_foreach(reg, record_sample, &out);
    CHECK_INT(collector_runs, 2); /* the two visits before the removal */
    metric_free(collected);
    metrics_registry_free(reg);
}

/* A reloaded instance registers its series while its predecessor still
 * runs: both exist, exporters see the newest, and the old one's updates go
 * nowhere visible until it is freed. */
static void test_reload_successor_shadows(void)
{
    metrics_registry *reg = metrics_registry_new();
    int old_instance = 0, new_instance = 0; /* only their addresses matter */
    static const char *const labels[] = {"instance", "b", NULL};
    metric *old_series = series(reg, &old_instance, TRELLIS_METRIC_COUNTER, "req_total", labels);
    metric_add(old_series, 5);
    metric *new_series = series(reg, &new_instance, TRELLIS_METRIC_COUNTER, "req_total", labels);
    CHECK(new_series != NULL);
    CHECK_STR(errbuf, "");
    metric_add(new_series, 1);
    /* The same owner twice is still a mistake. */
    CHECK(series(reg, &new_instance, TRELLIS_METRIC_COUNTER, "req_total", labels) == NULL);
    CHECK_STR(errbuf, "metric series req_total{instance=\"b\"} already exists");

    seen out = {0};
    metrics_foreach(reg, record_sample, &out);
    CHECK_STR(out.text, "req_total{instance=\"b\"} 1\n");
    CHECK_INT(out.visits, 1);
    metrics_free_owner(reg, &old_instance);
    memset(&out, 0, sizeof(out));
    metrics_foreach(reg, record_sample, &out);
    CHECK_STR(out.text, "req_total{instance=\"b\"} 1\n");
    metrics_registry_free(reg);
}

int main(void)
{
    test_names();
    test_labels();
    test_values_and_histograms();
    test_owners_order_and_collectors();
    test_reload_successor_shadows();
    return test_finish("unit_metrics");
}
