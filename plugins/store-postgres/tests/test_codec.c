/*
 * store.postgres's parts that need no server: PostgreSQL's binary array
 * format, integers, commit ids, the limits of store.h, the encoding of a
 * commit batch, identifiers, and conninfo handling (parsing without echoing
 * secrets, the log-safe description, the parameters handed to libpq), and
 * the window of recent changes kept in memory.
 */
#include <stdlib.h>
#include <string.h>

#include "change_cache.h"
#include "commit_codec.h"
#include "conninfo.h"
#include "schema.h"
#include "settings.h"
#include "test_check.h"
#include "wire.h"

static uint32_t be32(const void *p)
{
    const unsigned char *u = p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static void test_arrays(void)
{
    byte_buffer b;
    bb_init(&b, BB_NO_LIMIT);
    wire_array_begin(&b, PG_OID_TEXT, 2, true);
    wire_array_element(&b, "ab", 2);
    wire_array_element(&b, NULL, 0);
    CHECK(!b.failed);
    CHECK_INT(b.len, 20 + 4 + 2 + 4);
    CHECK_INT(be32(b.data), 1);              /* one dimension */
    CHECK_INT(be32(b.data + 4), 1);          /* has NULLs */
    CHECK_INT(be32(b.data + 8), PG_OID_TEXT);
    CHECK_INT(be32(b.data + 12), 2);         /* length */
    CHECK_INT(be32(b.data + 16), 1);         /* lower bound */
    CHECK_INT(be32(b.data + 20), 2);
    CHECK(memcmp(b.data + 24, "ab", 2) == 0);
    CHECK_INT(be32(b.data + 26), UINT32_MAX); /* NULL */

    bb_reset(&b);
    wire_array_begin(&b, PG_OID_INT8, 1, false);
    wire_array_int8(&b, -1);
    CHECK_INT(b.len, 20 + 4 + 8);
    CHECK_INT(be32(b.data + 20), 8);
    CHECK_INT(wire_get_int8(b.data + 24), -1);

    bb_reset(&b);
    wire_array_begin(&b, PG_OID_INT4, 0, false);
    CHECK_INT(b.len, 12); /* empty: no dimensions */
    CHECK_INT(be32(b.data), 0);

    bb_reset(&b);
    wire_array_int2(&b, 0x0102);
    CHECK_INT(be32(b.data), 2);
    CHECK(b.data[4] == 1 && b.data[5] == 2);
    bb_free(&b);

    const char big[8] = {0x7f, (char)0xff, (char)0xff, (char)0xff,
                         (char)0xff, (char)0xff, (char)0xff, (char)0xfe};
    CHECK(wire_get_int8(big) == INT64_MAX - 1);
    const char four[4] = {(char)0xff, (char)0xff, (char)0xff, (char)0xfe};
    CHECK_INT(wire_get_int4(four), -2);
}

static void test_uuids(void)
{
    uint8_t a[PG_UUID_LEN], b[PG_UUID_LEN], parsed[PG_UUID_LEN];
    CHECK(wire_uuid_v7(a, 0x0123456789abull));
    CHECK(wire_uuid_v7(b, 0x0123456789abull));
    CHECK(memcmp(a, b, PG_UUID_LEN) != 0); /* random part */
    CHECK_INT(a[6] >> 4, 7);               /* version */
    CHECK_INT(a[8] >> 6, 2);               /* variant */
    char text[PG_UUID_TEXT_LEN];
    wire_uuid_format(a, text);
    CHECK_INT(strlen(text), 36);
    CHECK(strncmp(text, "01234567-89ab-7", 15) == 0); /* time first: ordered by creation */
    CHECK(wire_uuid_parse(text, parsed));
    CHECK(memcmp(parsed, a, PG_UUID_LEN) == 0);
    CHECK(!wire_uuid_parse("01234567-89ab-7000-8000-00000000000", parsed));
    CHECK(!wire_uuid_parse("01234567x89ab-7000-8000-000000000000", parsed));
    CHECK(!wire_uuid_parse("0123456g-89ab-7000-8000-000000000000", parsed));
}

static trellis_store_op op(uint32_t type, const char *key, const char *value, size_t len,
                           uint64_t expected)
{
    return (trellis_store_op){
        .type = type, .key = key, .value = value, .value_len = len, .expected_version = expected};
}

static void test_validation(void)
{
    char why[200];
    trellis_store_op good[] = {op(TRELLIS_STORE_PUT, "k", "v", 1, 0),
                               op(TRELLIS_STORE_PUT, "empty", NULL, 0, 0),
                               op(TRELLIS_STORE_DELETE, "d", NULL, 0, 3),
                               op(TRELLIS_STORE_CHECK, "ключ", NULL, 0, TRELLIS_STORE_ANY_VERSION)};
    CHECK_INT(pg_ops_validate(good, 4, why, sizeof(why)), TRELLIS_OK);
    CHECK_INT(pg_ops_validate(good, 0, why, sizeof(why)), TRELLIS_ERR_INVALID);
    CHECK_INT(pg_ops_validate(NULL, 1, why, sizeof(why)), TRELLIS_ERR_INVALID);

    static char long_key[TRELLIS_STORE_KEY_MAX + 2];
    memset(long_key, 'k', TRELLIS_STORE_KEY_MAX + 1);
    trellis_store_op bad[] = {
        op(TRELLIS_STORE_PUT, NULL, "v", 1, 0),
        op(TRELLIS_STORE_PUT, "", "v", 1, 0),
        op(TRELLIS_STORE_PUT, long_key, "v", 1, 0),
        op(TRELLIS_STORE_PUT, "\xed\xa0\x80", "v", 1, 0), /* a surrogate */
        op(TRELLIS_STORE_PUT, "k", NULL, 3, 0),
        op(TRELLIS_STORE_DELETE, "k", "v", 1, 0),
        op(TRELLIS_STORE_CHECK, "k", NULL, 2, 0),
        op(7, "k", NULL, 0, 0),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(pg_ops_validate(&bad[i], 1, why, sizeof(why)), TRELLIS_ERR_INVALID);
        CHECK_CONTAINS(why, "op 0");
    }
    trellis_store_op reserved = op(TRELLIS_STORE_PUT, "k", "v", 1, 0);
    reserved.reserved = 1;
    CHECK_INT(pg_ops_validate(&reserved, 1, why, sizeof(why)), TRELLIS_ERR_INVALID);
}

static void test_commit_copy_and_batch(void)
{
    static const char binary[] = {'a', '\0', 'b'};
    trellis_store_op ops[] = {op(TRELLIS_STORE_PUT, "k1", binary, 3, TRELLIS_STORE_ABSENT),
                              op(TRELLIS_STORE_CHECK, "k2", NULL, 0, 5),
                              op(TRELLIS_STORE_PUT, "k3", NULL, 0, TRELLIS_STORE_ANY_VERSION)};
    pg_commit *c1 = pg_commit_new(ops, 3);
    pg_commit *c2 = pg_commit_new(ops + 1, 1);
    CHECK(c1 != NULL && c2 != NULL);
    CHECK_INT(c1->op_count, 3);
    CHECK_STR(c1->ops[0].key, "k1");
    CHECK(c1->ops[0].key != ops[0].key); /* a copy */
    CHECK(memcmp(c1->ops[0].value, binary, 3) == 0);
    CHECK(c1->ops[1].value == NULL);
    CHECK(c1->ops[2].value != NULL && c1->ops[2].value_len == 0); /* empty, not absent */
    CHECK_INT(c1->payload, 2 + 3 + 2 + 2);
    memset(c1->id, 0x11, PG_UUID_LEN);
    memset(c2->id, 0x22, PG_UUID_LEN);
    c1->next = c2;
    c2->next = NULL;

    pg_batch_params p;
    pg_batch_params_init(&p);
    pg_batch_settings bs = {.channel = "chan",
                            .notify_tag = "tag",
                            .history_revisions = 100,
                            .id_retention_s = 3600,
                            .since = -1,
                            .changes_revisions = 1024};
    CHECK(pg_batch_encode(&p, c1, 2, &bs));
    /* ids: two uuids */
    CHECK_INT(be32(p.values[0] + 12), 2);
    CHECK_INT(be32(p.values[0] + 8), PG_OID_UUID);
    CHECK_INT(p.lengths[0], 20 + 2 * (4 + 16));
    /* op counts 3, 1 */
    CHECK_INT(be32(p.values[1] + 20 + 4), 3);
    CHECK_INT(be32(p.values[1] + 20 + 8 + 4), 1);
    /* four ops in all */
    for (int i = 2; i < 6; i++)
        CHECK_INT(be32(p.values[i] + 12), 4);
    /* values: k1's bytes, NULL for the CHECK, "" for the empty PUT */
    CHECK_INT(be32(p.values[4] + 4), 1);
    const char *v = p.values[4] + 20;
    CHECK_INT(be32(v), 3);
    CHECK(memcmp(v + 4, binary, 3) == 0);
    CHECK_INT(be32(v + 7), UINT32_MAX);
    CHECK_INT(be32(v + 11), 0);
    /* expected versions: 0, 5, -1, 5 */
    const char *e = p.values[5] + 20;
    CHECK_INT(wire_get_int8(e + 4), 0);
    CHECK_INT(wire_get_int8(e + 12 + 4), 5);
    CHECK_INT(wire_get_int8(e + 24 + 4), -1);
    for (int i = 0; i < 6; i++)
        CHECK_INT(p.formats[i], 1);
    CHECK_STR(p.values[6], "chan");
    CHECK_STR(p.values[7], "tag");
    CHECK_STR(p.values[8], "100");
    CHECK_STR(p.values[9], "3600");
    CHECK_STR(p.values[10], "-1");
    CHECK_STR(p.values[11], "1024");
    CHECK_INT(p.formats[11], 0);
    /* A count longer than the list is refused. */
    CHECK(!pg_batch_encode(&p, c1, 3, &bs));
    pg_batch_params_free(&p);
    free(c1);
    free(c2);

    CHECK_INT(pg_expected_encode(TRELLIS_STORE_ANY_VERSION), -1);
    CHECK_INT(pg_expected_encode(TRELLIS_STORE_ABSENT), 0);
    CHECK_INT(pg_expected_encode(42), 42);
    CHECK(pg_expected_encode(UINT64_MAX - 1) == INT64_MAX);
}

static void test_identifiers(void)
{
    CHECK(pg_identifier_valid("trellis"));
    CHECK(pg_identifier_valid("_t_1"));
    CHECK(!pg_identifier_valid(""));
    CHECK(!pg_identifier_valid("1abc"));
    CHECK(!pg_identifier_valid("Trellis"));
    CHECK(!pg_identifier_valid("a-b"));
    CHECK(!pg_identifier_valid("a\"b"));
    char long_name[70];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    CHECK(!pg_identifier_valid(long_name));
    long_name[63] = '\0';
    CHECK(pg_identifier_valid(long_name));

    char *sql = schema_sql("SELECT * FROM @S@.meta, @S@.records", "trellis");
    CHECK_STR(sql, "SELECT * FROM \"trellis\".meta, \"trellis\".records");
    free(sql);
}

static void test_conninfo(void)
{
    char why[256];
    CHECK(conninfo_parses("", why, sizeof(why)));
    CHECK(conninfo_parses("host=db port=5432 dbname=x", why, sizeof(why)));
    CHECK(conninfo_parses("postgresql://u:pw@db:5432/x?sslmode=disable", why, sizeof(why)));
    /* An unterminated quote around the password: refused, secret not echoed. */
    CHECK(!conninfo_parses("host=db password='hunter2secret", why, sizeof(why)));
    CHECK(strstr(why, "hunter2") == NULL);
    CHECK(!conninfo_parses("host=db password=hunter2secret bogus_key=1", why, sizeof(why)));
    CHECK(strstr(why, "hunter2") == NULL);
    CHECK_CONTAINS(why, "not a valid libpq connection string");

    char out[512];
    conninfo_describe("host=db.example port=6543 dbname=mesh user=tr password=hunter2secret",
                      out, sizeof(out));
    CHECK_STR(out, "host=db.example port=6543 dbname=mesh user=tr");
    conninfo_describe("postgresql://tr:hunter2secret@db.example:6543/mesh", out, sizeof(out));
    CHECK(strstr(out, "hunter2") == NULL);
    CHECK_CONTAINS(out, "host=db.example");
    CHECK_CONTAINS(out, "dbname=mesh");

    conninfo_params params;
    conninfo_params_build(&params, "host=db", 5500);
    CHECK_STR(params.keywords[0], "dbname");
    CHECK_STR(params.values[0], "host=db");
    bool saw_timeout = false, saw_encoding = false;
    for (int i = 0; params.keywords[i] != NULL; i++) {
        if (strcmp(params.keywords[i], "connect_timeout") == 0) {
            saw_timeout = true;
            CHECK_STR(params.values[i], "6"); /* whole seconds, rounded up */
        }
        saw_encoding |= strcmp(params.keywords[i], "client_encoding") == 0;
    }
    CHECK(saw_timeout && saw_encoding);
    /* The conninfo's own connect_timeout wins; an empty one leaves libpq's defaults. */
    conninfo_params_build(&params, "host=db connect_timeout=9", 5500);
    for (int i = 0; params.keywords[i] != NULL; i++)
        CHECK(strcmp(params.keywords[i], "connect_timeout") != 0);
    conninfo_params_build(&params, "", 1000);
    CHECK_STR(params.keywords[0], "fallback_application_name");
    CHECK_STR(params.values[1], "2"); /* at least 2: libpq treats 1 as 2 */

    char message[] = "line one\nline two\t\n";
    pg_message_flatten(message);
    CHECK_STR(message, "line one line two");
}

/* ---- the change cache ---- */

typedef struct seen {
    char keys[16][16];
    uint64_t revisions[16];
    bool deleted[16];
    size_t count;
} seen;

static void collect(void *arg, const trellis_store_record *rec)
{
    seen *s = arg;
    if (s->count < 16) {
        snprintf(s->keys[s->count], sizeof(s->keys[0]), "%s", rec->key);
        s->revisions[s->count] = rec->revision;
        s->deleted[s->count] = rec->value == NULL;
        s->count++;
    }
}

static change_input change(uint64_t revision, const char *key, const char *value)
{
    return (change_input){.revision = revision,
                          .version = 1,
                          .key = key,
                          .key_len = strlen(key),
                          .value = value,
                          .value_len = value ? strlen(value) : 0};
}

static void test_change_cache(void)
{
    change_cache c;
    change_cache_init(&c, 4, 1 << 20);
    CHECK(!change_cache_covers(&c, 0, 0)); /* nothing until a window starts */
    change_cache_reset_at(&c, 10);
    CHECK(change_cache_covers(&c, 10, 10));
    CHECK(!change_cache_covers(&c, 9, 10));
    CHECK(!change_cache_covers(&c, 10, 11)); /* something newer exists elsewhere */

    change_input batch[] = {change(11, "a", "1"), change(12, "b", NULL), change(12, "c", "")};
    change_cache_add(&c, 10, 13, batch, 3); /* revision 13 changed nothing */
    CHECK(change_cache_covers(&c, 10, 13));
    seen s = {0};
    CHECK_INT(change_cache_visit(&c, 10, collect, &s), 12);
    CHECK_INT(s.count, 3);
    CHECK_STR(s.keys[0], "a");
    CHECK(s.deleted[1] && !s.deleted[2]); /* an empty value is not a deletion */
    s = (seen){0};
    CHECK_INT(change_cache_visit(&c, 11, collect, &s), 12);
    CHECK_INT(s.count, 2);
    s = (seen){0};
    CHECK_INT(change_cache_visit(&c, 13, collect, &s), 13);
    CHECK_INT(s.count, 0);

    /* Overlap: what is held already is skipped. */
    change_input more[] = {change(12, "b", NULL), change(12, "c", ""), change(14, "d", "x")};
    change_cache_add(&c, 11, 14, more, 3);
    s = (seen){0};
    change_cache_visit(&c, 10, collect, &s);
    CHECK_INT(s.count, 4);

    /* Over four changes: whole revisions go from the front. */
    change_input two[] = {change(15, "e", "1"), change(15, "f", "1")};
    change_cache_add(&c, 14, 15, two, 2);
    CHECK_INT(c.count, 3); /* 14, 15, 15: revisions 11 and 12 dropped */
    CHECK_INT(c.base, 12);
    CHECK(!change_cache_covers(&c, 11, 15));
    CHECK(change_cache_covers(&c, 12, 15));

    /* A gap starts a new window where the new changes begin. */
    change_input later[] = {change(21, "g", "1")};
    change_cache_add(&c, 20, 21, later, 1);
    CHECK(!change_cache_covers(&c, 15, 21));
    CHECK(change_cache_covers(&c, 20, 21));
    s = (seen){0};
    CHECK_INT(change_cache_visit(&c, 20, collect, &s), 21);
    CHECK_INT(s.count, 1);

    change_cache_invalidate(&c);
    CHECK(!change_cache_covers(&c, 21, 21));
    change_cache_free(&c);
}

int main(void)
{
    test_arrays();
    test_uuids();
    test_validation();
    test_commit_copy_and_batch();
    test_identifiers();
    test_conninfo();
    test_change_cache();
    return test_finish("store_postgres_codec");
}
