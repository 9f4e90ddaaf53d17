/*
 * PostgreSQL's binary formats, as far as store.postgres sends and reads
 * them: one-dimensional arrays as query parameters (so keys and values
 * travel as raw bytes, never escaped), big-endian integers in binary
 * results, and commit ids (UUIDs, time-ordered so the index stays
 * append-mostly). No libpq here: this file is unit-tested on its own.
 */
#ifndef STORE_POSTGRES_WIRE_H
#define STORE_POSTGRES_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byte_buffer.h"

/* Type OIDs (pg_type.h; stable across PostgreSQL versions). */
#define PG_OID_INT2 21u
#define PG_OID_INT4 23u
#define PG_OID_INT8 20u
#define PG_OID_TEXT 25u
#define PG_OID_BYTEA 17u
#define PG_OID_UUID 2950u
#define PG_OID_INT2_ARRAY 1005u
#define PG_OID_INT4_ARRAY 1007u
#define PG_OID_INT8_ARRAY 1016u
#define PG_OID_TEXT_ARRAY 1009u
#define PG_OID_BYTEA_ARRAY 1001u
#define PG_OID_UUID_ARRAY 2951u

#define PG_UUID_LEN 16
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" plus NUL */
#define PG_UUID_TEXT_LEN 37

/* Big-endian integers appended to a byte_buffer (plugins/common), in which
 * parameters are built: check bb_failed() once after building. */
void wire_put_u32(byte_buffer *b, uint32_t v);
void wire_put_u64(byte_buffer *b, uint64_t v);

/*
 * A one-dimensional array parameter in binary format:
 *   wire_array_begin(b, PG_OID_TEXT, n, has_nulls);
 *   n x wire_array_element(b, data, len)   (data NULL: an SQL NULL)
 * Elements of fixed-size types are given in their binary form: int2 as 2,
 * int4 as 4, int8 as 8 big-endian bytes, uuid as 16 bytes (helpers below).
 */
void wire_array_begin(byte_buffer *b, uint32_t element_oid, uint32_t count, bool has_nulls);
void wire_array_element(byte_buffer *b, const void *data, size_t len);
void wire_array_int2(byte_buffer *b, int16_t v);
void wire_array_int4(byte_buffer *b, int32_t v);
void wire_array_int8(byte_buffer *b, int64_t v);

/* Big-endian integers of binary results. */
int64_t wire_get_int8(const void *p);
int32_t wire_get_int4(const void *p);

/* A time-ordered random UUID (version 7: 48 bits of Unix milliseconds, then
 * 74 random bits). false when the system has no randomness to give. */
bool wire_uuid_v7(uint8_t out[PG_UUID_LEN], uint64_t unix_ms);
void wire_uuid_format(const uint8_t id[PG_UUID_LEN], char out[PG_UUID_TEXT_LEN]);
/* Parses the canonical text form; false if malformed. */
bool wire_uuid_parse(const char *text, uint8_t out[PG_UUID_LEN]);

#endif
