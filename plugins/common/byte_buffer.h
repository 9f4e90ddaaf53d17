/*
 * A growable byte buffer with a hard size limit, for plugins that encode
 * binary formats (store.file's frames, store.postgres's binary parameters,
 * api.xds's protobuf messages). Each plugin keeps its own encodings (byte
 * order, varints) on top of bb_append().
 *
 * Appends never fail loudly: after an allocation failure, or when the limit
 * would be passed, the buffer is marked failed and later appends are
 * ignored; check bb_failed() once at the end. The buffer owns `data`
 * (NULL until the first append); bb_free() releases it.
 */
#ifndef TRELLIS_PLUGIN_BYTE_BUFFER_H
#define TRELLIS_PLUGIN_BYTE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A limit for buffers bounded only by memory. */
#define BB_NO_LIMIT SIZE_MAX

typedef struct byte_buffer {
    uint8_t *data; /* owned; `len` bytes written, `cap` allocated */
    size_t len;
    size_t cap;
    size_t limit; /* the buffer never holds more than this many bytes */
    bool failed;
} byte_buffer;

/* An empty buffer; nothing is allocated until the first append. */
void bb_init(byte_buffer *b, size_t limit);
/* Releases the data; the buffer is empty again (same limit) and reusable. */
void bb_free(byte_buffer *b);
/* Empties and clears the failure, keeping the allocation for reuse. */
void bb_reset(byte_buffer *b);
static inline bool bb_failed(const byte_buffer *b)
{
    return b->failed;
}

/* Makes room for `extra` more bytes; false (and failed) if it cannot. */
bool bb_reserve(byte_buffer *b, size_t extra);
void bb_append(byte_buffer *b, const void *data, size_t len);
void bb_append_byte(byte_buffer *b, uint8_t byte);

/* Inserts `gap` bytes (unset) at `offset`, moving the tail right: for length
 * prefixes known only after the content was written. false if `offset` is
 * past the end (the buffer is left as it was) or the gap does not fit (the
 * buffer is failed). */
bool bb_insert_gap(byte_buffer *b, size_t offset, size_t gap);

#endif
