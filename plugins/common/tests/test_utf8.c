/*
 * UTF-8 validation: every length of sequence at its bounds, and what must
 * be refused (overlong forms, surrogates, past U+10FFFF, stray or missing
 * continuation bytes).
 */
#include <string.h>

#include "test_check.h"
#include "utf8.h"

static bool valid(const char *s)
{
    return utf8_valid(s, strlen(s));
}

int main(void)
{
    CHECK(utf8_valid("", 0));
    CHECK(valid("plain ascii"));
    CHECK(utf8_valid("a\0b", 3));     /* NUL is a character; callers forbid it */
    CHECK(valid("\xC2\x80"));         /* U+0080, the first two-byte one */
    CHECK(valid("\xDF\xBF"));         /* U+07FF */
    CHECK(valid("\xE0\xA0\x80"));     /* U+0800 */
    CHECK(valid("\xED\x9F\xBF"));     /* U+D7FF, just below the surrogates */
    CHECK(valid("\xEE\x80\x80"));     /* U+E000, just above them */
    CHECK(valid("\xF0\x90\x80\x80")); /* U+10000 */
    CHECK(valid("\xF4\x8F\xBF\xBF")); /* U+10FFFF */
    CHECK(valid("ключ/鍵/🔑"));

    CHECK(!valid("\xC0\x80"));         /* overlong NUL */
    CHECK(!valid("\xC1\xBF"));         /* overlong U+007F */
    CHECK(!valid("\xE0\x9F\xBF"));     /* overlong U+07FF */
    CHECK(!valid("\xF0\x8F\xBF\xBF")); /* overlong U+FFFF */
    CHECK(!valid("\xED\xA0\x80"));     /* U+D800, a surrogate */
    CHECK(!valid("\xED\xBF\xBF"));     /* U+DFFF */
    CHECK(!valid("\xF4\x90\x80\x80")); /* U+110000 */
    CHECK(!valid("\xF5\x80\x80\x80"));
    CHECK(!valid("\x80"));  /* a continuation byte alone */
    CHECK(!valid("a\xC3")); /* cut short at the end */
    CHECK(!valid("\xE2\x82"));
    CHECK(!valid("\xE2\x28\xA1"));     /* not a continuation byte */
    CHECK(!utf8_valid("\xC3\xA9", 1)); /* the length bounds the check */
    return test_finish("utf8");
}
