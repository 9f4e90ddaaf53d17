/*
 * UTF-8 validation for plugins that must refuse malformed text before it
 * reaches a format that requires it (store keys: store.h, PostgreSQL's
 * UTF8 databases).
 */
#ifndef TRELLIS_PLUGIN_UTF8_H
#define TRELLIS_PLUGIN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether text[0, len) is well-formed UTF-8: no overlong forms, no
 * surrogates, nothing past U+10FFFF, no sequence cut short. NUL bytes are
 * valid (callers that forbid them measure `len` with strlen/strnlen). */
bool utf8_valid(const void *text, size_t len);

#endif
