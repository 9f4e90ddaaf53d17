#include "pb_json.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_registry.h"
#include "pb_wire.h"

/* Envoy's resources nest about 15 levels; anything near this is a bug. */
#define PB_JSON_MAX_DEPTH 100
#define PB_JSON_PATH_MAX 768

/* Durations and timestamps: the proto3 JSON range. */
#define DURATION_MAX_SECONDS 315576000000LL
#define TIMESTAMP_MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TIMESTAMP_MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

typedef struct encoder {
    char path[PB_JSON_PATH_MAX];
    size_t path_len;
    char *err;
    size_t err_size;
    unsigned depth;
} encoder;

/* ------------------------------------------------------------------------ */
/* JSON path and errors                                                      */
/* ------------------------------------------------------------------------ */

static size_t path_push(encoder *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(encoder *e, const char *fmt, ...)
{
    size_t old = e->path_len;
    if (e->path_len < sizeof(e->path) - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(e->path + e->path_len, sizeof(e->path) - e->path_len, fmt, ap);
        va_end(ap);
        if (n > 0)
            e->path_len += (size_t)n < sizeof(e->path) - e->path_len ? (size_t)n
                                                                    : sizeof(e->path) - 1 - e->path_len;
    }
    return old;
}

static void path_pop(encoder *e, size_t old)
{
    e->path_len = old;
    e->path[old] = '\0';
}

static bool fail(encoder *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(encoder *e, const char *fmt, ...)
{
    if (e->err_size == 0)
        return false;
    int n = snprintf(e->err, e->err_size, "%s: ", e->path);
    if (n >= 0 && (size_t)n < e->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err + n, e->err_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static const char *type_name(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32: return "int32";
    case PROTOBUF_C_TYPE_SINT32: return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
    case PROTOBUF_C_TYPE_INT64: return "int64";
    case PROTOBUF_C_TYPE_SINT64: return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32: return "uint32";
    case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
    case PROTOBUF_C_TYPE_UINT64: return "uint64";
    case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return "enum";
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE: return "message";
    }
    return "?";
}

/* ------------------------------------------------------------------------ */
/* Well-known types                                                          */
/* ------------------------------------------------------------------------ */

typedef enum wkt_kind {
    WKT_NONE = 0,
    WKT_ANY,
    WKT_DURATION,
    WKT_TIMESTAMP,
    WKT_STRUCT,
    WKT_VALUE,
    WKT_LIST_VALUE,
    WKT_WRAPPER
} wkt_kind;

static wkt_kind wkt_of(const ProtobufCMessageDescriptor *d)
{
    if (strncmp(d->name, "google.protobuf.", 16) != 0)
        return WKT_NONE;
    const char *s = d->name + 16;
    if (strcmp(s, "Any") == 0) return WKT_ANY;
    if (strcmp(s, "Duration") == 0) return WKT_DURATION;
    if (strcmp(s, "Timestamp") == 0) return WKT_TIMESTAMP;
    if (strcmp(s, "Struct") == 0) return WKT_STRUCT;
    if (strcmp(s, "Value") == 0) return WKT_VALUE;
    if (strcmp(s, "ListValue") == 0) return WKT_LIST_VALUE;
    static const char *const wrappers[] = {"DoubleValue", "FloatValue", "Int64Value", "UInt64Value",
                                           "Int32Value", "UInt32Value", "BoolValue", "StringValue",
                                           "BytesValue"};
    for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++)
        if (strcmp(s, wrappers[i]) == 0)
            return WKT_WRAPPER;
    return WKT_NONE; /* Empty and the rest use the ordinary object form */
}

static bool encode_message_body(encoder *e, const ProtobufCMessageDescriptor *desc,
                                const json_t *value, byte_buffer *out);

/* ------------------------------------------------------------------------ */
/* Scalars                                                                   */
/* ------------------------------------------------------------------------ */

/* An integer from a JSON integer, an integral JSON number, or a decimal
 * string (proto3 JSON allows all three). */
static bool json_to_int64(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 ||
            d >= 9223372036854775808.0)
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (*s == '\0' || !(*s == '-' || (*s >= '0' && *s <= '9')))
            return false;
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
            return false;
        *out = (int64_t)n;
        return true;
    }
    return false;
}

