/*
 * Metrics registry: counters, gauges and histograms, each a named series with
 * rendered labels, owned by the core or by a plugin instance. Exporters read
 * them through metrics_foreach(), which first runs the registered collectors
 * (process and loop metrics). Loop thread only.
 */
#ifndef TRELLIS_CORE_METRICS_H
#define TRELLIS_CORE_METRICS_H

#include <stddef.h>

#include <trellis/plugin.h>

typedef struct metrics_registry metrics_registry;
typedef struct trellis_metric metric;
typedef void (*metrics_collector_fn)(void *arg);

metrics_registry *metrics_registry_new(void);
void metrics_registry_free(metrics_registry *reg);

/*
 * Create a series. `labels` is NULL or a NULL-terminated key/value list;
 * `extra_labels` is appended (the host passes plugin/instance there). Returns
 * NULL and writes a reason into errbuf when the name, labels or buckets are
 * invalid, the name is registered with another type, or `owner` already has
 * this series. The same series from a different owner is allowed: during a
 * reload the new instance registers its series while the old one still
 * runs, and metrics_foreach() shows only the newest.
 */
metric *metrics_series_new(metrics_registry *reg, const void *owner, trellis_metric_type type,
                           const char *name, const char *help, const char *const *labels,
                           const char *const *extra_labels, const double *buckets,
                           size_t bucket_count, char *errbuf, size_t errbuf_size);

void metric_add(metric *m, double delta);
void metric_set(metric *m, double value);
void metric_observe(metric *m, double value);
double metric_value(const metric *m);
void metric_free(metric *m);

/* Frees every series created for `owner`. */
void metrics_free_owner(metrics_registry *reg, const void *owner);

/* Runs fn(arg) before every metrics_foreach until removed; false when all
 * METRICS_MAX_COLLECTORS slots are taken. Loop thread. */
bool metrics_add_collector(metrics_registry *reg, metrics_collector_fn fn, void *arg);
/* Removes the collector added with this fn and arg (before arg is freed). */
void metrics_remove_collector(metrics_registry *reg, metrics_collector_fn fn, void *arg);

/* Runs collectors, then visits every series sorted by name, then labels;
 * of identical series (see metrics_series_new) only the newest. */
void metrics_foreach(metrics_registry *reg, trellis_metric_visit_fn fn, void *arg);

#endif
