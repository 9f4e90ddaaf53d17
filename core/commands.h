/*
 * The trellis subcommands. Each returns the process exit status.
 */
#ifndef TRELLIS_CORE_COMMANDS_H
#define TRELLIS_CORE_COMMANDS_H

#include <stddef.h>

/* Runs the server until SIGTERM/SIGINT; SIGHUP reloads the configuration. */
int command_serve(const char *config_path);

/* Validates the file and every instance's plugin config; starts nothing. */
int command_check_config(const char *config_path);

/* Lists the plugins found in `dirs` (or the bundled directory) and why any
 * would be refused. With `show_schema`, prints each plugin's config keys. */
int command_plugins(char *const *dirs, size_t dir_count, int show_schema);

#endif
