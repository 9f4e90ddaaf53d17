/*
 * Diagnostics: an ordered list of precise, human-readable problems
 * ("trellis.json: plugins[2].config.listen: not an address"). Collected by the
 * config checks so `check-config` can report every problem at once.
 */
#ifndef TRELLIS_CORE_DIAG_H
#define TRELLIS_CORE_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#define DIAG_MAX 64 /* further problems are counted, not kept */

typedef struct diag_list {
    char *items[DIAG_MAX];
    size_t count;    /* kept */
    size_t dropped;  /* past DIAG_MAX */
} diag_list;

void diag_add(diag_list *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool diag_empty(const diag_list *d);
/* Every message joined with "; " (owned by the caller), for one log line. */
char *diag_join(const diag_list *d);
void diag_clear(diag_list *d);
/* Logs every problem as an error line with `event`, then how many were
 * dropped past DIAG_MAX, and clears the list. Loop thread. */
void diag_log_and_clear(diag_list *d, const char *event);

#endif
