/*
 * A growable byte buffer with a hard size limit, for building protobuf
 * messages. Appends never fail loudly: after an allocation failure or when the
 * limit would be passed the buffer is marked failed and later appends are
 * ignored; check bb_failed() once at the end.
 */
#ifndef TRELLIS_XDS_BYTE_BUF_H
#define TRELLIS_XDS_BYTE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct byte_buf {
    uint8_t *data;  /* owned */
    size_t len;
    size_t cap;
    size_t limit;   /* the buffer never grows past this many bytes */
    bool failed;
} byte_buf;

void bb_init(byte_buf *b, size_t limit);
void bb_free(byte_buf *b);
void bb_reset(byte_buf *b); /* empties, keeps the allocation */
static inline bool bb_failed(const byte_buf *b) { return b->failed; }

/* Makes room for `extra` more bytes; false (and failed) if it cannot. */
bool bb_reserve(byte_buf *b, size_t extra);
void bb_append(byte_buf *b, const void *data, size_t len);
void bb_append_byte(byte_buf *b, uint8_t byte);

/* Inserts `gap` bytes at `offset` (moving the tail right); for length
 * prefixes known only after the content was written. */
bool bb_insert_gap(byte_buf *b, size_t offset, size_t gap);

#endif
