/*
 * Where and how to ask: nameservers (from the configuration, or
 * /etc/resolv.conf like the C library), the search list and ndots (so short
 * names such as Kubernetes service names resolve as they do for Envoy's own
 * resolver), and the candidate names one hostname expands to.
 */
#ifndef TRELLIS_DNS_RESOLV_CONF_H
#define TRELLIS_DNS_RESOLV_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dns_message.h"

#define RESOLV_MAX_SERVERS 8
#define RESOLV_MAX_SEARCH 6

typedef struct resolv_server {
    struct sockaddr_storage address;
    socklen_t length;
    char text[80];                  /* "127.0.0.1:53", for messages */
} resolv_server;

typedef struct resolv_config {
    resolv_server servers[RESOLV_MAX_SERVERS];
    size_t server_count;
    char search[RESOLV_MAX_SEARCH][DNS_NAME_MAX + 1];
    size_t search_count;
    unsigned ndots;                 /* default 1 */
} resolv_config;

/* "ip", "ip:port", "[v6]:port"; the port defaults to 53. */
bool resolv_parse_server(const char *text, resolv_server *out);

/* Reads resolv.conf text: nameserver, search, domain, options ndots:N.
 * Unknown lines are ignored, as the C library does. */
void resolv_parse_text(const char *text, resolv_config *out);

/* Reads a file; false with the reason when it cannot be read. */
bool resolv_load_file(const char *path, resolv_config *out, char *why, size_t why_size);

/*
 * The names to try for `hostname`, in order (RFC 1535 / resolv.conf(5)):
 * a name ending in '.' is absolute; a name with at least ndots dots is tried
 * as is first, then with each search domain; a shorter one with the search
 * domains first. Returns how many were written (at most `max`).
 */
size_t resolv_candidates(const resolv_config *config, const char *hostname,
                         char out[][DNS_NAME_MAX + 1], size_t max);

#endif
