#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <trellis/store.h>

#include "frame.h"

/* Records are grouped into frames of about this many bytes. */
#define SNAPSHOT_CHUNK_BYTES (1u << 20)
/* Bytes of a record besides its key and value; with a key of at least one
 * byte, no file holds more than size / (overhead + 1) records. */
#define SNAPSHOT_RECORD_OVERHEAD 24u

void snapshot_file_name(char out[STORE_NAME_MAX], uint64_t revision)
{
    snprintf(out, STORE_NAME_MAX, SNAPSHOT_PREFIX "%020llu" SNAPSHOT_SUFFIX,
             (unsigned long long)revision);
}

bool snapshot_parse_name(const char *name, uint64_t *revision)
{
    return fs_parse_numbered_name(name, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX, revision);
}

/* ---- writing ---- */

typedef struct chunk_writer {
    int fd;
    byte_buffer buf;
    size_t frame_offset;
    uint32_t records_in_frame;
    size_t count_offset; /* where the RECORDS frame's count goes */
    int error;
} chunk_writer;

static void chunk_flush(chunk_writer *w)
{
    if (w->error != 0)
        return;
    if (w->records_in_frame > 0) {
        unsigned char *count = w->buf.data + w->count_offset;
        uint32_t n = w->records_in_frame;
        count[0] = (unsigned char)n;
        count[1] = (unsigned char)(n >> 8);
        count[2] = (unsigned char)(n >> 16);
        count[3] = (unsigned char)(n >> 24);
        frame_end(&w->buf, w->frame_offset, FRAME_SNAPSHOT_RECORDS);
        w->records_in_frame = 0;
    }
    if (w->buf.failed) {
        w->error = ENOMEM;
        return;
    }
    w->error = fs_write_all(w->fd, w->buf.data, w->buf.len);
    bb_reset(&w->buf);
}

static void chunk_add(chunk_writer *w, const store_record *r)
{
    if (w->records_in_frame > 0 && w->buf.len + r->key_len + r->value_len > SNAPSHOT_CHUNK_BYTES)
        chunk_flush(w);
    if (w->records_in_frame == 0) {
        w->frame_offset = frame_begin(&w->buf);
        w->count_offset = w->buf.len;
        frame_put_le32(&w->buf, 0);
    }
    frame_put_le64(&w->buf, r->version);
    frame_put_le64(&w->buf, r->revision);
    frame_put_le32(&w->buf, (uint32_t)r->key_len);
    frame_put_le32(&w->buf, (uint32_t)r->value_len);
    bb_append(&w->buf, r->key, r->key_len);
    bb_append(&w->buf, r->value, r->value_len);
    w->records_in_frame++;
}

static void put_bounds_frame(byte_buffer *b, frame_type type, uint64_t revision, uint64_t count)
{
    size_t at = frame_begin(b);
    frame_put_le64(b, revision);
    frame_put_le64(b, count);
    frame_end(b, at, type);
}

int snapshot_write(int dir_fd, uint64_t revision, const record_table *table, bool sync,
                   bool *renamed, char *what, size_t what_size)
{
    char name[STORE_NAME_MAX], tmp[STORE_NAME_MAX + 8];
    snapshot_file_name(name, revision);
    snprintf(tmp, sizeof(tmp), "%s" SNAPSHOT_TMP_SUFFIX, name);
    *renamed = false;

    chunk_writer w = {.fd = -1};
    bb_init(&w.buf, (size_t)FRAME_BODY_MAX + FRAME_HEADER_SIZE);
    const char *call = "open";
    w.fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w.fd < 0) {
        w.error = errno;
        goto fail;
    }
    call = "write";
    put_bounds_frame(&w.buf, FRAME_SNAPSHOT_BEGIN, revision, table->count);
    size_t cursor = 0;
    const store_record *r;
    while (w.error == 0 && (r = table_next(table, &cursor)) != NULL)
        chunk_add(&w, r);
    chunk_flush(&w);
    put_bounds_frame(&w.buf, FRAME_SNAPSHOT_END, revision, table->count);
    chunk_flush(&w);
    if (w.error != 0)
        goto fail;
    call = "fsync";
    if (sync && (w.error = fs_fsync(w.fd)) != 0)
        goto fail;
    call = "close";
    int fd = w.fd;
    w.fd = -1;
    if (close(fd) != 0) {
        w.error = errno;
        goto fail;
    }
    call = "rename";
    if (renameat(dir_fd, tmp, dir_fd, name) != 0) {
        w.error = errno;
        goto fail;
    }
    *renamed = true;
    call = "fsync directory after renaming";
    if (sync && (w.error = fs_fsync(dir_fd)) != 0)
        goto fail;
    bb_free(&w.buf);
    return 0;
fail:
    snprintf(what, what_size, "%s %s", call, *renamed ? name : tmp);
    if (w.fd >= 0)
        close(w.fd);
    if (!*renamed)
        unlinkat(dir_fd, tmp, 0);
    bb_free(&w.buf);
    return w.error != 0 ? w.error : EIO;
}

/* ---- reading ---- */

