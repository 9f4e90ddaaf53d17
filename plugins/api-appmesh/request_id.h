/*
 * Request IDs for the x-amzn-RequestId header: random (version 4) UUIDs in
 * the lowercase 8-4-4-4-12 form AWS uses.
 */
#ifndef TRELLIS_API_APPMESH_REQUEST_ID_H
#define TRELLIS_API_APPMESH_REQUEST_ID_H

#define REQUEST_ID_SIZE 37 /* 36 characters and the NUL */

#include <stdint.h>

/* Writes a new UUID into out. Uses getrandom(); if the kernel cannot supply
 * randomness at once, falls back to the clock and the caller's `sequence`
 * (one per plugin instance, advanced here), which keeps IDs unique within
 * the instance (IDs correlate logs, they guard nothing). */
void request_id_new(uint64_t *sequence, char out[REQUEST_ID_SIZE]);

#endif
