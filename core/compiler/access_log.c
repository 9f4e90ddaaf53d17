#include "access_log.h"

#include "json_build.h"

static json_t *formatters(compile_ctx *c)
{
    json_t *list = jb_array(c);
    jb_push(c, list,
            jb_extension(c, "envoy.formatter.req_without_query",
                         jb_typed(c, "envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery")));
    return list;
}

static json_t *log_format(compile_ctx *c, const json_t *format)
{
    const char *text = json_string_value(json_object_get(format, "text"));
    const json_t *fields = json_object_get(format, "json");
    json_t *out = NULL;
    if (text != NULL) {
        out = jb_object(c);
        json_t *source = jb_object(c);
        jb_set_string(c, source, "inline_string", text);
        jb_set(c, out, "text_format_source", source);
    } else if (json_is_array(fields)) {
        out = jb_object(c);
        json_t *object = jb_object(c);
        size_t i;
        const json_t *field;
        json_array_foreach(fields, i, field) {
            const char *key = json_string_value(json_object_get(field, "key"));
            const char *value = json_string_value(json_object_get(field, "value"));
            if (key != NULL && value != NULL)
                jb_set_string(c, object, key, value);
        }
        jb_set(c, out, "json_format", object);
    }
    if (out != NULL)
        jb_set(c, out, "formatters", formatters(c));
    return out;
}

json_t *access_logs(compile_ctx *c)
{
    if (!c->access_logs_built) {
        c->access_logs_built = true;
        const json_t *file =
            json_object_get(json_object_get(json_object_get(c->self_spec, "logging"), "accessLog"),
                            "file");
        const char *path = json_string_value(json_object_get(file, "path"));
        if (path != NULL && path[0] != '\0') {
            json_t *config = jb_typed(c, "envoy.extensions.access_loggers.file.v3.FileAccessLog");
            jb_set_string(c, config, "path", path);
            json_t *format = log_format(c, json_object_get(file, "format"));
            if (format != NULL)
                jb_set(c, config, "log_format", format);
            json_t *list = jb_array(c);
            jb_push(c, list, jb_extension(c, "envoy.access_loggers.file", config));
            c->shared_access_logs = list;
        }
    }
    return c->shared_access_logs != NULL ? jb_share(c, c->shared_access_logs) : NULL;
}
