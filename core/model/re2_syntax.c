/*
 * model_re2_syntax_ok(): an RE2 syntax checker for the regexes users put in
 * route and gateway-route matches. App Mesh's Envoy compiles them with RE2,
 * so anything RE2 refuses must be refused at the API, where the user sees the
 * reason, rather than silently breaking the proxy's configuration.
 *
 * It follows RE2's parser (re2/parse.cc, Perl-like syntax as Envoy uses it):
 *
 *   alternation    a|b, empty alternatives allowed
 *   repetition     * + ? {n} {n,} {n,m} (at most 1000), each optionally
 *                  non-greedy (?); stacking (a**, a*+, a{2}{3}) is an error;
 *                  capture names may repeat (RE2 allows it, unlike Go);
 *                  a '{' that does not start a valid {n,m} is a literal; nested
 *                  counted repetitions may multiply to at most 1000
 *   groups         (re) (?:re) (?P<name>re) (?<name>re) (?flags) (?flags:re),
 *                  flags from imsU with one optional '-'
 *   classes        [abc] [^a-z] []a] [[:alpha:]] [[:^space:]] \d \p{Greek} ...
 *   escapes        \d \D \s \S \w \W \b \B \A \z \C \pN \p{Name} \PN \P{^Name}
 *                  \Q...\E \xHH \x{10FFFF} \0 \012 (octal) \n \r \t \a \f \v
 *                  and any escaped ASCII punctuation
 *
 * and refuses what RE2 refuses: look-ahead and look-behind, back-references
 * (\1..\9, (?P=name)), atomic groups, possessive quantifiers, \Z, unknown
 * escapes and classes, unbalanced parentheses and brackets, repetition of
 * nothing, bad counts, invalid UTF-8. Every refusal says why and where.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex_digit.h"
#include "model.h"
#include "model_text.h"

#define RE2_MAX_REPEAT 1000      /* RE2's maximum_repeat_count and kMaxRepeat */
#define RE2_MAX_NESTING 1000     /* RE2's maximum nesting depth */
#define RE2_MAX_RUNE 0x10FFFF

/* Unicode groups RE2 knows for \p and \P: general categories, scripts, Any. */
static const char *const unicode_groups[] = {
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Any", "Arabic", "Armenian", "Avestan",
    "Balinese", "Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi",
    "Braille", "Buginese", "Buhid", "C", "Canadian_Aboriginal", "Carian", "Caucasian_Albanian",
    "Cc", "Cf", "Chakma", "Cham", "Cherokee", "Chorasmian", "Co", "Common", "Coptic", "Cs",
    "Cuneiform", "Cypriot", "Cypro_Minoan", "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru",
    "Dogra", "Duployan", "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic", "Georgian",
    "Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati", "Gunjala_Gondi", "Gurmukhi", "Han",
    "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew", "Hiragana", "Imperial_Aramaic",
    "Inherited", "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese", "Kaithi",
    "Kannada", "Katakana", "Kawi", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khmer",
    "Khojki", "Khudawadi", "L", "Lao", "Latin", "Lepcha", "Limbu", "Linear_A", "Linear_B",
    "Lisu", "Ll", "Lm", "Lo", "Lt", "Lu", "Lycian", "Lydian", "M", "Mahajani", "Makasar",
    "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Mc", "Me", "Medefaidrin",
    "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Mn",
    "Modi", "Mongolian", "Mro", "Multani", "Myanmar", "N", "Nabataean", "Nag_Mundari",
    "Nandinagari", "Nd", "New_Tai_Lue", "Newa", "Nko", "Nl", "No", "Nushu",
    "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki", "Old_Hungarian", "Old_Italic",
    "Old_North_Arabian", "Old_Permic", "Old_Persian", "Old_Sogdian", "Old_South_Arabian",
    "Old_Turkic", "Old_Uyghur", "Oriya", "Osage", "Osmanya", "P", "Pahawh_Hmong", "Palmyrene",
    "Pau_Cin_Hau", "Pc", "Pd", "Pe", "Pf", "Phags_Pa", "Phoenician", "Pi", "Po", "Ps",
    "Psalter_Pahlavi", "Rejang", "Runic", "S", "Samaritan", "Saurashtra", "Sc", "Sharada",
    "Shavian", "Siddham", "SignWriting", "Sinhala", "Sk", "Sm", "So", "Sogdian", "Sora_Sompeng",
    "Soyombo", "Sundanese", "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le",
    "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangsa", "Tangut", "Telugu", "Thaana", "Thai",
    "Tibetan", "Tifinagh", "Tirhuta", "Toto", "Ugaritic", "Vai", "Vithkuqi", "Wancho",
    "Warang_Citi", "Yezidi", "Yi", "Z", "Zanabazar_Square", "Zl", "Zp", "Zs",
};

