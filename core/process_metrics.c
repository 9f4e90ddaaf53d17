#include "process_metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "runtime.h"

#define LAG_PROBE_MS 250

struct process_metrics {
    trellis_host_ctx *ctx;
    trellis_metric *cpu_seconds;
    trellis_metric *resident_bytes;
    trellis_metric *virtual_bytes;
    trellis_metric *open_fds;
    trellis_metric *max_fds;
    trellis_metric *start_time;
    trellis_metric *callbacks;
    trellis_metric *lag;
    trellis_metric *offload_depth;
    trellis_metric *offload_threads;
    trellis_metric *instances;
    trellis_metric *build_info;
    double cpu_reported;
    uint64_t callbacks_reported;
    trellis_timer *lag_timer;
    uint64_t lag_expected_ns;
};

static size_t count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory stream's own descriptor */
}

static void collect(void *arg)
{
    process_metrics *pm = arg;
    const trellis_host *h = &host_services;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        h->metric_add(pm->cpu_seconds, cpu - pm->cpu_reported);
        pm->cpu_reported = cpu;
    }
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        unsigned long pages_total = 0, pages_resident = 0;
        if (fscanf(f, "%lu %lu", &pages_total, &pages_resident) == 2) {
            double page = (double)sysconf(_SC_PAGESIZE);
            h->metric_set(pm->virtual_bytes, (double)pages_total * page);
            h->metric_set(pm->resident_bytes, (double)pages_resident * page);
        }
        fclose(f);
    }
    h->metric_set(pm->open_fds, (double)count_open_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        h->metric_set(pm->max_fds, (double)rl.rlim_cur);
    uint64_t callbacks = loop_callbacks_dispatched(pm->ctx->env->lp);
    h->metric_add(pm->callbacks, (double)(callbacks - pm->callbacks_reported));
    pm->callbacks_reported = callbacks;
    h->metric_set(pm->offload_depth, (double)offload_queue_depth(pm->ctx->env->offload));
    h->metric_set(pm->offload_threads, (double)offload_thread_count(pm->ctx->env->offload));
    h->metric_set(pm->instances, (double)runtime_instance_count(pm->ctx->env->rt));
}

static void on_lag_probe(void *arg)
{
    process_metrics *pm = arg;
    uint64_t now = host_services.monotonic_ns();
    double lag = now > pm->lag_expected_ns ? (double)(now - pm->lag_expected_ns) / 1e9 : 0.0;
    host_services.metric_observe(pm->lag, lag);
    pm->lag_expected_ns = now + LAG_PROBE_MS * 1000000ull;
    host_services.timer_start(pm->lag_timer, LAG_PROBE_MS, false);
}

process_metrics *process_metrics_new(trellis_host_ctx *core_ctx)
{
    process_metrics *pm = calloc(1, sizeof(*pm));
    if (pm == NULL)
        return NULL;
    const trellis_host *h = &host_services;
    static const double lag_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25, 0.5, 1.0};
    static const char *const build_labels[] = {"version", TRELLIS_VERSION, NULL};
    pm->ctx = core_ctx;
    pm->cpu_seconds = h->metric_new(core_ctx, TRELLIS_METRIC_COUNTER, "process_cpu_seconds_total",
                                    "Total user and system CPU time spent in seconds.", NULL, NULL, 0);
    pm->resident_bytes = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "process_resident_memory_bytes",
                                       "Resident memory size in bytes.", NULL, NULL, 0);
    pm->virtual_bytes = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "process_virtual_memory_bytes",
                                      "Virtual memory size in bytes.", NULL, NULL, 0);
    pm->open_fds = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "process_open_fds",
                                 "Number of open file descriptors.", NULL, NULL, 0);
    pm->max_fds = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "process_max_fds",
                                "Maximum number of open file descriptors.", NULL, NULL, 0);
    pm->start_time = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "process_start_time_seconds",
                                   "Start time of the process since unix epoch in seconds.", NULL,
                                   NULL, 0);
    pm->callbacks = h->metric_new(core_ctx, TRELLIS_METRIC_COUNTER, "trellis_loop_callbacks_total",
                                  "Callbacks dispatched by the event loop.", NULL, NULL, 0);
    pm->lag = h->metric_new(core_ctx, TRELLIS_METRIC_HISTOGRAM, "trellis_loop_lag_seconds",
                            "How late the loop ran a timer (sampled every 250 ms).", NULL,
                            lag_buckets, sizeof(lag_buckets) / sizeof(lag_buckets[0]));
    pm->offload_depth = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "trellis_offload_queue_depth",
                                      "Offload jobs waiting for a worker thread.", NULL, NULL, 0);
    pm->offload_threads = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "trellis_offload_threads",
                                        "Offload worker threads.", NULL, NULL, 0);
    pm->instances = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "trellis_plugin_instances",
                                  "Plugin instances running.", NULL, NULL, 0);
    pm->build_info = h->metric_new(core_ctx, TRELLIS_METRIC_GAUGE, "trellis_build_info",
                                   "trellis build information.", build_labels, NULL, 0);
    h->metric_set(pm->build_info, 1);
    h->metric_set(pm->start_time, h->wall_time());
    if (!metrics_add_collector(core_ctx->env->metrics, collect, pm))
        log_core(TRELLIS_LOG_WARN, "metrics_collector_refused",
                 "no room for the process metrics' collector: CPU and memory are not reported");

    pm->lag_timer = h->timer_new(core_ctx, on_lag_probe, pm);
    if (pm->lag_timer != NULL) {
        pm->lag_expected_ns = h->monotonic_ns() + LAG_PROBE_MS * 1000000ull;
        h->timer_start(pm->lag_timer, LAG_PROBE_MS, false);
    }
    return pm;
}

void process_metrics_free(process_metrics *pm)
{
    if (pm == NULL)
        return;
    host_services.timer_free(pm->lag_timer);
    metrics_remove_collector(pm->ctx->env->metrics, collect, pm);
    free(pm);
}
