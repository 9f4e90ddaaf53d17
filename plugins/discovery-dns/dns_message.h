/*
 * DNS messages (RFC 1035) for the stub resolver: building one question with
 * recursion desired and an EDNS0 OPT record (RFC 6891, 1232-byte UDP
 * payload), and reading an answer to exactly that question: header checks
 * (answer bit, opcode, id), the question echoed back (name compared without
 * case, type, class), the CNAME chain from the question's name, the A or
 * AAAA records of the name it ends at, their smallest TTL, and for negative
 * answers the SOA's negative TTL (RFC 2308). Compressed names are followed
 * with bounds on every jump. Pure functions: no I/O.
 */
#ifndef TRELLIS_DNS_MESSAGE_H
#define TRELLIS_DNS_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT 41
#define DNS_CLASS_IN 1

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

#define DNS_NAME_MAX 255            /* presentation form, without the final dot */
#define DNS_UDP_PAYLOAD 1232        /* what the OPT record offers (the DNS flag day value) */
#define DNS_MAX_ADDRESSES 128       /* kept per answer; more are dropped */
#define DNS_ADDRESS_TEXT 46         /* INET6_ADDRSTRLEN */

typedef struct dns_answer {
    int rcode;
    bool truncated;                 /* TC: ask again over TCP */
    size_t count;
    char addresses[DNS_MAX_ADDRESSES][DNS_ADDRESS_TEXT];
    bool ttl_known;
    uint32_t ttl;                   /* records: smallest TTL of the chain and the addresses;
                                     * negative answers: the SOA's negative TTL */
    char final_name[DNS_NAME_MAX + 1]; /* where the CNAME chain ended */
    bool alias_unresolved;          /* the chain ended at a name the answer has no records for */
} dns_answer;

/* Whether `name` can be asked for: labels of 1..63 bytes of letters, digits,
 * '-', '_' and '.' separators, at most 253 bytes, an optional final dot. */
bool dns_name_valid(const char *name);

/* Writes a query; returns its length, or 0 if `name` is invalid or the
 * buffer (512 bytes are enough) is too small. */
size_t dns_build_query(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t qtype);

/*
 * Reads an answer to the question (id, name, qtype). false when the
 * message is not one (malformed, another id, another question, not an
 * answer): a resolver ignores it and keeps waiting, which is what makes a
 * spoofed or stray datagram harmless. true fills `out` (whatever the rcode).
 */
bool dns_parse_answer(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                      uint16_t qtype, dns_answer *out);

/* "NXDOMAIN", "SERVFAIL", ... or "rcode N". */
const char *dns_rcode_name(int rcode);

#endif
