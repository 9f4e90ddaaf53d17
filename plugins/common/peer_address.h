/*
 * A connected peer's address as text, for logs and debug views:
 * "192.0.2.1:5000", "[2001:db8::1]:5000", or "unknown".
 */
#ifndef TRELLIS_PLUGIN_PEER_ADDRESS_H
#define TRELLIS_PLUGIN_PEER_ADDRESS_H

#include <stddef.h>
#include <sys/socket.h>

void peer_address_format(const struct sockaddr_storage *address, char *out, size_t size);

#endif
