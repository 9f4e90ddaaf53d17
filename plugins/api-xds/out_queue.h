/*
 * A connection's write queue: the bytes nghttp2 produced, waiting for the
 * socket. Small frames (headers, settings, pings, DATA frame headers) are
 * copied into 4 KiB chunks; response payloads are queued by reference to the
 * shared refcounted body, so ten thousand streams sending the same response
 * hold one copy of it. Written with writev. An idle connection's queue holds
 * no memory at all.
 */
#ifndef TRELLIS_XDS_OUT_QUEUE_H
#define TRELLIS_XDS_OUT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "refbuf.h"

typedef struct out_segment {
    const uint8_t *data;
    size_t len;
    refbuf *owner;      /* one reference held while the segment is queued */
} out_segment;

typedef struct out_queue {
    out_segment *segs;  /* ring buffer */
    size_t head;
    size_t count;
    size_t cap;
    size_t bytes;       /* bytes queued */
    refbuf *chunk;      /* the copy chunk being filled (a reference) */
} out_queue;

void oq_init(out_queue *q);
/* Drops everything queued. */
void oq_free(out_queue *q);

/* Copies bytes in. false on allocation failure (nothing queued then). */
bool oq_copy(out_queue *q, const void *data, size_t len);
/* Queues [data, data+len) of `owner` by reference (takes its own reference). */
bool oq_ref(out_queue *q, refbuf *owner, const uint8_t *data, size_t len);

static inline bool oq_empty(const out_queue *q) { return q->count == 0; }
static inline size_t oq_bytes(const out_queue *q) { return q->bytes; }
static inline size_t oq_segments(const out_queue *q) { return q->count; }

/*
 * Writes as much as the socket takes. Returns the number of bytes written
 * (0 when the socket is full or the queue empty), or -1 with errno on a
 * socket error (EAGAIN is not an error).
 */
ssize_t oq_write(out_queue *q, int fd);

#endif
