/*
 * Write lanes: every write touching a mesh goes through that mesh's lane,
 * which plans writes in arrival order, each against the state the writes
 * before it will leave, sends them to the store without waiting for the
 * earlier ones to be durable (so the store can group them into one sync),
 * and answers them in order, each only once it and every write before it
 * are settled.
 *
 * The state a write is planned against is the catalog (what the store
 * acknowledged) plus the lane's overlay (what the writes in flight will
 * change). Readers never see the overlay. When a write fails in the store
 * (a conflict with another writer, an outage), the writes planned after it
 * are planned again once every write in flight has come back: they may have
 * relied on it. After a conflict the lane plans one write at a time until a
 * second has passed without another, so several replicas contending for a
 * mesh do not keep invalidating each other's batches.
 *
 * Writes to different meshes proceed independently; correctness across
 * replicas rests on the store's conditions, not on lanes. Loop thread.
 */
#ifndef TRELLIS_CORE_WRITE_LANES_H
#define TRELLIS_CORE_WRITE_LANES_H

#include "api_call.h"

/* Plans one write (its response and store ops) against the catalog as the
 * lane shows it; false with the call's error set. */
typedef bool (*lane_plan_fn)(api_call *call);

write_lanes *write_lanes_new(lane_plan_fn plan);
void write_lanes_free(write_lanes *lanes);

/* Queues a write in the lane named call->lane; the lane answers it
 * (api_call_finish) when it is settled. false on allocation failure (the
 * call is not queued). */
bool write_lanes_submit(write_lanes *lanes, api_call *call);

#endif
