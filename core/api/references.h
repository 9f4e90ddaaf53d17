/*
 * Who uses a resource: the deletion rules of App Mesh (a mesh with anything
 * in it, a virtual node that a route targets or that provides a virtual
 * service, a virtual router with routes or that provides a virtual service, a
 * virtual service that a gateway route targets, a virtual gateway with
 * gateway routes cannot be deleted).
 */
#ifndef TRELLIS_CORE_REFERENCES_H
#define TRELLIS_CORE_REFERENCES_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog.h"

/* If something still uses the resource, writes a description of the first
 * user ("route 'r' of virtual router 'vr'") and returns true. */
bool references_find_user(const catalog *cat, resource_kind kind, const char *mesh,
                          const char *name, char *user, size_t user_size);

/* The route members of a route's spec and of a gateway route's spec
 * (NULL-terminated), for references_route_type. */
extern const char *const references_route_types[];
extern const char *const references_gateway_route_types[];

/* The spec's route member of a route or gateway route ("httpRoute", ...),
 * with its type name, or NULL when none or several are set. */
const char *references_route_type(const json_t *spec, const char *const *types,
                                  json_t **route_out, size_t *count_out);

#endif
