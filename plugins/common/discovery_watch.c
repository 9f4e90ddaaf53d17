#include "discovery_watch.h"

#include <stdlib.h>
#include <string.h>

trellis_discovery_watch *discovery_watch_new(const trellis_host *host, trellis_host_ctx *ctx,
                                             const trellis_discovery_target *target,
                                             trellis_discovery_update_fn update, void *arg,
                                             void *source, trellis_callback_fn on_first)
{
    trellis_discovery_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->first = host->timer_new(ctx, on_first, w);
    if (w->first == NULL) {
        free(w);
        return NULL;
    }
    w->source = source;
    w->ip_preference = target->ip_preference;
    w->default_port = target->default_port;
    w->update = update;
    w->arg = arg;
    return w;
}

void discovery_watch_free(const trellis_host *host, trellis_discovery_watch *w)
{
    if (w->first != NULL)
        host->timer_free(w->first);
    free(w->digest);
    free(w);
}

void discovery_watch_deliver(trellis_discovery_watch *w, char *digest,
                             const trellis_endpoint *endpoints, size_t count)
{
    if (digest != NULL && w->digest != NULL && strcmp(digest, w->digest) == 0) {
        free(digest);
        return;
    }
    free(w->digest);
    w->digest = digest;
    w->update(w->arg, TRELLIS_OK, endpoints, count, NULL);
}

bool discovery_watch_kill(const trellis_host *host, trellis_discovery_watch *w)
{
    if (w == NULL || w->dead)
        return false;
    w->dead = true;
    host->timer_stop(w->first);
    return true;
}

void discovery_watches_sweep(const trellis_host *host, trellis_discovery_watch **head)
{
    for (trellis_discovery_watch **link = head; *link != NULL;) {
        trellis_discovery_watch *w = *link;
        if (w->dead) {
            *link = w->next;
            discovery_watch_free(host, w);
        } else {
            link = &w->next;
        }
    }
}

size_t discovery_watches_free(const trellis_host *host, trellis_discovery_watch **head)
{
    size_t live = 0;
    while (*head != NULL) {
        trellis_discovery_watch *w = *head;
        *head = w->next;
        if (!w->dead)
            live++;
        discovery_watch_free(host, w);
    }
    return live;
}
