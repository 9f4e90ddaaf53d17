/*
 * The host services table handed to plugins (trellis_host), implemented over
 * the core's loop, offload pool, metrics and debug registries. Every resource
 * a plugin obtains is tagged with its instance so the host can release what a
 * plugin left behind.
 */
#ifndef TRELLIS_CORE_HOST_H
#define TRELLIS_CORE_HOST_H

#include <trellis/plugin.h>

#include "instance.h"

extern const trellis_host host_services;

/* Frees the timers, watches, metrics, debug providers and pending deferred
 * calls still held by an instance. Called after its destroy(). */
void host_release_instance_resources(trellis_host_ctx *inst);

#endif
