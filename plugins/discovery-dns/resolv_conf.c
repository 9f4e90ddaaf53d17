#include "resolv_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool resolv_parse_server(const char *text, resolv_server *out)
{
    char host[64];
    unsigned long port = 53;
    const char *colon = NULL;
    memset(out, 0, sizeof(*out));
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (end == NULL || (size_t)(end - text - 1) >= sizeof(host))
            return false;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        if (end[1] == ':')
            colon = end + 1;
        else if (end[1] != '\0')
            return false;
    } else {
        const char *first = strchr(text, ':');
        /* One colon: IPv4 with a port; more: a bare IPv6 address. */
        if (first != NULL && strchr(first + 1, ':') == NULL)
            colon = first;
        size_t n = colon ? (size_t)(colon - text) : strlen(text);
        if (n >= sizeof(host))
            return false;
        memcpy(host, text, n);
        host[n] = '\0';
    }
    if (colon != NULL) {
        char *end;
        port = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || port == 0 || port > 65535)
            return false;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->address;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->length = sizeof(*v4);
        snprintf(out->text, sizeof(out->text), "%.46s:%lu", host, port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        out->length = sizeof(*v6);
        snprintf(out->text, sizeof(out->text), "[%.46s]:%lu", host, port);
    } else {
        return false;
    }
    return true;
}

static void add_search(resolv_config *out, const char *domain)
{
    if (out->search_count == RESOLV_MAX_SEARCH || !dns_name_valid(domain))
        return;
    snprintf(out->search[out->search_count++], DNS_NAME_MAX + 1, "%s", domain);
}

void resolv_parse_text(const char *text, resolv_config *out)
{
    memset(out, 0, sizeof(*out));
    out->ndots = 1;
    const char *line = text;
    while (line != NULL && *line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        if (n >= sizeof(buf))
            n = sizeof(buf) - 1;
        memcpy(buf, line, n);
        buf[n] = '\0';
        line = end ? end + 1 : NULL;
        char *comment = strpbrk(buf, "#;");
        if (comment != NULL)
            *comment = '\0';
        char *save = NULL;
        char *keyword = strtok_r(buf, " \t\r", &save);
        if (keyword == NULL)
            continue;
        if (strcmp(keyword, "nameserver") == 0) {
            char *value = strtok_r(NULL, " \t\r", &save);
            if (value != NULL && out->server_count < RESOLV_MAX_SERVERS &&
                resolv_parse_server(value, &out->servers[out->server_count]))
                out->server_count++;
        } else if (strcmp(keyword, "search") == 0 || strcmp(keyword, "domain") == 0) {
            out->search_count = 0; /* the last search or domain line wins */
            for (char *d = strtok_r(NULL, " \t\r", &save); d; d = strtok_r(NULL, " \t\r", &save))
                add_search(out, d);
        } else if (strcmp(keyword, "options") == 0) {
            for (char *o = strtok_r(NULL, " \t\r", &save); o; o = strtok_r(NULL, " \t\r", &save)) {
                if (strncmp(o, "ndots:", 6) == 0) {
                    unsigned long v = strtoul(o + 6, NULL, 10);
                    out->ndots = v > 15 ? 15 : (unsigned)v;
                }
            }
        }
    }
}

bool resolv_load_file(const char *path, resolv_config *out, char *why, size_t why_size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, why_size, "cannot read %s: %s", path, strerror(errno));
        return false;
    }
    char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    resolv_parse_text(text, out);
    return true;
}

size_t resolv_candidates(const resolv_config *config, const char *hostname,
                         char out[][DNS_NAME_MAX + 1], size_t max)
{
    size_t n = 0, len = strlen(hostname);
    if (max == 0 || len == 0)
        return 0;
    if (hostname[len - 1] == '.') {
        snprintf(out[n++], DNS_NAME_MAX + 1, "%.*s", (int)(len - 1), hostname);
        return n;
    }
    unsigned dots = 0;
    for (const char *p = hostname; *p; p++)
        dots += *p == '.';
    bool as_is_first = dots >= config->ndots;
    if (as_is_first)
        snprintf(out[n++], DNS_NAME_MAX + 1, "%s", hostname);
    for (size_t i = 0; i < config->search_count && n < max; i++) {
        /* Names over 253 characters are not names; skip them (and let the
         * compiler see the length is checked). */
        int written = snprintf(out[n], DNS_NAME_MAX + 1, "%s.%s", hostname, config->search[i]);
        if (written > 0 && written <= 253)
            n++;
    }
    if (!as_is_first && n < max)
        snprintf(out[n++], DNS_NAME_MAX + 1, "%s", hostname);
    return n;
}
