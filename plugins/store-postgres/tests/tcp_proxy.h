/*
 * A TCP proxy between store.postgres and the test's PostgreSQL server, for
 * network faults on demand: drop every connection, swallow the server's
 * answers (a commit that applies but whose answer is lost), freeze traffic
 * (a partition: bytes go nowhere, connections hang) or refuse connections.
 *
 * It runs on its own thread (test code only: the plugin under test never
 * creates threads). Every function here is called from the test's thread.
 */
#ifndef STORE_POSTGRES_TEST_TCP_PROXY_H
#define STORE_POSTGRES_TEST_TCP_PROXY_H

#include <stddef.h>

typedef enum proxy_mode {
    PROXY_PASS = 0,           /* forward both ways */
    PROXY_SWALLOW_REPLIES = 1, /* forward to the server, drop what it sends back */
    PROXY_FREEZE = 2,         /* forward nothing; new connections are held, never forwarded */
    PROXY_REFUSE = 3          /* close new connections at once */
} proxy_mode;

typedef struct tcp_proxy tcp_proxy;

/* Listens on 127.0.0.1 (a free port) and forwards to host:port. NULL on failure. */
tcp_proxy *tcp_proxy_start(const char *upstream_host, int upstream_port);
int tcp_proxy_port(const tcp_proxy *p);
void tcp_proxy_set_mode(tcp_proxy *p, proxy_mode mode);
/* Closes both ends of every connection now (returns once done). */
void tcp_proxy_cut(tcp_proxy *p);
/* Connections currently open through the proxy. */
size_t tcp_proxy_connections(tcp_proxy *p);
void tcp_proxy_stop(tcp_proxy *p);

#endif
