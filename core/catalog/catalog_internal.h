/*
 * Internal to core/catalog: building and freeing entries (the catalog and the
 * planning overlay both hold them), and the overlay's slots as the catalog's
 * view-aware lookups read them.
 */
#ifndef TRELLIS_CORE_CATALOG_INTERNAL_H
#define TRELLIS_CORE_CATALOG_INTERNAL_H

#include "catalog.h"

/* An entry for `key`: a resource from its parsed document (`record`, stolen
 * even on failure; parsed from `value` when NULL) or a system record from
 * its raw bytes. NULL with the reason in errbuf. */
catalog_entry *catalog_entry_new(const char *key, uint64_t version, uint64_t revision,
                                 json_t *record, const char *value, size_t value_len,
                                 char *errbuf, size_t errbuf_size);

/* Renders a resource entry's data_text (Describe's answer); true for system
 * records. Only entries of the catalog itself need it: overlay entries are
 * read by write planning, never described. false on allocation failure. */
bool catalog_entry_render(catalog_entry *entry);

void catalog_entry_free(catalog_entry *entry);

/* One tentative write in an overlay: the entry a planned write will store,
 * or NULL for a deletion, and the sequence number of that write. */
typedef struct overlay_slot {
    char *key;
    catalog_entry *entry;
    uint64_t seq;
} overlay_slot;

/* Slots are in key order. */
const overlay_slot *overlay_find(const catalog_overlay *ov, const char *key);
size_t overlay_lower_bound(const catalog_overlay *ov, const char *key);
size_t overlay_count(const catalog_overlay *ov);
const overlay_slot *overlay_at(const catalog_overlay *ov, size_t index);

#endif
