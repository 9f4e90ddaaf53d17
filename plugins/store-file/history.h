/*
 * The change history that read_changes() serves: every change committed
 * after `base_revision` (the last snapshot), in revision order. A snapshot
 * resets it, so its size is bounded by the snapshot triggers. Loop thread.
 */
#ifndef STORE_FILE_HISTORY_H
#define STORE_FILE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

typedef struct history {
    store_record **changes; /* owned references; revisions ascending */
    size_t count;
    size_t cap;
    uint64_t base_revision; /* the history covers revisions base_revision+1 and later */
} history;

void history_init(history *h, uint64_t base_revision);
void history_free(history *h);
/* Room for `extra` appends that then cannot fail. */
bool history_reserve(history *h, size_t extra);
/* Takes a new reference to `change` (revision >= the last one). Room must be reserved. */
void history_append(history *h, store_record *change);
/* Forgets everything; the history now starts after `base_revision`. */
void history_reset(history *h, uint64_t base_revision);
/* Index of the first change with revision > since. */
size_t history_first_after(const history *h, uint64_t since);

#endif
