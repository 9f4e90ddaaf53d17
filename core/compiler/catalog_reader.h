/*
 * The compiler's only way into the catalog: every lookup and scan goes
 * through here and is recorded, so compile_deps lists exactly what one
 * compile read (a change to anything else cannot change its output).
 */
#ifndef TRELLIS_COMPILER_CATALOG_READER_H
#define TRELLIS_COMPILER_CATALOG_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "catalog/catalog.h"
#include "compiler.h"

typedef struct catalog_reader {
    const catalog *cat;
    arena *arena;               /* recorded keys live here until finish */
    const char **keys;
    size_t key_count, key_capacity;
    const char **prefixes;
    size_t prefix_count, prefix_capacity;
    bool endpoints;             /* discovery endpoints were consulted */
} catalog_reader;

void reader_init(catalog_reader *r, const catalog *cat, arena *memory);

/* The resource, or NULL when it does not exist; the key is recorded either
 * way (creating it later must recompile). `parent` is for routes only. */
const catalog_entry *reader_get(catalog_reader *r, resource_kind kind, const char *mesh,
                                const char *parent, const char *name);
/* The spec of a resource ("spec" of its data), or NULL. */
const json_t *reader_spec(const catalog_entry *entry);

/* Visits every resource of a kind in a mesh (under `parent` for routes), in
 * key order; the listing prefix is recorded. */
void reader_scan(catalog_reader *r, resource_kind kind, const char *mesh, const char *parent,
                 catalog_visit_fn fn, void *arg);

/* Moves what was recorded into `deps` (sorted, without duplicates, malloc'd
 * strings the caller frees with compile_deps_free). False on allocation
 * failure, leaving deps empty. */
bool reader_finish(catalog_reader *r, compile_deps *deps);

#endif
