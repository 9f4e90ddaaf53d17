/*
 * AWS Signature Version 4 (header signing) with OpenSSL's HMAC-SHA256, as
 * the IAM user guide specifies it ("Create a signed AWS API request"):
 * canonical request, string to sign, derived signing key, Authorization
 * header. Checked against AWS's published test suite (tests/test_sigv4.c).
 *
 * Paths are given raw and URI-encoded once per segment (the rule for every
 * service but S3, whose keys this plugin never signs); query parameters are
 * raw name/value pairs; every header given is signed.
 */
#ifndef TRELLIS_CLOUDMAP_SIGV4_H
#define TRELLIS_CLOUDMAP_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SIGV4_DATE_SIZE 17      /* "20150830T123600Z" + NUL */
#define SIGV4_HEX_SIZE 65       /* a SHA-256 in hex + NUL */

typedef struct sigv4_pair {
    const char *name;
    const char *value;
} sigv4_pair;

typedef struct sigv4_request {
    const char *method;
    const char *path;                   /* raw, e.g. "/" */
    const sigv4_pair *query;            /* raw names and values, any order */
    size_t query_count;
    const sigv4_pair *headers;          /* must include host and x-amz-date */
    size_t header_count;
    const void *payload;
    size_t payload_len;
} sigv4_request;

typedef struct sigv4_scope {
    const char *access_key_id;
    const char *secret_access_key;
    const char *region;                 /* "us-east-1" */
    const char *service;                /* "servicediscovery" */
} sigv4_scope;

/* "YYYYMMDDTHHMMSSZ" of a UTC time. */
void sigv4_amz_date(time_t when, char out[SIGV4_DATE_SIZE]);

/* The canonical request (for tests and debugging). false if it does not fit. */
bool sigv4_canonical_request(const sigv4_request *request, char *out, size_t size);

/* The Authorization header value for `request` at `amz_date` (which must be
 * the request's x-amz-date). false if something does not fit or OpenSSL
 * fails. */
bool sigv4_authorization(const sigv4_request *request, const sigv4_scope *scope,
                         const char *amz_date, char *out, size_t size);

/* Lowercase hex SHA-256 of a buffer. */
void sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_SIZE]);

#endif
