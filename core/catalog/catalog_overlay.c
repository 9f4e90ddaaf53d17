/*
 * The planning overlay: writes that are planned and sent to the store but
 * not yet durable. Only the planning of later writes in the same write lane
 * sees them (catalog_use_overlay); readers, the compiler and subscribers see
 * the catalog, which changes only when the store acknowledges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_internal.h"

struct catalog_overlay {
    overlay_slot *slots; /* key order */
    size_t count;
    size_t capacity;
};

catalog_overlay *catalog_overlay_new(void)
{
    return calloc(1, sizeof(catalog_overlay));
}

static void slot_clear(overlay_slot *s)
{
    free(s->key);
    catalog_entry_free(s->entry);
}

void catalog_overlay_free(catalog_overlay *ov)
{
    if (ov == NULL)
        return;
    for (size_t i = 0; i < ov->count; i++)
        slot_clear(&ov->slots[i]);
    free(ov->slots);
    free(ov);
}

size_t overlay_lower_bound(const catalog_overlay *ov, const char *key)
{
    size_t lo = 0, hi = ov->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ov->slots[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const overlay_slot *overlay_find(const catalog_overlay *ov, const char *key)
{
    size_t i = overlay_lower_bound(ov, key);
    return i < ov->count && strcmp(ov->slots[i].key, key) == 0 ? &ov->slots[i] : NULL;
}

size_t overlay_count(const catalog_overlay *ov)
{
    return ov->count;
}

const overlay_slot *overlay_at(const catalog_overlay *ov, size_t index)
{
    return index < ov->count ? &ov->slots[index] : NULL;
}

/* Sets the slot of `key` to `entry` (may be NULL: deleted), owned from now. */
static bool upsert(catalog_overlay *ov, const char *key, catalog_entry *entry, uint64_t seq)
{
    size_t i = overlay_lower_bound(ov, key);
    if (i < ov->count && strcmp(ov->slots[i].key, key) == 0) {
        catalog_entry_free(ov->slots[i].entry);
        ov->slots[i].entry = entry;
        ov->slots[i].seq = seq;
        return true;
    }
    if (ov->count == ov->capacity) {
        size_t capacity = ov->capacity ? ov->capacity * 2 : 16;
        overlay_slot *grown = realloc(ov->slots, capacity * sizeof(*grown));
        if (grown == NULL) {
            catalog_entry_free(entry);
            return false;
        }
        ov->slots = grown;
        ov->capacity = capacity;
    }
    char *copy = strdup(key);
    if (copy == NULL) {
        catalog_entry_free(entry);
        return false;
    }
    memmove(&ov->slots[i + 1], &ov->slots[i], (ov->count - i) * sizeof(*ov->slots));
    ov->slots[i] = (overlay_slot){copy, entry, seq};
    ov->count++;
    return true;
}

bool catalog_overlay_put(catalog_overlay *ov, const char *key, uint64_t version, json_t *record,
                         const char *raw_value, size_t raw_len, uint64_t seq, char *errbuf,
                         size_t errbuf_size)
{
    catalog_entry *e = catalog_entry_new(key, version, 0, record ? json_incref(record) : NULL,
                                         raw_value, raw_len, errbuf, errbuf_size);
    if (e == NULL)
        return false;
    if (!upsert(ov, key, e, seq)) {
        snprintf(errbuf, errbuf_size, "out of memory");
        return false;
    }
    return true;
}

bool catalog_overlay_delete(catalog_overlay *ov, const char *key, uint64_t seq)
{
    return upsert(ov, key, NULL, seq);
}

/* Drops the slots a predicate selects, keeping key order. */
static void drop_where(catalog_overlay *ov, uint64_t seq, bool from_on)
{
    size_t kept = 0;
    for (size_t i = 0; i < ov->count; i++) {
        overlay_slot *s = &ov->slots[i];
        bool drop = from_on ? s->seq >= seq : s->seq == seq;
        if (drop)
            slot_clear(s);
        else
            ov->slots[kept++] = *s;
    }
    ov->count = kept;
}

void catalog_overlay_forget(catalog_overlay *ov, uint64_t seq)
{
    drop_where(ov, seq, false);
}

void catalog_overlay_forget_from(catalog_overlay *ov, uint64_t seq)
{
    drop_where(ov, seq, true);
}
