/*
 * Unit tests of store.file's file format code, without a host: CRC32C
 * against published vectors, frame round trips and damage detection, the
 * journal batch codec, the record table, file names.
 */
#include <stdlib.h>
#include <string.h>

#include <trellis/store.h>

#include "crc32c.h"
#include "frame.h"
#include "fsutil.h"
#include "journal.h"
#include "record.h"
#include "test_check.h"

/* Bit-at-a-time reference, to check the sliced implementation. */
static uint32_t crc32c_reference(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void test_crc32c(void)
{
    /* RFC 3720 (iSCSI) appendix B.4 vectors and the classic check value. */
    CHECK_INT(crc32c("123456789", 9), 0xE3069283u);
    unsigned char buf[48];
    memset(buf, 0, 32);
    CHECK_INT(crc32c(buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    CHECK_INT(crc32c(buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    CHECK_INT(crc32c(buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    CHECK_INT(crc32c(buf, 32), 0x113FDB5Cu);
    CHECK_INT(crc32c("", 0), 0);

    /* Every length and alignment, and incremental use, match the reference. */
    unsigned char data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 151 + 13);
    int mismatches = 0;
    for (size_t start = 0; start < 9; start++) {
        for (size_t len = 0; start + len <= sizeof(data); len += 7) {
            if (crc32c(data + start, len) != crc32c_reference(data + start, len))
                mismatches++;
            size_t half = len / 3;
            if (crc32c_extend(crc32c(data + start, half), data + start + half, len - half) !=
                crc32c_reference(data + start, len))
                mismatches++;
        }
    }
    CHECK_INT(mismatches, 0);
}

static void test_frame_round_trip_and_damage(void)
{
    byte_buffer b;
    bb_init(&b, 1u << 20);
    size_t at = frame_begin(&b);
    frame_put_le64(&b, 0x0102030405060708u);
    bb_append(&b, "hello", 5);
    frame_end(&b, at, FRAME_SNAPSHOT_BEGIN);
    CHECK(!b.failed);
    CHECK_INT(b.len, FRAME_HEADER_SIZE + 13);
    CHECK(memcmp(b.data, "TRLF", 4) == 0);

    frame_view f;
    CHECK_INT(frame_check(b.data, b.len, &f), FRAME_VALID);
    CHECK_INT(f.type, FRAME_SNAPSHOT_BEGIN);
    CHECK_INT(f.body_len, 13);
    byte_reader r;
    br_init(&r, f.body, f.body_len);
    CHECK(br_get_u64(&r) == 0x0102030405060708u);
    CHECK(memcmp(br_get_bytes(&r, 5), "hello", 5) == 0);
    CHECK(!r.failed && br_remaining(&r) == 0);
    br_get_u8(&r);
    CHECK(r.failed);

    /* Every cut is incomplete; every single-bit flip is caught. */
    int missed = 0;
    for (size_t len = 0; len < b.len; len++) {
        if (frame_check(b.data, len, &f) != FRAME_INCOMPLETE)
            missed++;
    }
    CHECK_INT(missed, 0);
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (unsigned char)(1u << bit);
            frame_status st = frame_check(b.data, b.len, &f);
            bool caught = i < FRAME_HEADER_SIZE ? st == FRAME_BAD_HEADER || st == FRAME_INCOMPLETE
                                                : st == FRAME_BAD_BODY;
            if (!caught)
                missed++;
            b.data[i] ^= (unsigned char)(1u << bit);
        }
    }
    CHECK_INT(missed, 0);

    /* A valid frame is found after garbage, and not inside damaged data. */
    unsigned char area[200];
    memset(area, 'T', sizeof(area)); /* looks like the start of a magic everywhere */
    memcpy(area + 77, b.data, b.len);
    CHECK_INT(frame_find_valid(area, sizeof(area), 0), 77);
    CHECK_INT(frame_find_valid(area, sizeof(area), 78), SIZE_MAX);
    area[77 + FRAME_HEADER_SIZE + 2] ^= 1;
    CHECK_INT(frame_find_valid(area, sizeof(area), 0), SIZE_MAX);
    bb_free(&b);

    /* The buffer refuses to grow past its limit. */
    bb_init(&b, 16);
    bb_append(&b, "0123456789abcdef", 16);
    CHECK(!b.failed);
    bb_append_byte(&b, 1);
    CHECK(b.failed);
    bb_free(&b);
}

typedef struct collected {
    journal_change changes[16];
    size_t count;
} collected;

static bool collect(void *arg, const journal_change *ch)
{
    collected *c = arg;
    if (c->count == 16)
        return false;
    c->changes[c->count++] = *ch;
    return true;
}

static void test_journal_codec(void)
{
    store_record *a = record_new("a", 1, true, "one", 3, 1, 7);
    store_record *del = record_new("gone", 4, false, NULL, 0, 0, 7);
    store_record *e = record_new("e", 1, true, NULL, 0, 4, 8);
    store_record *first[] = {a, del};
    store_record *second[] = {e};
    byte_buffer b;
    bb_init(&b, 1u << 20);
    size_t at = journal_batch_begin(&b, 7, 3);
    journal_batch_add_commit(&b, first, 2);
    journal_batch_add_commit(&b, second, 1);
    journal_batch_add_commit(&b, NULL, 0); /* a commit of only CHECK ops */
    journal_batch_end(&b, at);
    CHECK(!b.failed);

    frame_view f;
    CHECK_INT(frame_check(b.data, b.len, &f), FRAME_VALID);
    collected got = {0};
    uint64_t first_revision = 0;
    uint32_t count = 0;
    char why[200];
    CHECK(journal_batch_decode(&f, collect, &got, &first_revision, &count, why, sizeof(why)));
    CHECK_INT(first_revision, 7);
    CHECK_INT(count, 3);
    CHECK_INT(got.count, 3);
    CHECK(got.changes[0].put && got.changes[0].revision == 7 && got.changes[0].version == 1 &&
          got.changes[0].value_len == 3 && memcmp(got.changes[0].value, "one", 3) == 0);
    CHECK(!got.changes[1].put && got.changes[1].revision == 7 && got.changes[1].key_len == 4);
    CHECK(got.changes[2].put && got.changes[2].revision == 8 && got.changes[2].value_len == 0);

    /* A checksum-valid body that is malformed is refused, not trusted. */
    size_t body = at + FRAME_HEADER_SIZE;
    unsigned char saved = b.data[body + 12 + 4];
    b.data[body + 12 + 4] = 9; /* the first change's op code */
    frame_end(&b, at, FRAME_JOURNAL_BATCH);
    CHECK_INT(frame_check(b.data, b.len, &f), FRAME_VALID);
    got.count = 0;
    CHECK(!journal_batch_decode(&f, collect, &got, &first_revision, &count, why, sizeof(why)));
    CHECK_CONTAINS(why, "malformed");
    b.data[body + 12 + 4] = saved;
    b.len -= 1; /* a truncated last value, re-sealed */
    frame_end(&b, at, FRAME_JOURNAL_BATCH);
    CHECK_INT(frame_check(b.data, b.len, &f), FRAME_VALID);
    CHECK(!journal_batch_decode(&f, collect, &got, &first_revision, &count, why, sizeof(why)));
    bb_free(&b);
    record_unref(a);
    record_unref(del);
    record_unref(e);
}

static void test_record_table(void)
{
    record_table t;
    table_init(&t);
    enum { N = 5000 };
    char key[32];
    for (int i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "key/%d", i);
        CHECK(table_reserve(&t, 1));
        table_put(&t, record_new(key, (size_t)len, true, key, (size_t)len, 1, (uint64_t)i + 1));
    }
    CHECK_INT(t.count, N);
    /* Replacing keeps the count; removing every third exercises backward shifts. */
    CHECK(table_reserve(&t, 1));
    table_put(&t, record_new("key/10", 6, true, "new", 3, 2, 9999));
    CHECK_INT(t.count, N);
    int removed = 0, wrong = 0;
    for (int i = 0; i < N; i += 3) {
        int len = snprintf(key, sizeof(key), "key/%d", i);
        if (table_remove(&t, key, (size_t)len))
            removed++;
    }
    for (int i = 0; i < N; i++) {
        int len = snprintf(key, sizeof(key), "key/%d", i);
        store_record *r = table_get(&t, key, (size_t)len);
        bool should_exist = i % 3 != 0;
        if ((r != NULL) != should_exist || (r != NULL && i != 10 && r->revision != (uint64_t)i + 1))
            wrong++;
    }
    CHECK_INT(wrong, 0);
    CHECK_INT(t.count, N - removed);
    store_record *ten = table_get(&t, "key/10", 6);
    CHECK(ten != NULL && ten->version == 2 && strcmp(ten->value, "new") == 0);
    size_t cursor = 0, seen = 0;
    while (table_next(&t, &cursor) != NULL)
        seen++;
    CHECK_INT(seen, t.count);
    CHECK(!table_remove(&t, "absent", 6));
    /* remove_if only removes the exact record. */
    store_record *other = record_new("key/10", 6, true, "x", 1, 3, 1);
    CHECK(!table_remove_if(&t, other));
    CHECK(table_remove_if(&t, ten));
    record_unref(other);
    table_clear(&t);
    CHECK_INT(t.count, 0);
}

static void test_names(void)
{
    char name[STORE_NAME_MAX];
    journal_segment_name(name, 42);
    CHECK_STR(name, "journal-00000000000000000042.log");
    uint64_t n = 0;
    CHECK(journal_parse_segment_name(name, &n) && n == 42);
    CHECK(!journal_parse_segment_name("journal-42.log", &n));
    CHECK(!journal_parse_segment_name("journal-0000000000000000004x.log", &n));
    CHECK(!journal_parse_segment_name("journal-00000000000000000042.log.tmp", &n));
    CHECK(!journal_parse_segment_name("journal-99999999999999999999.log", &n)); /* > 2^64 */
}

int main(void)
{
    test_crc32c();
    test_frame_round_trip_and_damage();
    test_journal_codec();
    test_record_table();
    test_names();
    return test_finish("store_file_format");
}
