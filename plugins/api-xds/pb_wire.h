/*
 * Protocol buffers wire format, written directly into a byte_buffer: tags,
 * varints, zigzag, fixed-width and length-delimited values. Shared by the
 * JSON encoder and the hand-written discovery messages.
 */
#ifndef TRELLIS_XDS_PB_WIRE_H
#define TRELLIS_XDS_PB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byte_buffer.h"

enum pb_wire_type {
    PB_WIRE_VARINT = 0,
    PB_WIRE_FIXED64 = 1,
    PB_WIRE_LEN = 2,
    PB_WIRE_FIXED32 = 5
};

/* Bytes a varint of `value` takes (1..10). */
size_t pb_varint_size(uint64_t value);
/* Writes the varint into out (at least 10 bytes); returns its size. */
size_t pb_varint_encode(uint64_t value, uint8_t *out);

void pb_put_varint(byte_buffer *b, uint64_t value);
void pb_put_tag(byte_buffer *b, uint32_t field, enum pb_wire_type wire);
void pb_put_fixed32(byte_buffer *b, uint32_t value);
void pb_put_fixed64(byte_buffer *b, uint64_t value);
/* tag + length + bytes */
void pb_put_bytes_field(byte_buffer *b, uint32_t field, const void *data, size_t len);
void pb_put_string_field(byte_buffer *b, uint32_t field, const char *s);

static inline uint64_t pb_zigzag32(int32_t v)
{
    return (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}
static inline uint64_t pb_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/*
 * Length-delimited content whose length is known only once written:
 *   size_t mark = pb_begin_len(b);  ... write content ...  pb_end_len(b, mark);
 * Reserves one length byte and widens it afterwards if the content needs more.
 */
size_t pb_begin_len(byte_buffer *b);
void pb_end_len(byte_buffer *b, size_t mark);

/* Reads a varint from [*p, end); false if truncated or longer than 10 bytes. */
bool pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *value);

#endif
