#include "byte_buffer.h"

#include <stdlib.h>
#include <string.h>

/* The first allocation: small, as most buffers hold one short message. */
#define BB_FIRST_CAPACITY 256

void bb_init(byte_buffer *b, size_t limit)
{
    *b = (byte_buffer){.limit = limit};
}

void bb_free(byte_buffer *b)
{
    free(b->data);
    bb_init(b, b->limit);
}

void bb_reset(byte_buffer *b)
{
    b->len = 0;
    b->failed = false;
}

bool bb_reserve(byte_buffer *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > b->limit || b->len > b->limit - extra) {
        b->failed = true;
        return false;
    }
    if (b->len + extra <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : BB_FIRST_CAPACITY;
    /* Doubling, but never past the limit (which also keeps it from overflowing). */
    while (cap < b->len + extra)
        cap = cap > b->limit / 2 ? b->limit : cap * 2;
    if (cap > b->limit)
        cap = b->limit;
    uint8_t *grown = realloc(b->data, cap);
    if (grown == NULL) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

void bb_append(byte_buffer *b, const void *data, size_t len)
{
    if (len == 0 || !bb_reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void bb_append_byte(byte_buffer *b, uint8_t byte)
{
    if (!bb_reserve(b, 1))
        return;
    b->data[b->len++] = byte;
}

bool bb_insert_gap(byte_buffer *b, size_t offset, size_t gap)
{
    if (offset > b->len || !bb_reserve(b, gap))
        return false;
    memmove(b->data + offset + gap, b->data + offset, b->len - offset);
    b->len += gap;
    return true;
}