static bool json_to_uint64(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0)
            return false;
        *out = (uint64_t)n;
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d) || d < 0 || d >= 18446744073709551616.0)
            return false;
        *out = (uint64_t)d;
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!(*s >= '0' && *s <= '9'))
            return false;
        char *end;
        errno = 0;
        unsigned long long n = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
            return false;
        *out = (uint64_t)n;
        return true;
    }
    return false;
}

static bool json_to_double(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "NaN") == 0) {
            *out = NAN;
            return true;
        }
        if (strcmp(s, "Infinity") == 0) {
            *out = INFINITY;
            return true;
        }
        if (strcmp(s, "-Infinity") == 0) {
            *out = -INFINITY;
            return true;
        }
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (*s == '\0' || errno != 0 || *end != '\0' || !isfinite(d))
            return false;
        *out = d;
        return true;
    }
    return false;
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional. Appends the bytes to out. */
static bool base64_decode_into(const char *s, size_t len, byte_buffer *out)
{
    while (len > 0 && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = base64_value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bb_append_byte(out, (uint8_t)(acc >> bits));
        }
    }
    return !bb_failed(out);
}

typedef struct scalar {
    uint64_t bits;        /* varint / fixed payload */
    enum pb_wire_type wire;
    bool is_default;
    const char *data;     /* string */
    size_t len;
    bool is_bytes;        /* bytes: decode base64 while writing */
} scalar;

