#include "debug.h"

#include <stdlib.h>
#include <string.h>

#define DEBUG_PROVIDERS_MAX 32

typedef struct provider {
    char *name;
    const void *owner;
    char *owner_name; /* instance name of the owner; NULL for the core */
    trellis_debug_fn fn;
    void *arg;
} provider;

struct debug_registry {
    provider providers[DEBUG_PROVIDERS_MAX];
    size_t count;
};

debug_registry *debug_registry_new(void)
{
    return calloc(1, sizeof(debug_registry));
}

void debug_registry_free(debug_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->count; i++) {
        free(reg->providers[i].name);
        free(reg->providers[i].owner_name);
    }
    free(reg);
}

/* The most recent registration of `name` (a reloaded instance's). */
static provider *find(debug_registry *reg, const char *name)
{
    for (size_t i = reg->count; i-- > 0;) {
        if (strcmp(reg->providers[i].name, name) == 0)
            return &reg->providers[i];
    }
    return NULL;
}

trellis_status debug_register(debug_registry *reg, const void *owner, const char *owner_name,
                              const char *name, trellis_debug_fn fn, void *arg)
{
    if (name == NULL || fn == NULL || name[0] == '\0' || strlen(name) > 64 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
        return TRELLIS_ERR_INVALID;
    const provider *existing = find(reg, name);
    /* Taken, unless by the predecessor of the same instance during a reload. */
    if (existing != NULL &&
        (existing->owner == owner || owner_name == NULL || existing->owner_name == NULL ||
         strcmp(existing->owner_name, owner_name) != 0))
        return TRELLIS_ERR_CONFLICT;
    if (reg->count == DEBUG_PROVIDERS_MAX)
        return TRELLIS_ERR_LIMIT;
    char *copy = strdup(name);
    char *owner_copy = owner_name != NULL ? strdup(owner_name) : NULL;
    if (copy == NULL || (owner_name != NULL && owner_copy == NULL)) {
        free(copy);
        free(owner_copy);
        return TRELLIS_ERR_NOMEM;
    }
    reg->providers[reg->count++] = (provider){copy, owner, owner_copy, fn, arg};
    return TRELLIS_OK;
}

void debug_unregister_owner(debug_registry *reg, const void *owner)
{
    for (size_t i = 0; i < reg->count;) {
        if (reg->providers[i].owner == owner) {
            free(reg->providers[i].name);
            free(reg->providers[i].owner_name);
            /* Shift, not swap: registration order decides which of two
             * same-named providers answers. */
            memmove(&reg->providers[i], &reg->providers[i + 1],
                    (reg->count - i - 1) * sizeof(reg->providers[0]));
            reg->count--;
        } else {
            i++;
        }
    }
}

trellis_status debug_query(debug_registry *reg, const char *name, const char *query,
                           char **json_out, trellis_error *err)
{
    provider *p = find(reg, name);
    if (p == NULL)
        return TRELLIS_ERR_NOT_FOUND;
    return p->fn(p->arg, query ? query : "", json_out, err);
}
