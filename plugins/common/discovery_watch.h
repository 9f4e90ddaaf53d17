/*
 * The watches of a discovery plugin (discovery.cloudmap, discovery.dns):
 * what each watch() caller asked for, the timer of its first delivery, the
 * set it was given last (so it hears only of changes), and the dead mark
 * that lets unwatch() run inside a delivery: a dead watch hears nothing
 * more and is freed by the plugin's next sweep, never while the plugin
 * walks its lists. The plugin keeps the watches of what they follow in a
 * list linked by `next`, and frees them. Loop thread.
 */
#ifndef TRELLIS_PLUGIN_DISCOVERY_WATCH_H
#define TRELLIS_PLUGIN_DISCOVERY_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/discovery.h>
#include <trellis/plugin.h>

struct trellis_discovery_watch {
    void *source; /* the plugin's: what it follows (a Cloud Map query, a name) */
    uint32_t ip_preference;
    uint32_t default_port;
    trellis_discovery_update_fn update;
    void *arg;
    trellis_timer *first;          /* delivers what is known after watch() returned */
    char *digest;                  /* the set delivered last; NULL: none yet */
    bool dead;                     /* unwatched; freed by the next sweep */
    trellis_discovery_watch *next; /* in the list of its source */
};

/* A watch of `target` (its IP preference and default port) following
 * `source`, whose first timer (not started) calls on_first(watch); in no
 * list yet. NULL on allocation failure. */
trellis_discovery_watch *discovery_watch_new(const trellis_host *host, trellis_host_ctx *ctx,
                                             const trellis_discovery_target *target,
                                             trellis_discovery_update_fn update, void *arg,
                                             void *source, trellis_callback_fn on_first);
void discovery_watch_free(const trellis_host *host, trellis_discovery_watch *watch);

/* Gives `watch` the set `endpoints` (sorted here, in place: by address,
 * port, zone) unless it equals the set it got last. Out of memory for the
 * comparison, it delivers, and so will the next set. */
void discovery_watch_deliver(trellis_discovery_watch *watch, trellis_endpoint *endpoints,
                             size_t count);

/* Marks `watch` dead and stops its first timer; false if it was dead already. */
bool discovery_watch_kill(const trellis_host *host, trellis_discovery_watch *watch);

/* Frees the dead watches of the list at *head. */
void discovery_watches_sweep(const trellis_host *host, trellis_discovery_watch **head);
/* Frees every watch of the list at *head (left empty); returns how many were
 * not dead. */
size_t discovery_watches_free(const trellis_host *host, trellis_discovery_watch **head);

#endif
