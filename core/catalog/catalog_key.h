/*
 * Store keys of catalog records. Each kind has its own namespace so a listing
 * is one prefix scan:
 *   mesh/<mesh>
 *   virtualNode/<mesh>/<name>        (also virtualService, virtualRouter, virtualGateway)
 *   route/<mesh>/<router>/<name>     gatewayRoute/<mesh>/<gateway>/<name>
 *   scope/<mesh>, scope/%account     write guards (see catalog.h)
 *   meta/<name>                      internal settings (pagination key)
 * Names are arbitrary strings (App Mesh constrains only their length), so
 * '%', '/' and control characters in a name are percent-encoded.
 */
#ifndef TRELLIS_CORE_CATALOG_KEY_H
#define TRELLIS_CORE_CATALOG_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "resource_kind.h"

#define CATALOG_KEY_MAX 1024

/* "<prefix>/<mesh>[/<parent>]/<name>" (or "mesh/<name>"); false if too long.
 * `parent` is ignored for kinds without one. */
bool catalog_key_resource(char *out, size_t size, resource_kind kind, const char *mesh,
                          const char *parent, const char *name);

/* The listing prefix for a kind within a mesh (and parent), ending in '/'.
 * For meshes: "mesh/". */
bool catalog_key_list_prefix(char *out, size_t size, resource_kind kind, const char *mesh,
                             const char *parent);

/* Every key of a kind within a mesh, whatever the parent: "route/<mesh>/".
 * Not for meshes. */
bool catalog_key_mesh_prefix(char *out, size_t size, resource_kind kind, const char *mesh);

/* "scope/<mesh>" or, with mesh NULL, the account scope "scope/%account". */
bool catalog_key_scope(char *out, size_t size, const char *mesh);

/* Splits a resource key. Returns the kind (RESOURCE_SYSTEM for scope/meta
 * keys, then the names are not set); false for a malformed key. The name
 * buffers receive decoded names. */
bool catalog_key_parse(const char *key, resource_kind *kind_out, char *mesh, char *parent,
                       char *name, size_t name_size);

#endif
