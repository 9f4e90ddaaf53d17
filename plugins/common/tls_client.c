#include "tls_client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_client_config {
    SSL_CTX *ctx;
};

struct tls_session {
    SSL *ssl;
};

static void openssl_reason(char *errbuf, size_t size, const char *what)
{
    unsigned long code = ERR_get_error();
    char reason[256] = "";
    if (code != 0)
        ERR_error_string_n(code, reason, sizeof(reason));
    ERR_clear_error();
    snprintf(errbuf, size, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

tls_client_config *tls_client_config_new(const char *ca_file, char *errbuf, size_t errbuf_size)
{
    tls_client_config *config = calloc(1, sizeof(*config));
    if (config == NULL) {
        snprintf(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    config->ctx = SSL_CTX_new(TLS_client_method());
    if (config->ctx == NULL) {
        openssl_reason(errbuf, errbuf_size, "cannot create a TLS context");
        free(config);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(config->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(config->ctx, SSL_VERIFY_PEER, NULL);
    /* A server closing without close_notify is common; the HTTP framing
     * tells whether the body was complete. */
    SSL_CTX_set_options(config->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    int loaded = ca_file != NULL ? SSL_CTX_load_verify_locations(config->ctx, ca_file, NULL)
                                 : SSL_CTX_set_default_verify_paths(config->ctx);
    if (loaded != 1) {
        char what[512];
        snprintf(what, sizeof(what), "cannot load the CA certificates%s%s",
                 ca_file ? " from " : "", ca_file ? ca_file : "");
        openssl_reason(errbuf, errbuf_size, what);
        tls_client_config_free(config);
        return NULL;
    }
    return config;
}

void tls_client_config_free(tls_client_config *config)
{
    if (config == NULL)
        return;
    SSL_CTX_free(config->ctx);
    free(config);
}

tls_session *tls_session_new(tls_client_config *config, int fd, const char *host)
{
    tls_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->ssl = SSL_new(config->ctx);
    if (s->ssl == NULL || SSL_set_fd(s->ssl, fd) != 1) {
        tls_session_free(s);
        return NULL;
    }
    unsigned char ip[16];
    bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if (literal) {
        /* Verify an IP SAN; SNI carries names only. */
        X509_VERIFY_PARAM *param = SSL_get0_param(s->ssl);
        if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) {
            tls_session_free(s);
            return NULL;
        }
    } else if (SSL_set_tlsext_host_name(s->ssl, host) != 1 || SSL_set1_host(s->ssl, host) != 1) {
        tls_session_free(s);
        return NULL;
    }
    SSL_set_connect_state(s->ssl);
    return s;
}

void tls_session_free(tls_session *s)
{
    if (s == NULL)
        return;
    SSL_free(s->ssl);
    free(s);
}

/* Maps an SSL_get_error() outcome; true when the call must wait. */
static bool must_wait(tls_session *s, int ret, tls_want *want)
{
    switch (SSL_get_error(s->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        *want = TLS_WANT_READ;
        return true;
    case SSL_ERROR_WANT_WRITE:
        *want = TLS_WANT_WRITE;
        return true;
    default:
        *want = TLS_WANT_NOTHING;
        return false;
    }
}

int tls_session_handshake(tls_session *s, tls_want *want, char *errbuf, size_t errbuf_size)
{
    ERR_clear_error();
    int ret = SSL_do_handshake(s->ssl);
    if (ret == 1) {
        *want = TLS_WANT_NOTHING;
        return 1;
    }
    if (must_wait(s, ret, want))
        return 0;
    long verify = SSL_get_verify_result(s->ssl);
    if (verify != X509_V_OK) {
        snprintf(errbuf, errbuf_size, "TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(verify));
        ERR_clear_error();
    } else {
        openssl_reason(errbuf, errbuf_size, "TLS handshake failed");
    }
    return -1;
}

ssize_t tls_session_read(tls_session *s, void *buf, size_t len, tls_want *want)
{
    ERR_clear_error();
    size_t got = 0;
    int ret = SSL_read_ex(s->ssl, buf, len, &got);
    if (ret == 1) {
        *want = TLS_WANT_NOTHING;
        return (ssize_t)got;
    }
    int error = SSL_get_error(s->ssl, ret);
    if (error == SSL_ERROR_ZERO_RETURN ||
        (error == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        ERR_clear_error();
        *want = TLS_WANT_NOTHING;
        return 0;
    }
    if (must_wait(s, ret, want))
        return -1;
    ERR_clear_error();
    return -1;
}

ssize_t tls_session_write(tls_session *s, const void *buf, size_t len, tls_want *want)
{
    ERR_clear_error();
    size_t sent = 0;
    int ret = SSL_write_ex(s->ssl, buf, len, &sent);
    if (ret == 1) {
        *want = TLS_WANT_NOTHING;
        return (ssize_t)sent;
    }
    if (must_wait(s, ret, want))
        return -1;
    ERR_clear_error();
    return -1;
}
