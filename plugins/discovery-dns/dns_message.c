#include "dns_message.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEADER_SIZE 12
#define MAX_POINTER_JUMPS 32
#define MAX_CHAIN 16

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

bool dns_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_')
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0;
}

size_t dns_build_query(uint8_t *buf, size_t size, uint16_t id, const char *name, uint16_t qtype)
{
    if (!dns_name_valid(name) || size < HEADER_SIZE + strlen(name) + 2 + 4 + 11)
        return 0;
    memset(buf, 0, HEADER_SIZE);
    put16(buf, id);
    buf[2] = 0x01;          /* RD */
    put16(buf + 4, 1);      /* QDCOUNT */
    put16(buf + 10, 1);     /* ARCOUNT: the OPT record */
    size_t at = HEADER_SIZE;
    const char *label = name;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t n = dot ? (size_t)(dot - label) : strlen(label);
        if (n == 0)
            break; /* the final dot */
        buf[at++] = (uint8_t)n;
        memcpy(buf + at, label, n);
        at += n;
        label += n + (dot ? 1 : 0);
    }
    buf[at++] = 0;
    put16(buf + at, qtype);
    put16(buf + at + 2, DNS_CLASS_IN);
    at += 4;
    /* OPT: root name, type 41, class = UDP payload size, TTL 0, no options. */
    buf[at++] = 0;
    put16(buf + at, DNS_TYPE_OPT);
    put16(buf + at + 2, DNS_UDP_PAYLOAD);
    memset(buf + at + 4, 0, 6);
    at += 10;
    return at;
}

/*
 * Reads the (possibly compressed) name at *at into `out` (lowercase,
 * dot-separated, no final dot; "" for the root) and moves *at past it.
 */
static bool read_name(const uint8_t *msg, size_t len, size_t *at, char *out, size_t out_size)
{
    size_t pos = *at, written = 0, jumps = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= len)
            return false;
        uint8_t n = msg[pos];
        if ((n & 0xC0) == 0xC0) {
            if (pos + 1 >= len || ++jumps > MAX_POINTER_JUMPS)
                return false;
            size_t target = ((size_t)(n & 0x3F) << 8) | msg[pos + 1];
            if (!jumped)
                *at = pos + 2;
            jumped = true;
            if (target >= pos) /* pointers go backwards only: no loops */
                return false;
            pos = target;
            continue;
        }
        if ((n & 0xC0) != 0)
            return false; /* extended label types */
        if (n == 0) {
            if (!jumped)
                *at = pos + 1;
            out[written] = '\0';
            return true;
        }
        if (pos + 1 + n > len || written + n + 2 > out_size)
            return false;
        if (written > 0)
            out[written++] = '.';
        for (size_t i = 0; i < n; i++)
            out[written++] = (char)tolower(msg[pos + 1 + i]);
        pos += 1 + n;
    }
}

