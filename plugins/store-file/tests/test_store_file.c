/*
 * store.file through the real host: persistence and the files it leaves, the
 * directory lock, torn tails (cut off with a warning), corruption (refused
 * with file and offset), snapshots and journal rotation, every crash window
 * of a snapshot, write failures, bounds, configuration and the op rules the
 * conformance suite leaves open.
 *
 *   store_file_test <plugin dir> [test name]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "plugin_harness.h"
#include "store_client.h"
#include "test_check.h"

static const char *plugin_dir;

/* ---- fixture: a temporary root holding one data directory ---- */

typedef struct fixture {
    char root[PATH_MAX];
    char data[PATH_MAX + 8];
    harness *h;
    harness_instance *hi;
    store_client c;
    char error[2048]; /* the last refusal of open_store */
} fixture;

static void fixture_init(fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    snprintf(fx->root, sizeof(fx->root), "%s/store-file-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(fx->root) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(fx->data, sizeof(fx->data), "%s/data", fx->root);
    fx->h = harness_new(plugin_dir);
    if (fx->h == NULL) {
        fprintf(stderr, "harness_new failed\n");
        exit(1);
    }
}

/* Opens the store on fx->data with extra config members ("" or ",\"k\":v"). */
static bool open_store(fixture *fx, const char *extra)
{
    char config[PATH_MAX + 512];
    snprintf(config, sizeof(config), "{\"dir\":\"%s\"%s}", fx->data, extra);
    fx->error[0] = '\0';
    store_client_bind(&fx->c, fx->h, NULL); /* until it starts: calls are refused */
    fx->hi = harness_create(fx->h, "store.file", config, fx->error, sizeof(fx->error));
    if (fx->hi == NULL)
        return false;
    if (!harness_start(fx->hi, fx->error, sizeof(fx->error))) {
        harness_stop(fx->hi);
        fx->hi = NULL;
        return false;
    }
    store_client_bind(&fx->c, fx->h, fx->hi);
    return true;
}

static void close_store(fixture *fx)
{
    if (fx->hi == NULL)
        return;
    CHECK_INT(store_client_finish(&fx->c), 0);
    harness_stop(fx->hi);
    fx->hi = NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fixture_done(fixture *fx, int failures_before)
{
    close_store(fx);
    if (test_failures != failures_before) {
        fprintf(stderr, "---- log ----\n");
        harness_log_dump(fx->h, stderr);
    }
    harness_free(fx->h);
    nftw(fx->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- files ---- */

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* Names in `dir` starting with `prefix`, sorted; returns the count. */
static size_t list_names(const char *dir, const char *prefix, char names[][64], size_t max)
{
    size_t count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && count < max &&
            strlen(e->d_name) < 64)
            memcpy(names[count++], e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    qsort(names, count, 64, (int (*)(const void *, const void *))strcmp);
    return count;
}

/* The one journal segment; its path in `out`. false unless exactly one. */
static bool the_journal(const fixture *fx, char *out, size_t n)
{
    char names[8][64];
    if (list_names(fx->data, "journal-", names, 8) != 1)
        return false;
    path_in(out, n, fx->data, names[0]);
    return true;
}

typedef struct file_bytes {
    unsigned char *data;
    size_t size;
} file_bytes;

static file_bytes read_file(const char *path)
{
    file_bytes fb = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fb;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    fb.data = malloc((size_t)size + 1);
    if (fb.data != NULL && fread(fb.data, 1, (size_t)size, f) == (size_t)size)
        fb.size = (size_t)size;
    fclose(f);
    return fb;
}

static bool write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

static void flip_byte(const char *path, size_t offset)
{
    file_bytes fb = read_file(path);
    CHECK(offset < fb.size);
    if (offset < fb.size) {
        fb.data[offset] ^= 0x5a;
        CHECK(write_file(path, fb.data, fb.size));
    }
    free(fb.data);
}

static size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Byte offsets of the intact frames at the start of a file. */
static size_t frame_offsets(const char *path, size_t *offsets, size_t max)
{
    file_bytes fb = read_file(path);
    size_t count = 0, at = 0;
    frame_view f;
    while (at < fb.size && count < max &&
           frame_check(fb.data + at, fb.size - at, &f) == FRAME_VALID) {
        offsets[count++] = at;
        at += f.total_len;
    }
    free(fb.data);
    return count;
}

static bool copy_file(const char *from, const char *to)
{
    file_bytes fb = read_file(from);
    bool ok = fb.data != NULL && write_file(to, fb.data, fb.size);
    free(fb.data);
    return ok;
}

/* ---- commits ---- */

/* n single-op commits, one after the other (each its own batch and frame). */
static void commit_sequence(fixture *fx, const char *prefix, int from, int n)
{
    char key[64], value[64];
    for (int i = from; i < from + n; i++) {
        snprintf(key, sizeof(key), "%s/%d", prefix, i);
        snprintf(value, sizeof(value), "value of %d", i);
        CHECK_INT(store_commit1(&fx->c, op_put(key, value, TRELLIS_STORE_ABSENT), NULL),
                  TRELLIS_OK);
    }
}

static uint64_t store_revision(store_client *c, size_t *count)
{
    read_result r = store_read_all(c);
    uint64_t revision = r.status == TRELLIS_OK ? r.revision : UINT64_MAX;
    if (count != NULL)
        *count = r.count;
    read_result_free(&r);
    return revision;
}

static bool has_key(store_client *c, const char *key)
{
    read_result r = store_read_all(c);
    bool found = read_result_find(&r, key) != NULL;
    read_result_free(&r);
    return found;
}

/* ---- tests ---- */

static void test_persistence_and_layout(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    commit_sequence(&fx, "p", 1, 5);
    close_store(&fx);

    struct stat st;
    CHECK(stat(fx.data, &st) == 0 && (st.st_mode & 0777) == 0700);
    char path[PATH_MAX + 100];
    path_in(path, sizeof(path), fx.data, "LOCK");
    file_bytes lock = read_file(path);
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    CHECK(lock.data != NULL && lock.size == strlen(pid) && memcmp(lock.data, pid, lock.size) == 0);
    free(lock.data);
    path_in(path, sizeof(path), fx.data, "journal-00000000000000000001.log");
    size_t offsets[16];
    CHECK_INT(frame_offsets(path, offsets, 16), 5);
    char names[8][64];
    CHECK_INT(list_names(fx.data, "snapshot-", names, 8), 0);

    harness_log_clear(fx.h);
    CHECK(open_store(&fx, ""));
    size_t count = 0;
    CHECK_INT(store_revision(&fx.c, &count), 5);
    CHECK_INT(count, 5);
    CHECK(harness_log_contains(fx.h, "5 records at revision 5"));
    CHECK(has_key(&fx.c, "p/3"));

    /* Metrics of this instance. */
    commit_sequence(&fx, "q", 1, 3);
    CHECK(harness_metric(fx.h, "trellis_store_file_commits_total") == 3);
    CHECK(harness_metric(fx.h, "trellis_store_file_batches_total") == 3);
    CHECK(harness_metric(fx.h, "trellis_store_file_batch_commits") == 3);
    CHECK(harness_metric(fx.h, "trellis_store_file_sync_seconds") == 3);
    CHECK(harness_metric(fx.h, "trellis_store_file_revision") == 8);
    CHECK(harness_metric(fx.h, "trellis_store_file_records") == 8);
    CHECK(harness_metric(fx.h, "trellis_store_file_journal_bytes") == (double)file_size(path));
    CHECK(harness_metric(fx.h, "trellis_store_file_snapshots_total") == 0);
    fixture_done(&fx, before);
}

static void test_lock(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    char config[PATH_MAX + 64], err[2048];
    snprintf(config, sizeof(config), "{\"dir\":\"%s\"}", fx.data);
    harness_instance *second = harness_create(fx.h, "store.file", config, err, sizeof(err));
    CHECK(second != NULL);
    if (second != NULL) {
        CHECK(!harness_start(second, err, sizeof(err)));
        char real[PATH_MAX], pid[64];
        CHECK(realpath(fx.data, real) != NULL);
        snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
        CHECK_CONTAINS(err, real);
        CHECK_CONTAINS(err, pid);
        CHECK_CONTAINS(err, "never share");
        CHECK(harness_log_contains(fx.h, "lock_refused"));
        harness_stop(second);
    }
    /* The holder is unaffected; once it is gone the directory opens again. */
    CHECK_INT(store_commit1(&fx.c, op_put("k", "v", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    close_store(&fx);
    CHECK(open_store(&fx, ""));
    CHECK(has_key(&fx.c, "k"));
    fixture_done(&fx, before);
}

typedef enum damage { CUT_MID_FRAME, FLIP_BODY, FLIP_HEADER, ZERO_FILL } damage;

/* Damages the last of five frames: recovery drops exactly it, with a warning. */
static void torn_tail_case(damage how)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    commit_sequence(&fx, "t", 1, 5);
    close_store(&fx);
    char path[PATH_MAX + 100];
    CHECK(the_journal(&fx, path, sizeof(path)));
    size_t offsets[8];
    CHECK_INT(frame_offsets(path, offsets, 8), 5);
    size_t size = file_size(path), last = offsets[4];
    bool last_lost = true;
    switch (how) {
    case CUT_MID_FRAME: CHECK(truncate(path, (off_t)(size - 7)) == 0); break;
    case FLIP_BODY: flip_byte(path, last + FRAME_HEADER_SIZE + 3); break;
    case FLIP_HEADER:
        flip_byte(path, last + 9); /* inside body_len */
        break;
    case ZERO_FILL: {
        /* The file grew but the data never arrived (a crash before the sync). */
        CHECK(truncate(path, (off_t)(size + 4096)) == 0);
        last = size;
        last_lost = false;
        break;
    }
    }
    harness_log_clear(fx.h);
    CHECK(open_store(&fx, ""));
    char expect[PATH_MAX + 200];
    snprintf(expect, sizeof(expect), "%s: byte offset %zu", path, last);
    char *log = harness_log_text(fx.h);
    CHECK_CONTAINS(log, "journal_tail_dropped");
    CHECK_CONTAINS(log, expect);
    free(log);
    size_t count = 0;
    CHECK_INT(store_revision(&fx.c, &count), last_lost ? 4 : 5);
    CHECK_INT(count, last_lost ? 4 : 5);
    CHECK(has_key(&fx.c, "t/4"));
    CHECK(has_key(&fx.c, "t/5") == !last_lost);
    CHECK_INT(file_size(path), last);
    /* Appends continue cleanly after the cut. */
    uint64_t rev = 0;
    CHECK_INT(store_commit1(&fx.c, op_put("after", "x", TRELLIS_STORE_ABSENT), &rev), TRELLIS_OK);
    CHECK_INT(rev, last_lost ? 5 : 6);
    close_store(&fx);
    harness_log_clear(fx.h);
    CHECK(open_store(&fx, ""));
    CHECK(!harness_log_contains(fx.h, "journal_tail_dropped"));
    CHECK_INT(store_revision(&fx.c, NULL), rev);
    CHECK(has_key(&fx.c, "after"));
    fixture_done(&fx, before);
}

static void test_torn_tail_cut(void)
{
    torn_tail_case(CUT_MID_FRAME);
}

static void test_torn_tail_bad_checksum(void)
{
    torn_tail_case(FLIP_BODY);
}

static void test_torn_tail_bad_header(void)
{
    torn_tail_case(FLIP_HEADER);
}

static void test_torn_tail_zero_fill(void)
{
    torn_tail_case(ZERO_FILL);
}

/* Damages the second of five frames: the start is refused, nothing changes. */
static void middle_corruption_case(bool header)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    commit_sequence(&fx, "m", 1, 5);
    close_store(&fx);
    char path[PATH_MAX + 100];
    CHECK(the_journal(&fx, path, sizeof(path)));
    size_t offsets[8];
    CHECK_INT(frame_offsets(path, offsets, 8), 5);
    flip_byte(path, offsets[1] + (header ? 0 : FRAME_HEADER_SIZE + 5));
    file_bytes damaged = read_file(path);

    CHECK(!open_store(&fx, ""));
    char expect[PATH_MAX + 200];
    snprintf(expect, sizeof(expect), "%s: byte offset %zu", path, offsets[1]);
    CHECK_CONTAINS(fx.error, expect);
    CHECK_CONTAINS(fx.error, "intact frame follows");
    CHECK_CONTAINS(fx.error, "refusing to start");
    CHECK(harness_log_contains(fx.h, "recovery_failed"));
    file_bytes after = read_file(path);
    CHECK(after.size == damaged.size && memcmp(after.data, damaged.data, after.size) == 0);
    free(damaged.data);
    free(after.data);
    fixture_done(&fx, before);
}

static void test_middle_corruption_body(void)
{
    middle_corruption_case(false);
}

static void test_middle_corruption_header(void)
{
    middle_corruption_case(true);
}

static void test_snapshots_and_rotation(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ",\"snapshot_every_commits\":10"));
    /* 95 commits of updates and deletes over 30 keys. */
    char key[32], value[32];
    for (int i = 1; i <= 95; i++) {
        snprintf(key, sizeof(key), "s/%d", i % 30);
        snprintf(value, sizeof(value), "v%d", i);
        trellis_store_op op = i % 7 == 0 && has_key(&fx.c, key)
                                  ? op_delete(key, TRELLIS_STORE_ANY_VERSION)
                                  : op_put(key, value, TRELLIS_STORE_ANY_VERSION);
        CHECK_INT(store_commit1(&fx.c, op, NULL), TRELLIS_OK);
    }
    read_result expected = store_read_all(&fx.c);
    CHECK_INT(expected.revision, 95);
    CHECK(harness_metric(fx.h, "trellis_store_file_snapshots_total") == 9);
    CHECK(harness_log_contains(fx.h, "snapshot_taken"));
    close_store(&fx);

    char names[8][64];
    CHECK_INT(list_names(fx.data, "snapshot-", names, 8), 1);
    CHECK_STR(names[0], "snapshot-00000000000000000090.snap");
    CHECK_INT(list_names(fx.data, "journal-", names, 8), 1);
    CHECK_STR(names[0], "journal-00000000000000000091.log");
    char path[PATH_MAX + 100];
    path_in(path, sizeof(path), fx.data, names[0]);
    size_t offsets[16];
    CHECK_INT(frame_offsets(path, offsets, 16), 5); /* only commits 91..95 */

    CHECK(open_store(&fx, ",\"snapshot_every_commits\":10"));
    read_result got = store_read_all(&fx.c);
    CHECK_INT(got.revision, 95);
    CHECK_INT(got.count, expected.count);
    for (size_t i = 0; i < expected.count; i++) {
        const read_record *e = &expected.records[i], *g = read_result_find(&got, e->key);
        CHECK(g != NULL && g->version == e->version && g->revision == e->revision &&
              strcmp(g->value, e->value) == 0);
    }
    read_result_free(&got);
    read_result_free(&expected);
    /* History reaches back to the snapshot only. */
    read_result changes = store_read_changes(&fx.c, 89);
    CHECK_INT(changes.status, TRELLIS_ERR_NOT_FOUND);
    read_result_free(&changes);
    changes = store_read_changes(&fx.c, 90);
    CHECK_INT(changes.status, TRELLIS_OK);
    CHECK_INT(changes.count, 5);
    CHECK_INT(changes.revision, 95);
    read_result_free(&changes);
    fixture_done(&fx, before);
}

static void test_snapshot_by_journal_bytes(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ",\"snapshot_every_commits\":1000000,\"snapshot_journal_bytes\":4096"));
    char value[1001];
    memset(value, 'x', 1000);
    value[1000] = '\0';
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "b/%d", i);
        CHECK_INT(store_commit1(&fx.c, op_put(key, value, TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    }
    CHECK(harness_metric(fx.h, "trellis_store_file_snapshots_total") >= 2);
    char path[PATH_MAX + 100];
    CHECK(the_journal(&fx, path, sizeof(path)));
    CHECK(file_size(path) < 4096 + 1100);
    close_store(&fx);
    CHECK(open_store(&fx, ""));
    size_t count = 0;
    CHECK_INT(store_revision(&fx.c, &count), 10);
    CHECK_INT(count, 10);
    fixture_done(&fx, before);
}

static void test_large_snapshot(void)
{
    /* Several record frames, and the largest value, through a snapshot. */
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ",\"snapshot_every_commits\":3"));
    static char value[1024];
    memset(value, 'r', sizeof(value));
    static char keys[2000][16];
    trellis_store_op ops[200];
    for (int c = 0; c < 10; c++) {
        for (int i = 0; i < 200; i++) {
            snprintf(keys[c * 200 + i], sizeof(keys[0]), "r/%d", c * 200 + i);
            ops[i] = op_put_bytes(keys[c * 200 + i], value, sizeof(value), TRELLIS_STORE_ABSENT);
        }
        CHECK_INT(store_commit(&fx.c, ops, 200).status, TRELLIS_OK);
    }
    char *huge = malloc(TRELLIS_STORE_VALUE_MAX);
    for (size_t i = 0; huge != NULL && i < TRELLIS_STORE_VALUE_MAX; i++)
        huge[i] = (char)(i % 251);
    CHECK(huge != NULL);
    CHECK_INT(
        store_commit1(
            &fx.c, op_put_bytes("huge", huge, TRELLIS_STORE_VALUE_MAX, TRELLIS_STORE_ABSENT), NULL),
        TRELLIS_OK);
    CHECK_INT(store_commit1(&fx.c, op_put("last", "1", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    close_store(&fx);
    char names[8][64], path[PATH_MAX + 100];
    CHECK_INT(list_names(fx.data, "snapshot-", names, 8), 1);
    CHECK_STR(names[0], "snapshot-00000000000000000012.snap");
    path_in(path, sizeof(path), fx.data, names[0]);
    size_t offsets[64];
    CHECK(frame_offsets(path, offsets, 64) >= 5); /* begin, 3+ record chunks, end */
    CHECK(open_store(&fx, ""));
    read_result r = store_read_all(&fx.c);
    CHECK_INT(r.count, 2002);
    CHECK_INT(r.revision, 12);
    const read_record *h = read_result_find(&r, "huge");
    CHECK(h != NULL && huge != NULL && h->value_len == TRELLIS_STORE_VALUE_MAX &&
          memcmp(h->value, huge, TRELLIS_STORE_VALUE_MAX) == 0);
    const read_record *one = read_result_find(&r, "r/1999");
    CHECK(one != NULL && one->value_len == sizeof(value) && one->revision == 10);
    read_result_free(&r);
    free(huge);
    fixture_done(&fx, before);
}

static void test_snapshot_corruption(void)
{
    for (int variant = 0; variant < 2; variant++) {
        fixture fx;
        fixture_init(&fx);
        int before = test_failures;
        CHECK(open_store(&fx, ",\"snapshot_every_commits\":5"));
        commit_sequence(&fx, "c", 1, 7);
        close_store(&fx);
        char path[PATH_MAX + 100];
        path_in(path, sizeof(path), fx.data, "snapshot-00000000000000000005.snap");
        size_t offsets[8];
        size_t frames = frame_offsets(path, offsets, 8);
        CHECK_INT(frames, 3); /* begin, records, end */
        size_t damaged_at;
        if (variant == 0) {
            damaged_at = offsets[1];
            flip_byte(path, offsets[1] + FRAME_HEADER_SIZE + 10);
        } else {
            damaged_at = offsets[2];
            CHECK(truncate(path, (off_t)(offsets[2] + 5)) == 0); /* end frame cut */
        }
        CHECK(!open_store(&fx, ""));
        char expect[PATH_MAX + 200];
        snprintf(expect, sizeof(expect), "%s: byte offset %zu", path, damaged_at);
        CHECK_CONTAINS(fx.error, expect);
        CHECK_CONTAINS(fx.error, "snapshot is damaged");
        fixture_done(&fx, before);
    }
}

static void test_leftover_snapshot_tmp(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    commit_sequence(&fx, "l", 1, 3);
    close_store(&fx);
    char path[PATH_MAX + 100];
    path_in(path, sizeof(path), fx.data, "snapshot-00000000000000000003.snap.tmp");
    CHECK(write_file(path, "half a snapshot", 15));
    CHECK(open_store(&fx, ""));
    CHECK(access(path, F_OK) != 0);
    CHECK(harness_log_contains(fx.h, "leftover_removed"));
    CHECK_INT(store_revision(&fx.c, NULL), 3);
    fixture_done(&fx, before);
}

/* Commit i of a fixed sequence: updates four keys, sometimes two at once. */
static void deterministic_commits(fixture *fx, int from, int to)
{
    char k1[16], k2[16], v[32];
    for (int i = from; i <= to; i++) {
        snprintf(k1, sizeof(k1), "det/%d", i % 4);
        snprintf(k2, sizeof(k2), "det/%d", (i + 1) % 4);
        snprintf(v, sizeof(v), "v%d", i);
        trellis_store_op ops[] = {op_put(k1, v, TRELLIS_STORE_ANY_VERSION),
                                  op_put(k2, v, TRELLIS_STORE_ANY_VERSION)};
        CHECK_INT(store_commit(&fx->c, ops, i % 3 == 0 ? 2 : 1).status, TRELLIS_OK);
    }
}

/* The state as one comparable string: key=value@version/revision, sorted. */
static char *state_text(fixture *fx, uint64_t *revision)
{
    read_result r = store_read_all(&fx->c);
    *revision = r.revision;
    char lines[64][128];
    size_t n = r.count < 64 ? r.count : 64;
    for (size_t i = 0; i < n; i++)
        snprintf(lines[i], sizeof(lines[i]), "%s=%s@%llu/%llu;", r.records[i].key,
                 r.records[i].value, (unsigned long long)r.records[i].version,
                 (unsigned long long)r.records[i].revision);
    qsort(lines, n, sizeof(lines[0]), (int (*)(const void *, const void *))strcmp);
    char *text = calloc(1, 64 * 128 + 1);
    for (size_t i = 0; text != NULL && i < n; i++)
        strcat(text, lines[i]);
    read_result_free(&r);
    return text;
}

static void test_snapshot_crash_windows(void)
{
    /* Reference directories: A journals commits 1..10 without snapshots; B
     * snapshots at 5 and journals 6..7. Crash states are assembled from
     * their files, exactly as a crash between two steps of a snapshot
     * would leave them. */
    fixture a, b;
    fixture_init(&a);
    fixture_init(&b);
    int before = test_failures;
    CHECK(open_store(&a, ""));
    deterministic_commits(&a, 1, 10);
    uint64_t rev_b = 0, rev_a = 0;
    char *state_a10 = state_text(&a, &rev_a);
    close_store(&a);
    CHECK(open_store(&b, ",\"snapshot_every_commits\":5"));
    deterministic_commits(&b, 1, 7);
    char *state_b7 = state_text(&b, &rev_b);
    close_store(&b);
    CHECK_INT(rev_a, 10);
    CHECK_INT(rev_b, 7);

    char a_journal[PATH_MAX + 100], b_snapshot[PATH_MAX + 100], b_journal[PATH_MAX + 100];
    path_in(a_journal, sizeof(a_journal), a.data, "journal-00000000000000000001.log");
    path_in(b_snapshot, sizeof(b_snapshot), b.data, "snapshot-00000000000000000005.snap");
    path_in(b_journal, sizeof(b_journal), b.data, "journal-00000000000000000006.log");
    size_t offsets[16];
    CHECK_INT(frame_offsets(a_journal, offsets, 16), 10);
    file_bytes journal_a = read_file(a_journal);
    CHECK(access(b_snapshot, F_OK) == 0 && access(b_journal, F_OK) == 0);

    typedef struct window {
        const char *what;
        size_t a_frames;       /* frames of A's journal-1 present (0: no file) */
        const char *b_segment; /* B's journal-6 under this name, or NULL */
        bool refused;
        uint64_t revision;
    } window;
    static const window windows[] = {
        {"snapshot renamed, new segment not yet created", 5, NULL, false, 5},
        {"new segment created, old one not yet removed", 5, "journal-00000000000000000006.log",
         false, 7},
        {"old segment continued past the snapshot", 10, NULL, false, 10},
        {"a gap after the snapshot", 0, "journal-00000000000000000008.log", true, 0},
        {"a gap between segments", 5, "journal-00000000000000000008.log", true, 0},
    };
    for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
        const window *win = &windows[w];
        fixture c;
        fixture_init(&c);
        int case_before = test_failures;
        CHECK(mkdir(c.data, 0700) == 0);
        char path[PATH_MAX + 100];
        path_in(path, sizeof(path), c.data, "snapshot-00000000000000000005.snap");
        CHECK(copy_file(b_snapshot, path));
        if (win->a_frames > 0) {
            size_t len = win->a_frames == 10 ? journal_a.size : offsets[win->a_frames];
            path_in(path, sizeof(path), c.data, "journal-00000000000000000001.log");
            CHECK(write_file(path, journal_a.data, len));
        }
        if (win->b_segment != NULL) {
            path_in(path, sizeof(path), c.data, win->b_segment);
            CHECK(copy_file(b_journal, path));
        }
        bool opened = open_store(&c, "");
        CHECK(opened == !win->refused);
        if (win->refused) {
            CHECK_CONTAINS(c.error, "gap");
        } else if (opened) {
            uint64_t revision = 0;
            char *state = state_text(&c, &revision);
            CHECK_INT(revision, win->revision);
            if (win->revision == 10)
                CHECK_STR(state, state_a10);
            if (win->revision == 7)
                CHECK_STR(state, state_b7);
            free(state);
            /* Carry on to 10 and compare with the uninterrupted run. */
            deterministic_commits(&c, (int)win->revision + 1, 10);
            close_store(&c);
            CHECK(open_store(&c, ""));
            state = state_text(&c, &revision);
            CHECK_INT(revision, 10);
            CHECK_STR(state, state_a10);
            free(state);
            char names[8][64];
            CHECK_INT(list_names(c.data, "journal-", names, 8), 1);
        }
        if (test_failures != case_before)
            fprintf(stderr, "  in crash window: %s\n", win->what);
        fixture_done(&c, case_before);
    }
    free(journal_a.data);
    free(state_b7);
    free(state_a10);
    fixture_done(&a, before);
    fixture_done(&b, before);
}

static void test_write_failure(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    commit_sequence(&fx, "w", 1, 3);
    char path[PATH_MAX + 100];
    CHECK(the_journal(&fx, path, sizeof(path)));
    size_t good_size = file_size(path);

    /* A file size limit makes the next journal write fail (EFBIG) for real.
     * The captured log is a file too: leave it room. */
    char *log = harness_log_text(fx.h);
    size_t log_size = log ? strlen(log) : 0;
    free(log);
    struct rlimit old_limit, limit;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    limit = old_limit;
    limit.rlim_cur = (good_size > log_size ? good_size : log_size) + 16384;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &limit) == 0);

    static char big[64 * 1024];
    memset(big, 'b', sizeof(big));
    trellis_store_op fail_op = op_put_bytes("big", big, sizeof(big), TRELLIS_STORE_ABSENT);
    trellis_store_op queued_op = op_put("queued", "q", TRELLIS_STORE_ABSENT);
    commit_answer *failing = store_commit_async(&fx.c, &fail_op, 1);
    commit_answer *queued = store_commit_async(&fx.c, &queued_op, 1);
    commit_answer *both[] = {failing, queued};
    CHECK(store_wait(&fx.c, both, 2));
    CHECK(setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    signal(SIGXFSZ, old_handler);

    /* One batch held both (issued together): the write failed for both. Had
     * the second come later it would be UNAVAILABLE; either way never OK. */
    CHECK_INT(failing->status, TRELLIS_ERR_IO);
    CHECK_CONTAINS(failing->message, path);
    CHECK(queued->status == TRELLIS_ERR_IO || queued->status == TRELLIS_ERR_UNAVAILABLE);
    /* Afterwards: refused outright, not ready, reads still serve what was acknowledged. */
    trellis_store_op later = op_put("later", "x", TRELLIS_STORE_ABSENT);
    CHECK_INT(store_commit_async(&fx.c, &later, 1)->returned, TRELLIS_ERR_UNAVAILABLE);
    const char *detail = NULL;
    CHECK(!harness_ready(fx.hi, &detail));
    CHECK_CONTAINS(detail, "refused until a restart");
    CHECK(harness_log_contains(fx.h, "store_failed"));
    size_t count = 0;
    CHECK_INT(store_revision(&fx.c, &count), 3);
    CHECK_INT(count, 3);
    close_store(&fx);

    /* The failed write left nothing behind; a restart carries on. */
    CHECK_INT(file_size(path), good_size);
    harness_log_clear(fx.h);
    CHECK(open_store(&fx, ""));
    CHECK(!harness_log_contains(fx.h, "journal_tail_dropped"));
    CHECK_INT(store_revision(&fx.c, NULL), 3);
    CHECK(!has_key(&fx.c, "big") && !has_key(&fx.c, "queued"));
    uint64_t rev = 0;
    CHECK_INT(store_commit1(&fx.c, op_put("again", "x", TRELLIS_STORE_ABSENT), &rev), TRELLIS_OK);
    CHECK_INT(rev, 4);
    fixture_done(&fx, before);
}

static void test_pending_limits(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ",\"max_pending_commits\":4"));
    char keys[6][16];
    commit_answer *a[6];
    for (int i = 0; i < 6; i++) {
        snprintf(keys[i], sizeof(keys[i]), "q/%d", i);
        trellis_store_op op = op_put(keys[i], "x", TRELLIS_STORE_ABSENT);
        a[i] = store_commit_async(&fx.c, &op, 1);
        CHECK_INT(a[i]->returned, i < 4 ? TRELLIS_OK : TRELLIS_ERR_LIMIT);
    }
    CHECK(store_wait(&fx.c, a, 6));
    for (int i = 0; i < 4; i++)
        CHECK_INT(a[i]->status, TRELLIS_OK);
    CHECK_INT(store_commit1(&fx.c, op_put("q/after", "x", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    close_store(&fx);

    /* Bytes: one big commit is always accepted, a second is not while it waits. */
    CHECK(open_store(&fx, ",\"max_pending_bytes\":1048576"));
    static char value[600 * 1024];
    memset(value, 'v', sizeof(value));
    trellis_store_op first = op_put_bytes("big/1", value, sizeof(value), TRELLIS_STORE_ABSENT);
    trellis_store_op second = op_put_bytes("big/2", value, sizeof(value), TRELLIS_STORE_ABSENT);
    commit_answer *b1 = store_commit_async(&fx.c, &first, 1);
    CHECK_INT(b1->returned, TRELLIS_OK);
    CHECK_INT(store_commit_async(&fx.c, &second, 1)->returned, TRELLIS_ERR_LIMIT);
    CHECK(store_wait(&fx.c, &b1, 1));
    CHECK_INT(b1->status, TRELLIS_OK);
    CHECK_INT(store_commit(&fx.c, &second, 1).status, TRELLIS_OK);
    fixture_done(&fx, before);
}

/* Closed-loop committers: each answer immediately issues the next commit. */
typedef struct committer {
    store_client *c;
    int id;
    int left; /* commits still to issue */
    int answered;
    int failed;
    char key[32];
} committer;

static void committer_next(committer *w);

static void on_committed(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    (void)revision;
    (void)message;
    committer *w = arg;
    w->answered++;
    if (status != TRELLIS_OK)
        w->failed++;
    committer_next(w);
}

static void committer_next(committer *w)
{
    if (w->left == 0)
        return;
    w->left--;
    trellis_store_op op = op_put(w->key, "value", TRELLIS_STORE_ANY_VERSION);
    if (w->c->ops->commit(w->c->store, &op, 1, on_committed, w) != TRELLIS_OK) {
        w->failed++;
        w->left = 0;
    }
}

typedef struct committers {
    committer *w;
    int n;
} committers;

enum { WRITERS = 16, EACH_COMMITS = 20 };

static bool committers_finished(void *arg)
{
    committers *cs = arg;
    for (int i = 0; i < cs->n; i++) {
        if (cs->w[i].left > 0 || cs->w[i].answered + cs->w[i].failed < EACH_COMMITS)
            return false;
    }
    return true;
}

static void test_group_commit(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    committer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (committer){.c = &fx.c, .id = i, .left = EACH_COMMITS};
        snprintf(w[i].key, sizeof(w[i].key), "g/%d", i);
    }
    for (int i = 0; i < WRITERS; i++)
        committer_next(&w[i]);
    committers cs = {w, WRITERS};
    CHECK(harness_run_until(fx.h, committers_finished, &cs, 60000));
    int failed = 0;
    for (int i = 0; i < WRITERS; i++)
        failed += w[i].failed;
    CHECK_INT(failed, 0);
    double commits = harness_metric(fx.h, "trellis_store_file_commits_total");
    double batches = harness_metric(fx.h, "trellis_store_file_batches_total");
    CHECK(commits == WRITERS * EACH_COMMITS);
    /* Every batch answers all writers at once and they all commit again
     * before the next batch starts: one sync per round of sixteen. */
    CHECK(batches >= EACH_COMMITS && batches <= EACH_COMMITS + 2);
    size_t count = 0;
    CHECK_INT(store_revision(&fx.c, &count), WRITERS * EACH_COMMITS);
    CHECK_INT(count, WRITERS);
    fixture_done(&fx, before);
}

static void test_config(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    char err[2048], config[PATH_MAX + 128];

    /* dir naming a file. */
    char file[PATH_MAX + 16];
    snprintf(file, sizeof(file), "%s/file", fx.root);
    CHECK(write_file(file, "x", 1));
    snprintf(config, sizeof(config), "{\"dir\":\"%s\"}", file);
    CHECK(harness_create(fx.h, "store.file", config, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "config.dir");
    CHECK_CONTAINS(err, "not a directory");
    /* Schema rules. */
    snprintf(config, sizeof(config), "{\"dir\":\"%s\",\"snapshot_every_commits\":0}", fx.data);
    CHECK(harness_create(fx.h, "store.file", config, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "snapshot_every_commits");
    snprintf(config, sizeof(config), "{\"dir\":\"%s\",\"fsync\":true}", fx.data);
    CHECK(harness_create(fx.h, "store.file", config, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "fsync");
    /* A missing parent is not created: the message names the directory. */
    snprintf(config, sizeof(config), "{\"dir\":\"%s/no/such/parent\"}", fx.root);
    harness_instance *hi = harness_create(fx.h, "store.file", config, err, sizeof(err));
    CHECK(hi != NULL);
    if (hi != NULL) {
        CHECK(!harness_start(hi, err, sizeof(err)));
        CHECK_CONTAINS(err, "cannot create the data directory");
        CHECK_CONTAINS(err, "no/such/parent");
        harness_stop(hi);
    }
    /* sync off works, and says what it costs. */
    CHECK(open_store(&fx, ",\"sync\":false"));
    CHECK(harness_log_contains(fx.h, "sync_disabled"));
    CHECK_INT(store_commit1(&fx.c, op_put("k", "v", TRELLIS_STORE_ABSENT), NULL), TRELLIS_OK);
    close_store(&fx);
    /* The default dir is ./data under the working directory. */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK(chdir(fx.root) == 0);
    hi = harness_create(fx.h, "store.file", "{}", err, sizeof(err));
    CHECK(hi != NULL && harness_start(hi, err, sizeof(err)));
    if (hi != NULL) {
        store_client c = {0};
        store_client_bind(&c, fx.h, hi);
        CHECK_INT(store_revision(&c, NULL), 1); /* the commit made with sync off */
        CHECK_INT(store_client_finish(&c), 0);
        harness_stop(hi);
    }
    CHECK(chdir(cwd) == 0);
    fixture_done(&fx, before);
}

static int notified;

static void on_notify(void *arg)
{
    (void)arg;
    notified++;
}

static void test_op_rules(void)
{
    fixture fx;
    fixture_init(&fx);
    int before = test_failures;
    CHECK(open_store(&fx, ""));
    fx.c.ops->watch(fx.c.store, on_notify, NULL);

    /* Shapes store.h leaves to the store. */
    trellis_store_op none = op_put("k", "v", TRELLIS_STORE_ANY_VERSION);
    CHECK_INT(store_commit_async(&fx.c, &none, 0)->returned, TRELLIS_ERR_INVALID);
    trellis_store_op reserved = op_put("k", "v", TRELLIS_STORE_ANY_VERSION);
    reserved.reserved = 1;
    CHECK_INT(store_commit_async(&fx.c, &reserved, 1)->returned, TRELLIS_ERR_INVALID);
    CHECK(fx.c.ops->commit(fx.c.store, &none, 1, NULL, NULL) == TRELLIS_ERR_INVALID);

    /* Ops of one commit apply in order; each sees the ones before it. */
    trellis_store_op twice[] = {op_put("k", "1", TRELLIS_STORE_ABSENT), op_put("k", "2", 1)};
    CHECK_INT(store_commit(&fx.c, twice, 2).status, TRELLIS_OK);
    read_result r = store_read_all(&fx.c);
    const read_record *k = read_result_find(&r, "k");
    CHECK(k != NULL && k->version == 2 && strcmp(k->value, "2") == 0);
    read_result_free(&r);
    /* Created and deleted in one commit: no trace, but a revision. */
    trellis_store_op transient[] = {op_put("n", "1", TRELLIS_STORE_ABSENT), op_delete("n", 1)};
    commit_answer a = store_commit(&fx.c, transient, 2);
    CHECK_INT(a.status, TRELLIS_OK);
    CHECK_INT(a.revision, 2);
    r = store_read_changes(&fx.c, 1);
    CHECK_INT(r.count, 0);
    CHECK_INT(r.revision, 1);
    read_result_free(&r);
    /* Asking for changes past the newest revision is a caller error. */
    r = store_read_changes(&fx.c, 3);
    CHECK_INT(r.status, TRELLIS_ERR_INVALID);
    read_result_free(&r);
    CHECK(!has_key(&fx.c, "n"));
    /* A single writer never notifies. */
    harness_run_for(fx.h, 20);
    CHECK_INT(notified, 0);
    close_store(&fx);
    CHECK(open_store(&fx, ""));
    CHECK_INT(store_revision(&fx.c, NULL), 2);
    fixture_done(&fx, before);
}

/* ---- driver ---- */

typedef struct named_test {
    const char *name;
    void (*run)(void);
} named_test;

static const named_test tests[] = {
    {"persistence_and_layout", test_persistence_and_layout},
    {"lock", test_lock},
    {"torn_tail_cut", test_torn_tail_cut},
    {"torn_tail_bad_checksum", test_torn_tail_bad_checksum},
    {"torn_tail_bad_header", test_torn_tail_bad_header},
    {"torn_tail_zero_fill", test_torn_tail_zero_fill},
    {"middle_corruption_body", test_middle_corruption_body},
    {"middle_corruption_header", test_middle_corruption_header},
    {"snapshots_and_rotation", test_snapshots_and_rotation},
    {"snapshot_by_journal_bytes", test_snapshot_by_journal_bytes},
    {"large_snapshot", test_large_snapshot},
    {"snapshot_corruption", test_snapshot_corruption},
    {"leftover_snapshot_tmp", test_leftover_snapshot_tmp},
    {"snapshot_crash_windows", test_snapshot_crash_windows},
    {"write_failure", test_write_failure},
    {"pending_limits", test_pending_limits},
    {"group_commit", test_group_commit},
    {"config", test_config},
    {"op_rules", test_op_rules},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_file_test <plugin dir> [test name]\n");
        return 2;
    }
    plugin_dir = argv[1];
    size_t ran = 0;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (argc > 2 && strcmp(argv[2], tests[i].name) != 0)
            continue;
        int before = test_failures;
        tests[i].run();
        printf("%s: %s\n", tests[i].name, test_failures == before ? "ok" : "FAILED");
        fflush(stdout);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test named %s\n", argv[2]);
        return 2;
    }
    return test_finish("store_file");
}
