/*
 * List pagination. Listings are ordered by store key; a page ends after the
 * key it returned last. The nextToken is that key bound to the listing it
 * came from and an expiry, authenticated with an HMAC so a forged, altered,
 * foreign or stale token is refused (BadRequestException). The HMAC key is
 * shared through the store, so any replica accepts any replica's tokens.
 */
#ifndef TRELLIS_CORE_PAGINATION_H
#define TRELLIS_CORE_PAGINATION_H

#include <stdbool.h>
#include <stddef.h>

#include "control_plane.h"

#define PAGINATION_TOKEN_TTL_SECONDS (24 * 3600)
#define PAGINATION_TOKEN_MAX 2048

/* Encodes a token for `listing` (an identifier of the list: operation and
 * parent) continuing after `last_key`. false if it does not fit. */
bool pagination_token_encode(const control_plane *cp, const char *listing, const char *last_key,
                             double now, char *out, size_t out_size);

/* Decodes and checks a token; on success writes the key to continue after. */
bool pagination_token_decode(const control_plane *cp, const char *listing, const char *token,
                             double now, char *last_key, size_t last_key_size);

#endif
