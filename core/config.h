/*
 * The trellis configuration file: core settings plus an ordered list of
 * plugin instances, each { "plugin": NAME, "name": INSTANCE, "config": {...} }.
 * Loading checks everything the core can check without opening plugins;
 * problems come back as precise diagnostics ("FILE: plugins[2].name: ...").
 */
#ifndef TRELLIS_CORE_CONFIG_H
#define TRELLIS_CORE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <trellis/plugin.h>

#include "diag.h"

#define CONFIG_FILE_MAX (4u << 20)
#define CONFIG_INSTANCES_MAX 64

typedef struct instance_config {
    char *plugin;     /* plugin name, e.g. "api.admin" */
    char *name;       /* instance name, unique in the file */
    json_t *config;   /* owned reference to the "config" object (never NULL) */
    size_t index;     /* position in "plugins", for messages */
} instance_config;

typedef struct core_config {
    char *path;                   /* as given */
    trellis_config *settings;     /* core keys with defaults applied */
    char **plugin_path;           /* directories searched for <plugin>.so, absolute */
    size_t plugin_path_count;
    instance_config *instances;
    size_t instance_count;
} core_config;

/* The core settings' schema (also printed by `trellis check-config --schema`). */
extern const trellis_config_field core_config_schema[];

/* Loads and checks `path`. On failure returns NULL with diagnostics added. */
core_config *core_config_load(const char *path, diag_list *diags);
void core_config_free(core_config *cfg);
/* Applies the file's log_level and log_format (at start and on reload). */
void core_config_apply_logging(const core_config *cfg);

const instance_config *core_config_find_instance(const core_config *cfg, const char *name);

/* Directory holding the bundled plugins: <dir of executable>/../lib/trellis/plugins.
 * Owned by the caller; NULL if the executable's path is unknown. */
char *core_default_plugin_dir(void);

#endif
