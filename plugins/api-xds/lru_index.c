#include "lru_index.h"

void lru_index_init(lru_index *l, size_t max_bytes, lru_drop_fn drop, void *owner)
{
    *l = (lru_index){.max_bytes = max_bytes, .drop = drop, .owner = owner};
    strmap_init(&l->by_key);
}

static void unlink_entry(lru_index *l, lru_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        l->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        l->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void push_newest(lru_index *l, lru_entry *e)
{
    e->older = l->newest;
    e->newer = NULL;
    if (l->newest)
        l->newest->newer = e;
    l->newest = e;
    if (l->oldest == NULL)
        l->oldest = e;
}

void lru_index_free(lru_index *l)
{
    while (l->oldest)
        lru_index_evict(l, l->oldest);
    strmap_free(&l->by_key);
}

lru_entry *lru_index_get(lru_index *l, const char *key)
{
    void **slot = strmap_get(&l->by_key, key);
    if (slot == NULL)
        return NULL;
    lru_entry *e = *slot;
    unlink_entry(l, e);
    push_newest(l, e);
    return e;
}

bool lru_index_add(lru_index *l, const char *key, lru_entry *e, size_t bytes)
{
    /* The map owns the key; the entry borrows it to remove itself on eviction. */
    e->key = strmap_put(&l->by_key, key, e);
    if (e->key == NULL)
        return false;
    e->bytes = bytes;
    push_newest(l, e);
    l->bytes += bytes;
    l->entries++;
    while (l->bytes > l->max_bytes && l->oldest != e)
        lru_index_evict(l, l->oldest);
    return true;
}

void lru_index_evict(lru_index *l, lru_entry *e)
{
    unlink_entry(l, e);
    l->bytes -= e->bytes;
    l->entries--;
    l->evictions++;
    strmap_remove(&l->by_key, e->key);
    l->drop(l->owner, e);
}
