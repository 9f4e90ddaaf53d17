/*
 * core/plugin_config.c: a plugin's declared schema is checked at load time,
 * instance configs are validated against it with one exact message per
 * problem, and the accessors read values with the schema's defaults applied.
 */
#include <stdlib.h>
#include <string.h>

#include "diag_check.h"
#include "plugin_config.h"
#include "test_check.h"

#define PREFIX "trellis.json: plugins[2].config."

static const trellis_config_field schema[] = {
    {"endpoint", TRELLIS_CONFIG_ADDRESS, TRELLIS_CONFIG_REQUIRED, NULL, 0, 0, NULL, "where"},
    {"mode", TRELLIS_CONFIG_STRING, 0, "\"relaxed\"", 0, 0, "relaxed|strict|paranoid", "how"},
    {"token", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_SECRET, NULL, 8, 64, "alpha-secret|beta-secret", "secret"},
    {"name", TRELLIS_CONFIG_STRING, 0, NULL, 1, 5, NULL, "short name"},
    {"retries", TRELLIS_CONFIG_INTEGER, 0, "3", 0, 10, NULL, "attempts"},
    {"offset", TRELLIS_CONFIG_INTEGER, 0, "-7", 0, 0, NULL, "unbounded integer"},
    {"ratio", TRELLIS_CONFIG_NUMBER, 0, "0.25", 0, 1, NULL, "ratio"},
    {"verbose", TRELLIS_CONFIG_BOOLEAN, 0, "true", 0, 0, NULL, "log more"},
    {"tags", TRELLIS_CONFIG_STRING_LIST, 0, "[\"a\", \"b\"]", 1, 3, NULL, "tags"},
    {"extra", TRELLIS_CONFIG_OBJECT, 0, "{\"z\": 1, \"a\": [true]}", 0, 0, NULL, "object"},
    {"optional", TRELLIS_CONFIG_STRING, 0, NULL, 0, 0, NULL, "no default"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* Validates `json_text` and expects exactly the listed messages (without
 * PREFIX); an empty list expects success. */
static void expect_validation(int line, const char *json_text, const char *const *expected)
{
    json_error_t jerr;
    /* JSON_ALLOW_NUL reaches the NUL guard (config files are parsed without it). */
    json_t *config = json_loads(json_text, JSON_ALLOW_NUL, &jerr);
    if (config == NULL) {
        fprintf(stderr, "line %d: bad test JSON: %s\n", line, jerr.text);
        CHECK(config != NULL);
        return;
    }
    diag_list diags = {0};
    bool ok = plugin_config_validate(schema, config, PREFIX, &diags);
    size_t n = check_diagnostics(&diags, PREFIX, expected, line);
    CHECK(ok == (n == 0));
    diag_clear(&diags);
    json_decref(config);
}

#define EXPECT_VALID(text)                                                             \
    do {                                                                               \
        static const char *const none_[] = {NULL};                                     \
        expect_validation(__LINE__, text, none_);                                      \
    } while (0)
#define EXPECT_INVALID(text, ...)                                                      \
    do {                                                                               \
        static const char *const expected_[] = {__VA_ARGS__, NULL};                    \
        expect_validation(__LINE__, text, expected_);                                  \
    } while (0)

static void test_schema_check(void)
{
    char err[256];
    CHECK(plugin_schema_check(schema, err, sizeof(err)));
    CHECK(plugin_schema_check(NULL, err, sizeof(err))); /* no keys at all */

    struct {
        trellis_config_field fields[3];
        const char *message;
    } bad[] = {
        {{{"n", TRELLIS_CONFIG_INTEGER, 0, "\"ten\"", 0, 0, NULL, ""}, {0}},
         "config key 'n' has an invalid default \"ten\": expected an integer"},
        {{{"n", TRELLIS_CONFIG_INTEGER, 0, "11", 0, 10, NULL, ""}, {0}},
         "config key 'n' has an invalid default 11: 11 is outside 0..10"},
        {{{"m", TRELLIS_CONFIG_STRING, 0, "\"fast\"", 0, 0, "slow|slower", ""}, {0}},
         "config key 'm' has an invalid default \"fast\": \"fast\" is not one of slow|slower"},
        {{{"j", TRELLIS_CONFIG_OBJECT, 0, "{broken", 0, 0, NULL, ""}, {0}},
         "config key 'j' has an invalid default {broken: not JSON (string or '}' expected near 'broken')"},
        {{{"a", TRELLIS_CONFIG_ADDRESS, 0, "\"localhost:80\"", 0, 0, NULL, ""}, {0}},
         "config key 'a' has an invalid default \"localhost:80\": host must be a numeric IPv4 or "
         "[IPv6] address, got \"localhost\""},
        {{{"t", 42, 0, NULL, 0, 0, NULL, ""}, {0}}, "config key 't' has unknown type 42"},
        {{{"f", TRELLIS_CONFIG_BOOLEAN, 0x10, NULL, 0, 0, NULL, ""}, {0}},
         "config key 'f' has unknown flags 0x10"},
        {{{"", TRELLIS_CONFIG_BOOLEAN, 0, NULL, 0, 0, NULL, ""}, {0}},
         "config schema entry 0 has an empty or long key"},
        {{{"d", TRELLIS_CONFIG_BOOLEAN, 0, NULL, 0, 0, NULL, ""},
          {"d", TRELLIS_CONFIG_STRING, 0, NULL, 0, 0, NULL, ""},
          {0}},
         "config key 'd' is declared twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(!plugin_schema_check(bad[i].fields, err, sizeof(err)));
        CHECK_STR(err, bad[i].message);
    }

    /* A schema without its terminator is caught before it runs off. */
    static trellis_config_field endless[300];
    for (size_t i = 0; i < 300; i++) {
        static char keys[300][8];
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        endless[i] = (trellis_config_field){keys[i], TRELLIS_CONFIG_BOOLEAN, 0, NULL, 0, 0, NULL, ""};
    }
    endless[299].key = NULL;
    CHECK(!plugin_schema_check(endless, err, sizeof(err)));
    CHECK_STR(err, "config schema has more than 256 keys (missing terminator?)");
}

static void test_validation_messages(void)
{
    EXPECT_VALID("{\"endpoint\": \"127.0.0.1:80\"}");
    EXPECT_VALID("{\"endpoint\": \"[::1]:0\", \"mode\": \"paranoid\", \"token\": \"beta-secret\","
                 " \"name\": \"abcde\", \"retries\": 10, \"offset\": -1000000, \"ratio\": 1,"
                 " \"verbose\": false, \"tags\": [\"x\", \"y\", \"z\"], \"extra\": {}}");
    EXPECT_INVALID("{}", "endpoint: required key is missing");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:80\", \"colour\": \"red\"}", "colour: unknown key");
    EXPECT_INVALID("{\"endpoint\": 80}", "endpoint: expected a string");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1\"}",
                   "endpoint: expected \"host:port\", got \"127.0.0.1\"");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:99999\"}",
                   "endpoint: port must be a number 0-65535, got \"99999\"");
    EXPECT_INVALID("{\"endpoint\": \"example.com:80\"}",
                   "endpoint: host must be a numeric IPv4 or [IPv6] address, got \"example.com\"");
    EXPECT_INVALID("{\"endpoint\": \"[::1:80\"}", "endpoint: expected \"[ipv6]:port\", got \"[::1:80\"");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"mode\": \"lax\"}",
                   "mode: \"lax\" is not one of relaxed|strict|paranoid");
    /* A secret's value never appears in a message. */
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"token\": \"gamma-secret\"}",
                   "token: must be one of alpha-secret|beta-secret");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"token\": \"short\"}",
                   "token: length 5 is outside 8..64");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"name\": \"\"}", "name: length 0 is outside 1..5");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"name\": \"a\\u0000b\"}",
                   "name: must not contain NUL characters");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"retries\": 11}", "retries: 11 is outside 0..10");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"retries\": -1}", "retries: -1 is outside 0..10");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"retries\": 2.0}", "retries: expected an integer");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"retries\": \"2\"}", "retries: expected an integer");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"ratio\": 1.5}", "ratio: 1.5 is outside 0..1");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"ratio\": \"half\"}", "ratio: expected a number");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"verbose\": 1}", "verbose: expected true or false");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"tags\": \"a\"}", "tags: expected an array of strings");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"tags\": []}", "tags: 0 items is outside 1..3");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"tags\": [\"a\", \"b\", \"c\", \"d\"]}",
                   "tags: 4 items is outside 1..3");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"tags\": [\"a\", null]}", "tags: item 1 is not a string");
    EXPECT_INVALID("{\"endpoint\": \"127.0.0.1:1\", \"extra\": [1]}", "extra: expected an object");
    /* Every problem is reported, in the order of the config's keys, then missing ones. */
    EXPECT_INVALID("{\"retries\": 99, \"bogus\": 1, \"verbose\": \"yes\"}",
                   "retries: 99 is outside 0..10", "bogus: unknown key",
                   "verbose: expected true or false", "endpoint: required key is missing");
}

