#include "protocol.h"

#include <string.h>

static const char *const names[] = {
    [PROTOCOL_NONE] = "none", [PROTOCOL_HTTP] = "http", [PROTOCOL_HTTP2] = "http2",
    [PROTOCOL_GRPC] = "grpc", [PROTOCOL_TCP] = "tcp",
};

static const char *const route_members[] = {
    [PROTOCOL_NONE] = NULL, [PROTOCOL_HTTP] = "httpRoute", [PROTOCOL_HTTP2] = "http2Route",
    [PROTOCOL_GRPC] = "grpcRoute", [PROTOCOL_TCP] = "tcpRoute",
};

mesh_protocol protocol_parse(const char *name)
{
    if (name == NULL)
        return PROTOCOL_NONE;
    for (int p = PROTOCOL_HTTP; p <= PROTOCOL_TCP; p++) {
        if (strcmp(name, names[p]) == 0)
            return (mesh_protocol)p;
    }
    return PROTOCOL_NONE;
}

const char *protocol_name(mesh_protocol protocol)
{
    return names[protocol];
}

bool protocol_is_http_family(mesh_protocol protocol)
{
    return protocol == PROTOCOL_HTTP || protocol == PROTOCOL_HTTP2 || protocol == PROTOCOL_GRPC;
}

bool protocol_upstream_http2(mesh_protocol protocol)
{
    return protocol == PROTOCOL_HTTP2 || protocol == PROTOCOL_GRPC;
}

const char *protocol_route_member(mesh_protocol protocol)
{
    return route_members[protocol];
}

bool protocol_port_mapping(const json_t *listener, uint32_t *port, mesh_protocol *protocol)
{
    const json_t *mapping = json_object_get(listener, "portMapping");
    const json_t *port_json = json_object_get(mapping, "port");
    if (!json_is_integer(port_json))
        return false;
    json_int_t value = json_integer_value(port_json);
    if (value < 1 || value > 65535)
        return false;
    *protocol = protocol_parse(json_string_value(json_object_get(mapping, "protocol")));
    *port = (uint32_t)value;
    return *protocol != PROTOCOL_NONE;
}
