#include "pb_wire.h"

#include <string.h>

size_t pb_varint_size(uint64_t value)
{
    size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        n++;
    }
    return n;
}

size_t pb_varint_encode(uint64_t value, uint8_t *out)
{
    size_t n = 0;
    while (value >= 0x80) {
        out[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    out[n++] = (uint8_t)value;
    return n;
}

void pb_put_varint(byte_buffer *b, uint64_t value)
{
    uint8_t tmp[10];
    bb_append(b, tmp, pb_varint_encode(value, tmp));
}

void pb_put_tag(byte_buffer *b, uint32_t field, enum pb_wire_type wire)
{
    pb_put_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void pb_put_fixed32(byte_buffer *b, uint32_t value)
{
    uint8_t tmp[4];
    for (int i = 0; i < 4; i++)
        tmp[i] = (uint8_t)(value >> (8 * i));
    bb_append(b, tmp, 4);
}

void pb_put_fixed64(byte_buffer *b, uint64_t value)
{
    uint8_t tmp[8];
    for (int i = 0; i < 8; i++)
        tmp[i] = (uint8_t)(value >> (8 * i));
    bb_append(b, tmp, 8);
}

void pb_put_bytes_field(byte_buffer *b, uint32_t field, const void *data, size_t len)
{
    pb_put_tag(b, field, PB_WIRE_LEN);
    pb_put_varint(b, len);
    bb_append(b, data, len);
}

void pb_put_string_field(byte_buffer *b, uint32_t field, const char *s)
{
    pb_put_bytes_field(b, field, s, strlen(s));
}

size_t pb_begin_len(byte_buffer *b)
{
    size_t mark = b->len;
    bb_append_byte(b, 0);
    return mark;
}

void pb_end_len(byte_buffer *b, size_t mark)
{
    if (b->failed)
        return;
    size_t content = b->len - mark - 1;
    uint8_t prefix[10];
    size_t n = pb_varint_encode(content, prefix);
    if (n > 1 && !bb_insert_gap(b, mark + 1, n - 1))
        return;
    memcpy(b->data + mark, prefix, n);
}

bool pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            *value = v;
            return true;
        }
    }
    return false;
}
