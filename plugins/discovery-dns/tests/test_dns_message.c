/*
 * The DNS wire format of discovery.dns: the query it sends (RD, one
 * question, EDNS0 OPT), and answers read back: A/AAAA records with their
 * smallest TTL, CNAME chains (compressed names), an alias left unresolved,
 * NXDOMAIN with the SOA's negative TTL, truncation, and everything a
 * resolver must ignore (another id, another question, a query instead of an
 * answer, pointer loops, short records). Also resolv.conf and search lists.
 */
#include <arpa/inet.h>
#include <string.h>

#include "dns_message.h"
#include "resolv_conf.h"
#include "test_check.h"

/* ---- a small answer builder ---- */

typedef struct msg {
    uint8_t b[1024];
    size_t n;
} msg;

static void u8(msg *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void u16(msg *m, unsigned v) { u8(m, v >> 8); u8(m, v & 0xff); }
static void u32(msg *m, uint32_t v) { u16(m, v >> 16); u16(m, v & 0xffff); }

static void name(msg *m, const char *dotted)
{
    while (*dotted) {
        const char *dot = strchr(dotted, '.');
        size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
        u8(m, (unsigned)len);
        memcpy(m->b + m->n, dotted, len);
        m->n += len;
        dotted += len + (dot ? 1 : 0);
    }
    u8(m, 0);
}

static void pointer(msg *m, unsigned offset) { u16(m, 0xC000 | offset); }

static void header(msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns)
{
    m->n = 0;
    u16(m, id);
    u16(m, flags);
    u16(m, qd);
    u16(m, an);
    u16(m, ns);
    u16(m, 0);
}

static void question(msg *m, const char *qname, unsigned qtype)
{
    name(m, qname);
    u16(m, qtype);
    u16(m, DNS_CLASS_IN);
}

/* An RR whose owner is at `owner` (a compression offset). */
static void rr_at(msg *m, unsigned owner, unsigned type, uint32_t ttl)
{
    pointer(m, owner);
    u16(m, type);
    u16(m, DNS_CLASS_IN);
    u32(m, ttl);
}

static void rr_a(msg *m, unsigned owner, uint32_t ttl, const char *address)
{
    rr_at(m, owner, DNS_TYPE_A, ttl);
    u16(m, 4);
    inet_pton(AF_INET, address, m->b + m->n);
    m->n += 4;
}

#define ANSWER 0x8180 /* QR, RD, RA, NOERROR */
#define QNAME_AT 12

/* ---- tests ---- */

static void test_query(void)
{
    uint8_t buf[512];
    size_t n = dns_build_query(buf, sizeof(buf), 0xBEEF, "Web.Apps.Local.", DNS_TYPE_AAAA);
    static const uint8_t expected[] = {
        0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
        3, 'W', 'e', 'b', 4, 'A', 'p', 'p', 's', 5, 'L', 'o', 'c', 'a', 'l', 0,
        0, 28, 0, 1,
        0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0};
    CHECK_INT(n, sizeof(expected));
    CHECK(memcmp(buf, expected, sizeof(expected)) == 0);
    CHECK(dns_build_query(buf, sizeof(buf), 1, "bad..name", DNS_TYPE_A) == 0);
    CHECK(dns_build_query(buf, sizeof(buf), 1, "", DNS_TYPE_A) == 0);
    CHECK(dns_build_query(buf, 20, 1, "web.apps.local", DNS_TYPE_A) == 0);
    CHECK(dns_name_valid("svc_1.ns-2.svc.cluster.local"));
    CHECK(!dns_name_valid("has space.local"));
    char long_label[80];
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    CHECK(!dns_name_valid(long_label));
}

static void test_records_and_ttl(void)
{
    msg m;
    header(&m, 7, ANSWER, 1, 2, 0);
    question(&m, "web.apps.local", DNS_TYPE_A);
    rr_a(&m, QNAME_AT, 300, "10.0.0.1");
    rr_a(&m, QNAME_AT, 30, "10.0.0.2");
    dns_answer a;
    CHECK(dns_parse_answer(m.b, m.n, 7, "WEB.apps.local.", DNS_TYPE_A, &a));
    CHECK_INT(a.rcode, DNS_RCODE_NOERROR);
    CHECK_INT(a.count, 2);
    CHECK_STR(a.addresses[0], "10.0.0.1");
    CHECK_STR(a.addresses[1], "10.0.0.2");
    CHECK(a.ttl_known && a.ttl == 30);

    /* RFC 2181: a TTL with the top bit set reads as zero. */
    header(&m, 7, ANSWER, 1, 1, 0);
    question(&m, "web.apps.local", DNS_TYPE_A);
    rr_a(&m, QNAME_AT, 0x80000010u, "10.0.0.1");
    CHECK(dns_parse_answer(m.b, m.n, 7, "web.apps.local", DNS_TYPE_A, &a));
    CHECK_INT(a.ttl, 0);
}

static void test_cname_chain(void)
{
    msg m;
    header(&m, 9, ANSWER, 1, 3, 0);
    question(&m, "api.apps.local", DNS_TYPE_A);
    /* api.apps.local CNAME lb.apps.local (suffix compressed) */
    rr_at(&m, QNAME_AT, DNS_TYPE_CNAME, 120);
    size_t rdlength_at = m.n;
    u16(&m, 0);
    size_t target_at = m.n;
    u8(&m, 2);
    u8(&m, 'l');
    u8(&m, 'b');
    pointer(&m, QNAME_AT + 4); /* "apps.local" of the question */
    m.b[rdlength_at + 1] = (uint8_t)(m.n - target_at);
    /* an unrelated A record for the question name is not part of the chain end */
    rr_a(&m, (unsigned)target_at, 60, "10.9.0.1");
    rr_a(&m, (unsigned)target_at, 90, "10.9.0.2");
    dns_answer a;
    CHECK(dns_parse_answer(m.b, m.n, 9, "api.apps.local", DNS_TYPE_A, &a));
    CHECK_INT(a.count, 2);
    CHECK_STR(a.final_name, "lb.apps.local");
    CHECK_INT(a.ttl, 60);
    CHECK(!a.alias_unresolved);

    /* The chain alone: the caller must ask for lb.apps.local itself. */
    header(&m, 9, ANSWER, 1, 1, 0);
    question(&m, "api.apps.local", DNS_TYPE_A);
    rr_at(&m, QNAME_AT, DNS_TYPE_CNAME, 120);
    u16(&m, 4);
    u8(&m, 2);
    u8(&m, 'l');
    u8(&m, 'b');
    u8(&m, 0);
    CHECK(dns_parse_answer(m.b, m.n, 9, "api.apps.local", DNS_TYPE_A, &a));
    CHECK_INT(a.count, 0);
    CHECK(a.alias_unresolved);
    CHECK_STR(a.final_name, "lb");
}

static void test_negative(void)
{
    msg m;
    header(&m, 3, 0x8183, 1, 0, 1); /* NXDOMAIN */
    question(&m, "gone.apps.local", DNS_TYPE_A);
    rr_at(&m, QNAME_AT + 5, DNS_TYPE_SOA, 3600); /* apps.local */
    size_t rdlength_at = m.n;
    u16(&m, 0);
    size_t start = m.n;
    pointer(&m, QNAME_AT + 5); /* mname */
    pointer(&m, QNAME_AT + 5); /* rname */
    u32(&m, 1);
    u32(&m, 2);
    u32(&m, 3);
    u32(&m, 4);
    u32(&m, 45); /* minimum: the negative TTL */
    m.b[rdlength_at + 1] = (uint8_t)(m.n - start);
    dns_answer a;
    CHECK(dns_parse_answer(m.b, m.n, 3, "gone.apps.local", DNS_TYPE_A, &a));
    CHECK_INT(a.rcode, DNS_RCODE_NXDOMAIN);
    CHECK_INT(a.count, 0);
    CHECK(a.ttl_known && a.ttl == 45);
    CHECK(!a.alias_unresolved);
    CHECK_STR(dns_rcode_name(a.rcode), "NXDOMAIN");
    CHECK_STR(dns_rcode_name(9), "rcode 9");
}

static void test_ignored(void)
{
    msg m;
    dns_answer a;
    header(&m, 7, ANSWER, 1, 1, 0);
    question(&m, "web.apps.local", DNS_TYPE_A);
    rr_a(&m, QNAME_AT, 300, "10.0.0.1");
    CHECK(!dns_parse_answer(m.b, m.n, 8, "web.apps.local", DNS_TYPE_A, &a));    /* another id */
    CHECK(!dns_parse_answer(m.b, m.n, 7, "evil.apps.local", DNS_TYPE_A, &a));   /* another name */
    CHECK(!dns_parse_answer(m.b, m.n, 7, "web.apps.local", DNS_TYPE_AAAA, &a)); /* another type */
    CHECK(!dns_parse_answer(m.b, 11, 7, "web.apps.local", DNS_TYPE_A, &a));     /* short */
    CHECK(!dns_parse_answer(m.b, m.n - 2, 7, "web.apps.local", DNS_TYPE_A, &a)); /* cut record */
    m.b[2] &= 0x7F; /* a query, not an answer */
    CHECK(!dns_parse_answer(m.b, m.n, 7, "web.apps.local", DNS_TYPE_A, &a));

    /* A compression pointer pointing at itself. */
    header(&m, 7, ANSWER, 1, 1, 0);
    question(&m, "web.apps.local", DNS_TYPE_A);
    size_t self = m.n;
    pointer(&m, (unsigned)self);
    u16(&m, DNS_TYPE_A);
    u16(&m, DNS_CLASS_IN);
    u32(&m, 1);
    u16(&m, 4);
    u32(&m, 0x0A000001);
    CHECK(!dns_parse_answer(m.b, m.n, 7, "web.apps.local", DNS_TYPE_A, &a));

    /* An A record of the wrong size. */
    header(&m, 7, ANSWER, 1, 1, 0);
    question(&m, "web.apps.local", DNS_TYPE_A);
    rr_at(&m, QNAME_AT, DNS_TYPE_A, 30);
    u16(&m, 3);
    u8(&m, 1);
    u8(&m, 2);
    u8(&m, 3);
    CHECK(!dns_parse_answer(m.b, m.n, 7, "web.apps.local", DNS_TYPE_A, &a));

    /* Truncated: recognised, records not read. */
    header(&m, 7, ANSWER | 0x0200, 1, 0, 0);
    question(&m, "web.apps.local", DNS_TYPE_A);
    CHECK(dns_parse_answer(m.b, m.n, 7, "web.apps.local", DNS_TYPE_A, &a));
    CHECK(a.truncated);
}

static void test_resolv_conf(void)
{
    resolv_config c;
    resolv_parse_text("# comment\n"
                      "nameserver 10.0.0.2\n"
                      "nameserver fd00::53\n"
                      "nameserver not-an-ip\n"
                      "domain ignored.example\n"
                      "search ns.svc.cluster.local svc.cluster.local ; trailing\n"
                      "options timeout:1 ndots:5\n",
                      &c);
    CHECK_INT(c.server_count, 2);
    CHECK_STR(c.servers[0].text, "10.0.0.2:53");
    CHECK_STR(c.servers[1].text, "[fd00::53]:53");
    CHECK_INT(c.search_count, 2);
    CHECK_STR(c.search[1], "svc.cluster.local");
    CHECK_INT(c.ndots, 5);

    char out[8][DNS_NAME_MAX + 1];
    CHECK_INT(resolv_candidates(&c, "web", out, 8), 3);
    CHECK_STR(out[0], "web.ns.svc.cluster.local");
    CHECK_STR(out[2], "web");
    c.ndots = 1;
    CHECK_INT(resolv_candidates(&c, "web.apps", out, 8), 3);
    CHECK_STR(out[0], "web.apps");
    CHECK_INT(resolv_candidates(&c, "web.apps.local.", out, 8), 1);
    CHECK_STR(out[0], "web.apps.local");

    resolv_server s;
    CHECK(resolv_parse_server("127.0.0.1:5353", &s));
    CHECK_STR(s.text, "127.0.0.1:5353");
    CHECK(resolv_parse_server("[::1]:5353", &s));
    CHECK_STR(s.text, "[::1]:5353");
    CHECK(resolv_parse_server("::1", &s));
    CHECK_STR(s.text, "[::1]:53");
    CHECK(!resolv_parse_server("127.0.0.1:0", &s));
    CHECK(!resolv_parse_server("dns.google", &s));
}

int main(void)
{
    test_query();
    test_records_and_ttl();
    test_cname_chain();
    test_negative();
    test_ignored();
    test_resolv_conf();
    return test_finish("dns_message");
}
