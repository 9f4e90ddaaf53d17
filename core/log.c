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

/*
 * A bounded line buffer. Pairs are written whole or cut inside their value;
 * a cut value is still closed (quote, JSON string) and never ends inside an
 * escape sequence or a UTF-8 character, so a cut line stays one parseable
 * line. LINE_RESERVE keeps room for the closing bytes and the marker.
 */
#define LINE_RESERVE 48

typedef struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool truncated;
} line;

/* Appends n bytes if they fit before the reserve; false (and marks the line
 * truncated) if they do not. */
static bool line_put_unit(line *l, const char *s, size_t n)
{
    if (l->len + n > sizeof(l->buf) - LINE_RESERVE) {
        l->truncated = true;
        return false;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

/* Appends into the reserve: only for closing bytes and the marker. */
static void line_put_closing(line *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n < sizeof(l->buf)) {
        memcpy(l->buf + l->len, s, n);
        l->len += n;
    }
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

/* Length of the UTF-8 sequence starting with `lead`; 1 for anything else,
 * so invalid bytes pass through one at a time. */
static size_t utf8_sequence_length(unsigned char lead, const unsigned char *p)
{
    size_t n = lead >= 0xf0 && lead < 0xf8 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 1;
    }
    return n;
}

/* Escapes control characters, quotes and backslashes; valid for both
 * formats. Each escape or character is appended whole or not at all. */
static void line_put_escaped(line *l, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p;) {
        char esc[8];
        const char *unit = esc;
        size_t n = 2;
        switch (*p) {
        case '"': unit = "\\\""; break;
        case '\\': unit = "\\\\"; break;
        case '\n': unit = "\\n"; break;
        case '\r': unit = "\\r"; break;
        case '\t': unit = "\\t"; break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
            } else {
                unit = (const char *)p;
                n = utf8_sequence_length(*p, p);
            }
        }
        if (!line_put_unit(l, unit, n))
            return;
        p += unit == (const char *)p ? n : 1;
    }
}

static void line_put_pair(line *l, bool json, bool first, const char *key, const char *value)
{
    if (l->truncated)
        return;
    if (value == NULL)
        value = "";
    if (json) {
        if (!line_put_unit(l, first ? "\"" : ",\"", first ? 1 : 2))
            return;
        line_put_escaped(l, key);
        if (l->truncated || !line_put_unit(l, "\":\"", 3)) {
            line_put_closing(l, "\":\"\"");
            return;
        }
        line_put_escaped(l, value);
        line_put_closing(l, "\"");
        return;
    }
    if (!first && !line_put_unit(l, " ", 1))
        return;
    line_put_escaped(l, key);
    if (l->truncated || !line_put_unit(l, "=", 1)) {
        line_put_closing(l, "=\"\"");
        return;
    }
    if (text_needs_quotes(value)) {
        if (!line_put_unit(l, "\"", 1)) {
            line_put_closing(l, "\"\"");
            return;
        }
        line_put_escaped(l, value);
        line_put_closing(l, "\"");
    } else {
        line_put_escaped(l, value);
    }
}

static void format_timestamp(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    /* strftime for the date: snprintf of raw tm ints trips -Wformat-truncation
     * at -O2 (the optimised build treats warnings as errors). */
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03uZ", (unsigned)(tv.tv_usec / 1000) % 1000u);
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
        line_put_unit(&l, "{", 1);
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
    if (l.truncated)
        line_put_closing(&l, json ? ",\"truncated\":\"true\"" : " truncated=true");
    if (json)
        line_put_closing(&l, "}");
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
