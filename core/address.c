#include "address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool address_parse(const char *text, struct sockaddr_storage *out, socklen_t *len_out,
                   char *errbuf, size_t errbuf_size)
{
    char host[64];
    const char *port_text;
    size_t text_len = strlen(text);

    if (text_len == 0 || text_len > 80) {
        snprintf(errbuf, errbuf_size, "expected \"host:port\"");
        return false;
    }
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host)) {
            snprintf(errbuf, errbuf_size, "expected \"[ipv6]:port\", got \"%s\"", text);
            return false;
        }
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port_text = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL || strchr(text, ':') != colon || (size_t)(colon - text) >= sizeof(host)) {
            snprintf(errbuf, errbuf_size, "expected \"host:port\", got \"%s\"", text);
            return false;
        }
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port_text = colon + 1;
    }

    char *end = NULL;
    long port = strtol(port_text, &end, 10);
    if (*port_text == '\0' || *end != '\0' || port < 0 || port > 65535) {
        snprintf(errbuf, errbuf_size, "port must be a number 0-65535, got \"%s\"", port_text);
        return false;
    }

    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len_out = sizeof(*v4);
        return true;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len_out = sizeof(*v6);
        return true;
    }
    snprintf(errbuf, errbuf_size, "host must be a numeric IPv4 or [IPv6] address, got \"%s\"", host);
    return false;
}

void address_format(const struct sockaddr *sa, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        snprintf(out, size, "%s:%u", host, ntohs(v4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        snprintf(out, size, "[%s]:%u", host, ntohs(v6->sin6_port));
    } else {
        snprintf(out, size, "unknown");
    }
}
