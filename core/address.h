/*
 * Listen/connect addresses: "127.0.0.1:7080", "[::1]:7080", "0.0.0.0:15010".
 * Hosts are numeric only: no name resolution on the config path.
 */
#ifndef TRELLIS_CORE_ADDRESS_H
#define TRELLIS_CORE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Parses `text`; on failure writes the reason into errbuf and returns false. */
bool address_parse(const char *text, struct sockaddr_storage *out, socklen_t *len_out,
                   char *errbuf, size_t errbuf_size);

/* Formats an address as "host:port" / "[v6]:port". */
void address_format(const struct sockaddr *sa, char *out, size_t size);

#endif