static const char *const posix_classes[] = {
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph",
    "lower", "print", "punct", "space", "upper", "word", "xdigit",
};

typedef struct re2_parser {
    const char *s;
    size_t len;
    size_t pos;
    model_text *reason;
    bool failed;
} re2_parser;

/* Records the first error: "<what> at offset N". */
static bool fail(re2_parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(re2_parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return false;
    p->failed = true;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    model_text_append(p->reason, detail);
    model_text_appendf(p->reason, " at offset %zu", at);
    return false;
}

/* Records the first error quoting s[from, to), e.g.
 * "invalid escape sequence: \Z at offset 3 (RE2 has no \Z; use \z or $)". */
static bool fail_quoting(re2_parser *p, size_t from, size_t to, const char *message,
                         const char *hint)
{
    if (p->failed)
        return false;
    p->failed = true;
    model_text_append(p->reason, message);
    model_text_append(p->reason, ": ");
    model_text_append_escaped(p->reason, p->s + from, to - from, 64);
    model_text_appendf(p->reason, " at offset %zu", from);
    if (hint != NULL) {
        model_text_append(p->reason, " (");
        model_text_append(p->reason, hint);
        model_text_append(p->reason, ")");
    }
    return false;
}

static bool at_end(const re2_parser *p)
{
    return p->pos >= p->len;
}

static char peek(const re2_parser *p, size_t ahead)
{
    return p->pos + ahead < p->len ? p->s[p->pos + ahead] : '\0';
}

/* Decodes one UTF-8 character at the cursor into *rune. */
static bool next_rune(re2_parser *p, long *rune)
{
    const unsigned char *u = (const unsigned char *)p->s + p->pos;
    size_t n = model_utf8_sequence_length(u, p->len - p->pos);
    if (n == 0)
        return fail(p, p->pos, "invalid UTF-8");
    long r;
    if (n == 1)
        r = u[0];
    else if (n == 2)
        r = ((long)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
    else if (n == 3)
        r = ((long)(u[0] & 0x0F) << 12) | ((long)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
    else
        r = ((long)(u[0] & 0x07) << 18) | ((long)(u[1] & 0x3F) << 12) |
            ((long)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    p->pos += n;
    *rune = r;
    return true;
}

static bool is_ascii_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_word_char(char c)
{
    return is_ascii_alpha(c) || is_digit(c) || c == '_';
}

static int compare_name(const void *key, const void *element)
{
    return strcmp(key, *(const char *const *)element);
}

/*
 * A single-character escape (RE2's ParseEscape), cursor at the backslash:
 * octal, \x hex, C escapes and escaped ASCII punctuation. Sets *rune.
 */
static bool parse_escape(re2_parser *p, long *rune)
{
    size_t start = p->pos;
    p->pos++; /* the backslash */
    if (at_end(p))
        return fail(p, start, "trailing \\");
    char c = p->s[p->pos];
    if ((unsigned char)c < 0x80 && !is_ascii_alpha(c) && !is_digit(c)) {
        /* Escaped ASCII punctuation (and \_, which RE2 allows) is itself. */
        p->pos++;
        *rune = (unsigned char)c;
        return true;
    }
    if (c >= '1' && c <= '9') {
        /* \1..\7 followed by an octal digit is octal; otherwise a back-reference. */
        char next = peek(p, 1);
        if (c > '7' || next < '0' || next > '7') {
            size_t end = p->pos + 1;
            while (end < p->len && is_digit(p->s[end]))
                end++;
            return fail_quoting(p, start, end, "invalid escape sequence",
                                "back-references are not supported by RE2");
        }
    }
    if (c >= '0' && c <= '7') {
        long code = c - '0';
        p->pos++;
        for (int i = 0; i < 2 && peek(p, 0) >= '0' && peek(p, 0) <= '7'; i++) {
            code = code * 8 + (peek(p, 0) - '0');
            p->pos++;
        }
        *rune = code;
        return true;
    }
    switch (c) {
    case 'x': {
        p->pos++;
        if (peek(p, 0) == '{') {
            p->pos++;
            long code = 0;
            size_t digits = 0;
            while (!at_end(p) && hex_digit_value(peek(p, 0)) >= 0) {
                code = code * 16 + hex_digit_value(peek(p, 0));
                digits++;
                p->pos++;
                if (code > RE2_MAX_RUNE)
                    break;
            }
            if (code > RE2_MAX_RUNE || digits == 0 || peek(p, 0) != '}') {
                size_t end = p->pos < p->len ? p->pos + 1 : p->len;
                return fail_quoting(p, start, end, "invalid escape sequence",
                                    "\\x{...} needs 1 or more hex digits up to 10FFFF");
            }
            p->pos++;
            *rune = code;
            return true;
        }
        if (hex_digit_value(peek(p, 0)) < 0 || hex_digit_value(peek(p, 1)) < 0) {
            size_t end = p->pos + 2 < p->len ? p->pos + 2 : p->len;
            return fail_quoting(p, start, end, "invalid escape sequence",
                                "\\x needs two hex digits or {hex}");
        }
        *rune = hex_digit_value(peek(p, 0)) * 16 + hex_digit_value(peek(p, 1));
        p->pos += 2;
        return true;
    }
    case 'n': *rune = '\n'; p->pos++; return true;
    case 'r': *rune = '\r'; p->pos++; return true;
    case 't': *rune = '\t'; p->pos++; return true;
    case 'a': *rune = '\a'; p->pos++; return true;
    case 'f': *rune = '\f'; p->pos++; return true;
    case 'v': *rune = '\v'; p->pos++; return true;
    default:
        break;
    }
    size_t end = p->pos + model_utf8_sequence_length((const unsigned char *)p->s + p->pos,
                                                     p->len - p->pos);
    if (end == p->pos)
        end++;
    const char *hint = NULL;
    if (c == 'Z')
        hint = "RE2 has no \\Z; use \\z or $";
    else if (c == 'G' || c == 'K' || c == 'R' || c == 'X' || c == 'h' || c == 'H' ||
             c == 'e' || c == 'c' || c == 'g' || c == 'k' || c == 'E')
        hint = "not supported by RE2";
    return fail_quoting(p, start, end, "invalid escape sequence", hint);
}

/* \pN, \p{Name}, \p{^Name}, \PN ...; cursor at the backslash. */
static bool parse_unicode_group(re2_parser *p)
{
    size_t start = p->pos;
    p->pos += 2; /* \p or \P */
    if (at_end(p))
        return fail_quoting(p, start, p->len, "invalid escape sequence", "\\p needs a name");
    char name[64];
    size_t name_len;
    if (peek(p, 0) == '{') {
        const char *close = memchr(p->s + p->pos, '}', p->len - p->pos);
        if (close == NULL)
            return fail_quoting(p, start, p->len, "invalid character class range",
                                "missing } after \\p{");
        size_t from = p->pos + 1;
        if (from < p->len && p->s[from] == '^')
            from++;
        name_len = (size_t)(close - (p->s + from));
        if (name_len >= sizeof(name))
            name_len = sizeof(name) - 1;
        memcpy(name, p->s + from, name_len);
        p->pos = (size_t)(close - p->s) + 1;
    } else {
        long rune;
        size_t from = p->pos;
        if (!next_rune(p, &rune))
            return false;
        name_len = p->pos - from;
        memcpy(name, p->s + from, name_len);
    }
    name[name_len] = '\0';
    if (bsearch(name, unicode_groups, sizeof(unicode_groups) / sizeof(unicode_groups[0]),
                sizeof(unicode_groups[0]), compare_name) == NULL)
        return fail_quoting(p, start, p->pos, "invalid character class range",
                            "unknown Unicode class or script");
    return true;
}

static bool is_perl_class(char c)
{
    return c == 'd' || c == 'D' || c == 's' || c == 'S' || c == 'w' || c == 'W';
}

/* One character inside a class, for a range end; cursor at it. */
static bool parse_class_char(re2_parser *p, long *rune)
{
    if (at_end(p))
        return fail(p, p->pos, "missing closing ]");
    if (p->s[p->pos] == '\\')
        return parse_escape(p, rune);
    return next_rune(p, rune);
}

/* [:name:] or [:^name:] inside a class; cursor at '['. Returns 1 when one was
 * parsed, 0 when this '[' is just a literal, -1 on error. */
static int parse_posix_class(re2_parser *p)
{
    if (peek(p, 1) != ':')
        return 0;
    size_t from = p->pos + 2;
    const char *close = NULL;
    for (size_t i = from; i + 1 < p->len; i++) {
        if (p->s[i] == ':' && p->s[i + 1] == ']') {
            close = p->s + i;
            break;
        }
    }
    if (close == NULL)
        return 0;
    if (from < p->len && p->s[from] == '^')
        from++;
    size_t len = (size_t)(close - (p->s + from));
    size_t end = (size_t)(close - p->s) + 2;
    for (size_t i = 0; i < sizeof(posix_classes) / sizeof(posix_classes[0]); i++) {
        if (strlen(posix_classes[i]) == len && memcmp(posix_classes[i], p->s + from, len) == 0) {
            p->pos = end;
            return 1;
        }
    }
    fail_quoting(p, p->pos, end, "invalid character class range", "unknown POSIX class");
    return -1;
}

/* A bracketed class; cursor at '['. */
static bool parse_class(re2_parser *p)
{
    size_t start = p->pos;
    p->pos++;
    if (peek(p, 0) == '^')
        p->pos++;
    bool first = true; /* ']' is a literal as the first character */
    while (!at_end(p) && (p->s[p->pos] != ']' || first)) {
        first = false;
        char c = p->s[p->pos];
        if (c == '[') {
            int posix = parse_posix_class(p);
            if (posix < 0)
                return false;
            if (posix > 0)
                continue;
        }
        if (c == '\\' && is_perl_class(peek(p, 1))) {
            p->pos += 2;
            continue;
        }
        if (c == '\\' && (peek(p, 1) == 'p' || peek(p, 1) == 'P')) {
            if (!parse_unicode_group(p))
                return false;
            continue;
        }
        size_t range_start = p->pos;
        long lo, hi;
        if (!parse_class_char(p, &lo))
            return false;
        if (peek(p, 0) == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] != ']') {
            p->pos++;
            if (!parse_class_char(p, &hi))
                return false;
            if (hi < lo)
                return fail_quoting(p, range_start, p->pos, "invalid character class range",
                                    "the range ends before it starts");
        }
    }
    if (at_end(p))
        return fail_quoting(p, start, p->len, "missing closing ]", NULL);
    p->pos++;
    return true;
}

/* {n}, {n,} or {n,m} at the cursor. Returns false (cursor unchanged) when the
 * text is not of that form: RE2 then reads the '{' as a literal. */
static bool maybe_parse_count(re2_parser *p, long *min, long *max)
{
    size_t i = p->pos + 1;
    long lo = 0, hi;
    size_t digits = 0;
    for (; i < p->len && is_digit(p->s[i]); i++, digits++)
        lo = lo < 100000 ? lo * 10 + (p->s[i] - '0') : lo;
    if (digits == 0 || i >= p->len)
        return false;
    if (p->s[i] == ',') {
        i++;
        if (i < p->len && p->s[i] == '}') {
            hi = -1;
        } else {
            hi = 0;
            digits = 0;
            for (; i < p->len && is_digit(p->s[i]); i++, digits++)
                hi = hi < 100000 ? hi * 10 + (p->s[i] - '0') : hi;
            if (digits == 0)
                return false;
        }
    } else {
        hi = lo;
    }
    if (i >= p->len || p->s[i] != '}')
        return false;
    p->pos = i + 1;
    *min = lo;
    *max = hi;
    return true;
}

static bool parse_alternation(re2_parser *p, size_t depth, long *product);

/* (?P<name> or (?<name>; cursor at the '<'. */
static bool parse_group_name(re2_parser *p, size_t group_start)
{
    size_t from = p->pos + 1;
    const char *close = memchr(p->s + from, '>', p->len - from);
    if (close == NULL)
        return fail_quoting(p, group_start, p->len, "invalid named capture group",
                            "missing >");
    size_t len = (size_t)(close - (p->s + from));
    for (size_t i = 0; i < len; i++) {
        if (!is_word_char(p->s[from + i]))
            len = 0;
    }
    if (len == 0)
        return fail_quoting(p, group_start, (size_t)(close - p->s) + 1,
                            "invalid named capture group",
                            "a name is one or more letters, digits or _");
    p->pos = (size_t)(close - p->s) + 1;
    return true;
}

/*
 * A group; cursor at '('. *is_item is false for a flags-only group such as
 * (?i), which changes flags and adds nothing to repeat.
 */
static bool parse_group(re2_parser *p, size_t depth, bool *is_item, long *product)
{
    size_t start = p->pos;
    if (depth >= RE2_MAX_NESTING)
        return fail(p, start, "expression nests too deeply");
    *is_item = true;
    p->pos++;
    if (peek(p, 0) == '?') {
        char c = peek(p, 1);
        char d = peek(p, 2);
        if (c == '=')
            return fail_quoting(p, start, p->pos + 2, "invalid perl operator",
                                "look-ahead is not supported by RE2");
        if (c == '!')
            return fail_quoting(p, start, p->pos + 2, "invalid perl operator",
                                "negative look-ahead is not supported by RE2");
        if (c == '<' && (d == '=' || d == '!'))
            return fail_quoting(p, start, p->pos + 3, "invalid perl operator",
                                "look-behind is not supported by RE2");
        if (c == '>')
            return fail_quoting(p, start, p->pos + 2, "invalid perl operator",
                                "atomic groups are not supported by RE2");
        if (c == 'P' && (d == '=' || d == '>'))
            return fail_quoting(p, start, p->pos + 3, "invalid named capture group",
                                d == '=' ? "back-references are not supported by RE2"
                                         : "recursion is not supported by RE2");
        if (c == 'P' && d != '<')
            return fail_quoting(p, start, p->pos + 2, "invalid named capture group", NULL);
        if (c == 'P' || c == '<') {
            p->pos += c == 'P' ? 2 : 1;
            if (!parse_group_name(p, start))
                return false;
        } else {
            /* Flags: (?flags) or (?flags:re), flags imsU, at most one '-'
             * and at least one flag after it. */
            p->pos++;
            bool negated = false, saw_flag = false;
            for (;;) {
                if (at_end(p))
                    return fail_quoting(p, start, p->len, "missing closing )", NULL);
                char f = p->s[p->pos];
                if (f == 'i' || f == 'm' || f == 's' || f == 'U') {
                    saw_flag = true;
                } else if (f == '-' && !negated) {
                    negated = true;
                    saw_flag = false;
                } else if (f == ':' || f == ')') {
                    if (negated && !saw_flag)
                        return fail_quoting(p, start, p->pos + 1, "invalid perl operator",
                                            "'-' must be followed by a flag");
                    p->pos++;
                    if (f == ')') {
                        *is_item = false;
                        *product = 1;
                        return true;
                    }
                    break;
                } else {
                    size_t end = p->pos + 1;
                    return fail_quoting(p, start, end, "invalid perl operator",
                                        f == '#' ? "comments are not supported by RE2"
                                                 : "flags are i, m, s and U");
                }
                p->pos++;
            }
        }
    }
    if (!parse_alternation(p, depth + 1, product))
        return false;
    if (at_end(p))
        return fail_quoting(p, start, p->len, "missing closing )", NULL);
    p->pos++; /* ')' */
    return true;
}

/* A top-level backslash sequence; cursor at the backslash. */
static bool parse_backslash(re2_parser *p)
{
    char c = peek(p, 1);
    if (c == 'b' || c == 'B' || c == 'A' || c == 'z' || c == 'C' || is_perl_class(c)) {
        p->pos += 2;
        return true;
    }
    if (c == 'Q') {
        /* Literal text up to \E or the end. */
        p->pos += 2;
        while (!at_end(p)) {
            if (p->s[p->pos] == '\\' && peek(p, 1) == 'E') {
                p->pos += 2;
                break;
            }
            long rune;
            if (!next_rune(p, &rune))
                return false;
        }
        return true;
    }
    if (c == 'p' || c == 'P')
        return parse_unicode_group(p);
    long rune;
    return parse_escape(p, &rune);
}

/* A concatenation up to '|', ')' or the end. *product is the largest product
 * of nested counted repetitions inside it (RE2's RepetitionWalker budget). */
static bool parse_concatenation(re2_parser *p, size_t depth, long *product)
{
    bool have_item = false;    /* something a repetition can apply to */
    bool last_was_repeat = false;
    size_t last_repeat_start = 0;
    long item_product = 1;
    long max_product = 1;
    while (!at_end(p) && p->s[p->pos] != '|' && p->s[p->pos] != ')') {
        size_t start = p->pos;
        char c = p->s[p->pos];
        long min = 0, max = 0;
        bool counted = c == '{' && maybe_parse_count(p, &min, &max);
        if (counted || c == '*' || c == '+' || c == '?') {
            if (!counted)
                p->pos++;
            if (peek(p, 0) == '?')
                p->pos++; /* non-greedy */
            if (!have_item)
                return fail_quoting(p, start, p->pos, "no argument for repetition operator",
                                    NULL);
            if (last_was_repeat) {
                const char *hint = c == '+' ? "possessive quantifiers are not supported by RE2"
                                            : "repetition operators cannot be stacked";
                return fail_quoting(p, last_repeat_start, p->pos, "bad repetition operator",
                                    hint);
            }
            if (counted) {
                if (min > RE2_MAX_REPEAT || max > RE2_MAX_REPEAT || (max != -1 && max < min))
                    return fail_quoting(p, start, p->pos, "invalid repetition size",
                                        max != -1 && max < min ? "minimum exceeds maximum"
                                                               : "counts go up to 1000");
                long m = max >= 0 ? max : min;
                if (m > 0)
                    item_product *= m;
                if ((min >= 2 || max >= 2) && item_product > RE2_MAX_REPEAT)
                    return fail_quoting(p, start, p->pos, "invalid repetition size",
                                        "nested repetition counts multiply past 1000");
                if (max_product < item_product)
                    max_product = item_product;
            }
            last_was_repeat = true;
            last_repeat_start = start;
            continue;
        }
        last_was_repeat = false;
        switch (c) {
        case '(': {
            bool is_item = false;
            long inner = 1;
            if (!parse_group(p, depth, &is_item, &inner))
                return false;
            if (is_item) {
                have_item = true;
                item_product = inner;
            }
            break;
        }
        case '[':
            if (!parse_class(p))
                return false;
            have_item = true;
            item_product = 1;
            break;
        case '\\':
            if (!parse_backslash(p))
                return false;
            have_item = true;
            item_product = 1;
            break;
        default: {
            long rune;
            if (!next_rune(p, &rune))
                return false;
            have_item = true;
            item_product = 1;
            break;
        }
        }
        if (max_product < item_product)
            max_product = item_product;
    }
    *product = max_product;
    return true;
}

static bool parse_alternation(re2_parser *p, size_t depth, long *product)
{
    long max_product = 1;
    for (;;) {
        long branch = 1;
        if (!parse_concatenation(p, depth, &branch))
            return false;
        if (max_product < branch)
            max_product = branch;
        if (at_end(p) || p->s[p->pos] != '|')
            break;
        p->pos++;
    }
    *product = max_product;
    return true;
}

bool model_re2_syntax_ok(const char *pattern, char *reason, size_t reason_size)
{
    model_text text;
    model_text_init(&text, reason, reason_size);
    re2_parser p = {.s = pattern, .len = pattern ? strlen(pattern) : 0, .reason = &text};
    if (pattern == NULL) {
        model_text_append(&text, "no pattern");
        return false;
    }
    long product = 1;
    bool ok = parse_alternation(&p, 0, &product);
    if (ok && !at_end(&p))
        ok = fail(&p, p.pos, "unexpected ): no group is open");
    return ok && !p.failed;
}
