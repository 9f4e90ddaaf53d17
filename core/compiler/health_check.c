#include "health_check.h"

#include <string.h>

#include "json_build.h"
#include "protocol.h"

static bool positive(const json_t *value, json_int_t *out)
{
    if (!json_is_integer(value) || json_integer_value(value) < 1)
        return false;
    *out = json_integer_value(value);
    return true;
}

json_t *health_checks_build(compile_ctx *c, const json_t *health_check, const char *host,
                            uint32_t listener_port)
{
    if (health_check == NULL)
        return NULL;
    json_int_t timeout, interval, healthy, unhealthy;
    mesh_protocol protocol =
        protocol_parse(json_string_value(json_object_get(health_check, "protocol")));
    if (!positive(json_object_get(health_check, "timeoutMillis"), &timeout) ||
        !positive(json_object_get(health_check, "intervalMillis"), &interval) ||
        !positive(json_object_get(health_check, "healthyThreshold"), &healthy) ||
        !positive(json_object_get(health_check, "unhealthyThreshold"), &unhealthy) ||
        protocol == PROTOCOL_NONE)
        return NULL;

    json_t *check = jb_object(c);
    jb_set(c, check, "timeout", jb_duration_ms(c, timeout));
    jb_set(c, check, "interval", jb_duration_ms(c, interval));
    jb_set_integer(c, check, "unhealthy_threshold", unhealthy > UINT32_MAX ? UINT32_MAX : unhealthy);
    jb_set_integer(c, check, "healthy_threshold", healthy > UINT32_MAX ? UINT32_MAX : healthy);
    if (protocol == PROTOCOL_HTTP || protocol == PROTOCOL_HTTP2) {
        json_t *http = jb_object(c);
        uint32_t port = health_check_port(health_check, listener_port);
        if (host != NULL)
            jb_set(c, http, "host",
                   jb_string(c, arena_printf(&c->arena, "%s:%u", host, port ? port : listener_port)));
        const char *path = json_string_value(json_object_get(health_check, "path"));
        jb_set_string(c, http, "path", path != NULL && path[0] != '\0' ? path : "/");
        if (protocol == PROTOCOL_HTTP2)
            jb_set_string(c, http, "codec_client_type", "HTTP2");
        jb_set(c, check, "http_health_check", http);
    } else if (protocol == PROTOCOL_GRPC) {
        jb_set(c, check, "grpc_health_check", jb_object(c));
    } else {
        jb_set(c, check, "tcp_health_check", jb_object(c));
    }
    json_t *checks = jb_array(c);
    jb_push(c, checks, check);
    return checks;
}

uint32_t health_check_port(const json_t *health_check, uint32_t listener_port)
{
    json_int_t port = json_integer_value(json_object_get(health_check, "port"));
    if (port < 1 || port > 65535 || (uint32_t)port == listener_port)
        return 0;
    return (uint32_t)port;
}
