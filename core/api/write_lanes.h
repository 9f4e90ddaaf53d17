/*
 * Write lanes: writes touching the same mesh run one at a time, in arrival
 * order, so each is validated against the state its predecessor committed.
 * Writes to different meshes proceed concurrently (and share the store's
 * batched syncs). Correctness across replicas does not depend on lanes: the
 * store's conditions catch any race and the write is validated again.
 */
#ifndef TRELLIS_CORE_WRITE_LANES_H
#define TRELLIS_CORE_WRITE_LANES_H

#include "api_call.h"

typedef void (*lane_run_fn)(api_call *call);

write_lanes *write_lanes_new(void);
void write_lanes_free(write_lanes *lanes);

/* Runs `run(call)` now if the lane named call->lane is idle, else queues it.
 * false on allocation failure (the call is not queued). */
bool write_lanes_enter(write_lanes *lanes, api_call *call, lane_run_fn run);

/* The call finished (call may already be freed; pass its lane name): starts
 * the next queued call of that lane, if any. */
void write_lanes_leave(write_lanes *lanes, const char *lane);

/* Calls waiting or running, for metrics and drain. */
size_t write_lanes_pending(const write_lanes *lanes);

#endif
