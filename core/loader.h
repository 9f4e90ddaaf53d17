/*
 * The plugin loader: finds <name>.so on the plugin path, opens it with
 * RTLD_NOW|RTLD_LOCAL, and checks its descriptor before anything in it runs
 * beyond the entry function. Every refusal is one precise sentence naming the
 * file; nothing is logged here, callers decide where the reason goes.
 */
#ifndef TRELLIS_CORE_LOADER_H
#define TRELLIS_CORE_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include <trellis/plugin.h>

typedef struct loaded_plugin {
    char *path;                               /* the .so file */
    void *handle;                             /* dlopen handle */
    const trellis_plugin_descriptor *desc;    /* checked descriptor */
    unsigned refs;                            /* instances using it (owned by the caller) */
} loaded_plugin;

/*
 * Finds `name` as <dir>/<name>.so in the directories, in order. Refuses a
 * missing plugin, and a name found in more than one directory (ambiguous).
 * On success returns the open plugin; on failure NULL and "<file>: <reason>".
 */
loaded_plugin *loader_open_by_name(const char *name, char *const *dirs, size_t dir_count,
                                   char *errbuf, size_t errbuf_size);

/* Opens and checks one file. `expected_name` NULL accepts any declared name. */
loaded_plugin *loader_open_file(const char *path, const char *expected_name, char *errbuf,
                                size_t errbuf_size);

void loader_close(loaded_plugin *plugin);

#endif