/* Converts one JSON value to the wire form of a scalar field type. */
static bool read_scalar(encoder *e, const ProtobufCFieldDescriptor *f, const json_t *v, scalar *s)
{
    memset(s, 0, sizeof(*s));
    int64_t i64;
    uint64_t u64;
    double d;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!json_to_int64(v, &i64) || i64 < INT32_MIN || i64 > INT32_MAX)
            return fail(e, "expected a %s (an integer in [-2147483648, 2147483647]) for field \"%s\", got %s",
                        type_name(f->type), f->name, json_kind(v));
        s->is_default = i64 == 0;
        if (f->type == PROTOBUF_C_TYPE_SINT32) {
            s->wire = PB_WIRE_VARINT;
            s->bits = pb_zigzag32((int32_t)i64);
        } else if (f->type == PROTOBUF_C_TYPE_SFIXED32) {
            s->wire = PB_WIRE_FIXED32;
            s->bits = (uint32_t)(int32_t)i64;
        } else {
            s->wire = PB_WIRE_VARINT; /* negative int32 is sign-extended to 10 bytes */
            s->bits = (uint64_t)i64;
        }
        return true;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!json_to_int64(v, &i64))
            return fail(e, "expected a %s (an integer or a decimal string) for field \"%s\", got %s",
                        type_name(f->type), f->name, json_kind(v));
        s->is_default = i64 == 0;
        if (f->type == PROTOBUF_C_TYPE_SINT64) {
            s->wire = PB_WIRE_VARINT;
            s->bits = pb_zigzag64(i64);
        } else {
            s->wire = f->type == PROTOBUF_C_TYPE_SFIXED64 ? PB_WIRE_FIXED64 : PB_WIRE_VARINT;
            s->bits = (uint64_t)i64;
        }
        return true;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!json_to_uint64(v, &u64) || u64 > UINT32_MAX)
            return fail(e, "expected a %s (an integer in [0, 4294967295]) for field \"%s\", got %s",
                        type_name(f->type), f->name, json_kind(v));
        s->is_default = u64 == 0;
        s->wire = f->type == PROTOBUF_C_TYPE_FIXED32 ? PB_WIRE_FIXED32 : PB_WIRE_VARINT;
        s->bits = u64;
        return true;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!json_to_uint64(v, &u64))
            return fail(e, "expected a %s (a non-negative integer or decimal string) for field \"%s\", got %s",
                        type_name(f->type), f->name, json_kind(v));
        s->is_default = u64 == 0;
        s->wire = f->type == PROTOBUF_C_TYPE_FIXED64 ? PB_WIRE_FIXED64 : PB_WIRE_VARINT;
        s->bits = u64;
        return true;
    case PROTOBUF_C_TYPE_FLOAT: {
        if (!json_to_double(v, &d))
            return fail(e, "expected a float for field \"%s\", got %s", f->name, json_kind(v));
        if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX))
            return fail(e, "%g is out of range for float field \"%s\"", d, f->name);
        float fl = (float)d;
        uint32_t b;
        memcpy(&b, &fl, sizeof(b));
        s->is_default = b == 0; /* only +0.0 is the default; -0.0 is kept */
        s->wire = PB_WIRE_FIXED32;
        s->bits = b;
        return true;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        if (!json_to_double(v, &d))
            return fail(e, "expected a double for field \"%s\", got %s", f->name, json_kind(v));
        uint64_t b;
        memcpy(&b, &d, sizeof(b));
        s->is_default = b == 0;
        s->wire = PB_WIRE_FIXED64;
        s->bits = b;
        return true;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return fail(e, "expected true or false for field \"%s\", got %s", f->name, json_kind(v));
        s->is_default = !json_is_true(v);
        s->wire = PB_WIRE_VARINT;
        s->bits = json_is_true(v) ? 1 : 0;
        return true;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (json_is_string(v)) {
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
            if (ev == NULL)
                return fail(e, "unknown value \"%s\" for enum field \"%s\" (%s)", json_string_value(v),
                            f->name, ed->name);
            i64 = ev->value;
        } else if (json_is_integer(v)) {
            i64 = json_integer_value(v);
            if (i64 < INT32_MIN || i64 > INT32_MAX ||
                protobuf_c_enum_descriptor_get_value(ed, (int)i64) == NULL)
                return fail(e, "unknown number %" PRId64 " for enum field \"%s\" (%s)", i64, f->name,
                            ed->name);
        } else {
            return fail(e, "expected an enum name for field \"%s\" (%s), got %s", f->name, ed->name,
                        json_kind(v));
        }
        s->is_default = i64 == 0;
        s->wire = PB_WIRE_VARINT;
        s->bits = (uint64_t)i64;
        return true;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            return fail(e, "expected a string for field \"%s\", got %s", f->name, json_kind(v));
        s->data = json_string_value(v);
        s->len = json_string_length(v);
        s->is_default = s->len == 0;
        s->wire = PB_WIRE_LEN;
        return true;
    case PROTOBUF_C_TYPE_BYTES:
        if (!json_is_string(v))
            return fail(e, "expected a base64 string for bytes field \"%s\", got %s", f->name,
                        json_kind(v));
        s->data = json_string_value(v);
        s->len = json_string_length(v);
        s->is_default = s->len == 0;
        s->is_bytes = true;
        s->wire = PB_WIRE_LEN;
        return true;
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
    return fail(e, "field \"%s\" is not a scalar", f->name);
}

/* Writes a scalar's payload (no tag). */
static bool put_scalar_payload(encoder *e, const ProtobufCFieldDescriptor *f, const scalar *s,
                               byte_buffer *out)
{
    switch (s->wire) {
    case PB_WIRE_VARINT:
        pb_put_varint(out, s->bits);
        break;
    case PB_WIRE_FIXED32:
        pb_put_fixed32(out, (uint32_t)s->bits);
        break;
    case PB_WIRE_FIXED64:
        pb_put_fixed64(out, s->bits);
        break;
    case PB_WIRE_LEN:
        if (s->is_bytes) {
            size_t mark = pb_begin_len(out);
            if (!base64_decode_into(s->data, s->len, out) && !bb_failed(out))
                return fail(e, "field \"%s\" is not valid base64", f->name);
            pb_end_len(out, mark);
        } else {
            pb_put_varint(out, s->len);
            bb_append(out, s->data, s->len);
        }
        break;
    }
    return true;
}

