/* `trellis check-config -c FILE`: validate without starting anything. */
#include <stdio.h>

#include "commands.h"
#include "config.h"
#include "runtime.h"

int command_check_config(const char *config_path)
{
    diag_list diags = {0};
    core_config *cfg = core_config_load(config_path, &diags);
    plugin_cache *cache = plugin_cache_new();
    bool ok = cfg != NULL && cache != NULL && runtime_check_config(cache, cfg, &diags);
    for (size_t i = 0; i < diags.count; i++)
        fprintf(stderr, "%s\n", diags.items[i]);
    if (diags.dropped > 0)
        fprintf(stderr, "%s: %zu more problems not shown\n", config_path, diags.dropped);
    if (ok)
        printf("%s: OK (%zu plugin instances)\n", config_path, cfg->instance_count);
    diag_clear(&diags);
    plugin_cache_free(cache);
    core_config_free(cfg);
    return ok ? 0 : 1;
}
