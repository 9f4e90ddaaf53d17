#include "sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define MAX_PAIRS 64

/* A bounded string builder; `failed` once anything did not fit. */
typedef struct builder {
    char *out;
    size_t size, len;
    bool failed;
} builder;

static void put(builder *b, const char *s, size_t n)
{
    if (b->failed || b->len + n + 1 > b->size) {
        b->failed = true;
        return;
    }
    memcpy(b->out + b->len, s, n);
    b->len += n;
    b->out[b->len] = '\0';
}

static void puts_(builder *b, const char *s)
{
    put(b, s, strlen(s));
}

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 percent-encoding with uppercase hex; '/' kept when asked. */
static void put_encoded(builder *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            put(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            put(b, e, 3);
        }
    }
}

void sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_SIZE])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, len, digest);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

void sigv4_amz_date(time_t when, char out[SIGV4_DATE_SIZE])
{
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(out, SIGV4_DATE_SIZE, "%Y%m%dT%H%M%SZ", &tm);
}

/* One canonical query parameter or header; both strings owned. */
typedef struct encoded_pair {
    char *name;
    char *value;
} encoded_pair;

static int pair_compare(const void *pa, const void *pb)
{
    const encoded_pair *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : strcmp(a->value, b->value);
}

static void pairs_free(encoded_pair *pairs, size_t count)
{
    for (size_t i = 0; pairs != NULL && i < count; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
}

/* RFC 3986 encoding of `s` into a new string (at most three bytes per byte). */
static char *encoded_copy(const char *s)
{
    size_t size = 3 * strlen(s) + 1;
    char *out = malloc(size);
    if (out != NULL) {
        builder b = {out, size, 0, false};
        out[0] = '\0';
        put_encoded(&b, s, false);
    }
    return out;
}

/* Header names lowercase; values trimmed, inner runs of spaces as one. */
static bool canonical_header(const sigv4_pair *h, encoded_pair *out)
{
    out->name = strdup(h->name);
    out->value = malloc(strlen(h->value) + 1);
    if (out->name == NULL || out->value == NULL)
        return false;
    for (char *p = out->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    size_t n = 0;
    const char *v = h->value;
    while (*v == ' ' || *v == '\t')
        v++;
    bool space = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space && n > 0)
            out->value[n++] = ' ';
        space = false;
        out->value[n++] = *v;
    }
    out->value[n] = '\0';
    return true;
}

/* Appends the sorted pairs, "name=value" joined by '&' (query) or
 * "name:value\n" each (headers). */
static void put_pairs(builder *b, encoded_pair *pairs, size_t count, bool headers)
{
    qsort(pairs, count, sizeof(*pairs), pair_compare);
    for (size_t i = 0; i < count; i++) {
        if (!headers)
            puts_(b, i ? "&" : "");
        puts_(b, pairs[i].name);
        puts_(b, headers ? ":" : "=");
        puts_(b, pairs[i].value);
        if (headers)
            puts_(b, "\n");
    }
}

/* Builds the canonical request; the signed header list goes to `signed_out`. */
static bool canonical(const sigv4_request *r, char *out, size_t size, char *signed_out,
                      size_t signed_size)
{
    if (r->query_count > MAX_PAIRS || r->header_count > MAX_PAIRS)
        return false;
    builder b = {out, size, 0, false};
    puts_(&b, r->method);
    puts_(&b, "\n");
    put_encoded(&b, r->path && r->path[0] ? r->path : "/", true);
    puts_(&b, "\n");

    encoded_pair *query = calloc(r->query_count + 1, sizeof(*query));
    encoded_pair *headers = calloc(r->header_count + 1, sizeof(*headers));
    bool ok = query != NULL && headers != NULL;
    for (size_t i = 0; ok && i < r->query_count; i++) {
        query[i].name = encoded_copy(r->query[i].name);
        query[i].value = encoded_copy(r->query[i].value ? r->query[i].value : "");
        ok = query[i].name != NULL && query[i].value != NULL;
    }
    for (size_t i = 0; ok && i < r->header_count; i++)
        ok = canonical_header(&r->headers[i], &headers[i]);
    builder sb = {signed_out, signed_size, 0, false};
    if (ok) {
        put_pairs(&b, query, r->query_count, false);
        puts_(&b, "\n");
        put_pairs(&b, headers, r->header_count, true);
        for (size_t i = 0; i < r->header_count; i++) {
            puts_(&sb, i ? ";" : "");
            puts_(&sb, headers[i].name);
        }
    }
    pairs_free(query, r->query_count);
    pairs_free(headers, r->header_count);
    puts_(&b, "\n");
    puts_(&b, signed_out);
    puts_(&b, "\n");
    char payload_hash[SIGV4_HEX_SIZE];
    sigv4_sha256_hex(r->payload ? r->payload : "", r->payload_len, payload_hash);
    puts_(&b, payload_hash);
    return ok && !b.failed && !sb.failed;
}

