/*
 * Process and loop metrics (process_*, trellis_loop_*, trellis_offload_*),
 * refreshed whenever an exporter reads the registry, plus a loop-lag probe.
 */
#ifndef TRELLIS_CORE_PROCESS_METRICS_H
#define TRELLIS_CORE_PROCESS_METRICS_H

#include "instance.h"

typedef struct process_metrics process_metrics;

/* Registers the series on the core's ctx and starts the lag probe. */
process_metrics *process_metrics_new(trellis_host_ctx *core_ctx);
void process_metrics_free(process_metrics *pm);

#endif
