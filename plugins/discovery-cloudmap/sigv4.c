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

typedef struct encoded_pair {
    char name[512];
    char value[1024];
} encoded_pair;

static int pair_compare(const void *pa, const void *pb)
{
    const encoded_pair *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c != 0 ? c : strcmp(a->value, b->value);
}

/* Header names lowercase; values trimmed, inner runs of spaces as one. */
static void canonical_header(const sigv4_pair *h, encoded_pair *out, bool *ok)
{
    size_t n = 0;
    for (const char *p = h->name; *p && n + 1 < sizeof(out->name); p++)
        out->name[n++] = (char)tolower((unsigned char)*p);
    out->name[n] = '\0';
    if (strlen(h->name) != n)
        *ok = false;
    n = 0;
    const char *v = h->value;
    while (*v == ' ' || *v == '\t')
        v++;
    bool space = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space && n > 0 && n + 1 < sizeof(out->value))
            out->value[n++] = ' ';
        space = false;
        if (n + 1 < sizeof(out->value))
            out->value[n++] = *v;
        else
            *ok = false;
    }
    out->value[n] = '\0';
}

/* Builds the canonical request; the signed header list goes to `signed_out`. */
static bool canonical(const sigv4_request *r, char *out, size_t size, char *signed_out,
                      size_t signed_size)
{
    if (r->query_count > MAX_PAIRS || r->header_count > MAX_PAIRS)
        return false;
    builder b = {out, size, 0, false};
    bool ok = true;
    puts_(&b, r->method);
    puts_(&b, "\n");
    put_encoded(&b, r->path && r->path[0] ? r->path : "/", true);
    puts_(&b, "\n");

    encoded_pair *pairs = calloc(MAX_PAIRS, sizeof(*pairs));
    if (pairs == NULL)
        return false;
    for (size_t i = 0; i < r->query_count; i++) {
        builder nb = {pairs[i].name, sizeof(pairs[i].name), 0, false};
        builder vb = {pairs[i].value, sizeof(pairs[i].value), 0, false};
        put_encoded(&nb, r->query[i].name, false);
        put_encoded(&vb, r->query[i].value ? r->query[i].value : "", false);
        if (nb.failed || vb.failed)
            ok = false;
    }
    qsort(pairs, r->query_count, sizeof(*pairs), pair_compare);
    for (size_t i = 0; i < r->query_count; i++) {
        puts_(&b, i ? "&" : "");
        puts_(&b, pairs[i].name);
        puts_(&b, "=");
        puts_(&b, pairs[i].value);
    }
    puts_(&b, "\n");

    memset(pairs, 0, MAX_PAIRS * sizeof(*pairs));
    for (size_t i = 0; i < r->header_count; i++)
        canonical_header(&r->headers[i], &pairs[i], &ok);
    qsort(pairs, r->header_count, sizeof(*pairs), pair_compare);
    builder sb = {signed_out, signed_size, 0, false};
    for (size_t i = 0; i < r->header_count; i++) {
        puts_(&b, pairs[i].name);
        puts_(&b, ":");
        puts_(&b, pairs[i].value);
        puts_(&b, "\n");
        puts_(&sb, i ? ";" : "");
        puts_(&sb, pairs[i].name);
    }
    free(pairs);
    puts_(&b, "\n");
    puts_(&b, signed_out);
    puts_(&b, "\n");
    char payload_hash[SIGV4_HEX_SIZE];
    sigv4_sha256_hex(r->payload ? r->payload : "", r->payload_len, payload_hash);
    puts_(&b, payload_hash);
    return ok && !b.failed && !sb.failed;
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
    size_t creq_size = 16384 + request->payload_len / 4;
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
