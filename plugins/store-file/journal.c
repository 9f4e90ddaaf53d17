#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <trellis/store.h>

void journal_segment_name(char out[STORE_NAME_MAX], uint64_t first_revision)
{
    snprintf(out, STORE_NAME_MAX, JOURNAL_PREFIX "%020llu" JOURNAL_SUFFIX,
             (unsigned long long)first_revision);
}

bool journal_parse_segment_name(const char *name, uint64_t *first_revision)
{
    return fs_parse_numbered_name(name, JOURNAL_PREFIX, JOURNAL_SUFFIX, first_revision);
}

size_t journal_batch_begin(byte_buffer *b, uint64_t first_revision, uint32_t commit_count)
{
    size_t offset = frame_begin(b);
    frame_put_le64(b, first_revision);
    frame_put_le32(b, commit_count);
    return offset;
}

void journal_batch_add_commit(byte_buffer *b, store_record *const *changes, size_t change_count)
{
    frame_put_le32(b, (uint32_t)change_count);
    for (size_t i = 0; i < change_count; i++) {
        const store_record *r = changes[i];
        bool put = record_present(r);
        bb_append_byte(b, put ? JOURNAL_OP_PUT : JOURNAL_OP_DELETE);
        frame_put_le64(b, r->version);
        frame_put_le32(b, (uint32_t)r->key_len);
        frame_put_le32(b, (uint32_t)r->value_len);
        bb_append(b, r->key, r->key_len);
        if (put)
            bb_append(b, r->value, r->value_len);
    }
}

void journal_batch_end(byte_buffer *b, size_t frame_offset)
{
    frame_end(b, frame_offset, FRAME_JOURNAL_BATCH);
}

bool journal_batch_decode(const frame_view *frame, journal_change_fn visit, void *arg,
                          uint64_t *first_revision, uint32_t *commit_count, char *errbuf,
                          size_t errbuf_size)
{
    if (frame->type != FRAME_JOURNAL_BATCH) {
        snprintf(errbuf, errbuf_size, "frame type %u where a journal batch belongs", frame->type);
        return false;
    }
    byte_reader r;
    br_init(&r, frame->body, frame->body_len);
    uint64_t first = br_get_u64(&r);
    uint32_t count = br_get_u32(&r);
    if (r.failed || first == 0 || count == 0 || first > UINT64_MAX - count) {
        snprintf(errbuf, errbuf_size, "batch header is malformed");
        return false;
    }
    for (uint32_t c = 0; c < count; c++) {
        uint32_t changes = br_get_u32(&r);
        if (r.failed || changes > TRELLIS_STORE_OPS_MAX) {
            snprintf(errbuf, errbuf_size, "commit %llu has a malformed change count",
                     (unsigned long long)(first + c));
            return false;
        }
        for (uint32_t i = 0; i < changes; i++) {
            journal_change ch = {.revision = first + c};
            uint8_t op = br_get_u8(&r);
            ch.version = br_get_u64(&r);
            ch.key_len = br_get_u32(&r);
            ch.value_len = br_get_u32(&r);
            ch.put = op == JOURNAL_OP_PUT;
            bool shape_ok = !r.failed && (op == JOURNAL_OP_PUT || op == JOURNAL_OP_DELETE) &&
                            ch.key_len >= 1 && ch.key_len <= TRELLIS_STORE_KEY_MAX &&
                            ch.value_len <= TRELLIS_STORE_VALUE_MAX &&
                            (ch.put ? ch.version >= 1 : ch.version == 0 && ch.value_len == 0);
            ch.key = (const char *)br_get_bytes(&r, ch.key_len);
            ch.value = (const char *)br_get_bytes(&r, ch.value_len);
            if (!shape_ok || r.failed || memchr(ch.key, '\0', ch.key_len) != NULL) {
                snprintf(errbuf, errbuf_size, "commit %llu has a malformed change",
                         (unsigned long long)ch.revision);
                return false;
            }
            if (!visit(arg, &ch)) {
                errbuf[0] = '\0';
                return false;
            }
        }
    }
    if (br_remaining(&r) != 0) {
        snprintf(errbuf, errbuf_size, "batch has %zu trailing bytes", br_remaining(&r));
        return false;
    }
    *first_revision = first;
    *commit_count = count;
    return true;
}

void journal_segment_init(journal_segment *seg)
{
    *seg = (journal_segment){.fd = -1};
}

int journal_segment_create(int dir_fd, uint64_t first_revision, bool sync, journal_segment *out)
{
    journal_segment_init(out);
    journal_segment_name(out->name, first_revision);
    int fd = openat(dir_fd, out->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    int rc = sync ? fs_fsync(fd) : 0;
    if (rc == 0 && sync)
        rc = fs_fsync(dir_fd);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    out->fd = fd;
    out->first_revision = first_revision;
    out->size = 0;
    return 0;
}

int journal_segment_open(int dir_fd, const char *name, uint64_t first_revision, uint64_t size,
                         journal_segment *out)
{
    journal_segment_init(out);
    int fd = openat(dir_fd, name, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    out->fd = fd;
    out->first_revision = first_revision;
    out->size = size;
    snprintf(out->name, sizeof(out->name), "%s", name);
    return 0;
}

void journal_segment_close(journal_segment *seg)
{
    if (seg->fd >= 0)
        close(seg->fd);
    seg->fd = -1;
}

int journal_append(journal_segment *seg, const void *data, size_t len, bool sync,
                   const char **failed_call)
{
    *failed_call = "pwrite";
    int rc = fs_pwrite_all(seg->fd, data, len, (off_t)seg->size);
    if (rc == 0 && sync) {
        *failed_call = "fdatasync";
        rc = fs_datasync(seg->fd);
    }
    if (rc != 0) {
        /* Leave no partial frame behind for a later restart to trip over.
         * After a failed fdatasync the page cache may already be unreliable;
         * the caller stops writing either way. */
        if (ftruncate(seg->fd, (off_t)seg->size) == 0 && sync)
            (void)fs_datasync(seg->fd);
        return rc;
    }
    seg->size += len;
    return 0;
}
