/*
 * Structured logging: one line per event, `key=value` text or JSON, written
 * with a single write(2) so lines from several threads never interleave.
 * Every line has ts, level, event and either component=core or the plugin and
 * instance that wrote it.
 */
#ifndef TRELLIS_CORE_LOG_H
#define TRELLIS_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <trellis/plugin.h>

typedef enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 } log_format;

/* Where log lines go (default: standard error) and how they look. Call before
 * threads start; later calls (reload) are safe, a line uses one setting. */
void log_configure(log_format format, trellis_log_level level);
void log_set_fd(int fd);

bool log_enabled(trellis_log_level level);

/* Parse "error|warn|info|debug" / "text|json"; false on an unknown name. */
bool log_level_parse(const char *name, trellis_log_level *level_out);
bool log_format_parse(const char *name, log_format *format_out);

/* Write one line. `plugin`/`instance` NULL means the core wrote it. */
void log_write(trellis_log_level level, const char *plugin, const char *instance,
               const char *event, const char *message, const trellis_log_field *fields,
               size_t field_count);

/* Core convenience: log_core(TRELLIS_LOG_INFO, "started", "listening on %s", addr). */
void log_core(trellis_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_core_fields(trellis_log_level level, const char *event, const trellis_log_field *fields,
                     size_t field_count, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
