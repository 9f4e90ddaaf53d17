/*
 * Reference-counted immutable byte buffers: one encoded response body is
 * shared by every stream that sends it, and each queued write holds a
 * reference until the bytes reached the socket. Loop thread only (the counts
 * are not atomic).
 */
#ifndef TRELLIS_XDS_REFBUF_H
#define TRELLIS_XDS_REFBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct refbuf {
    uint32_t refs;
    size_t len;     /* bytes in use */
    size_t cap;     /* bytes allocated after the header */
    uint8_t data[];
} refbuf;

/* A buffer of `cap` bytes, len 0, one reference. NULL on allocation failure. */
refbuf *refbuf_new(size_t cap);
/* A copy of data (len bytes), one reference. */
refbuf *refbuf_copy(const void *data, size_t len);

static inline refbuf *refbuf_ref(refbuf *b)
{
    b->refs++;
    return b;
}

/* Drops one reference; frees on the last. NULL is a no-op. */
void refbuf_unref(refbuf *b);

#endif
