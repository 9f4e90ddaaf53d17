/*
 * One DNS question asked of the configured servers, non-blocking on the
 * host's fd watches and timers: over UDP from a fresh socket (the kernel
 * picks a random source port) with a fresh random query id for every try,
 * answers checked against the question (others are ignored, so a spoofed
 * or late datagram cannot answer it), over TCP when the answer is
 * truncated, each try bounded by a timeout, the servers tried in turn for
 * `attempts` rounds. SERVFAIL, REFUSED and the like move on to the next
 * server; NOERROR and NXDOMAIN are answers.
 */
#ifndef TRELLIS_DNS_EXCHANGE_H
#define TRELLIS_DNS_EXCHANGE_H

#include <stdint.h>

#include <trellis/plugin.h>

#include "dns_message.h"
#include "resolv_conf.h"

typedef struct dns_exchange dns_exchange;

/* `answer` (borrowed) on NOERROR or NXDOMAIN, else NULL and `error` says
 * what happened last (timeouts, server failures). Runs once, never inside
 * start; the exchange is then finished and its owner frees it with
 * dns_exchange_cancel (from inside the callback too, after the last use of
 * `answer`). */
typedef void (*dns_exchange_done_fn)(void *arg, const dns_answer *answer, const char *error);

typedef struct dns_exchange_stats {
    uint64_t udp_queries;
    uint64_t tcp_queries;
    uint64_t timeouts;
    uint64_t ignored;               /* datagrams that did not answer the question */
} dns_exchange_stats;

/* `config` must outlive the exchange. NULL on allocation failure. */
dns_exchange *dns_exchange_start(const trellis_host *host, trellis_host_ctx *ctx,
                                 const resolv_config *config, const char *name, uint16_t qtype,
                                 uint64_t timeout_ms, unsigned attempts, dns_exchange_stats *stats,
                                 dns_exchange_done_fn done, void *arg);
/* Frees it; its callback will not run (any more). */
void dns_exchange_cancel(dns_exchange *exchange);

#endif
