#include "loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kinds.h"
#include "plugin_config.h"

/* The descriptor size of ABI 1.0: the smallest a 1.x plugin may declare. */
#define DESCRIPTOR_SIZE_1_0 104u

static bool valid_plugin_name(const char *name)
{
    size_t n = strnlen(name, 65);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
              *p == '_'))
            return false;
    }
    return true;
}

/* Checks the descriptor; false with the reason (without the file name). */
static bool check_descriptor(const trellis_plugin_descriptor *d, const char *expected_name,
                             char *errbuf, size_t n)
{
    if (d->magic != TRELLIS_PLUGIN_MAGIC) {
        snprintf(errbuf, n, "bad magic 0x%08x (expected 0x%08x): not a trellis plugin descriptor",
                 d->magic, TRELLIS_PLUGIN_MAGIC);
        return false;
    }
    if (d->abi_major != TRELLIS_ABI_MAJOR) {
        snprintf(errbuf, n, "built for plugin ABI %u.%u, this host speaks ABI %d.x",
                 d->abi_major, d->abi_minor, TRELLIS_ABI_MAJOR);
        return false;
    }
    if (d->abi_minor > TRELLIS_ABI_MINOR) {
        snprintf(errbuf, n, "built for plugin ABI %u.%u, newer than this host's %d.%d",
                 d->abi_major, d->abi_minor, TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR);
        return false;
    }
    if (d->size < DESCRIPTOR_SIZE_1_0) {
        snprintf(errbuf, n, "descriptor is %u bytes, ABI %u.%u needs at least %u", d->size,
                 d->abi_major, d->abi_minor, DESCRIPTOR_SIZE_1_0);
        return false;
    }
    if (d->build_signature != TRELLIS_BUILD_SIGNATURE) {
        snprintf(errbuf, n,
                 "build signature 0x%08x does not match the host's 0x%08x "
                 "(pointer, time_t or long size, or byte order differ)",
                 d->build_signature, TRELLIS_BUILD_SIGNATURE);
        return false;
    }
    if (d->name == NULL || !valid_plugin_name(d->name)) {
        snprintf(errbuf, n, "descriptor has no valid name (a-z, 0-9, . - _; at most 64)");
        return false;
    }
    if (expected_name != NULL && strcmp(d->name, expected_name) != 0) {
        snprintf(errbuf, n, "declares the name '%s' but was loaded as '%s'", d->name,
                 expected_name);
        return false;
    }
    if (d->version == NULL || d->version[0] == '\0') {
        snprintf(errbuf, n, "descriptor has no version");
        return false;
    }
    if (kind_name(d->kind) == NULL) {
        snprintf(errbuf, n, "unknown kind %u", d->kind);
        return false;
    }
    if (!kind_check_ops(d->kind, d->ops, errbuf, n))
        return false;
    const char *missing = d->create == NULL    ? "create"
                          : d->start == NULL   ? "start"
                          : d->stop == NULL    ? "stop"
                          : d->destroy == NULL ? "destroy"
                                               : NULL;
    if (missing != NULL) {
        snprintf(errbuf, n, "descriptor has no %s function", missing);
        return false;
    }
    char reason[256];
    if (!plugin_schema_check(d->config_schema, reason, sizeof(reason))) {
        snprintf(errbuf, n, "invalid config schema: %s", reason);
        return false;
    }
    return true;
}

loaded_plugin *loader_open_file(const char *path, const char *expected_name, char *errbuf,
                                size_t errbuf_size)
{
    char reason[512];
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(errbuf, errbuf_size, "%s: cannot load: %s", path, dlerror());
        return NULL;
    }
    /* dlsym returns a data pointer; converting it to a function pointer is
     * what POSIX requires dlsym's users to do. */
    void *symbol = dlsym(handle, TRELLIS_PLUGIN_ENTRY_SYMBOL);
    if (symbol == NULL) {
        snprintf(errbuf, errbuf_size, "%s: missing symbol %s (not a trellis plugin)", path,
                 TRELLIS_PLUGIN_ENTRY_SYMBOL);
        dlclose(handle);
        return NULL;
    }
    trellis_plugin_entry_fn entry;
    memcpy(&entry, &symbol, sizeof(entry));
    const trellis_plugin_descriptor *desc = entry();
    if (desc == NULL) {
        snprintf(errbuf, errbuf_size, "%s: %s returned no descriptor", path,
                 TRELLIS_PLUGIN_ENTRY_SYMBOL);
        dlclose(handle);
        return NULL;
    }
    if (!check_descriptor(desc, expected_name, reason, sizeof(reason))) {
        snprintf(errbuf, errbuf_size, "%s: %s", path, reason);
        dlclose(handle);
        return NULL;
    }
    loaded_plugin *plugin = calloc(1, sizeof(*plugin));
    if (plugin == NULL || (plugin->path = strdup(path)) == NULL) {
        free(plugin);
        snprintf(errbuf, errbuf_size, "%s: out of memory", path);
        dlclose(handle);
        return NULL;
    }
    plugin->handle = handle;
    plugin->desc = desc;
    return plugin;
}

loaded_plugin *loader_open_by_name(const char *name, char *const *dirs, size_t dir_count,
                                   char *errbuf, size_t errbuf_size)
{
    char *found = NULL;
    if (!valid_plugin_name(name)) {
        snprintf(errbuf, errbuf_size, "%s: not a valid plugin name", name);
        return NULL;
    }
    for (size_t i = 0; i < dir_count; i++) {
        char *candidate = NULL;
        struct stat st;
        if (asprintf(&candidate, "%s/%s.so", dirs[i], name) < 0) {
            free(found);
            snprintf(errbuf, errbuf_size, "%s: out of memory", name);
            return NULL;
        }
        if (stat(candidate, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(candidate);
            continue;
        }
        if (found != NULL) {
            snprintf(errbuf, errbuf_size, "%s: duplicate plugin '%s': also found as %s", candidate,
                     name, found);
            free(candidate);
            free(found);
            return NULL;
        }
        found = candidate;
    }
    if (found == NULL) {
        size_t used = (size_t)snprintf(errbuf, errbuf_size, "%s.so: plugin '%s' not found in", name,
                                       name);
        for (size_t i = 0; i < dir_count && used < errbuf_size; i++)
            used += (size_t)snprintf(errbuf + used, errbuf_size - used, "%s %s", i ? "," : "",
                                     dirs[i]);
        return NULL;
    }
    loaded_plugin *plugin = loader_open_file(found, name, errbuf, errbuf_size);
    free(found);
    return plugin;
}

void loader_close(loaded_plugin *plugin)
{
    if (plugin == NULL)
        return;
    /* Sanitizer builds keep the code mapped so leak reports can symbolize it. */
#ifndef TRELLIS_KEEP_PLUGINS_MAPPED
    dlclose(plugin->handle);
#endif
    free(plugin->path);
    free(plugin);
}