/* The question's name in the same form as read_name's. */
static void normalise(const char *name, char *out, size_t size)
{
    size_t n = 0;
    for (; name[n] && n + 1 < size; n++)
        out[n] = (char)tolower((unsigned char)name[n]);
    out[n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[n - 1] = '\0';
}

typedef struct rr {
    char name[DNS_NAME_MAX + 1];
    uint16_t type, klass;
    uint32_t ttl;
    size_t rdata, rdlength;         /* offset and length in the message */
} rr;

static bool read_rr(const uint8_t *msg, size_t len, size_t *at, rr *out)
{
    if (!read_name(msg, len, at, out->name, sizeof(out->name)) || *at + 10 > len)
        return false;
    out->type = get16(msg + *at);
    out->klass = get16(msg + *at + 2);
    out->ttl = get32(msg + *at + 4);
    if (out->ttl > 0x7FFFFFFFu) /* RFC 2181 §8: the top bit set means zero */
        out->ttl = 0;
    out->rdlength = get16(msg + *at + 8);
    out->rdata = *at + 10;
    if (out->rdata + out->rdlength > len)
        return false;
    *at = out->rdata + out->rdlength;
    return true;
}

static void take_ttl(dns_answer *out, uint32_t ttl)
{
    if (!out->ttl_known || ttl < out->ttl)
        out->ttl = ttl;
    out->ttl_known = true;
}

bool dns_parse_answer(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                      uint16_t qtype, dns_answer *out)
{
    memset(out, 0, sizeof(*out));
    if (len < HEADER_SIZE || get16(msg) != id)
        return false;
    uint16_t flags = get16(msg + 2);
    if (!(flags & 0x8000) || ((flags >> 11) & 0xF) != 0)
        return false; /* not an answer, or not a standard query */
    out->truncated = (flags & 0x0200) != 0;
    out->rcode = flags & 0xF;
    uint16_t qdcount = get16(msg + 4), ancount = get16(msg + 6), nscount = get16(msg + 8);
    char wanted[DNS_NAME_MAX + 1];
    normalise(name, wanted, sizeof(wanted));
    size_t at = HEADER_SIZE;
    char qname[DNS_NAME_MAX + 1];
    /* The question must come back: FORMERR answers may omit it, and then
     * nothing ties the message to ours but the id. */
    if (qdcount != 1) {
        if (qdcount == 0 && out->rcode != DNS_RCODE_NOERROR && out->rcode != DNS_RCODE_NXDOMAIN)
            return true;
        return false;
    }
    if (!read_name(msg, len, &at, qname, sizeof(qname)) || at + 4 > len ||
        strcmp(qname, wanted) != 0 || get16(msg + at) != qtype ||
        get16(msg + at + 2) != DNS_CLASS_IN)
        return false;
    at += 4;
    if (out->truncated)
        return true; /* the caller asks again over TCP */

    /* The answer section, kept by offset: the chain is followed below. */
    rr answers[DNS_MAX_ADDRESSES];
    size_t answer_count = 0;
    for (uint16_t i = 0; i < ancount; i++) {
        rr r;
        if (!read_rr(msg, len, &at, &r))
            return false;
        if (r.klass == DNS_CLASS_IN && answer_count < sizeof(answers) / sizeof(answers[0]))
            answers[answer_count++] = r;
    }

    /* Follow CNAMEs from the question's name. */
    char current[DNS_NAME_MAX + 1];
    snprintf(current, sizeof(current), "%s", wanted);
    bool aliased = false;
    for (int hop = 0; hop < MAX_CHAIN; hop++) {
        bool moved = false;
        for (size_t i = 0; i < answer_count && !moved; i++) {
            if (answers[i].type != DNS_TYPE_CNAME || strcmp(answers[i].name, current) != 0)
                continue;
            size_t rd = answers[i].rdata;
            char target[DNS_NAME_MAX + 1];
            if (!read_name(msg, len, &rd, target, sizeof(target)))
                return false;
            take_ttl(out, answers[i].ttl);
            snprintf(current, sizeof(current), "%s", target);
            moved = aliased = true;
        }
        if (!moved)
            break;
    }
    snprintf(out->final_name, sizeof(out->final_name), "%s", current);
    for (size_t i = 0; i < answer_count; i++) {
        const rr *r = &answers[i];
        if (r->type != qtype || strcmp(r->name, current) != 0)
            continue;
        size_t want = qtype == DNS_TYPE_A ? 4 : 16;
        if (r->rdlength != want)
            return false;
        take_ttl(out, r->ttl);
        if (out->count < DNS_MAX_ADDRESSES &&
            inet_ntop(qtype == DNS_TYPE_A ? AF_INET : AF_INET6, msg + r->rdata,
                      out->addresses[out->count], DNS_ADDRESS_TEXT) != NULL)
            out->count++;
    }
    if (out->count > 0)
        return true;
    out->alias_unresolved = aliased && out->rcode == DNS_RCODE_NOERROR;
    /* No records: the negative TTL is min(SOA TTL, SOA MINIMUM) (RFC 2308). */
    bool chain_ttl = out->ttl_known;
    uint32_t chain = out->ttl;
    out->ttl_known = false;
    for (uint16_t i = 0; i < nscount; i++) {
        rr r;
        if (!read_rr(msg, len, &at, &r))
            break; /* the authority section only refines the TTL */
        if (r.type == DNS_TYPE_SOA && r.rdlength >= 20) {
            uint32_t minimum = get32(msg + r.rdata + r.rdlength - 4);
            take_ttl(out, r.ttl < minimum ? r.ttl : minimum);
        }
    }
    if (chain_ttl)
        take_ttl(out, chain);
    return true;
}

const char *dns_rcode_name(int rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                        "REFUSED"};
    static char other[16];
    if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
        return names[rcode];
    snprintf(other, sizeof(other), "rcode %d", rcode);
    return other;
}
