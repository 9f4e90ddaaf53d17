/*
 * xds_encode_tool — the api.xds JSON encoder on the command line, for tests
 * that cross-check it against the upstream Envoy descriptors (Python).
 *
 *   xds_encode_tool TYPE FILE      encode FILE (JSON) as message TYPE; the
 *                                  protobuf bytes go to stdout
 *   xds_encode_tool --fields       every field of every compiled message, one
 *                                  line each: message field number type label type_name
 * Exit 0 on success, 1 with the encoder's message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_json.h"
#include "pb_registry.h"

static const char *label_name(ProtobufCLabel label)
{
    switch (label) {
    case PROTOBUF_C_LABEL_REQUIRED: return "required";
    case PROTOBUF_C_LABEL_OPTIONAL: return "optional";
    case PROTOBUF_C_LABEL_REPEATED: return "repeated";
    case PROTOBUF_C_LABEL_NONE: return "none";
    }
    return "?";
}

static const char *const type_names[] = {
    [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
    [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
    [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
    [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
    [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
    [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
    [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_ENUM] = "enum",
    [PROTOBUF_C_TYPE_STRING] = "string",     [PROTOBUF_C_TYPE_BYTES] = "bytes",
    [PROTOBUF_C_TYPE_MESSAGE] = "message",
};

static int dump_fields(void)
{
    for (size_t i = 0; i < pb_registry_count(); i++) {
        const ProtobufCMessageDescriptor *d = pb_registry_at(i);
        printf("message %s\n", d->name);
        for (unsigned j = 0; j < d->n_fields; j++) {
            const ProtobufCFieldDescriptor *f = &d->fields[j];
            const char *ref = "-";
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                ref = ((const ProtobufCMessageDescriptor *)f->descriptor)->name;
            else if (f->type == PROTOBUF_C_TYPE_ENUM)
                ref = ((const ProtobufCEnumDescriptor *)f->descriptor)->name;
            printf("field %s %s %u %s %s %s %s\n", d->name, f->name, f->id, type_names[f->type],
                   label_name(f->label), ref,
                   (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? "oneof" : "-");
            if (f->type == PROTOBUF_C_TYPE_ENUM) {
                const ProtobufCEnumDescriptor *e = f->descriptor;
                for (unsigned k = 0; k < e->n_values; k++)
                    printf("enumvalue %s %s %d\n", e->name, e->values[k].name, e->values[k].value);
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--fields") == 0)
        return dump_fields();
    if (argc != 3) {
        fprintf(stderr, "usage: xds_encode_tool TYPE FILE | --fields\n");
        return 2;
    }
    const ProtobufCMessageDescriptor *desc = pb_registry_find(argv[1], strlen(argv[1]));
    if (desc == NULL) {
        fprintf(stderr, "unknown type %s\n", argv[1]);
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 2;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            text = realloc(text, cap);
            if (text == NULL)
                return 2;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    byte_buffer out;
    bb_init(&out, 64u << 20);
    char err[1024];
    if (!pb_json_encode_text(desc, text, len, &out, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    bb_free(&out);
    free(text);
    return 0;
}
