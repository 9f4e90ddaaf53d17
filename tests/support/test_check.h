/*
 * Plain-assert helpers for the C unit tests. A failed check prints where it
 * failed and both values, and the test goes on so one run shows every
 * failure; test_finish() turns the count into the exit status ctest reads.
 *
 *   CHECK(cond)                         a condition
 *   CHECK_STR(actual, expected)         exact string equality (NULL-safe)
 *   CHECK_CONTAINS(haystack, needle)    substring
 *   CHECK_INT(actual, expected)         integers (printed as long long)
 *   return test_finish("unit_config");
 */
#ifndef TRELLIS_TEST_CHECK_H
#define TRELLIS_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        test_checks++;                                                               \
        if (!(cond)) {                                                               \
            test_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STR(actual, expected)                                                        \
    do {                                                                                   \
        const char *check_a_ = (actual);                                                   \
        const char *check_e_ = (expected);                                                 \
        test_checks++;                                                                     \
        if (check_a_ == NULL || check_e_ == NULL ? check_a_ != check_e_                    \
                                                 : strcmp(check_a_, check_e_) != 0) {      \
            test_failures++;                                                               \
            fprintf(stderr, "%s:%d: %s\n  expected: %s\n  actual:   %s\n", __FILE__,       \
                    __LINE__, #actual, check_e_ ? check_e_ : "(null)",                     \
                    check_a_ ? check_a_ : "(null)");                                       \
        }                                                                                  \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                  \
    do {                                                                                  \
        const char *check_h_ = (haystack);                                                \
        const char *check_n_ = (needle);                                                  \
        test_checks++;                                                                    \
        if (check_h_ == NULL || strstr(check_h_, check_n_) == NULL) {                     \
            test_failures++;                                                              \
            fprintf(stderr, "%s:%d: %s does not contain \"%s\"\n  actual: %s\n", __FILE__, \
                    __LINE__, #haystack, check_n_, check_h_ ? check_h_ : "(null)");       \
        }                                                                                 \
    } while (0)

#define CHECK_INT(actual, expected)                                                         \
    do {                                                                                    \
        long long check_a_ = (long long)(actual);                                           \
        long long check_e_ = (long long)(expected);                                         \
        test_checks++;                                                                      \
        if (check_a_ != check_e_) {                                                         \
            test_failures++;                                                                \
            fprintf(stderr, "%s:%d: %s\n  expected: %lld\n  actual:   %lld\n", __FILE__,    \
                    __LINE__, #actual, check_e_, check_a_);                                 \
        }                                                                                   \
    } while (0)

static inline int test_finish(const char *name)
{
    if (test_checks == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures == 0 ? 0 : 1;
}

#endif