static void test_accessors_and_defaults(void)
{
    json_t *values = json_loads("{\"endpoint\": \"127.0.0.1:80\", \"retries\": 7, \"tags\": [\"q\"]}",
                                0, NULL);
    trellis_config *c = plugin_config_new(schema, values);
    CHECK(c != NULL);
    /* Given values. */
    CHECK_STR(plugin_config_get0_string(c, "endpoint"), "127.0.0.1:80");
    CHECK_INT(plugin_config_get_int(c, "retries"), 7);
    CHECK_INT(plugin_config_list_count(c, "tags"), 1);
    CHECK_STR(plugin_config_get0_list_item(c, "tags", 0), "q");
    CHECK(plugin_config_get0_list_item(c, "tags", 1) == NULL);
    /* Defaults from the schema. */
    CHECK(plugin_config_has(c, "mode"));
    CHECK_STR(plugin_config_get0_string(c, "mode"), "relaxed");
    CHECK_INT(plugin_config_get_int(c, "offset"), -7);
    CHECK(plugin_config_get_number(c, "ratio") == 0.25);
    CHECK(plugin_config_get_bool(c, "verbose"));
    /* OBJECT values read back as compact JSON text with sorted keys. */
    CHECK_STR(plugin_config_get0_string(c, "extra"), "{\"a\":[true],\"z\":1}");
    /* Absent without a default: NULL / 0 / false / count 0. */
    CHECK(!plugin_config_has(c, "optional"));
    CHECK(plugin_config_get0_string(c, "optional") == NULL);
    CHECK(!plugin_config_has(c, "token"));
    CHECK_INT(plugin_config_get_int(c, "nonexistent"), 0);
    CHECK(!plugin_config_get_bool(c, "nonexistent"));
    CHECK(plugin_config_get_number(c, "nonexistent") == 0);
    CHECK_INT(plugin_config_list_count(c, "nonexistent"), 0);
    /* Type-mismatched reads do not crash and read as empty. */
    CHECK(plugin_config_get0_string(c, "retries") == NULL);
    CHECK_INT(plugin_config_get_int(c, "endpoint"), 0);
    /* NULL config or key is tolerated (plugins may call with either). */
    CHECK(plugin_config_get0_string(NULL, "mode") == NULL);
    CHECK(plugin_config_get0_string(c, NULL) == NULL);
    CHECK(!plugin_config_has(NULL, "mode"));
    /* The accessor object owns a copy: changing the source changes nothing. */
    json_object_set_new(values, "retries", json_integer(1));
    CHECK_INT(plugin_config_get_int(c, "retries"), 7);

    /* same_value compares with defaults applied. */
    json_t *other_values = json_loads("{\"endpoint\": \"127.0.0.1:80\", \"mode\": \"relaxed\"}", 0, NULL);
    trellis_config *other = plugin_config_new(schema, other_values);
    CHECK(plugin_config_same_value(c, other, "mode"));     /* default vs explicit */
    CHECK(plugin_config_same_value(c, other, "endpoint"));
    CHECK(!plugin_config_same_value(c, other, "retries")); /* 7 vs default 3 */
    CHECK(plugin_config_same_value(c, other, "optional")); /* both absent */
    plugin_config_free(other);
    json_decref(other_values);

    /* No config object at all: every default still applies. */
    trellis_config *empty = plugin_config_new(schema, NULL);
    CHECK_INT(plugin_config_get_int(empty, "retries"), 3);
    CHECK_INT(plugin_config_list_count(empty, "tags"), 2);
    CHECK_STR(plugin_config_get0_list_item(empty, "tags", 1), "b");
    plugin_config_free(empty);

    plugin_config_free(c);
    json_decref(values);

    CHECK_STR(plugin_config_type_name(TRELLIS_CONFIG_STRING_LIST), "string list");
    CHECK(plugin_config_type_name(0) == NULL);
}

int main(void)
{
    test_schema_check();
    test_validation_messages();
    test_accessors_and_defaults();
    return test_finish("unit_plugin_config");
}
