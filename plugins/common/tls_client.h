/*
 * TLS for the plugin HTTP client: OpenSSL over a non-blocking socket the
 * caller owns and watches. The server's certificate chain is verified
 * against the system's trust store or a given CA bundle, and its name
 * against the host the client connects to (SNI set). TLS 1.2 or newer.
 * Loop thread only; every call returns at once.
 */
#ifndef TRELLIS_PLUGIN_TLS_CLIENT_H
#define TRELLIS_PLUGIN_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct tls_client_config tls_client_config;
typedef struct tls_session tls_session;

/* What a non-blocking TLS call needs before it can go on. */
typedef enum tls_want {
    TLS_WANT_NOTHING = 0,
    TLS_WANT_READ = 1,
    TLS_WANT_WRITE = 2
} tls_want;

/* `ca_file` NULL: the system's default trust store. NULL with a reason in
 * errbuf on failure (unreadable bundle). */
tls_client_config *tls_client_config_new(const char *ca_file, char *errbuf, size_t errbuf_size);
void tls_client_config_free(tls_client_config *config);

/* A session on connected socket `fd` for server name `host` (a DNS name or
 * an IP literal, verified either way). NULL on allocation failure. */
tls_session *tls_session_new(tls_client_config *config, int fd, const char *host);
void tls_session_free(tls_session *session);

/* 1 when the handshake is done, 0 when it needs *want, -1 on failure with
 * the reason (certificate verification says which check failed). */
int tls_session_handshake(tls_session *session, tls_want *want, char *errbuf, size_t errbuf_size);

/* Like read(2)/write(2): bytes moved; 0 from read at a clean close; -1 with
 * *want set when it must wait, or -1 with *want TLS_WANT_NOTHING on failure. */
ssize_t tls_session_read(tls_session *session, void *buf, size_t len, tls_want *want);
ssize_t tls_session_write(tls_session *session, const void *buf, size_t len, tls_want *want);

#endif
