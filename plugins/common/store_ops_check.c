#include "store_ops_check.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

bool store_ops_check(const trellis_store_op *ops, size_t op_count, size_t *payload, char *why,
                     size_t why_size)
{
    if (ops == NULL || op_count == 0 || op_count > TRELLIS_STORE_OPS_MAX) {
        snprintf(why, why_size, "a commit has 1 to %u ops, not %zu", TRELLIS_STORE_OPS_MAX,
                 op_count);
        return false;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < op_count; i++) {
        const trellis_store_op *op = &ops[i];
        if (op->reserved != 0 || op->key == NULL) {
            snprintf(why, why_size, "op %zu: %s", i,
                     op->key == NULL ? "no key" : "reserved is not zero");
            return false;
        }
        size_t key_len = strnlen(op->key, TRELLIS_STORE_KEY_MAX + 1);
        if (key_len == 0 || key_len > TRELLIS_STORE_KEY_MAX) {
            snprintf(why, why_size, "op %zu: a key has 1 to %u bytes", i, TRELLIS_STORE_KEY_MAX);
            return false;
        }
        if (!utf8_valid(op->key, key_len)) {
            snprintf(why, why_size, "op %zu: the key is not well-formed UTF-8", i);
            return false;
        }
        switch (op->type) {
        case TRELLIS_STORE_PUT:
            if (op->value_len > TRELLIS_STORE_VALUE_MAX ||
                (op->value == NULL && op->value_len > 0)) {
                snprintf(why, why_size, "op %zu: a value has at most %u bytes", i,
                         TRELLIS_STORE_VALUE_MAX);
                return false;
            }
            bytes += op->value_len;
            break;
        case TRELLIS_STORE_DELETE:
        case TRELLIS_STORE_CHECK:
            if (op->value != NULL || op->value_len != 0) {
                snprintf(why, why_size, "op %zu: only a PUT carries a value", i);
                return false;
            }
            break;
        default:
            snprintf(why, why_size, "op %zu: unknown op type %u", i, op->type);
            return false;
        }
        bytes += key_len;
    }
    *payload = bytes;
    return true;
}
