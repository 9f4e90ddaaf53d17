/*
 * model_re2_syntax_ok(): an accept/reject table checked against the real RE2
 * library (re2 2022-06-01, RE2::Options defaults as Envoy uses them) when it
 * was written, including every example of the App Mesh user guide's "Regular
 * expression changes" section, then the reasons given for refusals.
 */
#include <string.h>

#include "model/model.h"
#include "test_check.h"

typedef struct re2_case {
    const char *pattern;
    bool valid;
} re2_case;

static const re2_case cases[] = {
    {"^prefix(?!suffix)", false},
    {"(?=example)", false},
    {"(example)", true},
    {"ex(?!amp)le", false},
    {"ex(amp){0}le", true},
    {"prefix(?![0-9])suffix", false},
    {"prefix[^0-9]?suffix", true},
    {"^prefix", true},
    {"^prefix.*?suffix", true},
    {"(group1)(group2)\\1", false},
    {"(group1)(group2)(group1)", true},
    {"", true},
    {"a|b", true},
    {"a|", true},
    {"|", true},
    {"()", true},
    {"(?:a)", true},
    {"(?P<name>a)", true},
    {"(?P<n>a)(?P<n>b)", true},
    {"(?P<n-x>a)", false},
    {"(?P<>a)", false},
    {"(?P=name)", false},
    {"(?P>name)", false},
    {"(?Px)", false},
    {"(?i)abc", true},
    {"(?i:abc)", true},
    {"(?imsU)x", true},
    {"(?i-s)x", true},
    {"(?-i)x", true},
    {"(?i-)x", false},
    {"(?-)x", false},
    {"(?x)a", false},
    {"(?#comment)", false},
    {"(?)", true},
    {"(?i", false},
    {"(?<=a)b", false},
    {"(?<!a)b", false},
    {"(?>a)", false},
    {"a*", true},
    {"a+", true},
    {"a?", true},
    {"a*?", true},
    {"a+?", true},
    {"a??", true},
    {"a{2}", true},
    {"a{2,}", true},
    {"a{2,5}", true},
    {"a{2}?", true},
    {"a{5,2}", false},
    {"a{1000}", true},
    {"a{1001}", false},
    {"a{0,1000}", true},
    {"a{1000,}", true},
    {"a{,5}", true},
    {"a{", true},
    {"a{x}", true},
    {"{2}", false},
    {"a{2}{3}", false},
    {"a**", false},
    {"a*+", false},
    {"a++", false},
    {"a?+", false},
    {"*a", false},
    {"+a", false},
    {"?a", false},
    {"a|*b", false},
    {"(*a)", false},
    {"^*", true},
    {"$+", true},
    {"\\b+", true},
    {"(a{10}){100}", true},
    {"(a{10}){101}", false},
    {"((a{2}){2}){250}", true},
    {"((a{2}){2}){251}", false},
    {"(a{1000}){0,1}", true},
    {"(abc", false},
    {"abc)", false},
    {"a)b(", false},
    {"[abc]", true},
    {"[^a-z]", true},
    {"[]a]", true},
    {"[^]a]", true},
    {"[]", false},
    {"[a", false},
    {"[z-a]", false},
    {"[a-]", true},
    {"[-a]", true},
    {"[a-z-0]", true},
    {"[[:alpha:]]", true},
    {"[[:^space:]]", true},
    {"[[:foo:]]", false},
    {"[[:alpha:]", false},
    {"[[]", true},
    {"[\\d-z]", true},
    {"[a-\\d]", false},
    {"[\\b]", false},
    {"[\\pL]", true},
    {"[\\p{Greek}]", true},
    {"[\\x00-\\x{10FFFF}]", true},
    {"\\d\\D\\s\\S\\w\\W", true},
    {"\\b\\B\\A\\z", true},
    {"\\Z", false},
    {"\\C", true},
    {"\\pL", true},
    {"\\PL", true},
    {"\\p{Greek}", true},
    {"\\P{Greek}", true},
    {"\\p{^Greek}", true},
    {"\\pX", false},
    {"\\p{Foo}", false},
    {"\\p{Latin", false},
    {"\\x41", true},
    {"\\x{41}", true},
    {"\\x{10FFFF}", true},
    {"\\x{110000}", false},
    {"\\x{}", false},
    {"\\x4", false},
    {"\\xZZ", false},
    {"\\0", true},
    {"\\012", true},
    {"\\10", true},
    {"\\1", false},
    {"\\8", false},
    {"\\9", false},
    {"\\Q.*+\\E", true},
    {"\\Q.*+", true},
    {"\\E", false},
    {"\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\", true},
    {"\\_", true},
    {"\\-", true},
    {"\\e", false},
    {"\\cA", false},
    {"\\G", false},
    {"\\K", false},
    {"\\h", false},
    {"\\n\\r\\t\\f\\v\\a", true},
    {"\\", false},
    {"a\\", false},
    {".*", true},
    {"^$", true},
    {"h\xc3\xa9" "llo", true},
    {"\\\xc3\xa9" "", false},
    {"[\xc3\xa9" "-\xc3\xbc" "]", true},
    {"(((((a)))))", true},
    {"x{2}*", false},
    {"a*(?i)*", true},
    {"(?i)*", false},
    {"(?:)*", true},
    {"(a|b|)+", true},
    /* RE2 since 2023 (Envoy 1.27+) also accepts (?<name>re). */
    {"(?<name>a)", true},
    {"(?<n>a)b", true},
    /* Invalid UTF-8 is refused. */
    {"\xff", false},
    {"a\xc3", false},
};

static void test_table(void)
{
    char reason[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool ok = model_re2_syntax_ok(cases[i].pattern, reason, sizeof(reason));
        test_checks++;
        if (ok != cases[i].valid) {
            test_failures++;
            fprintf(stderr, "re2 case %zu \"%s\": expected %s, got %s (%s)\n", i,
                    cases[i].pattern, cases[i].valid ? "valid" : "invalid",
                    ok ? "valid" : "invalid", ok ? "" : reason);
        }
        if (!ok)
            CHECK(reason[0] != '\0');
    }
    CHECK(sizeof(cases) / sizeof(cases[0]) >= 40);
}

static void check_reason(const char *pattern, const char *expected)
{
    char reason[256];
    CHECK(!model_re2_syntax_ok(pattern, reason, sizeof(reason)));
    CHECK_STR(reason, expected);
}

static void test_reasons(void)
{
    /* The user guide's look-ahead and back-reference examples. */
    check_reason("^prefix(?!suffix)",
                 "invalid perl operator: (?! at offset 7 (negative look-ahead is not supported by RE2)");
    check_reason("(?=example)",
                 "invalid perl operator: (?= at offset 0 (look-ahead is not supported by RE2)");
    check_reason("(group1)(group2)\\1",
                 "invalid escape sequence: \\1 at offset 16 (back-references are not supported by RE2)");
    check_reason("(?<=a)b",
                 "invalid perl operator: (?<= at offset 0 (look-behind is not supported by RE2)");
    check_reason("(?<!a)b",
                 "invalid perl operator: (?<! at offset 0 (look-behind is not supported by RE2)");
    check_reason("(?>a)",
                 "invalid perl operator: (?> at offset 0 (atomic groups are not supported by RE2)");
    check_reason("a++", "bad repetition operator: ++ at offset 1 (possessive quantifiers are not "
                        "supported by RE2)");
    check_reason("a**", "bad repetition operator: ** at offset 1 (repetition operators cannot be "
                        "stacked)");
    check_reason("\\Z", "invalid escape sequence: \\Z at offset 0 (RE2 has no \\Z; use \\z or $)");
    check_reason("(abc", "missing closing ): (abc at offset 0");
    check_reason("abc)", "unexpected ): no group is open at offset 3");
    check_reason("[a", "missing closing ]: [a at offset 0");
    check_reason("*a", "no argument for repetition operator: * at offset 0");
    check_reason("a{5,2}", "invalid repetition size: {5,2} at offset 1 (minimum exceeds maximum)");
    check_reason("a{1001}", "invalid repetition size: {1001} at offset 1 (counts go up to 1000)");
    check_reason("(a{10}){101}", "invalid repetition size: {101} at offset 7 (nested repetition "
                                 "counts multiply past 1000)");
    check_reason("[z-a]", "invalid character class range: z-a at offset 1 (the range ends before "
                          "it starts)");
    check_reason("\\p{Foo}", "invalid character class range: \\p{Foo} at offset 0 (unknown "
                             "Unicode class or script)");
    check_reason("\\x{110000}", "invalid escape sequence: \\x{110000} at offset 0 (\\x{...} needs "
                                "1 or more hex digits up to 10FFFF)");
    check_reason("a\\", "trailing \\ at offset 1");
    check_reason("\xff", "invalid UTF-8 at offset 0");

    /* Reasons are cut to the buffer and stay NUL-terminated. */
    char small[8];
    CHECK(!model_re2_syntax_ok("(?=x)", small, sizeof(small)));
    CHECK_INT(strlen(small), sizeof(small) - 1);
    CHECK(!model_re2_syntax_ok("(?=x)", NULL, 0));
    CHECK(!model_re2_syntax_ok(NULL, small, sizeof(small)));
}

static void test_deep_nesting(void)
{
    /* The checker recurses per group: 1000 nested groups are fine, 1001 are
     * refused (Go's regexp has the same bound; App Mesh regexes are at most
     * 255 characters, so no real pattern comes near it). */
    static char pattern[2 * 1001 + 2];
    for (size_t depth = 1000; depth <= 1001; depth++) {
        memset(pattern, '(', depth);
        pattern[depth] = 'a';
        memset(pattern + depth + 1, ')', depth);
        pattern[2 * depth + 1] = '\0';
        char reason[128];
        bool ok = model_re2_syntax_ok(pattern, reason, sizeof(reason));
        CHECK(ok == (depth == 1000));
        if (!ok)
            CHECK_CONTAINS(reason, "expression nests too deeply");
    }
}

int main(void)
{
    test_table();
    test_reasons();
    test_deep_nesting();
    return test_finish("unit_re2_syntax");
}
