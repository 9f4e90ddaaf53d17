#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static _Atomic int log_current_format = LOG_FORMAT_TEXT;
static _Atomic int log_current_level = TRELLIS_LOG_INFO;
static _Atomic int log_out_fd = 2;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_configure(log_format format, trellis_log_level level)
{
    atomic_store(&log_current_format, (int)format);
    atomic_store(&log_current_level, (int)level);
}

void log_set_fd(int fd)
{
    atomic_store(&log_out_fd, fd);
}

bool log_enabled(trellis_log_level level)
{
    return (int)level <= atomic_load(&log_current_level);
}

bool log_level_parse(const char *name, trellis_log_level *level_out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level_out = (trellis_log_level)i;
            return true;
        }
    }
    return false;
}

bool log_format_parse(const char *name, log_format *format_out)
{
    if (strcmp(name, "text") == 0) {
        *format_out = LOG_FORMAT_TEXT;
        return true;
    }
    if (strcmp(name, "json") == 0) {
        *format_out = LOG_FORMAT_JSON;
        return true;
    }
    return false;
}

/* A bounded line buffer; output past the bound is cut and marked. */
typedef struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated;
} line;

static void line_put(line *l, const char *s, size_t n)
{
    size_t room = sizeof(l->buf) - 1 - l->len; /* keep one byte for '\n' */
    if (n > room) {
        n = room;
        l->truncated = true;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void line_puts(line *l, const char *s)
{
    line_put(l, s, strlen(s));
}

static void line_putc(line *l, char c)
{
    line_put(l, &c, 1);
}

static bool text_needs_quotes(const char *v)
{
    if (*v == '\0')
        return true;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
            return true;
    }
    return false;
}

/* Escapes control characters, quotes and backslashes; valid for both formats. */
static void line_put_escaped(line *l, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': line_puts(l, "\\\""); break;
        case '\\': line_puts(l, "\\\\"); break;
        case '\n': line_puts(l, "\\n"); break;
        case '\r': line_puts(l, "\\r"); break;
        case '\t': line_puts(l, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                line_puts(l, esc);
            } else {
                line_putc(l, (char)*p);
            }
        }
    }
}

static void line_put_pair(line *l, bool json, bool first, const char *key, const char *value)
{
    if (value == NULL)
        value = "";
    if (json) {
        if (!first)
            line_putc(l, ',');
        line_putc(l, '"');
        line_put_escaped(l, key);
        line_puts(l, "\":\"");
        line_put_escaped(l, value);
        line_putc(l, '"');
        return;
    }
    if (!first)
        line_putc(l, ' ');
    line_puts(l, key);
    line_putc(l, '=');
    if (text_needs_quotes(value)) {
        line_putc(l, '"');
        line_put_escaped(l, value);
        line_putc(l, '"');
    } else {
        line_puts(l, value);
    }
}

static void format_timestamp(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
}

void log_write(trellis_log_level level, const char *plugin, const char *instance,
               const char *event, const char *message, const trellis_log_field *fields,
               size_t field_count)
{
    if (!log_enabled(level))
        return;
    if ((int)level < 0 || (int)level > 3)
        level = TRELLIS_LOG_ERROR;

    static _Thread_local line l;
    bool json = atomic_load(&log_current_format) == LOG_FORMAT_JSON;
    char ts[40];
    format_timestamp(ts, sizeof(ts));

    l.len = 0;
    l.truncated = false;
    if (json)
        line_putc(&l, '{');
    line_put_pair(&l, json, true, "ts", ts);
    line_put_pair(&l, json, false, "level", level_names[level]);
    if (plugin != NULL) {
        line_put_pair(&l, json, false, "plugin", plugin);
        line_put_pair(&l, json, false, "instance", instance);
    } else {
        line_put_pair(&l, json, false, "component", "core");
    }
    line_put_pair(&l, json, false, "event", event ? event : "log");
    if (message != NULL && *message != '\0')
        line_put_pair(&l, json, false, "msg", message);
    for (size_t i = 0; i < field_count; i++) {
        if (fields[i].key != NULL)
            line_put_pair(&l, json, false, fields[i].key, fields[i].value);
    }
    if (l.truncated) {
        /* Cut lines stay parseable: drop to a marker that closes cleanly. */
        l.len = sizeof(l.buf) - 40;
        l.truncated = false;
        line_put_pair(&l, json, false, "truncated", "true");
    }
    if (json)
        line_putc(&l, '}');
    l.buf[l.len++] = '\n';

    int fd = atomic_load(&log_out_fd);
    const char *p = l.buf;
    size_t left = l.len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a logging failure */
        }
        p += n;
        left -= (size_t)n;
    }
}

static void log_core_v(trellis_log_level level, const char *event, const trellis_log_field *fields,
                       size_t field_count, const char *fmt, va_list ap)
{
    char message[4096];
    vsnprintf(message, sizeof(message), fmt, ap);
    log_write(level, NULL, NULL, event, message, fields, field_count);
}

void log_core(trellis_log_level level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_core_v(level, event, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_core_fields(trellis_log_level level, const char *event, const trellis_log_field *fields,
                     size_t field_count, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_core_v(level, event, fields, field_count, fmt, ap);
    va_end(ap);
}