static bool put_scalar_field(encoder *e, const ProtobufCFieldDescriptor *f, const json_t *v,
                             bool skip_default, byte_buffer *out)
{
    scalar s;
    if (!read_scalar(e, f, v, &s))
        return false;
    if (skip_default && s.is_default)
        return true;
    pb_put_tag(out, f->id, s.wire);
    return put_scalar_payload(e, f, &s, out);
}

/* ------------------------------------------------------------------------ */
/* Well-known types' JSON forms                                              */
/* ------------------------------------------------------------------------ */

/* "-1.5s" -> seconds/nanos; at most 9 fractional digits. */
static bool parse_duration(const char *s, int64_t *seconds, int32_t *nanos)
{
    bool negative = *s == '-';
    if (negative)
        s++;
    if (!(*s >= '0' && *s <= '9'))
        return false;
    int64_t secs = 0;
    while (*s >= '0' && *s <= '9') {
        secs = secs * 10 + (*s++ - '0');
        if (secs > DURATION_MAX_SECONDS)
            return false;
    }
    int32_t frac = 0;
    if (*s == '.') {
        s++;
        int digits = 0;
        while (*s >= '0' && *s <= '9') {
            if (++digits > 9)
                return false;
            frac = frac * 10 + (*s++ - '0');
        }
        if (digits == 0)
            return false;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    if (s[0] != 's' || s[1] != '\0')
        return false;
    *seconds = negative ? -secs : secs;
    *nanos = negative ? -frac : frac;
    return true;
}

static void put_seconds_nanos(byte_buffer *out, int64_t seconds, int32_t nanos)
{
    if (seconds != 0) {
        pb_put_tag(out, 1, PB_WIRE_VARINT);
        pb_put_varint(out, (uint64_t)seconds);
    }
    if (nanos != 0) {
        pb_put_tag(out, 2, PB_WIRE_VARINT);
        pb_put_varint(out, (uint64_t)(int64_t)nanos);
    }
}

static bool encode_duration(encoder *e, const json_t *v, byte_buffer *out)
{
    int64_t seconds;
    int32_t nanos;
    if (!json_is_string(v) || !parse_duration(json_string_value(v), &seconds, &nanos))
        return fail(e, "expected a duration string such as \"1.5s\" (at most 9 fractional digits, "
                       "within +-315576000000s), got %s",
                    json_is_string(v) ? json_string_value(v) : json_kind(v));
    put_seconds_nanos(out, seconds, nanos);
    return true;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* RFC 3339: "1972-01-01T10:00:20.021Z" or with a "+hh:mm"/"-hh:mm" offset. */
static bool parse_timestamp(const char *s, int64_t *seconds, int32_t *nanos)
{
    int year, month, day, hour, minute, second;
    if (strlen(s) < 20 || !digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &month) ||
        s[7] != '-' || !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &hour) || s[13] != ':' || !digits(s + 14, 2, &minute) || s[16] != ':' ||
        !digits(s + 17, 2, &second))
        return false;
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || hour > 23 ||
        minute > 59 || second > 59)
        return false;
    if (month == 2 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return false;
    const char *p = s + 19;
    int32_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            if (++n > 9)
                return false;
            frac = frac * 10 + (*p++ - '0');
        }
        if (n == 0)
            return false;
        for (; n < 9; n++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    int64_t secs = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hour * 3600 +
                   minute * 60 + second - offset;
    if (secs < TIMESTAMP_MIN_SECONDS || secs > TIMESTAMP_MAX_SECONDS)
        return false;
    *seconds = secs;
    *nanos = frac;
    return true;
}

static bool encode_timestamp(encoder *e, const json_t *v, byte_buffer *out)
{
    int64_t seconds;
    int32_t nanos;
    if (!json_is_string(v) || !parse_timestamp(json_string_value(v), &seconds, &nanos))
        return fail(e, "expected an RFC 3339 timestamp such as \"2024-01-01T00:00:00Z\", got %s",
                    json_is_string(v) ? json_string_value(v) : json_kind(v));
    put_seconds_nanos(out, seconds, nanos);
    return true;
}

