#include "pagination.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_BYTES 16

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static bool base64url_encode(const unsigned char *in, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;
        if (n > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (n > 2)
            v |= in[i + 2];
        if (o + 5 >= size)
            return false;
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (n > 1)
            out[o++] = b64url[(v >> 6) & 63];
        if (n > 2)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return true;
}

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

static bool base64url_decode(const char *in, unsigned char *out, size_t size, size_t *len_out)
{
    size_t len = strlen(in), o = 0;
    if (len % 4 == 1)
        return false;
    for (size_t i = 0; i < len; i += 4) {
        size_t n = len - i < 4 ? len - i : 4;
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = k < n ? b64url_value(in[i + k]) : 0;
            if (d < 0)
                return false;
            v = (v << 6) | (uint32_t)d;
        }
        size_t bytes = n - 1;
        if (o + bytes > size)
            return false;
        for (size_t k = 0; k < bytes; k++)
            out[o++] = (unsigned char)(v >> (16 - 8 * k));
    }
    *len_out = o;
    return true;
}

static void compute_mac(const control_plane *cp, const char *listing, const unsigned char *body,
                        size_t body_len, unsigned char mac[MAC_BYTES])
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int full_len = 0;
    /* MAC over listing || 0 || body so a token cannot move between listings. */
    size_t listing_len = strlen(listing);
    unsigned char *msg = malloc(listing_len + 1 + body_len);
    if (msg == NULL) {
        memset(mac, 0, MAC_BYTES);
        return;
    }
    memcpy(msg, listing, listing_len);
    msg[listing_len] = 0;
    memcpy(msg + listing_len + 1, body, body_len);
    HMAC(EVP_sha256(), cp->pagination_key, sizeof(cp->pagination_key), msg,
         listing_len + 1 + body_len, full, &full_len);
    free(msg);
    memcpy(mac, full, MAC_BYTES);
}

bool pagination_token_encode(const control_plane *cp, const char *listing, const char *last_key,
                             double now, char *out, size_t out_size)
{
    unsigned char raw[PAGINATION_TOKEN_MAX];
    int n = snprintf((char *)raw, sizeof(raw) - MAC_BYTES, "1|%lld|%s",
                     (long long)now + PAGINATION_TOKEN_TTL_SECONDS, last_key);
    if (n < 0 || (size_t)n >= sizeof(raw) - MAC_BYTES)
        return false;
    compute_mac(cp, listing, raw, (size_t)n, raw + n);
    return base64url_encode(raw, (size_t)n + MAC_BYTES, out, out_size);
}

bool pagination_token_decode(const control_plane *cp, const char *listing, const char *token,
                             double now, char *last_key, size_t last_key_size)
{
    unsigned char raw[PAGINATION_TOKEN_MAX];
    size_t len = 0;
    if (strlen(token) > PAGINATION_TOKEN_MAX || !base64url_decode(token, raw, sizeof(raw), &len) ||
        len <= MAC_BYTES + 4)
        return false;
    size_t body_len = len - MAC_BYTES;
    unsigned char mac[MAC_BYTES];
    compute_mac(cp, listing, raw, body_len, mac);
    if (CRYPTO_memcmp(mac, raw + body_len, MAC_BYTES) != 0)
        return false;
    raw[body_len] = '\0';
    const char *text = (const char *)raw;
    if (strncmp(text, "1|", 2) != 0)
        return false;
    char *end = NULL;
    long long expiry = strtoll(text + 2, &end, 10);
    if (end == NULL || *end != '|' || (double)expiry < now)
        return false;
    const char *key = end + 1;
    if (strlen(key) >= last_key_size)
        return false;
    snprintf(last_key, last_key_size, "%s", key);
    return true;
}
