/*
 * Snapshots: the immutable, reference-counted set of Envoy resources one
 * proxy identity should have, per xDS type in name order, each resource with
 * its JSON text and content hash, each type with a version that changes
 * exactly when the type's resources change. These are the objects behind
 * trellis_xds_snapshot in the plugin ABI.
 */
#ifndef TRELLIS_CORE_SNAPSHOT_H
#define TRELLIS_CORE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "compiler/compiler.h"

#define SNAPSHOT_HASH_SIZE 33 /* 128-bit hex digest + NUL */

typedef struct trellis_xds_snapshot xds_snapshot;

/* Builds a snapshot from compiled resources (reference count 1). NULL on
 * allocation failure. */
xds_snapshot *xds_snapshot_build(const compile_output *out, uint64_t changed_ns);

/* Digest of the whole snapshot: equal digests, equal resources. */
const char *xds_snapshot_digest(const xds_snapshot *s);

/* Any thread. */
xds_snapshot *xds_snapshot_ref(xds_snapshot *s);
void xds_snapshot_unref(xds_snapshot *s);

const char *xds_snapshot_version(const xds_snapshot *s, trellis_xds_type type);
size_t xds_snapshot_count(const xds_snapshot *s, trellis_xds_type type);
const trellis_xds_resource *xds_snapshot_at(const xds_snapshot *s, trellis_xds_type type,
                                            size_t index);
const trellis_xds_resource *xds_snapshot_find(const xds_snapshot *s, trellis_xds_type type,
                                              const char *name);
uint64_t xds_snapshot_changed_ns(const xds_snapshot *s);

#endif
