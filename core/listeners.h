/*
 * The process's listening sockets, shared between plugin instances. When a
 * reload replaces an instance, the new one asks for the same address while
 * the old one still listens: it gets a duplicate of the same socket, so no
 * connection is refused during the swap. Another process asking for the
 * address gets EADDRINUSE (no SO_REUSEPORT: two servers must never split one
 * port's traffic by accident). Loop thread.
 */
#ifndef TRELLIS_CORE_LISTENERS_H
#define TRELLIS_CORE_LISTENERS_H

#include <stddef.h>

#include <trellis/plugin.h>

typedef struct listener_registry listener_registry;

listener_registry *listener_registry_new(void);
void listener_registry_free(listener_registry *reg);

/* A listening, non-blocking, close-on-exec socket for "host:port", owned by
 * the caller (who closes it). `owner` keeps the shared socket open until
 * listener_registry_release_owner. TRELLIS_ERR_INVALID / TRELLIS_ERR_IO with
 * the reason in errbuf. */
trellis_status listener_registry_open(listener_registry *reg, const void *owner,
                                      const char *address, int backlog, int *fd_out,
                                      char *errbuf, size_t errbuf_size);

void listener_registry_release_owner(listener_registry *reg, const void *owner);

#endif
