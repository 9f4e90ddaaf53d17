/*
 * The Cloud Map poller: one poll per Cloud Map service (namespace, service),
 * shared by every watch of that service.
 *
 * Each cycle asks DiscoverInstancesRevision first (a tiny answer); only when
 * the revision moved, when a new attribute filter joined, or every
 * refresh_interval (Cloud Map does not move the revision when an instance's
 * health changes) does it ask DiscoverInstances, once per distinct attribute
 * filter among the service's watches. Each watch then gets the endpoints of
 * its filter's instances in its IP preference, and only when they differ
 * from what it got last.
 *
 * Cycles repeat every poll_interval with +-jitter; after a failure the delay
 * doubles up to backoff_max, every watch of the failing filter hears about
 * the failure (the core keeps its last set), and the revision is not
 * advanced, so the next success re-reads everything.
 */
#ifndef TRELLIS_CLOUDMAP_POLLER_H
#define TRELLIS_CLOUDMAP_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/discovery.h>

#include "cloudmap_api.h"
#include "cloudmap_client.h"

typedef struct cloudmap_poller cloudmap_poller;

typedef struct cloudmap_settings {
    uint64_t poll_interval_ms;
    uint64_t refresh_interval_ms;
    uint64_t backoff_max_ms;
    double jitter;                  /* 0 .. 0.5 of the delay */
    cloudmap_health_mode health;
    unsigned max_results;
    const char *zone_attribute;     /* copied; NULL: no zones */
} cloudmap_settings;

typedef struct cloudmap_poller_stats {
    size_t services;                /* polled */
    size_t failing;                 /* whose last cycle failed */
    size_t watches;
    uint64_t cycles;
    uint64_t revision_calls;
    uint64_t discover_calls;
    uint64_t errors;                /* failed calls */
} cloudmap_poller_stats;

/* Called when a service starts or stops failing (for readiness, metrics). */
typedef void (*cloudmap_health_fn)(void *arg);

cloudmap_poller *cloudmap_poller_new(const trellis_host *host, trellis_host_ctx *ctx,
                                     cloudmap_client *client, const cloudmap_settings *settings,
                                     cloudmap_health_fn on_health, void *health_arg);
/* Ends every watch (no more updates) and cancels calls in flight. */
void cloudmap_poller_free(cloudmap_poller *poller);

trellis_status cloudmap_poller_watch(cloudmap_poller *poller, const trellis_discovery_target *target,
                                     trellis_discovery_update_fn update, void *arg,
                                     trellis_discovery_watch **watch_out);
void cloudmap_poller_unwatch(cloudmap_poller *poller, trellis_discovery_watch *watch);

void cloudmap_poller_get_stats(const cloudmap_poller *poller, cloudmap_poller_stats *out);
/* "" when nothing fails, else which services fail and why (bounded). */
void cloudmap_poller_detail(const cloudmap_poller *poller, char *out, size_t size);

#endif
