/* `trellis plugins [--dir DIR]... [--schema]`: what is installed, and why any
 * plugin would be refused. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "kinds.h"
#include "loader.h"
#include "plugin_config.h"

#define LIST_MAX 256

typedef struct seen_plugin {
    char *name;
    char *path;
} seen_plugin;

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_schema(const trellis_config_field *schema)
{
    for (const trellis_config_field *f = schema; f != NULL && f->key != NULL; f++) {
        printf("    %-24s %-11s %s%s%s\n", f->key, plugin_config_type_name(f->type),
               (f->flags & TRELLIS_CONFIG_REQUIRED) ? "required " : "",
               f->default_json ? "default " : "", f->default_json ? f->default_json : "");
        printf("    %-24s %s\n", "", f->description ? f->description : "");
    }
}

/* Lists one directory; returns the number of refused files. */
static int list_dir(const char *dir, seen_plugin *seen, size_t *seen_count, int show_schema)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        printf("%s: cannot open directory\n", dir);
        return 1;
    }
    char *names[LIST_MAX];
    size_t count = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && count < LIST_MAX;) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0)
            names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof(char *), compare_names);

    int refused = 0;
    for (size_t i = 0; i < count; i++) {
        char *path = NULL;
        char expected[256];
        char reason[1024];
        if (names[i] == NULL || asprintf(&path, "%s/%s", dir, names[i]) < 0) {
            free(names[i]);
            continue;
        }
        snprintf(expected, sizeof(expected), "%.*s", (int)(strlen(names[i]) - 3), names[i]);
        const char *duplicate_of = NULL;
        for (size_t j = 0; j < *seen_count; j++) {
            if (strcmp(seen[j].name, expected) == 0)
                duplicate_of = seen[j].path;
        }
        if (duplicate_of != NULL) {
            printf("refused   %s: duplicate plugin '%s': also found as %s\n", path, expected,
                   duplicate_of);
            refused++;
        } else {
            loaded_plugin *p = loader_open_file(path, expected, reason, sizeof(reason));
            if (p == NULL) {
                printf("refused   %s\n", reason);
                refused++;
            } else {
                const trellis_plugin_descriptor *desc = p->desc;
                printf("%-9s %-20s %-9s %-9s %u.%u  %s\n", "ok", desc->name, kind_name(desc->kind),
                       desc->version, desc->abi_major, desc->abi_minor, path);
                if (desc->summary != NULL)
                    printf("          %s\n", desc->summary);
                if (show_schema)
                    print_schema(desc->config_schema);
                if (*seen_count < LIST_MAX) {
                    seen[*seen_count].name = strdup(expected);
                    seen[*seen_count].path = strdup(path);
                    (*seen_count)++;
                }
                loader_close(p);
            }
        }
        free(path);
        free(names[i]);
    }
    return refused;
}

int command_plugins(char *const *dirs, size_t dir_count, int show_schema)
{
    char *default_dir = NULL;
    char *one[1];
    if (dir_count == 0) {
        default_dir = core_default_plugin_dir();
        if (default_dir == NULL) {
            fprintf(stderr, "trellis: cannot locate the bundled plugins; pass --dir DIR\n");
            return 1;
        }
        one[0] = default_dir;
        dirs = one;
        dir_count = 1;
    }
    printf("%-9s %-20s %-9s %-9s %-4s %s\n", "STATUS", "PLUGIN", "KIND", "VERSION", "ABI", "FILE");
    seen_plugin seen[LIST_MAX];
    size_t seen_count = 0;
    int refused = 0;
    for (size_t i = 0; i < dir_count; i++)
        refused += list_dir(dirs[i], seen, &seen_count, show_schema);
    printf("%zu plugins usable, %d refused (host plugin ABI %d.%d)\n", seen_count, refused,
           TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR);
    for (size_t i = 0; i < seen_count; i++) {
        free(seen[i].name);
        free(seen[i].path);
    }
    free(default_dir);
    return 0;
}