static bool encode_value_body(encoder *e, const json_t *v, byte_buffer *out);

/* google.protobuf.Struct: fields (1) is map<string, Value>. */
static bool encode_struct_body(encoder *e, const json_t *v, byte_buffer *out)
{
    if (!json_is_object(v))
        return fail(e, "expected an object for google.protobuf.Struct, got %s", json_kind(v));
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item) {
        size_t old = path_push(e, ".%s", key);
        pb_put_tag(out, 1, PB_WIRE_LEN);
        size_t entry = pb_begin_len(out);
        pb_put_bytes_field(out, 1, key, strlen(key));
        pb_put_tag(out, 2, PB_WIRE_LEN);
        size_t value = pb_begin_len(out);
        if (!encode_value_body(e, item, out))
            return false;
        pb_end_len(out, value);
        pb_end_len(out, entry);
        path_pop(e, old);
    }
    return true;
}

/* google.protobuf.ListValue: values (1) is repeated Value. */
static bool encode_list_body(encoder *e, const json_t *v, byte_buffer *out)
{
    if (!json_is_array(v))
        return fail(e, "expected an array for google.protobuf.ListValue, got %s", json_kind(v));
    size_t i;
    const json_t *item;
    json_array_foreach((json_t *)v, i, item) {
        size_t old = path_push(e, "[%zu]", i);
        pb_put_tag(out, 1, PB_WIRE_LEN);
        size_t mark = pb_begin_len(out);
        if (!encode_value_body(e, item, out))
            return false;
        pb_end_len(out, mark);
        path_pop(e, old);
    }
    return true;
}

/* google.protobuf.Value: a oneof of null_value (1), number_value (2),
 * string_value (3), bool_value (4), struct_value (5), list_value (6); oneof
 * members are written even when they hold the default. */
