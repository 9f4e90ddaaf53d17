#include "discovery_watch.h"

#include <stdio.h>
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

static int endpoint_compare(const void *pa, const void *pb)
{
    const trellis_endpoint *a = pa, *b = pb;
    int c = strcmp(a->address, b->address);
    if (c == 0)
        c = a->port < b->port ? -1 : a->port > b->port;
    if (c == 0)
        c = strcmp(a->zone ? a->zone : "", b->zone ? b->zone : "");
    return c;
}

/* A canonical text of a sorted set, to tell whether it changed; NULL when
 * out of memory. */
static char *digest_of(const trellis_endpoint *eps, size_t n)
{
    size_t size = 1;
    for (size_t i = 0; i < n; i++)
        size += strlen(eps[i].address) + (eps[i].zone ? strlen(eps[i].zone) : 0) + 16;
    char *out = malloc(size);
    if (out == NULL)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, size - len, "%s|%u|%s\n", eps[i].address, eps[i].port,
                                eps[i].zone ? eps[i].zone : "");
    return out;
}

void discovery_watch_deliver(trellis_discovery_watch *w, trellis_endpoint *endpoints, size_t count)
{
    qsort(endpoints, count, sizeof(*endpoints), endpoint_compare);
    char *digest = digest_of(endpoints, count);
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
