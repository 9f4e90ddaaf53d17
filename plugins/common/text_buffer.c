#include "text_buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tb_init(text_buffer *tb)
{
    tb->data = NULL;
    tb->len = 0;
    tb->cap = 0;
    tb->failed = false;
}

void tb_free(text_buffer *tb)
{
    free(tb->data);
    tb_init(tb);
}

void tb_reset(text_buffer *tb)
{
    tb->len = 0;
    tb->failed = false;
    if (tb->data != NULL)
        tb->data[0] = '\0';
}

bool tb_failed(const text_buffer *tb)
{
    return tb->failed;
}

static bool tb_reserve(text_buffer *tb, size_t extra)
{
    if (tb->failed)
        return false;
    if (tb->len + extra + 1 <= tb->cap)
        return true;
    size_t cap = tb->cap ? tb->cap : 256;
    while (cap < tb->len + extra + 1)
        cap *= 2;
    char *grown = realloc(tb->data, cap);
    if (grown == NULL) {
        tb->failed = true;
        return false;
    }
    tb->data = grown;
    tb->cap = cap;
    return true;
}

void tb_append_len(text_buffer *tb, const char *s, size_t len)
{
    if (!tb_reserve(tb, len))
        return;
    memcpy(tb->data + tb->len, s, len);
    tb->len += len;
    tb->data[tb->len] = '\0';
}

void tb_append(text_buffer *tb, const char *s)
{
    tb_append_len(tb, s, strlen(s));
}

void tb_appendf(text_buffer *tb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !tb_reserve(tb, (size_t)n)) {
        tb->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(tb->data + tb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tb->len += (size_t)n;
}

void tb_append_json_string(text_buffer *tb, const char *s)
{
    tb_append_len(tb, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *esc = NULL;
        char buf[8];
        switch (*p) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (*p < 0x20) {
                snprintf(buf, sizeof(buf), "\\u%04x", *p);
                esc = buf;
            }
        }
        if (esc != NULL) {
            tb_append_len(tb, run, (size_t)((const char *)p - run));
            tb_append(tb, esc);
            run = (const char *)p + 1;
        }
    }
    tb_append(tb, run);
    tb_append_len(tb, "\"", 1);
}

char *tb_take(text_buffer *tb)
{
    char *data = tb->data;
    if (data == NULL) {
        data = malloc(1);
        if (data != NULL)
            data[0] = '\0';
    }
    tb_init(tb);
    return data;
}
