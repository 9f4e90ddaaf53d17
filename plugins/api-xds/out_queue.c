#include "out_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define OQ_CHUNK_BYTES 4096
#define OQ_WRITEV_MAX 64

void oq_init(out_queue *q)
{
    memset(q, 0, sizeof(*q));
}

static out_segment *seg_at(out_queue *q, size_t i)
{
    return &q->segs[(q->head + i) % q->cap];
}

void oq_free(out_queue *q)
{
    for (size_t i = 0; i < q->count; i++)
        refbuf_unref(seg_at(q, i)->owner);
    free(q->segs);
    refbuf_unref(q->chunk);
    oq_init(q);
}

static bool push_segment(out_queue *q, refbuf *owner, const uint8_t *data, size_t len)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        out_segment *segs = malloc(cap * sizeof(*segs));
        if (segs == NULL)
            return false;
        for (size_t i = 0; i < q->count; i++)
            segs[i] = *seg_at(q, i);
        free(q->segs);
        q->segs = segs;
        q->cap = cap;
        q->head = 0;
    }
    out_segment *s = &q->segs[(q->head + q->count) % q->cap];
    s->data = data;
    s->len = len;
    s->owner = refbuf_ref(owner);
    q->count++;
    q->bytes += len;
    return true;
}

bool oq_copy(out_queue *q, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        if (q->chunk == NULL || q->chunk->len == q->chunk->cap) {
            refbuf_unref(q->chunk);
            q->chunk = refbuf_new(len > OQ_CHUNK_BYTES ? len : OQ_CHUNK_BYTES);
            if (q->chunk == NULL)
                return false;
        }
        refbuf *c = q->chunk;
        size_t n = c->cap - c->len;
        if (n > len)
            n = len;
        uint8_t *dst = c->data + c->len;
        memcpy(dst, p, n);
        c->len += n;
        /* Consecutive copies into one chunk extend the last segment. */
        out_segment *last = q->count ? seg_at(q, q->count - 1) : NULL;
        if (last != NULL && last->owner == c && last->data + last->len == dst) {
            last->len += n;
            q->bytes += n;
        } else if (!push_segment(q, c, dst, n)) {
            c->len -= n;
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

bool oq_ref(out_queue *q, refbuf *owner, const uint8_t *data, size_t len)
{
    return len == 0 || push_segment(q, owner, data, len);
}

ssize_t oq_write(out_queue *q, int fd)
{
    size_t total = 0;
    while (q->count > 0) {
        struct iovec iov[OQ_WRITEV_MAX];
        int n = 0;
        size_t offered = 0;
        for (size_t i = 0; i < q->count && n < OQ_WRITEV_MAX; i++, n++) {
            out_segment *s = seg_at(q, i);
            iov[n].iov_base = (void *)s->data;
            iov[n].iov_len = s->len;
            offered += s->len;
        }
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        size_t left = (size_t)w;
        total += left;
        q->bytes -= left;
        while (left > 0) {
            out_segment *s = seg_at(q, 0);
            if (left < s->len) {
                s->data += left;
                s->len -= left;
                left = 0;
            } else {
                left -= s->len;
                refbuf_unref(s->owner);
                q->head = (q->head + 1) % q->cap;
                q->count--;
            }
        }
        if ((size_t)w < offered) /* a short write: the socket buffer is full */
            break;
    }
    if (q->count == 0) {
        /* Idle connections keep no buffers. */
        free(q->segs);
        q->segs = NULL;
        q->cap = 0;
        q->head = 0;
        refbuf_unref(q->chunk);
        q->chunk = NULL;
    }
    return (ssize_t)total;
}
