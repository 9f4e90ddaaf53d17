/*
 * Test fixtures for the compiler: a catalog built from a readable mesh
 * description, and helpers to compile identities and look into the output.
 *
 * Mesh description (JSON):
 *   {"meshes": {"<mesh>": {
 *       "spec": {...},
 *       "virtualNodes": {"<name>": <spec>}, "virtualServices": {...},
 *       "virtualRouters": {"<name>": <spec>}, "virtualGateways": {...},
 *       "routes": {"<router>": {"<route>": <spec>}},
 *       "gatewayRoutes": {"<gateway>": {"<route>": <spec>}}}}}
 * Each resource is stored the way the API stores it: a record whose "data" is
 * the XxxData document (meshName, the name members, spec, metadata, status).
 */
#ifndef TRELLIS_TEST_COMPILER_FIXTURE_H
#define TRELLIS_TEST_COMPILER_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>

#include "catalog/catalog.h"
#include "compiler/compiler.h"

/* Loads a description into a new catalog (NULL and a message on stderr on error). */
catalog *fixture_catalog_from_text(const char *json_text);
catalog *fixture_catalog_from_file(const char *path);
/* Adds one description to an existing catalog; false on error. */
bool fixture_add(catalog *cat, const json_t *description);
/* Stores one resource (spec copied). */
bool fixture_put(catalog *cat, resource_kind kind, const char *mesh, const char *parent,
                 const char *name, const json_t *spec);

/* JSON written with single quotes for readability: 'a' -> "a" (no other change). */
json_t *fixture_json(const char *single_quoted);

/* Compiles; on failure prints why and returns false. */
bool fixture_compile(const catalog *cat, resource_kind kind, const char *mesh, const char *name,
                     trellis_xds_flavor flavor, const compile_options *options,
                     compile_output *out, compile_deps *deps);

/* App Mesh's defaults on (the default retry policy and circuit breakers). */
extern const compile_options fixture_appmesh_defaults;

/* A resource of the output, or NULL. */
json_t *fixture_resource(const compile_output *out, trellis_xds_type type, const char *name);

/* Walks a path like "filter_chains[0].filters[0].typed_config.stat_prefix". */
json_t *fixture_at(json_t *root, const char *path);

/* Compares a JSON value with single-quoted expected JSON; prints both on a
 * mismatch. */
bool fixture_json_equals(const json_t *actual, const char *expected_single_quoted,
                         const char *where, int line);
#define CHECK_JSON(actual, expected)                                                   \
    do {                                                                               \
        test_checks++;                                                                 \
        if (!fixture_json_equals((actual), (expected), __FILE__, __LINE__))            \
            test_failures++;                                                           \
    } while (0)

#endif
