#include "history.h"

#include <stdlib.h>

void history_init(history *h, uint64_t base_revision)
{
    *h = (history){.base_revision = base_revision};
}

void history_free(history *h)
{
    history_reset(h, h->base_revision);
    free(h->changes);
    h->changes = NULL;
    h->cap = 0;
}

bool history_reserve(history *h, size_t extra)
{
    if (h->cap - h->count >= extra)
        return true;
    size_t cap = h->cap ? h->cap : 64;
    while (cap - h->count < extra) {
        if (cap > SIZE_MAX / 2 / sizeof(*h->changes))
            return false;
        cap *= 2;
    }
    store_record **grown = realloc(h->changes, cap * sizeof(*grown));
    if (grown == NULL)
        return false;
    h->changes = grown;
    h->cap = cap;
    return true;
}

void history_append(history *h, store_record *change)
{
    h->changes[h->count++] = record_ref(change);
}

void history_reset(history *h, uint64_t base_revision)
{
    for (size_t i = 0; i < h->count; i++)
        record_unref(h->changes[i]);
    h->count = 0;
    h->base_revision = base_revision;
}

size_t history_first_after(const history *h, uint64_t since)
{
    size_t lo = 0, hi = h->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->changes[mid]->revision <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
