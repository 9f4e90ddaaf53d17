#include "commit_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_ops_check.h"

trellis_status pg_ops_validate(const trellis_store_op *ops, size_t op_count, char *why,
                               size_t why_size)
{
    size_t payload;
    if (!store_ops_check(ops, op_count, &payload, why, why_size))
        return TRELLIS_ERR_INVALID;
    if (payload > PG_COMMIT_PAYLOAD_MAX) {
        snprintf(why, why_size, "the commit carries %zu bytes; store.postgres takes at most %u",
                 payload, PG_COMMIT_PAYLOAD_MAX);
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}

pg_commit *pg_commit_new(const trellis_store_op *ops, size_t op_count)
{
    size_t payload = 0;
    for (size_t i = 0; i < op_count; i++)
        payload += strlen(ops[i].key) + 1 + (ops[i].type == TRELLIS_STORE_PUT ? ops[i].value_len : 0);
    pg_commit *c = malloc(sizeof(*c) + op_count * sizeof(pg_op) + payload);
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->op_count = op_count;
    char *data = (char *)&c->ops[op_count];
    for (size_t i = 0; i < op_count; i++) {
        size_t key_len = strlen(ops[i].key);
        pg_op *op = &c->ops[i];
        op->type = ops[i].type;
        op->expected_version = ops[i].expected_version;
        op->key = data;
        op->key_len = key_len;
        memcpy(data, ops[i].key, key_len + 1);
        data += key_len + 1;
        c->payload += key_len;
        if (ops[i].type == TRELLIS_STORE_PUT) {
            op->value = data;
            op->value_len = ops[i].value_len;
            if (ops[i].value_len > 0)
                memcpy(data, ops[i].value, ops[i].value_len);
            data += ops[i].value_len;
            c->payload += ops[i].value_len;
        } else {
            op->value = NULL;
            op->value_len = 0;
        }
    }
    return c;
}

int64_t pg_expected_encode(uint64_t expected_version)
{
    if (expected_version == TRELLIS_STORE_ANY_VERSION)
        return -1;
    if (expected_version > (uint64_t)INT64_MAX)
        return INT64_MAX;
    return (int64_t)expected_version;
}

bool pg_batch_encode(pg_batch_params *p, const pg_commit *batch, size_t count,
                     const pg_batch_settings *settings)
{
    size_t ops = 0;
    bool any_null_value = false;
    size_t seen = 0;
    for (const pg_commit *c = batch; c != NULL && seen < count; c = c->next, seen++) {
        ops += c->op_count;
        for (size_t i = 0; i < c->op_count; i++)
            any_null_value |= c->ops[i].type != TRELLIS_STORE_PUT;
    }
    if (seen != count || ops > INT32_MAX)
        return false;
    byte_buffer *ids = &p->arrays[0], *counts = &p->arrays[1], *types = &p->arrays[2],
                *keys = &p->arrays[3], *values = &p->arrays[4], *expected = &p->arrays[5];
    for (int i = 0; i < 6; i++)
        bb_reset(&p->arrays[i]);
    wire_array_begin(ids, PG_OID_UUID, (uint32_t)count, false);
    wire_array_begin(counts, PG_OID_INT4, (uint32_t)count, false);
    wire_array_begin(types, PG_OID_INT2, (uint32_t)ops, false);
    wire_array_begin(keys, PG_OID_TEXT, (uint32_t)ops, false);
    wire_array_begin(values, PG_OID_BYTEA, (uint32_t)ops, any_null_value);
    wire_array_begin(expected, PG_OID_INT8, (uint32_t)ops, false);
    seen = 0;
    for (const pg_commit *c = batch; c != NULL && seen < count; c = c->next, seen++) {
        wire_array_element(ids, c->id, PG_UUID_LEN);
        wire_array_int4(counts, (int32_t)c->op_count);
        for (size_t i = 0; i < c->op_count; i++) {
            const pg_op *op = &c->ops[i];
            wire_array_int2(types, (int16_t)op->type);
            wire_array_element(keys, op->key, op->key_len);
            /* An empty PUT value is "", not NULL: NULL means "no value". */
            wire_array_element(values, op->type == TRELLIS_STORE_PUT ? op->value : NULL,
                               op->value_len);
            wire_array_int8(expected, pg_expected_encode(op->expected_version));
        }
    }
    for (int i = 0; i < 6; i++) {
        if (bb_failed(&p->arrays[i]) || p->arrays[i].len > INT32_MAX)
            return false;
        p->values[i] = (const char *)p->arrays[i].data;
        p->lengths[i] = (int)p->arrays[i].len;
        p->formats[i] = 1;
    }
    snprintf(p->history_text, sizeof(p->history_text), "%llu",
             (unsigned long long)settings->history_revisions);
    snprintf(p->retention_text, sizeof(p->retention_text), "%llu",
             (unsigned long long)settings->id_retention_s);
    snprintf(p->since_text, sizeof(p->since_text), "%lld", (long long)settings->since);
    snprintf(p->changes_text, sizeof(p->changes_text), "%llu",
             (unsigned long long)settings->changes_revisions);
    const char *scalars[PG_BATCH_PARAMS - 6] = {settings->channel,    settings->notify_tag,
                                                p->history_text,      p->retention_text,
                                                p->since_text,        p->changes_text};
    for (int i = 0; i < PG_BATCH_PARAMS - 6; i++) {
        p->values[6 + i] = scalars[i];
        p->lengths[6 + i] = 0;
        p->formats[6 + i] = 0;
    }
    return true;
}

void pg_batch_params_init(pg_batch_params *p)
{
    /* No limit of their own: pg_batch_encode() refuses what libpq's int
     * lengths cannot carry. */
    for (int i = 0; i < 6; i++)
        bb_init(&p->arrays[i], BB_NO_LIMIT);
}

void pg_batch_params_free(pg_batch_params *p)
{
    for (int i = 0; i < 6; i++)
        bb_free(&p->arrays[i]);
}
