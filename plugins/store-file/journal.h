/*
 * The journal: append-only segment files of FRAME_JOURNAL_BATCH frames, one
 * frame per group commit, written with one pwrite() and made durable with one
 * fdatasync() before any commit in it is acknowledged.
 *
 * A segment is named journal-<first revision, 20 digits>.log; a new one starts
 * after every snapshot. Batch frame body (little-endian):
 *
 *   u64 first_revision, u32 commit_count,
 *   per commit (revisions first_revision, first_revision+1, ...):
 *     u32 change_count,
 *     per change: u8 op (1 put, 2 delete), u64 version (0 for delete),
 *                 u32 key_len, u32 value_len (0 for delete), key, value
 *
 * Because a batch is written only after the previous one is synced, a damaged
 * frame followed by an intact one cannot be a torn write: recovery uses that
 * to tell a torn tail (dropped) from corruption (refused).
 */
#ifndef STORE_FILE_JOURNAL_H
#define STORE_FILE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "fsutil.h"
#include "record.h"

#define JOURNAL_PREFIX "journal-"
#define JOURNAL_SUFFIX ".log"

#define JOURNAL_OP_PUT 1u
#define JOURNAL_OP_DELETE 2u

/* Bytes one change adds to a batch body: op, version, two lengths, data. */
#define JOURNAL_CHANGE_OVERHEAD 17u
#define JOURNAL_COMMIT_OVERHEAD 4u
#define JOURNAL_BATCH_OVERHEAD (FRAME_HEADER_SIZE + 12u)

void journal_segment_name(char out[STORE_NAME_MAX], uint64_t first_revision);
bool journal_parse_segment_name(const char *name, uint64_t *first_revision);

/* ---- encoding: begin, one add per commit, end ---- */

size_t journal_batch_begin(byte_buffer *b, uint64_t first_revision, uint32_t commit_count);
void journal_batch_add_commit(byte_buffer *b, store_record *const *changes, size_t change_count);
void journal_batch_end(byte_buffer *b, size_t frame_offset);

/* ---- decoding ---- */

typedef struct journal_change {
    uint64_t revision;
    bool put;
    uint64_t version;
    const char *key; /* not NUL-terminated; borrowed from the frame */
    size_t key_len;
    const char *value;
    size_t value_len;
} journal_change;

/* Called once per change; false stops decoding (the reason is the caller's). */
typedef bool (*journal_change_fn)(void *arg, const journal_change *change);

/* Walks a valid batch frame. Returns false with a reason in errbuf when the
 * body is malformed or `visit` refused a change. *first and *count receive
 * the batch's revision range. */
bool journal_batch_decode(const frame_view *frame, journal_change_fn visit, void *arg,
                          uint64_t *first_revision, uint32_t *commit_count, char *errbuf,
                          size_t errbuf_size);

/* ---- segment files ---- */

typedef struct journal_segment {
    int fd;                  /* -1 when closed */
    uint64_t first_revision; /* from the file name */
    uint64_t size;           /* bytes of intact frames: the next append goes here */
    char name[STORE_NAME_MAX];
} journal_segment;

void journal_segment_init(journal_segment *seg);
/* Creates an empty segment (it must not exist) and makes it durable: the
 * file and the directory entry are synced when `sync`. 0 or errno. */
int journal_segment_create(int dir_fd, uint64_t first_revision, bool sync, journal_segment *out);
/* Opens an existing segment for appends at `size`. 0 or errno. */
int journal_segment_open(int dir_fd, const char *name, uint64_t first_revision, uint64_t size,
                         journal_segment *out);
void journal_segment_close(journal_segment *seg);

/* Appends `len` bytes at seg->size and syncs them (fdatasync) when `sync`.
 * On failure cuts the file back to where it was (best effort) and returns the
 * errno; *failed_call names the call that failed. */
int journal_append(journal_segment *seg, const void *data, size_t len, bool sync,
                   const char **failed_call);

#endif
