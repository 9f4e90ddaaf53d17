/*
 * The ingress side of a virtual node: listener lds_ingress_0.0.0.0_15000
 * (not emitted when the node has no listener), one filter chain per node
 * listener matching its port (destination_port, restored by original_dst):
 *   http/http2/grpc -> HCM, stat prefix "ingress" (single listener) or
 *                      "ingress.<protocol>.<port>" (several), RDS
 *                      rds_ingress_<protocol>_<port>; http accepts websockets;
 *   tcp             -> tcp_proxy to the local cluster, idle timeout of the listener.
 * The route configuration has one virtual host (domains "*") routing
 * everything to the local app cluster with the listener's timeouts: request
 * (timeout, default 15 s) and idle (idle_timeout, default 300 s), 0 disabling.
 */
#ifndef TRELLIS_COMPILER_LISTENER_INGRESS_H
#define TRELLIS_COMPILER_LISTENER_INGRESS_H

#include "compile_context.h"

void ingress_compile(compile_ctx *c);

#endif