static bool load_records(const frame_view *f, record_table *table, uint64_t revision,
                         uint64_t *loaded, uint64_t expected, char *reason, size_t n)
{
    byte_reader r;
    br_init(&r, f->body, f->body_len);
    uint32_t count = br_get_u32(&r);
    if (r.failed || count == 0 || count > expected - *loaded) {
        snprintf(reason, n, "record frame count %u does not fit the snapshot's %llu records", count,
                 (unsigned long long)expected);
        return false;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint64_t version = br_get_u64(&r);
        uint64_t rec_revision = br_get_u64(&r);
        size_t key_len = br_get_u32(&r);
        size_t value_len = br_get_u32(&r);
        bool shape_ok = !r.failed && version >= 1 && rec_revision >= 1 &&
                        rec_revision <= revision && key_len >= 1 &&
                        key_len <= TRELLIS_STORE_KEY_MAX && value_len <= TRELLIS_STORE_VALUE_MAX;
        const char *key = (const char *)br_get_bytes(&r, key_len);
        const char *value = (const char *)br_get_bytes(&r, value_len);
        if (!shape_ok || r.failed || memchr(key, '\0', key_len) != NULL) {
            snprintf(reason, n, "record %llu is malformed", (unsigned long long)(*loaded + i + 1));
            return false;
        }
        if (table_get(table, key, key_len) != NULL) {
            snprintf(reason, n, "key '%.*s' appears twice", (int)(key_len > 200 ? 200 : key_len),
                     key);
            return false;
        }
        store_record *rec = record_new(key, key_len, true, value, value_len, version, rec_revision);
        if (rec == NULL || !table_reserve(table, 1)) {
            record_unref(rec);
            snprintf(reason, n, "out of memory");
            return false;
        }
        table_put(table, rec);
    }
    if (br_remaining(&r) != 0) {
        snprintf(reason, n, "record frame has %zu trailing bytes", br_remaining(&r));
        return false;
    }
    *loaded += count;
    return true;
}

static bool read_bounds(const frame_view *f, uint64_t *revision, uint64_t *count)
{
    byte_reader r;
    br_init(&r, f->body, f->body_len);
    *revision = br_get_u64(&r);
    *count = br_get_u64(&r);
    return !r.failed && br_remaining(&r) == 0;
}

bool snapshot_load(int dir_fd, const char *dir_path, const char *name, uint64_t revision,
                   record_table *table, char *errbuf, size_t errbuf_size)
{
    fs_map map;
    int rc = fs_map_file(dir_fd, name, &map);
    if (rc != 0) {
        snprintf(errbuf, errbuf_size, "%s/%s: cannot read: %s", dir_path, name, strerror(rc));
        return false;
    }
    char reason[400] = "";
    size_t offset = 0;
    uint64_t expected = 0, loaded = 0;
    bool ended = false;
    while (offset < map.size && reason[0] == '\0') {
        frame_view f;
        frame_status st = frame_check(map.data + offset, map.size - offset, &f);
        if (st != FRAME_VALID) {
            snprintf(reason, sizeof(reason), "%s", frame_status_text(st));
            break;
        }
        uint64_t frame_revision, count;
        if (ended) {
            snprintf(reason, sizeof(reason), "data after the end frame");
        } else if (offset == 0) {
            if (f.type != FRAME_SNAPSHOT_BEGIN || !read_bounds(&f, &frame_revision, &expected))
                snprintf(reason, sizeof(reason), "the file does not start with a snapshot header");
            else if (frame_revision != revision)
                snprintf(reason, sizeof(reason), "header says revision %llu, the name says %llu",
                         (unsigned long long)frame_revision, (unsigned long long)revision);
            else if (expected > map.size / (SNAPSHOT_RECORD_OVERHEAD + 1))
                snprintf(reason, sizeof(reason), "header claims %llu records, more than fit",
                         (unsigned long long)expected);
            else if (!table_reserve(table, (size_t)expected))
                snprintf(reason, sizeof(reason), "out of memory");
        } else if (f.type == FRAME_SNAPSHOT_RECORDS) {
            load_records(&f, table, revision, &loaded, expected, reason, sizeof(reason));
        } else if (f.type == FRAME_SNAPSHOT_END) {
            if (!read_bounds(&f, &frame_revision, &count) || frame_revision != revision ||
                count != expected || loaded != expected)
                snprintf(reason, sizeof(reason),
                         "end frame does not match (%llu of %llu records read)",
                         (unsigned long long)loaded, (unsigned long long)expected);
            ended = true;
        } else {
            snprintf(reason, sizeof(reason), "unexpected frame type %u", f.type);
        }
        if (reason[0] == '\0')
            offset += f.total_len;
    }
    if (reason[0] == '\0' && !ended)
        snprintf(reason, sizeof(reason), "the file ends without an end frame");
    fs_unmap(&map);
    if (reason[0] != '\0') {
        snprintf(errbuf, errbuf_size, "%s/%s: byte offset %zu: %s; the snapshot is damaged",
                 dir_path, name, offset, reason);
        return false;
    }
    return true;
}
