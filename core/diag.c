#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void diag_add(diag_list *d, const char *fmt, ...)
{
    if (d->count >= DIAG_MAX) {
        d->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (msg == NULL) {
        d->dropped++;
        return;
    }
    d->items[d->count++] = msg;
}

bool diag_empty(const diag_list *d)
{
    return d->count == 0 && d->dropped == 0;
}

char *diag_join(const diag_list *d)
{
    size_t len = 1 + 32;
    for (size_t i = 0; i < d->count; i++)
        len += strlen(d->items[i]) + 2;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < d->count; i++) {
        if (i > 0)
            strcat(out, "; ");
        strcat(out, d->items[i]);
    }
    if (d->dropped > 0)
        snprintf(out + strlen(out), 32, "; (%zu more)", d->dropped);
    return out;
}

void diag_clear(diag_list *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->items[i]);
    d->count = 0;
    d->dropped = 0;
}

void diag_log_and_clear(diag_list *d, const char *event)
{
    for (size_t i = 0; i < d->count; i++)
        log_core(TRELLIS_LOG_ERROR, event, "%s", d->items[i]);
    if (d->dropped > 0)
        log_core(TRELLIS_LOG_ERROR, event, "%zu more problems not shown", d->dropped);
    diag_clear(d);
}
