#include "recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "snapshot.h"

void recovery_result_init(recovery_result *r)
{
    *r = (recovery_result){0};
    table_init(&r->current);
    history_init(&r->hist, 0);
    journal_segment_init(&r->segment);
}

void recovery_result_free(recovery_result *r)
{
    table_clear(&r->current);
    history_free(&r->hist);
    journal_segment_close(&r->segment);
}

/* ---- directory listing ---- */

typedef struct number_list {
    uint64_t *items; /* owned, sorted after listing */
    size_t count;
    size_t cap;
} number_list;

static bool number_list_add(number_list *l, uint64_t n)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint64_t *grown = realloc(l->items, cap * sizeof(*grown));
        if (grown == NULL)
            return false;
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->count++] = n;
    return true;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct dir_listing {
    number_list snapshots;
    number_list segments;
} dir_listing;

static void listing_free(dir_listing *l)
{
    free(l->snapshots.items);
    free(l->segments.items);
}

static bool is_snapshot_tmp(const char *name)
{
    size_t n = strlen(name), plen = strlen(SNAPSHOT_PREFIX), slen = strlen(SNAPSHOT_TMP_SUFFIX);
    return n > plen + slen && strncmp(name, SNAPSHOT_PREFIX, plen) == 0 &&
           strcmp(name + n - slen, SNAPSHOT_TMP_SUFFIX) == 0;
}

