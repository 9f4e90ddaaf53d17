#include "model_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void model_text_init(model_text *t, char *buffer, size_t size)
{
    t->data = buffer;
    t->size = size;
    t->len = 0;
    t->truncated = false;
    if (size > 0)
        buffer[0] = '\0';
}

/* Appends bytes that are known to be whole UTF-8 characters, dropping the
 * trailing characters that do not fit. */
static void append_utf8(model_text *t, const char *s, size_t len)
{
    if (t->truncated || t->size == 0)
        return;
    size_t room = t->size - 1 - t->len;
    size_t take = len;
    if (take > room) {
        take = room;
        /* Back up to the start of the character that would be cut. */
        while (take > 0 && ((unsigned char)s[take] & 0xC0) == 0x80)
            take--;
        t->truncated = true;
    }
    memcpy(t->data + t->len, s, take);
    t->len += take;
    t->data[t->len] = '\0';
}

void model_text_append(model_text *t, const char *s)
{
    append_utf8(t, s, strlen(s));
}

void model_text_appendf(model_text *t, const char *fmt, ...)
{
    char buffer[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buffer, sizeof(buffer), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* Formatted pieces are short ASCII (numbers, names); a longer one is cut. */
    append_utf8(t, buffer, (size_t)n < sizeof(buffer) ? (size_t)n : sizeof(buffer) - 1);
}

size_t model_utf8_sequence_length(const unsigned char *s, size_t avail)
{
    if (avail == 0)
        return 0;
    unsigned char b = s[0];
    if (b < 0x80)
        return 1;
    size_t need;
    unsigned cp;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 2;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        cp = b & 0x07;
    } else {
        return 0; /* continuation byte, overlong lead (C0, C1) or beyond U+10FFFF */
    }
    if (avail < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

bool model_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (p[i] == 0)
            return false;
        size_t n = model_utf8_sequence_length(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

size_t model_utf8_count(const char *s, size_t len)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    }
    return count;
}

void model_text_append_escaped(model_text *t, const char *s, size_t len, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    for (size_t i = 0; i < len && !t->truncated;) {
        if (chars == max_chars) {
            model_text_append(t, "...");
            return;
        }
        unsigned char b = p[i];
        size_t n = model_utf8_sequence_length(p + i, len - i);
        char escape[8];
        if (n == 0) {
            snprintf(escape, sizeof(escape), "\\x%02X", b);
            model_text_append(t, escape);
            i++;
        } else if (b == '\n') {
            model_text_append(t, "\\n");
            i++;
        } else if (b == '\r') {
            model_text_append(t, "\\r");
            i++;
        } else if (b == '\t') {
            model_text_append(t, "\\t");
            i++;
        } else if (b < 0x20 || b == 0x7F) {
            snprintf(escape, sizeof(escape), "\\u%04X", b);
            model_text_append(t, escape);
            i++;
        } else {
            append_utf8(t, s + i, n);
            i += n;
        }
        chars++;
    }
}
