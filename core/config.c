#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "plugin_config.h"

const trellis_config_field core_config_schema[] = {
    {"region", TRELLIS_CONFIG_STRING, 0, "\"us-west-2\"", 1, 32, NULL,
     "AWS Region that appears in resource ARNs"},
    {"account_id", TRELLIS_CONFIG_STRING, 0, "\"111122223333\"", 12, 12, NULL,
     "12-digit account ID that owns every mesh (ARNs, meshOwner, resourceOwner)"},
    {"plugin_path", TRELLIS_CONFIG_STRING_LIST, 0, NULL, 1, 16, NULL,
     "directories searched for <plugin>.so, relative to this file; default: the bundled plugins"},
    {"log_level", TRELLIS_CONFIG_STRING, 0, "\"info\"", 0, 0, "error|warn|info|debug",
     "lowest level written"},
    {"log_format", TRELLIS_CONFIG_STRING, 0, "\"text\"", 0, 0, "text|json",
     "one key=value line or one JSON object per event"},
    {"shutdown_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "10000", 100, 600000, NULL,
     "how long SIGTERM waits for plugin instances to drain"},
    {"offload_threads", TRELLIS_CONFIG_INTEGER, 0, "2", 1, 64, NULL,
     "worker threads for blocking plugin work (fsync, synchronous clients)"},
    {"offload_queue", TRELLIS_CONFIG_INTEGER, 0, "4096", 16, 1000000, NULL,
     "maximum queued offload jobs"},
    {"xds_coalesce_ms", TRELLIS_CONFIG_INTEGER, 0, "10", 0, 5000, NULL,
     "how long the xDS engine gathers catalog changes before recompiling affected proxies"},
    /* App Mesh service quotas (defaults as App Mesh had them). */
    {"quota_meshes", TRELLIS_CONFIG_INTEGER, 0, "15", 1, 100000, NULL, "meshes per account"},
    {"quota_virtual_services_per_mesh", TRELLIS_CONFIG_INTEGER, 0, "200", 1, 100000, NULL,
     "virtual services per mesh"},
    {"quota_virtual_nodes_per_mesh", TRELLIS_CONFIG_INTEGER, 0, "200", 1, 100000, NULL,
     "virtual nodes per mesh"},
    {"quota_virtual_routers_per_mesh", TRELLIS_CONFIG_INTEGER, 0, "200", 1, 100000, NULL,
     "virtual routers per mesh"},
    {"quota_routes_per_virtual_router", TRELLIS_CONFIG_INTEGER, 0, "50", 1, 100000, NULL,
     "routes per virtual router"},
    {"quota_virtual_gateways_per_mesh", TRELLIS_CONFIG_INTEGER, 0, "3", 1, 100000, NULL,
     "virtual gateways per mesh"},
    {"quota_gateway_routes_per_virtual_gateway", TRELLIS_CONFIG_INTEGER, 0, "10", 1, 100000, NULL,
     "gateway routes per virtual gateway"},
    {"quota_backends_per_virtual_node", TRELLIS_CONFIG_INTEGER, 0, "50", 1, 100000, NULL,
     "backends per virtual node"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static bool valid_name(const char *s, size_t max, bool allow_upper)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '.' || s[0] == '-')
        return false;
    for (const char *p = s; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                  *p == '-' || *p == '_' || (allow_upper && *p >= 'A' && *p <= 'Z');
        if (!ok)
            return false;
    }
    return true;
}

char *core_default_plugin_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *dir = dirname(exe);
    char *out = NULL;
    if (asprintf(&out, "%s/../lib/trellis/plugins", dir) < 0)
        return NULL;
    char resolved[PATH_MAX];
    if (realpath(out, resolved) != NULL) {
        free(out);
        return strdup(resolved);
    }
    return out;
}

