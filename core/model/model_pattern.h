/*
 * The model's string patterns (POSIX ERE equivalents of the Java patterns in
 * service-2.json), compiled once per process on first use and shared by every
 * thread: regexec() on a compiled pattern is thread-safe.
 */
#ifndef TRELLIS_CORE_MODEL_PATTERN_H
#define TRELLIS_CORE_MODEL_PATTERN_H

#include <stdbool.h>

/* Whether `value` (NUL-terminated) matches `pattern`, which must be the
 * `pattern` pointer of a shape in model_shapes[]. Matching is byte-wise in
 * the C locale whatever the process locale is, so non-ASCII characters never
 * fall inside ASCII ranges such as [!-~]. A pattern that failed to compile
 * matches nothing (fail closed); model_patterns_ok() reports that. */
bool model_pattern_match(const char *pattern, const char *value);

/* Whether every model pattern compiled (for tests and start-up checks). */
bool model_patterns_ok(void);

#endif
