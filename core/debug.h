/*
 * Debug providers: named JSON views (config_dump, proxies, ...) registered by
 * the core or a plugin instance and served by a front end. Loop thread.
 */
#ifndef TRELLIS_CORE_DEBUG_H
#define TRELLIS_CORE_DEBUG_H

#include <trellis/plugin.h>

typedef struct debug_registry debug_registry;

debug_registry *debug_registry_new(void);
void debug_registry_free(debug_registry *reg);

/* TRELLIS_ERR_CONFLICT if the name is taken, TRELLIS_ERR_INVALID for a bad
 * name. `owner_name` is the owner's instance name (NULL for the core): an
 * instance replacing one of the same name during a reload may register the
 * names its predecessor still holds, and queries then reach the newest. */
trellis_status debug_register(debug_registry *reg, const void *owner, const char *owner_name,
                              const char *name, trellis_debug_fn fn, void *arg);
void debug_unregister_owner(debug_registry *reg, const void *owner);

/* TRELLIS_ERR_NOT_FOUND for an unknown name; otherwise the provider's answer. */
trellis_status debug_query(debug_registry *reg, const char *name, const char *query,
                           char **json_out, trellis_error *err);

#endif
