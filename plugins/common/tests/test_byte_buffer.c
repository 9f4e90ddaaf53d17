/*
 * The bounded byte buffer: appends within the limit, a failure that sticks
 * until reset (past the limit, or at a bad gap), growth past the first
 * allocation, gaps inserted for late length prefixes, and reuse after
 * bb_reset() and bb_free().
 */
#include <string.h>

#include "byte_buffer.h"
#include "test_check.h"

static void test_limit_and_sticky_failure(void)
{
    byte_buffer b;
    bb_init(&b, 8);
    CHECK(b.data == NULL); /* nothing allocated before the first append */
    bb_append(&b, "01234567", 8);
    CHECK(!bb_failed(&b));
    CHECK_INT(b.len, 8);
    bb_append_byte(&b, '8');
    CHECK(bb_failed(&b));
    CHECK_INT(b.len, 8);
    bb_append(&b, "", 0); /* nothing to add: the failure stays */
    CHECK(bb_failed(&b));
    CHECK(!bb_reserve(&b, 0));

    bb_reset(&b); /* empties and forgets the failure, keeps the memory */
    CHECK(!bb_failed(&b));
    CHECK_INT(b.len, 0);
    CHECK(b.data != NULL);
    bb_append(&b, "abc", 3);
    CHECK(memcmp(b.data, "abc", 3) == 0);

    bb_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && !bb_failed(&b));
    CHECK_INT(b.limit, 8); /* reusable with the same limit */
    bb_append(&b, "012345678", 9);
    CHECK(bb_failed(&b));
    bb_free(&b);
}

static void test_growth(void)
{
    byte_buffer b;
    bb_init(&b, BB_NO_LIMIT);
    unsigned char expected[10000];
    for (size_t i = 0; i < sizeof(expected); i++) {
        expected[i] = (unsigned char)(i * 7);
        bb_append_byte(&b, expected[i]);
    }
    CHECK(!bb_failed(&b));
    CHECK_INT(b.len, sizeof(expected));
    CHECK(b.cap >= b.len);
    CHECK(memcmp(b.data, expected, sizeof(expected)) == 0);
    bb_free(&b);

    /* A limit that is not a power of two is reached exactly. */
    bb_init(&b, 1000);
    for (int i = 0; i < 1000; i++)
        bb_append_byte(&b, 'x');
    CHECK(!bb_failed(&b));
    CHECK_INT(b.cap, 1000);
    bb_append_byte(&b, 'x');
    CHECK(bb_failed(&b));
    bb_free(&b);
}

static void test_insert_gap(void)
{
    byte_buffer b;
    bb_init(&b, 16);
    bb_append(&b, "headtail", 8);
    CHECK(bb_insert_gap(&b, 4, 3));
    memcpy(b.data + 4, "---", 3);
    CHECK_INT(b.len, 11);
    CHECK(memcmp(b.data, "head---tail", 11) == 0);
    CHECK(bb_insert_gap(&b, b.len, 1)); /* at the end */
    CHECK_INT(b.len, 12);

    CHECK(!bb_insert_gap(&b, 13, 1)); /* past the end: refused, buffer intact */
    CHECK(!bb_failed(&b));
    CHECK(!bb_insert_gap(&b, 0, 5)); /* past the limit: the buffer fails */
    CHECK(bb_failed(&b));
    bb_free(&b);
}

int main(void)
{
    test_limit_and_sticky_failure();
    test_growth();
    test_insert_gap();
    return test_finish("byte_buffer");
}