static bool list_directory(const trellis_host *host, trellis_host_ctx *ctx, int dir_fd,
                           const char *dir_path, dir_listing *out, char *errbuf, size_t n)
{
    int fd = dup(dir_fd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        snprintf(errbuf, n, "cannot list %s: %s", dir_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    rewinddir(dir);
    bool ok = true;
    struct dirent *e;
    while (ok && (errno = 0, e = readdir(dir)) != NULL) {
        uint64_t number;
        if (snapshot_parse_name(e->d_name, &number)) {
            ok = number_list_add(&out->snapshots, number);
        } else if (journal_parse_segment_name(e->d_name, &number)) {
            ok = number != 0 && number_list_add(&out->segments, number);
            if (number == 0) {
                snprintf(errbuf, n, "%s/%s: journal segments start at revision 1 or later",
                         dir_path, e->d_name);
                closedir(dir);
                return false;
            }
        } else if (is_snapshot_tmp(e->d_name)) {
            /* A snapshot that never reached its final name: never part of the state. */
            if (unlinkat(dir_fd, e->d_name, 0) == 0)
                host->log(ctx, TRELLIS_LOG_INFO, "leftover_removed",
                          "removed %s/%s, an unfinished snapshot from an earlier run", dir_path,
                          e->d_name);
        }
    }
    int list_errno = errno;
    closedir(dir);
    if (!ok) {
        snprintf(errbuf, n, "out of memory listing %s", dir_path);
        return false;
    }
    if (list_errno != 0) {
        snprintf(errbuf, n, "cannot list %s: %s", dir_path, strerror(list_errno));
        return false;
    }
    if (out->snapshots.count > 1)
        qsort(out->snapshots.items, out->snapshots.count, sizeof(uint64_t), compare_u64);
    if (out->segments.count > 1)
        qsort(out->segments.items, out->segments.count, sizeof(uint64_t), compare_u64);
    return true;
}

/* ---- replay ---- */

typedef struct replay {
    recovery_result *out;
    bool apply; /* false: frames the snapshot covers, checked only */
    char reason[600];
} replay;

static bool replay_change(void *arg, const journal_change *ch)
{
    replay *rp = arg;
    if (!rp->apply)
        return true;
    recovery_result *out = rp->out;
    store_record *r = record_new(ch->key, ch->key_len, ch->put, ch->value, ch->value_len,
                                 ch->version, ch->revision);
    if (r == NULL || !history_reserve(&out->hist, 1) ||
        (ch->put && !table_reserve(&out->current, 1))) {
        record_unref(r);
        snprintf(rp->reason, sizeof(rp->reason), "out of memory");
        return false;
    }
    if (ch->put) {
        table_put(&out->current, record_ref(r));
    } else if (!table_remove(&out->current, ch->key, ch->key_len)) {
        snprintf(rp->reason, sizeof(rp->reason),
                 "commit %llu deletes key '%.*s', which does not exist at that point",
                 (unsigned long long)ch->revision, (int)(ch->key_len > 200 ? 200 : ch->key_len),
                 ch->key);
        record_unref(r);
        return false;
    }
    history_append(&out->hist, r);
    record_unref(r);
    return true;
}

typedef struct segment_scan {
    uint64_t next_in_file; /* revision the next frame of this file must start at */
    size_t valid_len;      /* bytes of intact frames */
} segment_scan;

/* Replays one segment. `last` allows a torn tail to be cut off. */
static bool replay_segment(const trellis_host *host, trellis_host_ctx *ctx, int dir_fd,
                           const char *dir_path, const char *name, uint64_t first_revision,
                           bool last, bool sync, uint64_t *expected, recovery_result *out,
                           segment_scan *scan, char *errbuf, size_t n)
{
    fs_map map;
    int rc = fs_map_file(dir_fd, name, &map);
    if (rc != 0) {
        snprintf(errbuf, n, "%s/%s: cannot read: %s", dir_path, name, strerror(rc));
        return false;
    }
    scan->next_in_file = first_revision;
    size_t offset = 0;
    bool ok = true;
    while (offset < map.size) {
        frame_view f;
        frame_status st = frame_check(map.data + offset, map.size - offset, &f);
        if (st != FRAME_VALID) {
            size_t later = SIZE_MAX;
            if (last) {
                size_t from = st == FRAME_BAD_BODY     ? offset + f.total_len
                              : st == FRAME_BAD_HEADER ? offset + 1
                                                       : map.size;
                later = frame_find_valid(map.data, map.size, from);
            }
            if (!last) {
                snprintf(errbuf, n,
                         "%s/%s: byte offset %zu: %s, and later journal segments follow: the "
                         "journal is corrupt, not torn at its end; refusing to start",
                         dir_path, name, offset, frame_status_text(st));
                ok = false;
            } else if (later != SIZE_MAX) {
                snprintf(errbuf, n,
                         "%s/%s: byte offset %zu: %s, and an intact frame follows at byte offset "
                         "%zu: the journal is corrupt in the middle, not torn at its end; "
                         "refusing to start",
                         dir_path, name, offset, frame_status_text(st), later);
                ok = false;
            } else {
                host->log(ctx, TRELLIS_LOG_WARN, "journal_tail_dropped",
                          "%s/%s: byte offset %zu: %s; no intact frame follows, so this is a "
                          "write cut short by a crash (never acknowledged): dropping the last "
                          "%zu bytes",
                          dir_path, name, offset, frame_status_text(st), map.size - offset);
                out->truncated_bytes = map.size - offset;
            }
            break;
        }
        /* The batch's revision range decides whether it is applied or only
         * checked (the snapshot already covers it). */
        uint64_t first = 0;
        uint32_t count = 0;
        byte_reader peek;
        br_init(&peek, f.body, f.body_len);
        first = br_get_u64(&peek);
        count = br_get_u32(&peek);
        bool range_ok = f.type == FRAME_JOURNAL_BATCH && !peek.failed && count > 0 &&
                        first <= UINT64_MAX - count;
        uint64_t end = range_ok ? first + count : 0; /* one past the batch's last revision */
        /* A malformed batch is not applied; decoding below reports it. */
        replay rp = {.out = out, .apply = range_ok && end > *expected};
        if (range_ok && first != scan->next_in_file) {
            snprintf(errbuf, n,
                     "%s/%s: byte offset %zu: batch starts at revision %llu, expected %llu",
                     dir_path, name, offset, (unsigned long long)first,
                     (unsigned long long)scan->next_in_file);
            ok = false;
            break;
        }
        if (rp.apply && first != *expected) {
            snprintf(errbuf, n,
                     "%s/%s: byte offset %zu: batch %llu..%llu straddles the snapshot at "
                     "revision %llu",
                     dir_path, name, offset, (unsigned long long)first,
                     (unsigned long long)(end - 1), (unsigned long long)(*expected - 1));
            ok = false;
            break;
        }
        if (!journal_batch_decode(&f, replay_change, &rp, &first, &count, rp.reason,
                                  sizeof(rp.reason))) {
            snprintf(errbuf, n, "%s/%s: byte offset %zu: %s", dir_path, name, offset, rp.reason);
            ok = false;
            break;
        }
        if (rp.apply) {
            out->journal_commits += count;
            *expected = end;
        }
        scan->next_in_file = end;
        offset += f.total_len;
    }
    fs_unmap(&map);
    scan->valid_len = offset;
    if (!ok || out->truncated_bytes == 0)
        return ok;
    int fd = openat(dir_fd, name, O_WRONLY | O_CLOEXEC);
    rc = fd < 0 ? errno : ftruncate(fd, (off_t)offset) != 0 ? errno : sync ? fs_fsync(fd) : 0;
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        snprintf(errbuf, n, "%s/%s: cannot cut the torn tail at byte offset %zu: %s", dir_path,
                 name, offset, strerror(rc));
        return false;
    }
    return true;
}

/* ---- the whole directory ---- */

static void remove_obsolete(const trellis_host *host, trellis_host_ctx *ctx, int dir_fd,
                            const char *dir_path, const dir_listing *l, size_t segments_before,
                            uint64_t snapshot_revision, bool sync)
{
    size_t removed = 0;
    char name[STORE_NAME_MAX];
    for (size_t i = 0; i < segments_before; i++) {
        journal_segment_name(name, l->segments.items[i]);
        if (unlinkat(dir_fd, name, 0) == 0)
            removed++;
        else
            host->log(ctx, TRELLIS_LOG_WARN, "cleanup_failed", "cannot remove %s/%s: %s", dir_path,
                      name, strerror(errno));
    }
    for (size_t i = 0; i < l->snapshots.count && l->snapshots.items[i] < snapshot_revision; i++) {
        snapshot_file_name(name, l->snapshots.items[i]);
        if (unlinkat(dir_fd, name, 0) == 0)
            removed++;
        else
            host->log(ctx, TRELLIS_LOG_WARN, "cleanup_failed", "cannot remove %s/%s: %s", dir_path,
                      name, strerror(errno));
    }
    if (removed > 0) {
        if (sync)
            (void)fs_fsync(dir_fd);
        host->log(ctx, TRELLIS_LOG_INFO, "cleanup",
                  "removed %zu files the snapshot at revision %llu made obsolete", removed,
                  (unsigned long long)snapshot_revision);
    }
}

bool recovery_run(const trellis_host *host, trellis_host_ctx *ctx, int dir_fd, const char *dir_path,
                  bool sync, recovery_result *out, char *errbuf, size_t errbuf_size)
{
    dir_listing l = {0};
    bool ok = false;
    char name[STORE_NAME_MAX];
    if (!list_directory(host, ctx, dir_fd, dir_path, &l, errbuf, errbuf_size))
        goto done;

    uint64_t snap = l.snapshots.count ? l.snapshots.items[l.snapshots.count - 1] : 0;
    if (snap > 0) {
        snapshot_file_name(name, snap);
        if (!snapshot_load(dir_fd, dir_path, name, snap, &out->current, errbuf, errbuf_size))
            goto done;
    }
    out->snapshot_revision = snap;
    history_reset(&out->hist, snap);

    /* The first segment that matters is the newest one starting at or before
     * snap+1; older ones hold only what the snapshot already covers. */
    size_t first = 0;
    bool have_first = false;
    for (size_t i = 0; i < l.segments.count && l.segments.items[i] <= snap + 1; i++) {
        first = i;
        have_first = true;
    }
    if (l.segments.count > 0 && !have_first) {
        journal_segment_name(name, l.segments.items[0]);
        snprintf(errbuf, errbuf_size,
                 "%s: the journal has a gap: the newest snapshot ends at revision %llu but the "
                 "oldest journal segment is %s",
                 dir_path, (unsigned long long)snap, name);
        goto done;
    }

    uint64_t expected = snap + 1;
    segment_scan scan = {0};
    for (size_t i = first; have_first && i < l.segments.count; i++) {
        uint64_t start = l.segments.items[i];
        journal_segment_name(name, start);
        if (i > first && start != expected) {
            snprintf(errbuf, errbuf_size,
                     "%s/%s: the journal has a gap: this segment starts at revision %llu but "
                     "the one before it ends at %llu",
                     dir_path, name, (unsigned long long)start, (unsigned long long)(expected - 1));
            goto done;
        }
        bool last = i + 1 == l.segments.count;
        if (!replay_segment(host, ctx, dir_fd, dir_path, name, start, last, sync, &expected, out,
                            &scan, errbuf, errbuf_size))
            goto done;
    }
    out->revision = expected - 1;

    /* Append to the last segment if its revisions run right up to the state;
     * otherwise (no segment, or one the snapshot overtook) start a new one. */
    bool append_last = have_first && scan.next_in_file == expected;
    int rc;
    if (append_last) {
        uint64_t start = l.segments.items[l.segments.count - 1];
        journal_segment_name(name, start);
        rc = journal_segment_open(dir_fd, name, start, scan.valid_len, &out->segment);
    } else {
        rc = journal_segment_create(dir_fd, expected, sync, &out->segment);
        journal_segment_name(name, expected);
    }
    if (rc != 0) {
        snprintf(errbuf, errbuf_size, "%s/%s: cannot open for appending: %s", dir_path, name,
                 strerror(rc));
        goto done;
    }
    size_t obsolete = have_first ? (append_last ? first : l.segments.count) : 0;
    remove_obsolete(host, ctx, dir_fd, dir_path, &l, obsolete, snap, sync);
    ok = true;
done:
    listing_free(&l);
    return ok;
}
