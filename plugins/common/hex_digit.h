/*
 * Hexadecimal digits, as percent-encoding, chunk sizes and UUIDs write them.
 */
#ifndef TRELLIS_PLUGIN_HEX_DIGIT_H
#define TRELLIS_PLUGIN_HEX_DIGIT_H

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
