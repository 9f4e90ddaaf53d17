#include "wire.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "hex_digit.h"

void wire_put_u32(byte_buffer *b, uint32_t v)
{
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v};
    bb_append(b, be, sizeof(be));
}

void wire_put_u64(byte_buffer *b, uint64_t v)
{
    wire_put_u32(b, (uint32_t)(v >> 32));
    wire_put_u32(b, (uint32_t)v);
}

void wire_array_begin(byte_buffer *b, uint32_t element_oid, uint32_t count, bool has_nulls)
{
    /* ndim, has-nulls flag, element type; then per dimension its length and
     * lower bound (arrays start at 1). An empty array has no dimensions. */
    wire_put_u32(b, count ? 1u : 0u);
    wire_put_u32(b, has_nulls ? 1u : 0u);
    wire_put_u32(b, element_oid);
    if (count) {
        wire_put_u32(b, count);
        wire_put_u32(b, 1u);
    }
}

void wire_array_element(byte_buffer *b, const void *data, size_t len)
{
    if (data == NULL) {
        wire_put_u32(b, UINT32_MAX); /* length -1: NULL */
        return;
    }
    if (len > INT32_MAX) {
        b->failed = true;
        return;
    }
    wire_put_u32(b, (uint32_t)len);
    bb_append(b, data, len);
}

void wire_array_int2(byte_buffer *b, int16_t v)
{
    unsigned char be[2] = {(unsigned char)((uint16_t)v >> 8), (unsigned char)v};
    wire_array_element(b, be, sizeof(be));
}

void wire_array_int4(byte_buffer *b, int32_t v)
{
    uint32_t u = (uint32_t)v;
    unsigned char be[4] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16),
                           (unsigned char)(u >> 8), (unsigned char)u};
    wire_array_element(b, be, sizeof(be));
}

void wire_array_int8(byte_buffer *b, int64_t v)
{
    uint64_t u = (uint64_t)v;
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(u >> (56 - 8 * i));
    wire_array_element(b, be, sizeof(be));
}

int64_t wire_get_int8(const void *p)
{
    const unsigned char *u = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | u[i];
    return (int64_t)v;
}

int32_t wire_get_int4(const void *p)
{
    const unsigned char *u = p;
    return (int32_t)(((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) |
                     (uint32_t)u[3]);
}

bool wire_uuid_v7(uint8_t out[PG_UUID_LEN], uint64_t unix_ms)
{
    uint8_t random[10];
    size_t got = 0;
    while (got < sizeof(random)) {
        ssize_t n = getrandom(random + got, sizeof(random) - got, 0);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)(unix_ms >> (40 - 8 * i));
    out[6] = (uint8_t)(0x70u | (random[0] & 0x0Fu)); /* version 7 */
    out[7] = random[1];
    out[8] = (uint8_t)(0x80u | (random[2] & 0x3Fu)); /* RFC 4122 variant */
    memcpy(out + 9, random + 3, 7);
    return true;
}

void wire_uuid_format(const uint8_t id[PG_UUID_LEN], char out[PG_UUID_TEXT_LEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < PG_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[id[i] >> 4];
        out[o++] = hex[id[i] & 0x0F];
    }
    out[o] = '\0';
}

bool wire_uuid_parse(const char *text, uint8_t out[PG_UUID_LEN])
{
    if (strlen(text) != PG_UUID_TEXT_LEN - 1)
        return false;
    size_t t = 0;
    for (int i = 0; i < PG_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (text[t++] != '-')
                return false;
        }
        int hi = hex_digit_value(text[t++]);
        int lo = hex_digit_value(text[t++]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}
