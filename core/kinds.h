/*
 * The plugin kinds this host knows and the ops-table versions it accepts for
 * each. A kind whose ops table is not defined yet is known by name but refused.
 */
#ifndef TRELLIS_CORE_KINDS_H
#define TRELLIS_CORE_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "store", "frontend", ...; NULL for an unknown kind. */
const char *kind_name(uint32_t kind);

/* Checks a kind's ops table: known version, large enough, present.
 * false with the reason in errbuf. */
bool kind_check_ops(uint32_t kind, const void *ops, char *errbuf, size_t errbuf_size);

/* Whether a reload may replace a running instance of this kind with a new one
 * (a store holds the catalog's durable state: it changes only on restart). */
bool kind_replaceable_live(uint32_t kind);

#endif
