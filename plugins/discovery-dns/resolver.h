/*
 * The resolver: one resolution per hostname, shared by every watch of it.
 *
 * A round asks the A and/or AAAA records the watches need (only A when all
 * are IPv4_ONLY, only AAAA when all are IPv6_ONLY), for each search-list
 * candidate of the name in turn until one has records, following CNAMEs
 * (and asking again for an alias the answer left unresolved). The result is
 * the next round's delay: the answer's TTL bounded to [min_ttl, max_ttl]
 * (negative answers use the SOA's negative TTL, bounded the same way).
 *
 * NXDOMAIN or no records is an answer: an empty set. A failure (every
 * server timed out or answered SERVFAIL) is not: the watches hear about it
 * and keep their last set, and the next round comes sooner, doubling from
 * min_ttl up to max_ttl while it keeps failing.
 *
 * Each watch gets the addresses of its IP preference: AAAA if there are any
 * else A for the default and IPv6_PREFERRED (Envoy's own resolver's rule,
 * which App Mesh documents for DNS), A else AAAA for IPv4_PREFERRED, one
 * family only for the _ONLY ones; and only when they changed.
 */
#ifndef TRELLIS_DNS_RESOLVER_H
#define TRELLIS_DNS_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include <trellis/discovery.h>

#include "dns_exchange.h"
#include "resolv_conf.h"

typedef struct dns_resolver dns_resolver;

typedef struct dns_settings {
    uint64_t min_ttl_ms;
    uint64_t max_ttl_ms;
    uint64_t timeout_ms;            /* per try */
    unsigned attempts;              /* rounds over the servers */
    size_t max_inflight;            /* questions in flight at once */
} dns_settings;

typedef struct dns_resolver_stats {
    size_t names;
    size_t failing;
    size_t watches;
    uint64_t rounds;
    uint64_t failures;
    dns_exchange_stats exchange;
} dns_resolver_stats;

typedef void (*dns_health_fn)(void *arg);

/* Copies `config`. NULL on allocation failure. */
dns_resolver *dns_resolver_new(const trellis_host *host, trellis_host_ctx *ctx,
                               const resolv_config *config, const dns_settings *settings,
                               dns_health_fn on_health, void *health_arg);
void dns_resolver_free(dns_resolver *resolver);

trellis_status dns_resolver_watch(dns_resolver *resolver, const trellis_discovery_target *target,
                                  trellis_discovery_update_fn update, void *arg,
                                  trellis_discovery_watch **watch_out);
void dns_resolver_unwatch(dns_resolver *resolver, trellis_discovery_watch *watch);

void dns_resolver_get_stats(const dns_resolver *resolver, dns_resolver_stats *out);
void dns_resolver_detail(const dns_resolver *resolver, char *out, size_t size);

#endif
