/*
 * Checks the diagnostics a check of the core produced (diag_list,
 * core/diag.h) against the expected ones, in order. Header only, so that
 * its checks count in the including test's test_check.h counters.
 */
#ifndef TRELLIS_TEST_DIAG_CHECK_H
#define TRELLIS_TEST_DIAG_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "test_check.h"

/* Checks that `diags` holds exactly `prefix` followed by each of `expected`
 * (NULL-terminated), in that order; a missing or an unexpected one is
 * printed with `line` (the test's). Returns how many were expected. */
static inline size_t check_diagnostics(const diag_list *diags, const char *prefix,
                                       const char *const *expected, int line)
{
    size_t n = 0;
    for (; expected[n] != NULL; n++) {
        char want[2048];
        snprintf(want, sizeof(want), "%s%s", prefix, expected[n]);
        if (n < diags->count)
            CHECK_STR(diags->items[n], want);
        else
            fprintf(stderr, "line %d: missing diagnostic: %s\n", line, want);
    }
    for (size_t extra = n; extra < diags->count; extra++)
        fprintf(stderr, "line %d: unexpected diagnostic: %s\n", line, diags->items[extra]);
    CHECK_INT(diags->count, n);
    return n;
}

#endif
