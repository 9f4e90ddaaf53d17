#include "json_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static json_t *check(compile_ctx *c, json_t *value)
{
    if (value == NULL)
        c->failed = true;
    return value;
}

json_t *jb_object(compile_ctx *c)
{
    return check(c, json_object());
}

json_t *jb_array(compile_ctx *c)
{
    return check(c, json_array());
}

json_t *jb_string(compile_ctx *c, const char *value)
{
    return check(c, value != NULL ? json_string_nocheck(value) : NULL);
}

json_t *jb_integer(compile_ctx *c, long long value)
{
    return check(c, json_integer(value));
}

json_t *jb_bool(compile_ctx *c, bool value)
{
    (void)c;
    return json_boolean(value);
}

void jb_set(compile_ctx *c, json_t *object, const char *key, json_t *value)
{
    if (value == NULL || json_object_set_new_nocheck(object, key, value) != 0)
        c->failed = true;
}

void jb_set_string(compile_ctx *c, json_t *object, const char *key, const char *value)
{
    jb_set(c, object, key, jb_string(c, value));
}

void jb_set_integer(compile_ctx *c, json_t *object, const char *key, long long value)
{
    jb_set(c, object, key, jb_integer(c, value));
}

void jb_set_bool(compile_ctx *c, json_t *object, const char *key, bool value)
{
    jb_set(c, object, key, jb_bool(c, value));
}

void jb_push(compile_ctx *c, json_t *array, json_t *value)
{
    if (value == NULL || json_array_append_new(array, value) != 0)
        c->failed = true;
}

json_t *jb_share(compile_ctx *c, json_t *shared)
{
    return check(c, json_incref(shared));
}

json_t *jb_duration_ms(compile_ctx *c, int64_t millis)
{
    char text[48];
    if (millis < 0)
        millis = 0;
    if (millis % 1000 == 0)
        snprintf(text, sizeof(text), "%" PRId64 "s", millis / 1000);
    else
        snprintf(text, sizeof(text), "%" PRId64 ".%03" PRId64 "s", millis / 1000, millis % 1000);
    return jb_string(c, text);
}

json_t *jb_typed(compile_ctx *c, const char *type)
{
    char url[256];
    snprintf(url, sizeof(url), ENVOY_TYPE_PREFIX "%s", type);
    json_t *typed = jb_object(c);
    jb_set_string(c, typed, "@type", url);
    return typed;
}

json_t *jb_extension(compile_ctx *c, const char *name, json_t *typed)
{
    json_t *ext = jb_object(c);
    jb_set_string(c, ext, "name", name);
    jb_set(c, ext, "typed_config", typed);
    return ext;
}

json_t *jb_socket_address(compile_ctx *c, const char *address, uint32_t port)
{
    json_t *socket = jb_object(c);
    jb_set_string(c, socket, "address", address);
    jb_set_integer(c, socket, "port_value", port);
    json_t *addr = jb_object(c);
    jb_set(c, addr, "socket_address", socket);
    return addr;
}

json_t *jb_ads_source(compile_ctx *c)
{
    if (c->shared_ads_source == NULL) {
        json_t *source = jb_object(c);
        jb_set(c, source, "ads", jb_object(c));
        jb_set_string(c, source, "resource_api_version", "V3");
        c->shared_ads_source = source;
    }
    return jb_share(c, c->shared_ads_source);
}
