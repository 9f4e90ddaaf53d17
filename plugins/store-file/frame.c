#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

/* ---- writing ---- */

void frame_put_le32(byte_buffer *b, uint32_t v)
{
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24)};
    bb_append(b, le, sizeof(le));
}

void frame_put_le64(byte_buffer *b, uint64_t v)
{
    frame_put_le32(b, (uint32_t)v);
    frame_put_le32(b, (uint32_t)(v >> 32));
}

static void store_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t frame_begin(byte_buffer *b)
{
    size_t offset = b->len;
    static const unsigned char zero_header[FRAME_HEADER_SIZE] = {0};
    bb_append(b, zero_header, sizeof(zero_header));
    return offset;
}

void frame_end(byte_buffer *b, size_t frame_offset, frame_type type)
{
    if (b->failed)
        return;
    size_t body_len = b->len - frame_offset - FRAME_HEADER_SIZE;
    if (body_len > FRAME_BODY_MAX) {
        b->failed = true;
        return;
    }
    unsigned char *h = b->data + frame_offset;
    store_le32(h, FRAME_MAGIC);
    h[4] = (unsigned char)type;
    h[5] = FRAME_FORMAT_VERSION;
    h[6] = h[7] = 0;
    store_le32(h + 8, (uint32_t)body_len);
    store_le32(h + 12, crc32c(h + FRAME_HEADER_SIZE, body_len));
    store_le32(h + 16, crc32c(h, 16));
}

/* ---- reader ---- */

void br_init(byte_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
    r->failed = false;
}

const unsigned char *br_get_bytes(byte_reader *r, size_t n)
{
    if (r->failed || br_remaining(r) < n) {
        r->failed = true;
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    return p;
}

uint8_t br_get_u8(byte_reader *r)
{
    const unsigned char *p = br_get_bytes(r, 1);
    return p ? p[0] : 0;
}

uint32_t br_get_u32(byte_reader *r)
{
    const unsigned char *p = br_get_bytes(r, 4);
    return p ? load_le32(p) : 0;
}

uint64_t br_get_u64(byte_reader *r)
{
    const unsigned char *p = br_get_bytes(r, 8);
    return p ? (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32 : 0;
}

/* ---- checking ---- */

frame_status frame_check(const unsigned char *data, size_t avail, frame_view *out)
{
    if (avail < FRAME_HEADER_SIZE)
        return FRAME_INCOMPLETE;
    if (load_le32(data) != FRAME_MAGIC || load_le32(data + 16) != crc32c(data, 16))
        return FRAME_BAD_HEADER;
    uint32_t body_len = load_le32(data + 8);
    if (data[5] != FRAME_FORMAT_VERSION || data[6] != 0 || data[7] != 0 ||
        body_len > FRAME_BODY_MAX)
        return FRAME_BAD_HEADER;
    *out = (frame_view){
        .type = data[4],
        .body_len = body_len,
        .body = data + FRAME_HEADER_SIZE,
        .total_len = FRAME_HEADER_SIZE + (size_t)body_len,
    };
    if (avail < out->total_len)
        return FRAME_INCOMPLETE;
    if (load_le32(data + 12) != crc32c(out->body, body_len))
        return FRAME_BAD_BODY;
    return FRAME_VALID;
}

size_t frame_find_valid(const unsigned char *data, size_t size, size_t from)
{
    static const unsigned char magic[4] = {'T', 'R', 'L', 'F'};
    for (size_t at = from; at + FRAME_HEADER_SIZE <= size; at++) {
        const unsigned char *hit = memchr(data + at, magic[0], size - at - FRAME_HEADER_SIZE + 1);
        if (hit == NULL)
            return SIZE_MAX;
        at = (size_t)(hit - data);
        frame_view view;
        if (memcmp(hit, magic, sizeof(magic)) == 0 &&
            frame_check(hit, size - at, &view) == FRAME_VALID)
            return at;
    }
    return SIZE_MAX;
}

const char *frame_status_text(frame_status status)
{
    switch (status) {
    case FRAME_VALID: return "valid";
    case FRAME_INCOMPLETE: return "incomplete frame (file ends inside it)";
    case FRAME_BAD_HEADER: return "bad frame header (magic, checksum, format or length)";
    case FRAME_BAD_BODY: return "frame body checksum mismatch";
    }
    return "unknown";
}
