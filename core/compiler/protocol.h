/*
 * App Mesh listener and route protocols, and the facts the compiler needs
 * about each: which route type serves it, whether Envoy handles it with an
 * HTTP connection manager, whether the upstream speaks HTTP/2.
 */
#ifndef TRELLIS_COMPILER_PROTOCOL_H
#define TRELLIS_COMPILER_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum mesh_protocol {
    PROTOCOL_NONE = 0,          /* absent or unknown: the listener is skipped */
    PROTOCOL_HTTP,
    PROTOCOL_HTTP2,
    PROTOCOL_GRPC,
    PROTOCOL_TCP
} mesh_protocol;

mesh_protocol protocol_parse(const char *name);
/* "http", "http2", "grpc", "tcp" (names as they appear in Envoy resource names). */
const char *protocol_name(mesh_protocol protocol);
/* http, http2 and grpc go through an HTTP connection manager; tcp through tcp_proxy. */
bool protocol_is_http_family(mesh_protocol protocol);
/* The upstream (cluster) speaks HTTP/2: http2 and grpc. */
bool protocol_upstream_http2(mesh_protocol protocol);

/* The route spec member serving a protocol: "httpRoute", "http2Route", "grpcRoute", "tcpRoute". */
const char *protocol_route_member(mesh_protocol protocol);

/* A listener's portMapping, validated: false when the port is not 1..65535 or
 * the protocol is unknown (such a listener cannot be compiled). */
bool protocol_port_mapping(const json_t *listener, uint32_t *port, mesh_protocol *protocol);

#endif
