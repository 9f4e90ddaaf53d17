/*
 * trellis: a self-hosted App Mesh control plane.
 * Entry point: parses the subcommand and hands over to commands.h.
 */
#include <stdio.h>
#include <string.h>

#include <trellis/plugin.h>

#include "commands.h"
#include "config.h"

#define MAX_DIRS 16

static void usage(FILE *out)
{
    fprintf(out,
            "usage: trellis serve -c FILE          run the server\n"
            "       trellis check-config -c FILE   validate a configuration and its plugins\n"
            "       trellis check-config --schema  print the core settings\n"
            "       trellis plugins [--dir DIR]... [--schema]\n"
            "                                      list plugins and why any would be refused\n"
            "       trellis version\n");
}

static const char *config_argument(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0))
        return argv[2];
    return NULL;
}

static int print_core_schema(void)
{
    for (const trellis_config_field *f = core_config_schema; f->key != NULL; f++)
        printf("%-22s %s%s%s\n    %s\n", f->key, f->default_json ? "default " : "",
               f->default_json ? f->default_json : "", f->default_json ? "" : "no default",
               f->description);
    printf("%-22s %s\n    %s\n", "plugins", "array",
           "ordered plugin instances: {\"plugin\": NAME, \"name\": INSTANCE, \"config\": {...}}");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("trellis %s (plugin ABI %d.%d)\n", TRELLIS_VERSION, TRELLIS_ABI_MAJOR,
               TRELLIS_ABI_MINOR);
        return 0;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 ||
        strcmp(command, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(command, "serve") == 0 || strcmp(command, "check-config") == 0) {
        if (strcmp(command, "check-config") == 0 && argc == 3 && strcmp(argv[2], "--schema") == 0)
            return print_core_schema();
        const char *path = config_argument(argc - 1, argv + 1);
        if (path == NULL) {
            fprintf(stderr, "trellis %s: expected -c FILE\n", command);
            usage(stderr);
            return 2;
        }
        return strcmp(command, "serve") == 0 ? command_serve(path) : command_check_config(path);
    }
    if (strcmp(command, "plugins") == 0) {
        char *dirs[MAX_DIRS];
        size_t dir_count = 0;
        int show_schema = 0;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--schema") == 0) {
                show_schema = 1;
            } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc && dir_count < MAX_DIRS) {
                dirs[dir_count++] = argv[++i];
            } else {
                fprintf(stderr, "trellis plugins: unexpected argument '%s'\n", argv[i]);
                return 2;
            }
        }
        return command_plugins(dirs, dir_count, show_schema);
    }
    fprintf(stderr, "trellis: unknown command '%s'\n", command);
    usage(stderr);
    return 2;
}
