#include "refbuf.h"

#include <stdlib.h>
#include <string.h>

refbuf *refbuf_new(size_t cap)
{
    refbuf *b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->len = 0;
    b->cap = cap;
    return b;
}

refbuf *refbuf_copy(const void *data, size_t len)
{
    refbuf *b = refbuf_new(len);
    if (b == NULL)
        return NULL;
    if (len > 0)
        memcpy(b->data, data, len);
    b->len = len;
    return b;
}

void refbuf_unref(refbuf *b)
{
    if (b != NULL && --b->refs == 0)
        free(b);
}