static bool encode_value_body(encoder *e, const json_t *v, byte_buffer *out)
{
    if (++e->depth > PB_JSON_MAX_DEPTH)
        return fail(e, "nested more than %d levels deep", PB_JSON_MAX_DEPTH);
    size_t mark;
    switch (json_typeof(v)) {
    case JSON_NULL:
        pb_put_tag(out, 1, PB_WIRE_VARINT);
        pb_put_varint(out, 0);
        break;
    case JSON_INTEGER:
    case JSON_REAL: {
        double d = json_number_value(v);
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        pb_put_tag(out, 2, PB_WIRE_FIXED64);
        pb_put_fixed64(out, bits);
        break;
    }
    case JSON_STRING:
        pb_put_bytes_field(out, 3, json_string_value(v), json_string_length(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        pb_put_tag(out, 4, PB_WIRE_VARINT);
        pb_put_varint(out, json_is_true(v) ? 1 : 0);
        break;
    case JSON_OBJECT:
        pb_put_tag(out, 5, PB_WIRE_LEN);
        mark = pb_begin_len(out);
        if (!encode_struct_body(e, v, out))
            return false;
        pb_end_len(out, mark);
        break;
    case JSON_ARRAY:
        pb_put_tag(out, 6, PB_WIRE_LEN);
        mark = pb_begin_len(out);
        if (!encode_list_body(e, v, out))
            return false;
        pb_end_len(out, mark);
        break;
    }
    e->depth--;
    return true;
}

/* The types whose JSON form is not an object of their fields; inside an Any
 * their JSON sits under "value" (as in every proto3 JSON implementation). */
static bool has_custom_json(wkt_kind kind)
{
    return kind != WKT_NONE;
}

static bool encode_object_fields(encoder *e, const ProtobufCMessageDescriptor *desc,
                                 const json_t *v, bool in_any, byte_buffer *out);

/* google.protobuf.Any: {"@type": URL, ...fields of URL's message} or, for a
 * well-known type with its own JSON form, {"@type": URL, "value": ...}. */
static bool encode_any_body(encoder *e, const json_t *v, byte_buffer *out)
{
    if (!json_is_object(v))
        return fail(e, "expected an object with \"@type\" for google.protobuf.Any, got %s",
                    json_kind(v));
    const json_t *type = json_object_get(v, "@type");
    if (type == NULL) {
        if (json_object_size(v) == 0)
            return true; /* the empty Any */
        return fail(e, "google.protobuf.Any without \"@type\"");
    }
    if (!json_is_string(type))
        return fail(e, "\"@type\" must be a string, got %s", json_kind(type));
    const char *url = json_string_value(type);
    const ProtobufCMessageDescriptor *inner = pb_registry_find_type_url(url);
    if (inner == NULL)
        return fail(e, "unknown type \"%s\" (not in trellis's Envoy API subset, "
                       "plugins/api-xds/proto/manifest.txt)",
                    url);
    pb_put_bytes_field(out, 1, url, json_string_length(type));
    pb_put_tag(out, 2, PB_WIRE_LEN);
    size_t mark = pb_begin_len(out);
    if (has_custom_json(wkt_of(inner))) {
        const char *key;
        const json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            if (strcmp(key, "@type") != 0 && strcmp(key, "value") != 0) {
                path_push(e, ".%s", key);
                return fail(e, "unknown field \"%s\" in an Any holding %s (its JSON goes in \"value\")",
                            key, inner->name);
            }
        }
        const json_t *payload = json_object_get(v, "value");
        if (payload == NULL)
            return fail(e, "an Any holding %s needs \"value\"", inner->name);
        size_t old = path_push(e, ".value");
        if (!encode_message_body(e, inner, payload, out))
            return false;
        path_pop(e, old);
    } else {
        if (++e->depth > PB_JSON_MAX_DEPTH)
            return fail(e, "nested more than %d levels deep", PB_JSON_MAX_DEPTH);
        if (!encode_object_fields(e, inner, v, true, out))
            return false;
        e->depth--;
    }
    pb_end_len(out, mark);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Messages, repeated fields and maps                                        */
/* ------------------------------------------------------------------------ */

/* protoc names a map's entry message after the field: "filter_metadata" ->
 * "FilterMetadataEntry", with fields key = 1 and value = 2. */
static bool is_map_field(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *entry = f->descriptor;
    if (entry->n_fields != 2 || entry->fields[0].id != 1 || entry->fields[1].id != 2 ||
        strcmp(entry->fields[0].name, "key") != 0 || strcmp(entry->fields[1].name, "value") != 0)
        return false;
    char expected[256];
    size_t n = 0;
    bool upper = true;
    for (const char *p = f->name; *p && n + 6 < sizeof(expected); p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        expected[n++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = *p >= '0' && *p <= '9';
    }
    memcpy(expected + n, "Entry", 6);
    return strcmp(entry->short_name, expected) == 0;
}

static bool encode_message_field(encoder *e, const ProtobufCFieldDescriptor *f, const json_t *v,
                                 byte_buffer *out)
{
    pb_put_tag(out, f->id, PB_WIRE_LEN);
    size_t mark = pb_begin_len(out);
    if (!encode_message_body(e, f->descriptor, v, out))
        return false;
    pb_end_len(out, mark);
    return true;
}

static bool encode_singular(encoder *e, const ProtobufCFieldDescriptor *f, const json_t *v,
                            byte_buffer *out)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return encode_message_field(e, f, v, out);
    bool has_presence = f->label == PROTOBUF_C_LABEL_OPTIONAL ||
                        (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    return put_scalar_field(e, f, v, !has_presence, out);
}

static bool encode_map(encoder *e, const ProtobufCFieldDescriptor *f, const json_t *v,
                       byte_buffer *out)
{
    if (!json_is_object(v))
        return fail(e, "expected an object for map field \"%s\", got %s", f->name, json_kind(v));
    const ProtobufCMessageDescriptor *entry = f->descriptor;
    const ProtobufCFieldDescriptor *key_field = &entry->fields[0];
    const ProtobufCFieldDescriptor *value_field = &entry->fields[1];
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item) {
        size_t old = path_push(e, "[\"%s\"]", key);
        pb_put_tag(out, f->id, PB_WIRE_LEN);
        size_t mark = pb_begin_len(out);
        /* Map keys are JSON strings whatever the key type: convert. */
        json_t *key_json = NULL;
        if (key_field->type == PROTOBUF_C_TYPE_STRING) {
            key_json = json_string(key);
        } else if (key_field->type == PROTOBUF_C_TYPE_BOOL) {
            if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
                return fail(e, "map key must be \"true\" or \"false\"");
            key_json = json_boolean(strcmp(key, "true") == 0);
        } else {
            key_json = json_string(key); /* integer keys: decimal strings are accepted */
        }
        if (key_json == NULL)
            return fail(e, "out of memory");
        bool ok = put_scalar_field(e, key_field, key_json, false, out);
        json_decref(key_json);
        if (!ok)
            return false;
        if (value_field->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (!encode_message_field(e, value_field, item, out))
                return false;
        } else if (!put_scalar_field(e, value_field, item, false, out)) {
            return false;
        }
        pb_end_len(out, mark);
        path_pop(e, old);
    }
    return true;
}

static bool is_packable(ProtobufCType type)
{
    return type != PROTOBUF_C_TYPE_STRING && type != PROTOBUF_C_TYPE_BYTES &&
           type != PROTOBUF_C_TYPE_MESSAGE;
}

static bool encode_repeated(encoder *e, const ProtobufCFieldDescriptor *f, const json_t *v,
                            byte_buffer *out)
{
    if (!json_is_array(v))
        return fail(e, "expected an array for repeated field \"%s\", got %s", f->name, json_kind(v));
    if (json_array_size(v) == 0)
        return true;
    size_t i;
    const json_t *item;
    bool packed = (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) != 0 && is_packable(f->type);
    size_t packed_mark = 0;
    if (packed) {
        pb_put_tag(out, f->id, PB_WIRE_LEN);
        packed_mark = pb_begin_len(out);
    }
    json_array_foreach((json_t *)v, i, item) {
        size_t old = path_push(e, "[%zu]", i);
        if (json_is_null(item) &&
            !(f->type == PROTOBUF_C_TYPE_MESSAGE &&
              wkt_of((const ProtobufCMessageDescriptor *)f->descriptor) == WKT_VALUE))
            return fail(e, "null is not allowed in repeated field \"%s\"", f->name);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (!encode_message_field(e, f, item, out))
                return false;
        } else if (packed) {
            scalar s;
            if (!read_scalar(e, f, item, &s) || !put_scalar_payload(e, f, &s, out))
                return false;
        } else if (!put_scalar_field(e, f, item, false, out)) {
            return false;
        }
        path_pop(e, old);
    }
    if (packed)
        pb_end_len(out, packed_mark);
    return true;
}

/* The ordinary form: an object of fields by proto name. `in_any`: the object
 * is an Any's payload, whose "@type" was consumed by the Any. */
static bool encode_object_fields(encoder *e, const ProtobufCMessageDescriptor *desc,
                                 const json_t *v, bool in_any, byte_buffer *out)
{
    if (!json_is_object(v))
        return fail(e, "expected an object for %s, got %s", desc->name, json_kind(v));
    /* One slot per oneof (keyed by its case member's offset) to catch two
     * members of the same oneof. Messages have few oneofs. */
    unsigned oneof_seen_offset[32];
    const char *oneof_seen_name[32];
    size_t oneof_count = 0;
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item) {
        if (in_any && strcmp(key, "@type") == 0)
            continue;
        size_t old = path_push(e, ".%s", key);
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, key);
        if (f == NULL)
            return fail(e, "unknown field \"%s\" in %s", key, desc->name);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            for (size_t i = 0; i < oneof_count; i++) {
                if (oneof_seen_offset[i] == f->quantifier_offset) {
                    return fail(e, "fields \"%s\" and \"%s\" of %s belong to the same oneof",
                                oneof_seen_name[i], f->name, desc->name);
                }
            }
            if (oneof_count < sizeof(oneof_seen_offset) / sizeof(oneof_seen_offset[0])) {
                oneof_seen_offset[oneof_count] = f->quantifier_offset;
                oneof_seen_name[oneof_count++] = f->name;
            }
        }
        bool ok;
        if (json_is_null(item)) {
            /* proto3 JSON: null is the field's default, except for Value. */
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
                wkt_of(f->descriptor) == WKT_VALUE)
                ok = encode_message_field(e, f, item, out);
            else
                ok = true;
        } else if (is_map_field(f)) {
            ok = encode_map(e, f, item, out);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            ok = encode_repeated(e, f, item, out);
        } else {
            ok = encode_singular(e, f, item, out);
        }
        if (!ok)
            return false;
        path_pop(e, old);
    }
    return true;
}

