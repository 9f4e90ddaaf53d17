/*
 * plugin_harness — a host for testing plugins without `trellis serve`.
 *
 * It is the core's real machinery (the libevent loop, the offload pool, the
 * metrics and debug registries, the strict loader and the instance
 * lifecycle), so a plugin under test sees exactly the host it meets in
 * production. A test loads a plugin by name from a directory, creates an
 * instance from a JSON config (validated against the plugin's schema and its
 * check_config, like `trellis check-config`), starts it, runs the loop until
 * something happened, and stops it (stop, drain, wait for offload jobs,
 * destroy), which may be done and redone to test restarts.
 *
 *   harness *h = harness_new(plugin_dir);
 *   harness_instance *hi = harness_create(h, "store.file", "{\"dir\":\"/tmp/x\"}", err, n);
 *   if (hi && harness_start(hi, err, n)) {
 *       const trellis_store_ops *ops = harness_ops(hi);
 *       ops->commit(harness_plugin_instance(hi), ...);
 *       harness_run_until(h, answered, &state, 5000);
 *   }
 *   harness_stop(hi);
 *   harness_free(h);
 *
 * Log lines of the core and the plugin go to a buffer the test can search
 * (harness_log_contains); set TRELLIS_TEST_LOG=1 to also see them on stderr
 * when the harness is freed. One harness per process at a time (logging is
 * process-wide). Loop thread only, like the host itself. instances_foreach
 * lists no instances: the harness has no configuration-file runtime.
 */
#ifndef TRELLIS_TEST_PLUGIN_HARNESS_H
#define TRELLIS_TEST_PLUGIN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <trellis/plugin.h>

typedef struct harness harness;
typedef struct harness_instance harness_instance;

/* NULL if the loop or the services cannot be set up. */
harness *harness_new(const char *plugin_dir);
/* Stops every instance still running, then frees everything. */
void harness_free(harness *h);

/* Loads `plugin` (<plugin_dir>/<plugin>.so), validates `config_json` and
 * creates an instance. NULL with one sentence in errbuf on any refusal. */
harness_instance *harness_create(harness *h, const char *plugin, const char *config_json,
                                 char *errbuf, size_t errbuf_size);
/* start(); false with the host's message ("start failed (status N): ...").
 * A failed instance must still be stopped with harness_stop(). */
bool harness_start(harness_instance *hi, char *errbuf, size_t errbuf_size);
/* stop(), wait for the drain and every offload job, destroy(), free. NULL is a no-op. */
void harness_stop(harness_instance *hi);

/* The plugin's own instance pointer (first argument of its ops). */
void *harness_plugin_instance(harness_instance *hi);
/* The plugin's ops table for its kind (cast to trellis_store_ops etc.). */
const void *harness_ops(harness_instance *hi);
const trellis_plugin_descriptor *harness_descriptor(harness_instance *hi);
/* Readiness as the admin endpoint would show it; *detail is borrowed. */
bool harness_ready(harness_instance *hi, const char **detail);

/* Runs the loop until until(arg) is true (checked every millisecond) or
 * timeout_ms passed. Returns until(arg). */
bool harness_run_until(harness *h, bool (*until)(void *arg), void *arg, uint64_t timeout_ms);
void harness_run_for(harness *h, uint64_t ms);

/* The log captured since harness_new() or the last harness_log_clear(). */
char *harness_log_text(harness *h); /* owned by the caller; NULL on failure */
bool harness_log_contains(harness *h, const char *needle);
void harness_log_clear(harness *h);
void harness_log_dump(harness *h, FILE *out);

/* Sum over every series named `name`: the value of counters and gauges, the
 * observation count of histograms. -1 if there is no such series. */
double harness_metric(harness *h, const char *name);

#endif
