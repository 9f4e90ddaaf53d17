/*
 * Identifiers: random UUIDs (resource uid, request ids) and the fingerprint
 * of a request's input used for clientToken idempotency.
 */
#ifndef TRELLIS_CORE_IDS_H
#define TRELLIS_CORE_IDS_H

#include <jansson.h>
#include <stdbool.h>

#define UUID_TEXT_SIZE 37
#define FINGERPRINT_SIZE 33

/* A random version-4 UUID, lower-case hex with dashes. */
void ids_new_uuid(char out[UUID_TEXT_SIZE]);

/* 128-bit SHA-256 prefix (hex) of the input with clientToken removed, keys
 * sorted: two requests with the same fingerprint asked for the same thing. */
bool ids_input_fingerprint(const json_t *input, char out[FINGERPRINT_SIZE]);

#endif
