#include "listeners.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"

#define LISTENERS_MAX 64
#define OWNERS_MAX 16

typedef struct shared_listener {
    char address[80];           /* normalized "host:port" */
    int fd;                     /* the registry's own descriptor of the socket */
    const void *owners[OWNERS_MAX];
    size_t owner_count;
} shared_listener;

struct listener_registry {
    shared_listener listeners[LISTENERS_MAX];
    size_t count;
};

listener_registry *listener_registry_new(void)
{
    return calloc(1, sizeof(listener_registry));
}

void listener_registry_free(listener_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->count; i++)
        close(reg->listeners[i].fd);
    free(reg);
}

static int bind_new(const struct sockaddr_storage *ss, socklen_t len, int backlog,
                    const char *address, char *errbuf, size_t errbuf_size)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(errbuf, errbuf_size, "cannot create a socket for %s: %s", address, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* TIME_WAIT after a restart */
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
        snprintf(errbuf, errbuf_size, "cannot listen on %s: %s", address, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static bool add_owner(shared_listener *l, const void *owner)
{
    for (size_t i = 0; i < l->owner_count; i++) {
        if (l->owners[i] == owner)
            return true;
    }
    if (l->owner_count == OWNERS_MAX)
        return false;
    l->owners[l->owner_count++] = owner;
    return true;
}

trellis_status listener_registry_open(listener_registry *reg, const void *owner,
                                      const char *address, int backlog, int *fd_out,
                                      char *errbuf, size_t errbuf_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char reason[200];
    if (address == NULL || !address_parse(address, &ss, &len, reason, sizeof(reason))) {
        snprintf(errbuf, errbuf_size, "invalid listen address: %s", address ? reason : "(null)");
        return TRELLIS_ERR_INVALID;
    }
    char normalized[80];
    address_format((const struct sockaddr *)&ss, normalized, sizeof(normalized));
    /* Port 0 asks the kernel for a fresh port: never shared. */
    bool shareable = (ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port) != 0;
    for (size_t i = 0; shareable && i < reg->count; i++) {
        shared_listener *l = &reg->listeners[i];
        if (strcmp(l->address, normalized) != 0)
            continue;
        int fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0 || !add_owner(l, owner)) {
            if (fd >= 0)
                close(fd);
            snprintf(errbuf, errbuf_size, "cannot share the listener on %s: %s", address,
                     fd < 0 ? strerror(errno) : "too many instances share it");
            return TRELLIS_ERR_IO;
        }
        *fd_out = fd;
        return TRELLIS_OK;
    }
    int fd = bind_new(&ss, len, backlog, address, errbuf, errbuf_size);
    if (fd < 0)
        return TRELLIS_ERR_IO;
    if (shareable && reg->count < LISTENERS_MAX) {
        shared_listener *l = &reg->listeners[reg->count];
        int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (own >= 0) {
            memset(l, 0, sizeof(*l));
            snprintf(l->address, sizeof(l->address), "%s", normalized);
            l->fd = own;
            add_owner(l, owner);
            reg->count++;
        }
    }
    *fd_out = fd;
    return TRELLIS_OK;
}

void listener_registry_release_owner(listener_registry *reg, const void *owner)
{
    for (size_t i = 0; i < reg->count;) {
        shared_listener *l = &reg->listeners[i];
        for (size_t j = 0; j < l->owner_count; j++) {
            if (l->owners[j] == owner) {
                l->owners[j] = l->owners[--l->owner_count];
                break;
            }
        }
        if (l->owner_count == 0) {
            close(l->fd);
            reg->listeners[i] = reg->listeners[--reg->count];
        } else {
            i++;
        }
    }
}
