/*
 * The limits trellis/store.h sets on the ops of one commit, checked the same
 * way by every store plugin (store.file, store.postgres) before it accepts
 * a commit. A store's own further rules (store.postgres's payload cap) stay
 * in the store.
 */
#ifndef TRELLIS_PLUGIN_STORE_OPS_CHECK_H
#define TRELLIS_PLUGIN_STORE_OPS_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <trellis/store.h>

/*
 * Checks `ops`: 1 to TRELLIS_STORE_OPS_MAX of them; each with `reserved`
 * zero, a key of 1 to TRELLIS_STORE_KEY_MAX bytes of well-formed UTF-8, a
 * known type, and a value (at most TRELLIS_STORE_VALUE_MAX bytes) only on
 * PUT. true with *payload set to the ops' key and value bytes; false with
 * the first broken rule ("op 3: ...") written to `why` (may be NULL when
 * why_size is 0). Reads the ops only; keeps no pointer to them.
 */
bool store_ops_check(const trellis_store_op *ops, size_t op_count, size_t *payload, char *why,
                     size_t why_size);

#endif
