/*
 * Bounded message building for the model's error texts. Messages end up in
 * JSON responses and log lines, so everything appended stays valid UTF-8 and
 * on one line: truncation never splits a character, and values quoted from
 * requests have their control characters and invalid bytes escaped.
 */
#ifndef TRELLIS_CORE_MODEL_TEXT_H
#define TRELLIS_CORE_MODEL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Writes into a caller-owned buffer of `size` bytes, always NUL-terminated
 * (when size > 0). Appends past the end are dropped; `truncated` records it. */
typedef struct model_text {
    char *data;
    size_t size;
    size_t len;
    bool truncated;
} model_text;

void model_text_init(model_text *t, char *buffer, size_t size);

/* Appends trusted text (ASCII or valid UTF-8 produced by the model code). */
void model_text_append(model_text *t, const char *s);
void model_text_appendf(model_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends `len` bytes of untrusted text: valid UTF-8 characters are copied,
 * control characters become \n \r \t or \u00XX, invalid bytes become \xXX.
 * At most `max_chars` characters are copied; longer text ends in "...". */
void model_text_append_escaped(model_text *t, const char *s, size_t len, size_t max_chars);

/* Length of the valid UTF-8 sequence starting at s (1-4), or 0 if the bytes
 * there (at most `avail`) are not valid UTF-8 (overlong forms, surrogates and
 * code points above U+10FFFF are invalid). */
size_t model_utf8_sequence_length(const unsigned char *s, size_t avail);

/* Whether s[0..len) is entirely valid UTF-8 without NUL bytes. */
bool model_utf8_valid(const char *s, size_t len);

/* Number of Unicode code points in valid UTF-8 text. */
size_t model_utf8_count(const char *s, size_t len);

#endif