/* Reads the whole file, bounded. NULL with a diagnostic on failure. */
static char *read_file_bounded(const char *path, size_t *len_out, diag_list *diags)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        diag_add(diags, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CONFIG_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, CONFIG_FILE_MAX + 1, f) : 0;
    bool read_error = ferror(f);
    fclose(f);
    if (buf == NULL || read_error) {
        diag_add(diags, "%s: cannot read: %s", path, buf ? strerror(errno) : "out of memory");
        free(buf);
        return NULL;
    }
    if (len > CONFIG_FILE_MAX) {
        diag_add(diags, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

static bool resolve_plugin_path(core_config *cfg, diag_list *diags)
{
    size_t count = plugin_config_list_count(cfg->settings, "plugin_path");
    char *defaults = NULL;
    if (count == 0) {
        defaults = core_default_plugin_dir();
        if (defaults == NULL) {
            diag_add(diags, "%s: plugin_path: cannot locate the bundled plugins; set plugin_path",
                     cfg->path);
            return false;
        }
        count = 1;
    }
    cfg->plugin_path = calloc(count, sizeof(char *));
    if (cfg->plugin_path == NULL) {
        free(defaults);
        return false;
    }
    if (defaults != NULL) {
        cfg->plugin_path[0] = defaults;
        cfg->plugin_path_count = 1;
        return true;
    }
    char *copy = strdup(cfg->path);
    const char *base = copy ? dirname(copy) : ".";
    for (size_t i = 0; i < count; i++) {
        const char *entry = plugin_config_get0_list_item(cfg->settings, "plugin_path", i);
        char *joined = NULL;
        int rc = entry[0] == '/' ? asprintf(&joined, "%s", entry)
                                 : asprintf(&joined, "%s/%s", base, entry);
        if (rc < 0) {
            free(copy);
            return false;
        }
        char resolved[PATH_MAX];
        if (realpath(joined, resolved) != NULL) {
            free(joined);
            joined = strdup(resolved);
        }
        cfg->plugin_path[cfg->plugin_path_count++] = joined;
    }
    free(copy);
    return true;
}

static void check_core_settings(const core_config *cfg, diag_list *diags)
{
    const char *region = plugin_config_get0_string(cfg->settings, "region");
    for (const char *p = region; p && *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            diag_add(diags, "%s: region: \"%s\" is not a Region code (a-z, 0-9, -)", cfg->path,
                     region);
            break;
        }
    }
    const char *account = plugin_config_get0_string(cfg->settings, "account_id");
    for (const char *p = account; p && *p; p++) {
        if (*p < '0' || *p > '9') {
            diag_add(diags, "%s: account_id: \"%s\" is not a 12-digit account ID", cfg->path,
                     account);
            break;
        }
    }
}

static bool parse_instances(core_config *cfg, json_t *plugins, diag_list *diags)
{
    bool ok = true;
    if (plugins == NULL)
        return true;
    if (!json_is_array(plugins)) {
        diag_add(diags, "%s: plugins: expected an array of plugin instances", cfg->path);
        return false;
    }
    size_t count = json_array_size(plugins);
    if (count > CONFIG_INSTANCES_MAX) {
        diag_add(diags, "%s: plugins: %zu instances, at most %d", cfg->path, count,
                 CONFIG_INSTANCES_MAX);
        return false;
    }
    cfg->instances = calloc(count ? count : 1, sizeof(instance_config));
    if (cfg->instances == NULL)
        return false;
    for (size_t i = 0; i < count; i++) {
        json_t *entry = json_array_get(plugins, i);
        if (!json_is_object(entry)) {
            diag_add(diags, "%s: plugins[%zu]: expected an object", cfg->path, i);
            ok = false;
            continue;
        }
        const char *key;
        json_t *value;
        json_object_foreach(entry, key, value) {
            if (strcmp(key, "plugin") != 0 && strcmp(key, "name") != 0 && strcmp(key, "config") != 0) {
                diag_add(diags, "%s: plugins[%zu].%s: unknown key (expected plugin, name, config)",
                         cfg->path, i, key);
                ok = false;
            }
        }
        json_t *plugin = json_object_get(entry, "plugin");
        json_t *name = json_object_get(entry, "name");
        json_t *config = json_object_get(entry, "config");
        bool entry_ok = true;
        if (!json_is_string(plugin) || !valid_name(json_string_value(plugin), 64, false)) {
            diag_add(diags, "%s: plugins[%zu].plugin: expected a plugin name (a-z, 0-9, . - _)",
                     cfg->path, i);
            entry_ok = false;
        }
        if (!json_is_string(name) || !valid_name(json_string_value(name), 64, true)) {
            diag_add(diags, "%s: plugins[%zu].name: expected an instance name (A-Z, a-z, 0-9, . - _)",
                     cfg->path, i);
            entry_ok = false;
        }
        if (config != NULL && !json_is_object(config)) {
            diag_add(diags, "%s: plugins[%zu].config: expected an object", cfg->path, i);
            entry_ok = false;
        }
        if (entry_ok) {
            const char *instance_name = json_string_value(name);
            for (size_t j = 0; j < cfg->instance_count; j++) {
                if (strcmp(cfg->instances[j].name, instance_name) == 0) {
                    diag_add(diags, "%s: plugins[%zu].name: duplicate instance name \"%s\" (also plugins[%zu])",
                             cfg->path, i, instance_name, cfg->instances[j].index);
                    entry_ok = false;
                }
            }
        }
        if (!entry_ok) {
            ok = false;
            continue;
        }
        instance_config *ic = &cfg->instances[cfg->instance_count];
        ic->plugin = strdup(json_string_value(plugin));
        ic->name = strdup(json_string_value(name));
        ic->config = config ? json_incref(config) : json_object();
        ic->index = i;
        cfg->instance_count++;
        if (ic->plugin == NULL || ic->name == NULL || ic->config == NULL)
            return false;
    }
    return ok;
}

core_config *core_config_load(const char *path, diag_list *diags)
{
    size_t len = 0;
    char *text = read_file_bounded(path, &len, diags);
    if (text == NULL)
        return NULL;

    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (root == NULL) {
        diag_add(diags, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        diag_add(diags, "%s: expected a JSON object at the top level", path);
        json_decref(root);
        return NULL;
    }

    core_config *cfg = calloc(1, sizeof(*cfg));
    json_t *settings = json_object();
    if (cfg == NULL || settings == NULL || (cfg->path = strdup(path)) == NULL) {
        diag_add(diags, "%s: out of memory", path);
        goto fail;
    }
    /* Core keys are checked with the same schema machinery as plugin configs. */
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        if (strcmp(key, "plugins") != 0)
            json_object_set(settings, key, value);
    }
    char prefix[PATH_MAX + 4];
    snprintf(prefix, sizeof(prefix), "%s: ", path);
    bool ok = plugin_config_validate(core_config_schema, settings, prefix, diags);
    cfg->settings = plugin_config_new(core_config_schema, settings);
    if (cfg->settings == NULL) {
        diag_add(diags, "%s: out of memory", path);
        goto fail;
    }
    if (ok) {
        size_t before = diags->count;
        check_core_settings(cfg, diags);
        ok = diags->count == before;
    }
    if (!parse_instances(cfg, json_object_get(root, "plugins"), diags))
        ok = false;
    if (ok && !resolve_plugin_path(cfg, diags))
        ok = false;
    if (!ok)
        goto fail;
    json_decref(settings);
    json_decref(root);
    return cfg;
fail:
    json_decref(settings);
    json_decref(root);
    core_config_free(cfg);
    return NULL;
}

void core_config_free(core_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->instance_count; i++) {
        free(cfg->instances[i].plugin);
        free(cfg->instances[i].name);
        json_decref(cfg->instances[i].config);
    }
    free(cfg->instances);
    for (size_t i = 0; i < cfg->plugin_path_count; i++)
        free(cfg->plugin_path[i]);
    free(cfg->plugin_path);
    plugin_config_free(cfg->settings);
    free(cfg->path);
    free(cfg);
}

const instance_config *core_config_find_instance(const core_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->instance_count; i++) {
        if (strcmp(cfg->instances[i].name, name) == 0)
            return &cfg->instances[i];
    }
    return NULL;
}

void core_config_apply_logging(const core_config *cfg)
{
    trellis_log_level level;
    log_format format;
    if (log_level_parse(plugin_config_get0_string(cfg->settings, "log_level"), &level) &&
        log_format_parse(plugin_config_get0_string(cfg->settings, "log_format"), &format))
        log_configure(format, level);
}