/* An upper bound of the canonical request's length (with its NUL):
 * percent-encoding triples a byte at most, and a header's name appears in
 * its line and in the signed list. */
static size_t canonical_size(const sigv4_request *r)
{
    size_t n = strlen(r->method) + 3 * strlen(r->path ? r->path : "/") + SIGV4_HEX_SIZE + 16;
    for (size_t i = 0; i < r->query_count; i++)
        n += 3 * (strlen(r->query[i].name) + strlen(r->query[i].value ? r->query[i].value : "")) + 2;
    for (size_t i = 0; i < r->header_count; i++)
        n += 2 * strlen(r->headers[i].name) + strlen(r->headers[i].value) + 3;
    return n;
}

bool sigv4_canonical_request(const sigv4_request *request, char *out, size_t size)
{
    char signed_headers[2048];
    return canonical(request, out, size, signed_headers, sizeof(signed_headers));
}

static bool hmac(const unsigned char *key, size_t key_len, const char *data,
                 unsigned char out[SHA256_DIGEST_LENGTH])
{
    unsigned int len = 0;
    return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, strlen(data), out,
                &len) != NULL &&
           len == SHA256_DIGEST_LENGTH;
}

bool sigv4_authorization(const sigv4_request *request, const sigv4_scope *scope,
                         const char *amz_date, char *out, size_t size)
{
    if (strlen(amz_date) != SIGV4_DATE_SIZE - 1)
        return false;
    size_t creq_size = canonical_size(request);
    char *creq = malloc(creq_size);
    char signed_headers[2048];
    if (creq == NULL)
        return false;
    if (!canonical(request, creq, creq_size, signed_headers, sizeof(signed_headers))) {
        free(creq);
        return false;
    }
    char creq_hash[SIGV4_HEX_SIZE];
    sigv4_sha256_hex(creq, strlen(creq), creq_hash);
    free(creq);

    char date[9];
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    char credential_scope[256];
    snprintf(credential_scope, sizeof(credential_scope), "%s/%s/%s/aws4_request", date,
             scope->region, scope->service);
    char string_to_sign[512];
    snprintf(string_to_sign, sizeof(string_to_sign), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date,
             credential_scope, creq_hash);

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    size_t secret_len = strlen(scope->secret_access_key);
    unsigned char *first_key = malloc(secret_len + 4);
    if (first_key == NULL)
        return false;
    memcpy(first_key, "AWS4", 4);
    memcpy(first_key + 4, scope->secret_access_key, secret_len);
    unsigned char k_date[32], k_region[32], k_service[32], k_signing[32], signature[32];
    bool ok = hmac(first_key, secret_len + 4, date, k_date) &&
              hmac(k_date, 32, scope->region, k_region) &&
              hmac(k_region, 32, scope->service, k_service) &&
              hmac(k_service, 32, "aws4_request", k_signing) &&
              hmac(k_signing, 32, string_to_sign, signature);
    OPENSSL_cleanse(first_key, secret_len + 4);
    free(first_key);
    OPENSSL_cleanse(k_date, sizeof(k_date));
    OPENSSL_cleanse(k_region, sizeof(k_region));
    OPENSSL_cleanse(k_service, sizeof(k_service));
    OPENSSL_cleanse(k_signing, sizeof(k_signing));
    if (!ok)
        return false;
    char hex[SIGV4_HEX_SIZE];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", signature[i]);
    int n = snprintf(out, size, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                     scope->access_key_id, credential_scope, signed_headers, hex);
    return n > 0 && (size_t)n < size;
}