static bool encode_message_body(encoder *e, const ProtobufCMessageDescriptor *desc,
                                const json_t *v, byte_buffer *out)
{
    if (++e->depth > PB_JSON_MAX_DEPTH)
        return fail(e, "nested more than %d levels deep", PB_JSON_MAX_DEPTH);
    bool ok;
    switch (wkt_of(desc)) {
    case WKT_ANY: ok = encode_any_body(e, v, out); break;
    case WKT_DURATION: ok = encode_duration(e, v, out); break;
    case WKT_TIMESTAMP: ok = encode_timestamp(e, v, out); break;
    case WKT_STRUCT: ok = encode_struct_body(e, v, out); break;
    case WKT_VALUE: ok = encode_value_body(e, v, out); break;
    case WKT_LIST_VALUE: ok = encode_list_body(e, v, out); break;
    case WKT_WRAPPER:
        if (json_is_null(v))
            ok = true;
        else
            ok = put_scalar_field(e, &desc->fields[0], v, true, out);
        break;
    default: ok = encode_object_fields(e, desc, v, false, out); break;
    }
    if (!ok)
        return false;
    e->depth--;
    if (bb_failed(out))
        return fail(e, "the encoded message exceeds %zu bytes (or memory ran out)", out->limit);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

static void encoder_init(encoder *e, char *err, size_t err_size)
{
    e->path[0] = '$';
    e->path[1] = '\0';
    e->path_len = 1;
    e->err = err;
    e->err_size = err_size;
    e->depth = 0;
    if (err_size > 0)
        err[0] = '\0';
}

bool pb_json_encode(const ProtobufCMessageDescriptor *desc, const json_t *value, byte_buffer *out,
                    char *err, size_t err_size)
{
    encoder e;
    encoder_init(&e, err, err_size);
    if (wkt_of(desc) == WKT_NONE && !json_is_object(value))
        return fail(&e, "expected an object for %s, got %s", desc->name, json_kind(value));
    /* Resources come without their own "@type": one here is an unknown field. */
    return encode_message_body(&e, desc, value, out);
}

static json_t *parse_strict(const char *json, size_t len, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (root == NULL && err_size > 0)
        snprintf(err, err_size, "$: invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
    return root;
}

bool pb_json_encode_text(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                         byte_buffer *out, char *err, size_t err_size)
{
    json_t *root = parse_strict(json, len, err, err_size);
    if (root == NULL)
        return false;
    bool ok = pb_json_encode(desc, root, out, err, err_size);
    json_decref(root);
    return ok;
}

bool pb_json_encode_any_text(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                             byte_buffer *out, char *err, size_t err_size)
{
    json_t *root = parse_strict(json, len, err, err_size);
    if (root == NULL)
        return false;
    char url[256];
    int n = snprintf(url, sizeof(url), "type.googleapis.com/%s", desc->name);
    pb_put_bytes_field(out, 1, url, (size_t)n);
    pb_put_tag(out, 2, PB_WIRE_LEN);
    size_t mark = pb_begin_len(out);
    bool ok = pb_json_encode(desc, root, out, err, err_size);
    json_decref(root);
    if (!ok)
        return false;
    pb_end_len(out, mark);
    if (bb_failed(out)) {
        if (err_size > 0)
            snprintf(err, err_size, "$: the encoded resource exceeds %zu bytes (or memory ran out)",
                     out->limit);
        return false;
    }
    return true;
}
