/*
 * The model's message helpers: UTF-8 validation and counting, escaping of
 * quoted values, and truncation that never splits a character.
 */
#include <string.h>

#include "model/model_text.h"
#include "test_check.h"

static void test_utf8_validation(void)
{
    CHECK(model_utf8_valid("", 0));
    CHECK(model_utf8_valid("plain", 5));
    CHECK(model_utf8_valid("\xc3\xa9", 2));             /* U+00E9 */
    CHECK(model_utf8_valid("\xe2\x82\xac", 3));         /* U+20AC */
    CHECK(model_utf8_valid("\xf0\x9f\x98\x80", 4));     /* U+1F600 */
    CHECK(model_utf8_valid("\xf4\x8f\xbf\xbf", 4));     /* U+10FFFF */
    CHECK(model_utf8_valid("\xed\x9f\xbf", 3));         /* U+D7FF, just below surrogates */
    CHECK(!model_utf8_valid("\xff", 1));
    CHECK(!model_utf8_valid("\x80", 1));                /* lone continuation */
    CHECK(!model_utf8_valid("\xc0\xaf", 2));            /* overlong '/' */
    CHECK(!model_utf8_valid("\xe0\x80\xaf", 3));        /* overlong, 3 bytes */
    CHECK(!model_utf8_valid("\xf0\x80\x80\xaf", 4));    /* overlong, 4 bytes */
    CHECK(!model_utf8_valid("\xed\xa0\x80", 3));        /* U+D800 surrogate */
    CHECK(!model_utf8_valid("\xf4\x90\x80\x80", 4));    /* U+110000 */
    CHECK(!model_utf8_valid("\xc3", 1));                /* truncated */
    CHECK(!model_utf8_valid("a\0b", 3));                /* NUL */

    CHECK_INT(model_utf8_count("", 0), 0);
    CHECK_INT(model_utf8_count("abc", 3), 3);
    CHECK_INT(model_utf8_count("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), 3);
}

static void test_escaping(void)
{
    char buffer[128];
    model_text t;
    model_text_init(&t, buffer, sizeof(buffer));
    const char value[] = "a\nb\r\t\x01\x7f\xff\xc3\xa9";
    model_text_append_escaped(&t, value, sizeof(value) - 1, 100);
    CHECK_STR(buffer, "a\\nb\\r\\t\\u0001\\u007F\\xFF\xc3\xa9");

    model_text_init(&t, buffer, sizeof(buffer));
    model_text_append_escaped(&t, "abcdef", 6, 3);
    CHECK_STR(buffer, "abc...");
    model_text_init(&t, buffer, sizeof(buffer));
    model_text_append_escaped(&t, "abc", 3, 3);
    CHECK_STR(buffer, "abc");
}

static void test_truncation(void)
{
    /* 5 bytes of room: "ab" then "é" (2 bytes) fits, the next "é" does not. */
    char buffer[6];
    model_text t;
    model_text_init(&t, buffer, sizeof(buffer));
    model_text_append(&t, "ab\xc3\xa9\xc3\xa9");
    CHECK_STR(buffer, "ab\xc3\xa9");
    CHECK(t.truncated);
    model_text_append(&t, "more");
    CHECK_STR(buffer, "ab\xc3\xa9");

    /* Four-byte characters are never split either. */
    model_text_init(&t, buffer, sizeof(buffer));
    model_text_append(&t, "a\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    CHECK_STR(buffer, "a\xf0\x9f\x98\x80");

    model_text_init(&t, buffer, sizeof(buffer));
    model_text_appendf(&t, "%d-%s", 42, "xyzzy");
    CHECK_STR(buffer, "42-xy");

    /* A zero-sized buffer is never written. */
    model_text_init(&t, NULL, 0);
    model_text_append(&t, "x");
    CHECK_INT(t.len, 0);
}

int main(void)
{
    test_utf8_validation();
    test_escaping();
    test_truncation();
    return test_finish("unit_model_text");
}
