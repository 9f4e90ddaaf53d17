#include "bench_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ads_client.h"
#include "envoy_sidecar.h"

bool bench_split_address(const char *address, char *host, size_t host_size, int *port)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL)
        return false;
    snprintf(host, host_size, "%.*s", (int)(colon - address), address);
    *port = atoi(colon + 1);
    return true;
}

bool bench_http_call(const char *address, const char *method, const char *path, const char *body)
{
    char host[64];
    int port;
    if (!bench_split_address(address, host, sizeof(host), &port))
        return false;
    int fd = ads_connect_tcp(host, port, NULL);
    if (fd < 0)
        return false;
    char request[2048];
    size_t body_len = body ? strlen(body) : 0;
    int len = snprintf(request, sizeof(request),
                       "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       method, path, address, body_len, body ? body : "");
    if (len < 0 || (size_t)len >= sizeof(request)) {
        close(fd);
        return false;
    }
    ssize_t written = write(fd, request, (size_t)len);
    /* the socket is non-blocking: poll for the answer */
    char reply[4096];
    size_t n = 0;
    uint64_t deadline = envoy_now_ns() + 10000000000ull;
    while (envoy_now_ns() < deadline && n < sizeof(reply) - 1) {
        ssize_t r = read(fd, reply + n, sizeof(reply) - 1 - n);
        if (r > 0)
            n += (size_t)r;
        else if (r == 0)
            break;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        else
            usleep(500);
    }
    reply[n] = '\0';
    close(fd);
    bool ok = written == len && strncmp(reply, "HTTP/1.1 200", 12) == 0;
    if (!ok)
        fprintf(stderr, "%s %s failed: %.200s\n", method, path, reply);
    return ok;
}
