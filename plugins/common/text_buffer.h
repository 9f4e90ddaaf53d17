/*
 * A growable text buffer for building responses in plugins. Appends never
 * fail loudly: after an allocation failure the buffer is marked failed and
 * further appends are ignored; check tb_failed() once at the end.
 */
#ifndef TRELLIS_PLUGIN_TEXT_BUFFER_H
#define TRELLIS_PLUGIN_TEXT_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct text_buffer {
    char *data;      /* NUL-terminated when non-NULL; owned */
    size_t len;
    size_t cap;
    bool failed;
} text_buffer;

void tb_init(text_buffer *tb);
void tb_free(text_buffer *tb);
void tb_reset(text_buffer *tb); /* empties, keeps the allocation */
bool tb_failed(const text_buffer *tb);

void tb_append_len(text_buffer *tb, const char *s, size_t len);
void tb_append(text_buffer *tb, const char *s);
void tb_appendf(text_buffer *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal with quotes and escapes. */
void tb_append_json_string(text_buffer *tb, const char *s);

/* Hands the data to the caller (who frees it) and resets the buffer. */
char *tb_take(text_buffer *tb);

#endif
