/*
 * Hexadecimal digits in the core (percent-decoding a query, RE2 escapes).
 * Plugins have their own, plugins/common/hex_digit.h: they never include
 * core headers.
 */
#ifndef TRELLIS_CORE_HEX_DIGIT_H
#define TRELLIS_CORE_HEX_DIGIT_H

/* The value of a hexadecimal digit of either case; -1 for any other character. */
static inline int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
