#include "model_pattern.h"

#include <locale.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>

#include "model.h"

typedef struct compiled_pattern {
    const char *source; /* the shape's pattern pointer: identity is the key */
    regex_t regex;
    bool ok;
} compiled_pattern;

/* Built once and kept for the life of the process (never freed: shared by
 * every thread, and reachable, so leak checkers do not count it). */
static compiled_pattern *patterns;
static size_t pattern_count;
static locale_t c_locale;
static pthread_once_t patterns_once = PTHREAD_ONCE_INIT;

static void compile_patterns(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    size_t count = 0;
    for (size_t i = 0; i < model_shape_count; i++)
        count += model_shapes[i].pattern != NULL;
    patterns = calloc(count ? count : 1, sizeof(*patterns));
    if (patterns == NULL || c_locale == (locale_t)0)
        return; /* every match fails closed */
    locale_t previous = uselocale(c_locale);
    for (size_t i = 0; i < model_shape_count; i++) {
        const char *source = model_shapes[i].pattern;
        if (source == NULL)
            continue;
        compiled_pattern *p = &patterns[pattern_count++];
        p->source = source;
        p->ok = regcomp(&p->regex, source, REG_EXTENDED | REG_NOSUB) == 0;
    }
    uselocale(previous);
}

static const compiled_pattern *find_pattern(const char *pattern)
{
    pthread_once(&patterns_once, compile_patterns);
    for (size_t i = 0; i < pattern_count; i++) {
        if (patterns[i].source == pattern)
            return &patterns[i];
    }
    return NULL;
}

bool model_pattern_match(const char *pattern, const char *value)
{
    const compiled_pattern *p = find_pattern(pattern);
    if (p == NULL || !p->ok)
        return false;
    locale_t previous = uselocale(c_locale);
    bool match = regexec(&p->regex, value, 0, NULL, 0) == 0;
    uselocale(previous);
    return match;
}

bool model_patterns_ok(void)
{
    pthread_once(&patterns_once, compile_patterns);
    size_t expected = 0;
    for (size_t i = 0; i < model_shape_count; i++)
        expected += model_shapes[i].pattern != NULL;
    if (pattern_count != expected || c_locale == (locale_t)0)
        return false;
    for (size_t i = 0; i < pattern_count; i++) {
        if (!patterns[i].ok)
            return false;
    }
    return true;
}
