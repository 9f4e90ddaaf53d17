/*
 * Plugin instance configuration: checks a plugin's declared schema, validates
 * an instance's "config" object against it, and backs the host's config
 * accessors (trellis_config) with defaults applied.
 */
#ifndef TRELLIS_CORE_PLUGIN_CONFIG_H
#define TRELLIS_CORE_PLUGIN_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include <trellis/plugin.h>

#include "diag.h"

/* The schema itself: keys named, types known, defaults valid. Load time. */
bool plugin_schema_check(const trellis_config_field *schema, char *errbuf, size_t errbuf_size);

/* Validates `config` (a JSON object, or NULL for {}) against the schema. Each
 * problem is added as "<prefix><key>: <reason>", so a prefix reads like
 * "trellis.json: plugins[2].config.". Returns true if there is none. */
bool plugin_config_validate(const trellis_config_field *schema, const json_t *config,
                            const char *prefix, diag_list *diags);

/* Builds the accessor object for a validated config. NULL on allocation failure. */
trellis_config *plugin_config_new(const trellis_config_field *schema, const json_t *config);
void plugin_config_free(trellis_config *config);

bool plugin_config_has(const trellis_config *config, const char *key);
const char *plugin_config_get0_string(const trellis_config *config, const char *key);
int64_t plugin_config_get_int(const trellis_config *config, const char *key);
bool plugin_config_get_bool(const trellis_config *config, const char *key);
double plugin_config_get_number(const trellis_config *config, const char *key);
size_t plugin_config_list_count(const trellis_config *config, const char *key);
const char *plugin_config_get0_list_item(const trellis_config *config, const char *key,
                                         size_t index);

/* Whether two configs hold the same value (or both none) for `key`. */
bool plugin_config_same_value(const trellis_config *a, const trellis_config *b, const char *key);

/* "string", "integer", ... for messages and `trellis plugins --schema`. */
const char *plugin_config_type_name(uint32_t type);

#endif
