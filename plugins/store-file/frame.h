/*
 * Frames: the unit of every store.file file. Journal segments and snapshots
 * are sequences of frames; a frame is a fixed 20-byte header followed by a
 * body, both checksummed, all integers little-endian:
 *
 *   0  u32 magic        0x464C5254 ("TRLF")
 *   4  u8  type         FRAME_JOURNAL_BATCH, FRAME_SNAPSHOT_*
 *   5  u8  format       FRAME_FORMAT_VERSION
 *   6  u16 reserved     0
 *   8  u32 body_len     bytes after the header
 *  12  u32 body_crc     CRC32C of the body
 *  16  u32 header_crc   CRC32C of bytes 0..15
 *
 * The separate header checksum lets a reader tell "a header whose body was
 * cut short" (a torn tail) from "garbage", and lets recovery search a damaged
 * region for any later intact frame (see frame_find_valid).
 */
#ifndef STORE_FILE_FRAME_H
#define STORE_FILE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byte_buffer.h"

#define FRAME_MAGIC 0x464C5254u
#define FRAME_HEADER_SIZE 20u
#define FRAME_FORMAT_VERSION 1u

/* The largest body a writer produces: one maximal commit (256 ops of 4 MiB
 * values) is just over 1 GiB. Anything claiming more is not ours. */
#define FRAME_BODY_MAX 0x60000000u

typedef enum frame_type {
    FRAME_JOURNAL_BATCH = 1,    /* one group commit: consecutive revisions */
    FRAME_SNAPSHOT_BEGIN = 2,   /* revision and record count */
    FRAME_SNAPSHOT_RECORDS = 3, /* a chunk of records */
    FRAME_SNAPSHOT_END = 4      /* revision and record count again; last frame */
} frame_type;

/* ---- writing ---- */

/* Frames are built in a byte_buffer (plugins/common), with
 * bb_append()/bb_append_byte() and these little-endian integers. */
void frame_put_le32(byte_buffer *b, uint32_t v);
void frame_put_le64(byte_buffer *b, uint64_t v);

/* Starts a frame at the end of `b`: reserves the header and returns its
 * offset for frame_end(), which fills the header once the body is written. */
size_t frame_begin(byte_buffer *b);
void frame_end(byte_buffer *b, size_t frame_offset, frame_type type);

/* ---- reading ---- */

typedef struct byte_reader {
    const unsigned char *p;
    const unsigned char *end;
    bool failed; /* a get ran past the end */
} byte_reader;

void br_init(byte_reader *r, const void *data, size_t len);
uint8_t br_get_u8(byte_reader *r);
uint32_t br_get_u32(byte_reader *r);
uint64_t br_get_u64(byte_reader *r);
/* Borrows n bytes; NULL (and failed) if fewer remain. */
const unsigned char *br_get_bytes(byte_reader *r, size_t n);
static inline size_t br_remaining(const byte_reader *r)
{
    return (size_t)(r->end - r->p);
}

typedef enum frame_status {
    FRAME_VALID = 0,
    FRAME_INCOMPLETE, /* fewer bytes than a header, or than the header announces */
    FRAME_BAD_HEADER, /* magic, header checksum, format or length wrong */
    FRAME_BAD_BODY    /* header intact, body checksum wrong */
} frame_status;

typedef struct frame_view {
    uint8_t type;
    uint32_t body_len;
    const unsigned char *body; /* borrowed from the scanned bytes */
    size_t total_len;          /* header + body */
} frame_view;

/* Checks the frame starting at data[0] with `avail` bytes available. Fills
 * `out` when the header is intact (FRAME_VALID, FRAME_BAD_BODY, and
 * FRAME_INCOMPLETE with a readable header). */
frame_status frame_check(const unsigned char *data, size_t avail, frame_view *out);

/* Offset of the first fully valid frame in data[from, size), or SIZE_MAX.
 * Probes every byte offset: used only after damage was found, to decide
 * whether the damage is the end of the file or sits before intact data. */
size_t frame_find_valid(const unsigned char *data, size_t size, size_t from);

const char *frame_status_text(frame_status status);

#endif
