/*
 * model_validate(): every kind of constraint at its boundaries (min - 1, min,
 * max, max + 1), with the exact AWS-style messages.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "test_check.h"

static char message[16384];

#define PREFIX1 "1 validation error detected: "

/* Validates `doc` (a new reference, consumed) against the named shape. */
static size_t validate(const char *shape_name, json_t *doc)
{
    const model_shape *shape = model_shape_find(shape_name);
    if (shape == NULL || doc == NULL) {
        fprintf(stderr, "test setup: no shape %s or no document\n", shape_name);
        json_decref(doc);
        test_failures++;
        return (size_t)-1;
    }
    size_t n = model_validate(shape, doc, "", message, sizeof(message));
    json_decref(doc);
    return n;
}

static json_t *parse(const char *text)
{
    json_error_t error;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &error);
    if (doc == NULL)
        fprintf(stderr, "test setup: bad JSON %s: %s\n", text, error.text);
    return doc;
}

/* `count` copies of `unit` (a UTF-8 character), in a new string. */
static char *repeat(const char *unit, size_t count)
{
    size_t unit_len = strlen(unit);
    char *s = malloc(unit_len * count + 1);
    for (size_t i = 0; i < count; i++)
        memcpy(s + i * unit_len, unit, unit_len);
    s[unit_len * count] = '\0';
    return s;
}

/* CreateMesh input with the given mesh name. */
static size_t validate_mesh_name(const char *name)
{
    return validate("CreateMeshInput", json_pack("{s:s}", "meshName", name));
}

static void test_string_length(void)
{
    CHECK_INT(validate_mesh_name(""), 1);
    CHECK_STR(message, PREFIX1 "Value '' at 'meshName' failed to satisfy constraint: "
                               "Member must have length greater than or equal to 1");
    CHECK_INT(validate_mesh_name("a"), 0);
    CHECK_STR(message, "");

    char *s255 = repeat("a", 255);
    char *s256 = repeat("a", 256);
    CHECK_INT(validate_mesh_name(s255), 0);
    CHECK_INT(validate_mesh_name(s256), 1);
    char expected[1024];
    snprintf(expected, sizeof(expected),
             PREFIX1 "Value '%s' at 'meshName' failed to satisfy constraint: "
                     "Member must have length less than or equal to 255",
             s256);
    CHECK_STR(message, expected);
    free(s255);
    free(s256);

    /* Characters, not bytes: 255 two-, three- and four-byte characters fit. */
    const char *units[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t u = 0; u < 3; u++) {
        char *fits = repeat(units[u], 255);
        char *over = repeat(units[u], 256);
        CHECK_INT(validate_mesh_name(fits), 0);
        CHECK_INT(validate_mesh_name(over), 1);
        CHECK_CONTAINS(message, "Member must have length less than or equal to 255");
        free(fits);
        free(over);
    }

    /* TagValue: 0..256, so "" is valid. TagKey 1..128. */
    CHECK_INT(validate("TagRef", json_pack("{s:s,s:s}", "key", "k", "value", "")), 0);
    char *k128 = repeat("k", 128);
    char *k129 = repeat("k", 129);
    CHECK_INT(validate("TagRef", json_pack("{s:s,s:s}", "key", k128, "value", "v")), 0);
    CHECK_INT(validate("TagRef", json_pack("{s:s,s:s}", "key", k129, "value", "v")), 1);
    CHECK_CONTAINS(message, "at 'key' failed to satisfy constraint: Member must have length "
                            "less than or equal to 128");
    free(k128);
    free(k129);
}

static size_t validate_port(json_t *port)
{
    return validate("PortMapping", json_pack("{s:o,s:s}", "port", port, "protocol", "http"));
}

static void test_integer_ranges(void)
{
    CHECK_INT(validate_port(json_integer(1)), 0);
    CHECK_INT(validate_port(json_integer(65535)), 0);
    CHECK_INT(validate_port(json_integer(0)), 1);
    CHECK_STR(message, PREFIX1 "Value '0' at 'port' failed to satisfy constraint: "
                               "Member must have value greater than or equal to 1");
    CHECK_INT(validate_port(json_integer(65536)), 1);
    CHECK_STR(message, PREFIX1 "Value '65536' at 'port' failed to satisfy constraint: "
                               "Member must have value less than or equal to 65535");
    CHECK_INT(validate_port(json_integer(-1)), 1);
    CHECK_INT(validate_port(json_integer(2147483648LL)), 1);
    CHECK_STR(message, PREFIX1 "Value '2147483648' at 'port' failed to satisfy constraint: "
                               "Member must be an integer from -2147483648 to 2147483647");

    /* Route priority 0..1000. */
    CHECK_INT(validate("RouteSpec", parse("{\"priority\":0}")), 0);
    CHECK_INT(validate("RouteSpec", parse("{\"priority\":1000}")), 0);
    CHECK_INT(validate("RouteSpec", parse("{\"priority\":1001}")), 1);
    CHECK_STR(message, PREFIX1 "Value '1001' at 'priority' failed to satisfy constraint: "
                               "Member must have value less than or equal to 1000");
    CHECK_INT(validate("RouteSpec", parse("{\"priority\":-1}")), 1);

    /* Weighted targets: weight 0..100. */
    CHECK_INT(validate("WeightedTarget", parse("{\"virtualNode\":\"a\",\"weight\":0}")), 0);
    CHECK_INT(validate("WeightedTarget", parse("{\"virtualNode\":\"a\",\"weight\":100}")), 0);
    CHECK_INT(validate("WeightedTarget", parse("{\"virtualNode\":\"a\",\"weight\":101}")), 1);
    CHECK_STR(message, PREFIX1 "Value '101' at 'weight' failed to satisfy constraint: "
                               "Member must have value less than or equal to 100");
    CHECK_INT(validate("WeightedTarget", parse("{\"virtualNode\":\"a\",\"weight\":-1}")), 1);

    /* Longs: health check interval 5000..300000. */
    const char *health = "{\"healthyThreshold\":2,\"unhealthyThreshold\":10,\"protocol\":\"tcp\","
                         "\"timeoutMillis\":2000,\"intervalMillis\":%s}";
    char doc[512];
    snprintf(doc, sizeof(doc), health, "5000");
    CHECK_INT(validate("HealthCheckPolicy", parse(doc)), 0);
    snprintf(doc, sizeof(doc), health, "300000");
    CHECK_INT(validate("HealthCheckPolicy", parse(doc)), 0);
    snprintf(doc, sizeof(doc), health, "4999");
    CHECK_INT(validate("HealthCheckPolicy", parse(doc)), 1);
    CHECK_STR(message, PREFIX1 "Value '4999' at 'intervalMillis' failed to satisfy constraint: "
                               "Member must have value greater than or equal to 5000");
    snprintf(doc, sizeof(doc), health, "300001");
    CHECK_INT(validate("HealthCheckPolicy", parse(doc)), 1);
    snprintf(doc, sizeof(doc), health, "9223372036854775807");
    CHECK_INT(validate("HealthCheckPolicy", parse(doc)), 1);
    CHECK_CONTAINS(message, "less than or equal to 300000");
    /* Thresholds 2..10: both ends of both members. */
    CHECK_INT(validate("HealthCheckPolicy",
                       parse("{\"healthyThreshold\":1,\"unhealthyThreshold\":11,"
                             "\"protocol\":\"tcp\",\"timeoutMillis\":2000,"
                             "\"intervalMillis\":5000}")),
              2);
    CHECK_STR(message, "2 validation errors detected: "
                       "Value '1' at 'healthyThreshold' failed to satisfy constraint: "
                       "Member must have value greater than or equal to 2; "
                       "Value '11' at 'unhealthyThreshold' failed to satisfy constraint: "
                       "Member must have value less than or equal to 10");
}

static json_t *tags(size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, json_pack("{s:s,s:s}", "key", "k", "value", "v"));
    return list;
}

static json_t *targets(size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, json_pack("{s:s,s:i}", "virtualNode", "vn", "weight", 1));
    return list;
}

static void test_list_lengths(void)
{
    CHECK_INT(validate("CreateMeshInput", json_pack("{s:s,s:o}", "meshName", "m", "tags", tags(0))), 0);
    CHECK_INT(validate("CreateMeshInput", json_pack("{s:s,s:o}", "meshName", "m", "tags", tags(50))), 0);
    CHECK_INT(validate("CreateMeshInput", json_pack("{s:s,s:o}", "meshName", "m", "tags", tags(51))), 1);
    CHECK(strncmp(message, PREFIX1 "Value '[{", strlen(PREFIX1 "Value '[{")) == 0);
    CHECK_CONTAINS(message, "}]' at 'tags' failed to satisfy constraint: "
                            "Member must have length less than or equal to 50");

    CHECK_INT(validate("HttpRouteAction", json_pack("{s:o}", "weightedTargets", targets(0))), 1);
    CHECK_STR(message, PREFIX1 "Value '[]' at 'weightedTargets' failed to satisfy constraint: "
                               "Member must have length greater than or equal to 1");
    CHECK_INT(validate("HttpRouteAction", json_pack("{s:o}", "weightedTargets", targets(1))), 0);
    CHECK_INT(validate("HttpRouteAction", json_pack("{s:o}", "weightedTargets", targets(10))), 0);
    CHECK_INT(validate("HttpRouteAction", json_pack("{s:o}", "weightedTargets", targets(11))), 1);
    CHECK_CONTAINS(message, "Member must have length less than or equal to 10");

    /* A list of strings is quoted like Java's List.toString(). */
    CHECK_INT(validate("UntagResourceInput",
                       parse("{\"resourceArn\":\"arn\",\"tagKeys\":[\"a\",\"\"]}")),
              1);
    CHECK_STR(message, PREFIX1 "Value '' at 'tagKeys.2.member' failed to satisfy constraint: "
                               "Member must have length greater than or equal to 1");
    CHECK_INT(validate("TlsValidationContextAcmTrust",
                       parse("{\"certificateAuthorityArns\":[\"a\",\"b\",\"c\",\"d\"]}")),
              1);
    CHECK_STR(message, PREFIX1 "Value '[a, b, c, d]' at 'certificateAuthorityArns' failed to "
                               "satisfy constraint: Member must have length less than or "
                               "equal to 3");
}

static void test_nested_paths(void)
{
    const char *node = "{\"meshName\":\"m\",\"virtualNodeName\":\"vn\",\"spec\":{\"listeners\":["
                       "{\"portMapping\":{\"port\":8080,\"protocol\":\"http\"}},"
                       "{\"portMapping\":{\"port\":70000,\"protocol\":\"http\"}}]}}";
    CHECK_INT(validate("CreateVirtualNodeInput", parse(node)), 1);
    CHECK_STR(message, PREFIX1 "Value '70000' at 'spec.listeners.2.member.portMapping.port' "
                               "failed to satisfy constraint: Member must have value less than "
                               "or equal to 65535");

    /* A path given by the caller prefixes every path. */
    const model_shape *mapping = model_shape_find("PortMapping");
    json_t *doc = parse("{\"port\":0,\"protocol\":\"http\"}");
    CHECK_INT(model_validate(mapping, doc, "spec.listeners.1.member.portMapping", message,
                             sizeof(message)),
              1);
    CHECK_CONTAINS(message, "at 'spec.listeners.1.member.portMapping.port'");
    json_decref(doc);
}

static void test_required(void)
{
    CHECK_INT(validate("CreateVirtualNodeInput", parse("{\"meshName\":\"m\",\"virtualNodeName\":\"v\"}")), 1);
    CHECK_STR(message, PREFIX1 "Value null at 'spec' failed to satisfy constraint: "
                               "Member must not be null");
    CHECK_INT(validate("CreateVirtualNodeInput", parse("{\"meshName\":\"m\",\"virtualNodeName\":\"v\","
                                                       "\"spec\":{\"listeners\":[{}]}}")),
              1);
    CHECK_STR(message, PREFIX1 "Value null at 'spec.listeners.1.member.portMapping' failed to "
                               "satisfy constraint: Member must not be null");
    CHECK_INT(validate("CreateVirtualNodeInput", parse("{}")), 3);
    CHECK_STR(message, "3 validation errors detected: "
                       "Value null at 'meshName' failed to satisfy constraint: Member must not be null; "
                       "Value null at 'spec' failed to satisfy constraint: Member must not be null; "
                       "Value null at 'virtualNodeName' failed to satisfy constraint: Member must not be null");
    /* JSON null is "not set": required is reported, optional is ignored. */
    CHECK_INT(validate("CreateVirtualNodeInput", parse("{\"meshName\":\"m\",\"virtualNodeName\":\"v\",\"spec\":null}")), 1);
    CHECK_CONTAINS(message, "Value null at 'spec'");
    CHECK_INT(validate("CreateMeshInput", parse("{\"meshName\":\"m\",\"spec\":null,\"tags\":null}")), 0);
    /* ...but a list element cannot be null. */
    CHECK_INT(validate("UntagResourceInput", parse("{\"resourceArn\":\"a\",\"tagKeys\":[null]}")), 1);
    CHECK_STR(message, PREFIX1 "Value null at 'tagKeys.1.member' failed to satisfy constraint: "
                               "Member must not be null");
    /* The top-level value itself. */
    CHECK_INT(model_validate(model_shape_find("CreateMeshInput"), NULL, "", message, sizeof(message)), 1);
    CHECK_STR(message, PREFIX1 "Value null at '' failed to satisfy constraint: Member must not be null");
}

static void test_enums(void)
{
    CHECK_INT(validate("PortMapping", parse("{\"port\":80,\"protocol\":\"http2\"}")), 0);
    CHECK_INT(validate("PortMapping", parse("{\"port\":80,\"protocol\":\"HTTP\"}")), 1);
    CHECK_STR(message, PREFIX1 "Value 'HTTP' at 'protocol' failed to satisfy constraint: "
                               "Member must satisfy enum value set: [http, tcp, http2, grpc]");
    CHECK_INT(validate("EgressFilter", parse("{\"type\":\"DROP_ALL\"}")), 0);
    CHECK_INT(validate("EgressFilter", parse("{\"type\":\"\"}")), 1);
    CHECK_STR(message, PREFIX1 "Value '' at 'type' failed to satisfy constraint: "
                               "Member must satisfy enum value set: [ALLOW_ALL, DROP_ALL]");
}

static void test_unions(void)
{
    CHECK_INT(validate("ServiceDiscovery", parse("{\"dns\":{\"hostname\":\"h\"}}")), 0);
    CHECK_INT(validate("ServiceDiscovery",
                       parse("{\"awsCloudMap\":{\"namespaceName\":\"n\",\"serviceName\":\"s\"}}")),
              0);
    CHECK_INT(validate("ServiceDiscovery", parse("{}")), 1);
    CHECK_STR(message, PREFIX1 "Value '{}' at '' failed to satisfy constraint: Member must have "
                               "exactly one of [awsCloudMap, dns] set, but has none");
    CHECK_INT(validate("ServiceDiscovery",
                       parse("{\"dns\":{\"hostname\":\"h\"},\"awsCloudMap\":"
                             "{\"namespaceName\":\"n\",\"serviceName\":\"s\"}}")),
              1);
    CHECK_CONTAINS(message, "Member must have exactly one of [awsCloudMap, dns] set, but has 2: "
                            "awsCloudMap, dns");
    /* A null member is not set. */
    CHECK_INT(validate("ServiceDiscovery", parse("{\"dns\":{\"hostname\":\"h\"},\"awsCloudMap\":null}")), 0);
    CHECK_INT(validate("ServiceDiscovery", parse("{\"dns\":null}")), 1);
    /* Nested, with the member path. */
    CHECK_INT(validate("TlsValidationContext", parse("{\"trust\":{}}")), 1);
    CHECK_STR(message, PREFIX1 "Value '{}' at 'trust' failed to satisfy constraint: Member must "
                               "have exactly one of [acm, file, sds] set, but has none");
    CHECK_INT(validate("TlsValidationContext",
                       parse("{\"trust\":{\"file\":{\"certificateChain\":\"c\"},"
                             "\"sds\":{\"secretName\":\"s\"},\"acm\":"
                             "{\"certificateAuthorityArns\":[\"a\"]}}}")),
              1);
    CHECK_CONTAINS(message, "but has 3: acm, file, sds");
}

static void test_unknown_members(void)
{
    CHECK_INT(validate("CreateMeshInput", parse("{\"meshName\":\"m\",\"meshname\":\"x\"}")), 1);
    CHECK_STR(message, PREFIX1 "Value 'x' at 'meshname' failed to satisfy constraint: "
                               "Member is not part of CreateMeshInput");
    CHECK_INT(validate("CreateMeshInput",
                       parse("{\"meshName\":\"m\",\"spec\":{\"egressFilter\":{\"type\":\"ALLOW_ALL\","
                             "\"extra\":{\"a\":1}}}}")),
              1);
    CHECK_STR(message, PREFIX1 "Value '{\"a\":1}' at 'spec.egressFilter.extra' failed to satisfy "
                               "constraint: Member is not part of EgressFilter");
}

static void test_wrong_types(void)
{
    CHECK_INT(validate_port(json_real(80.0)), 1);
    CHECK_STR(message, PREFIX1 "Value '80.0' at 'port' failed to satisfy constraint: "
                               "Member must be an integer, not a decimal number");
    CHECK_INT(validate_port(json_string("80")), 1);
    CHECK_STR(message, PREFIX1 "Value '80' at 'port' failed to satisfy constraint: "
                               "Member must be an integer, not a string");
    CHECK_INT(validate_port(json_true()), 1);
    CHECK_CONTAINS(message, "Member must be an integer, not a boolean");
    CHECK_INT(validate("CreateMeshInput", parse("{\"meshName\":5}")), 1);
    CHECK_STR(message, PREFIX1 "Value '5' at 'meshName' failed to satisfy constraint: "
                               "Member must be a string, not an integer");
    CHECK_INT(validate("CreateMeshInput", parse("{\"meshName\":\"m\",\"tags\":{}}")), 1);
    CHECK_CONTAINS(message, "at 'tags' failed to satisfy constraint: Member must be a list, not an object");
    CHECK_INT(validate("CreateMeshInput", parse("{\"meshName\":\"m\",\"spec\":[]}")), 1);
    CHECK_CONTAINS(message, "Value '[]' at 'spec' failed to satisfy constraint: Member must be an object, not a list");
    CHECK_INT(validate("ClientPolicyTls", parse("{\"enforce\":\"true\",\"validation\":{\"trust\":{\"file\":{\"certificateChain\":\"c\"}}}}")), 1);
    CHECK_STR(message, PREFIX1 "Value 'true' at 'enforce' failed to satisfy constraint: "
                               "Member must be a boolean, not a string");
    CHECK_INT(validate("CreateMeshInput", parse("[]")), 1);
    CHECK_STR(message, PREFIX1 "Value '[]' at '' failed to satisfy constraint: "
                               "Member must be an object, not a list");
    /* NUL inside a string (only possible in documents built in code). */
    CHECK_INT(validate("CreateMeshInput", json_pack("{s:s#}", "meshName", "a\0b", (size_t)3)), 1);
    CHECK_CONTAINS(message, "at 'meshName' failed to satisfy constraint: Member must not contain NUL characters");
}

static void test_patterns(void)
{
    const char *attribute = "{\"key\":\"%s\",\"value\":\"%s\"}";
    char doc[512];
    snprintf(doc, sizeof(doc), attribute, "stage", "prod env");
    CHECK_INT(validate("AwsCloudMapInstanceAttribute", parse(doc)), 0);
    snprintf(doc, sizeof(doc), attribute, "st age", "prod");
    CHECK_INT(validate("AwsCloudMapInstanceAttribute", parse(doc)), 1);
    CHECK_STR(message, PREFIX1 "Value 'st age' at 'key' failed to satisfy constraint: "
                               "Member must satisfy regular expression pattern: ^[a-zA-Z0-9!-~]+$");
    /* Non-ASCII never falls inside [!-~]. */
    snprintf(doc, sizeof(doc), attribute, "\xc3\xa9", "v");
    CHECK_INT(validate("AwsCloudMapInstanceAttribute", parse(doc)), 1);
    snprintf(doc, sizeof(doc), attribute, "k", "\xc3\xa9t\xc3\xa9");
    CHECK_INT(validate("AwsCloudMapInstanceAttribute", parse(doc)), 1);
    CHECK_CONTAINS(message, "Member must satisfy regular expression pattern: "
                            "^([a-zA-Z0-9!-~][  a-zA-Z0-9!-~]*){0,1}[a-zA-Z0-9!-~]{0,1}$");
    /* The value pattern admits "", so "" fails only the length (min 1). */
    snprintf(doc, sizeof(doc), attribute, "k", "");
    CHECK_INT(validate("AwsCloudMapInstanceAttribute", parse(doc)), 1);
    CHECK_STR(message, PREFIX1 "Value '' at 'value' failed to satisfy constraint: "
                               "Member must have length greater than or equal to 1");
    /* Both the length and the pattern of one value: two violations. */
    snprintf(doc, sizeof(doc), attribute, "", "v");
    CHECK_INT(validate("AwsCloudMapInstanceAttribute", parse(doc)), 2);
    CHECK_STR(message, "2 validation errors detected: "
                       "Value '' at 'key' failed to satisfy constraint: Member must have length "
                       "greater than or equal to 1; "
                       "Value '' at 'key' failed to satisfy constraint: Member must satisfy "
                       "regular expression pattern: ^[a-zA-Z0-9!-~]+$");
}

static void test_quoting_and_truncation(void)
{
    /* Control characters are escaped so the message stays on one line. */
    CHECK_INT(validate("PortMapping", parse("{\"port\":80,\"protocol\":\"a\\nb\\u0001\"}")), 1);
    CHECK_CONTAINS(message, "Value 'a\\nb\\u0001' at 'protocol'");
    CHECK(strchr(message, '\n') == NULL);

    /* A small buffer: cut, NUL-terminated, never inside a character, count intact. */
    char *long_name = repeat("\xc3\xa9", 300);
    json_t *doc = json_pack("{s:s}", "meshName", long_name);
    char small[64];
    memset(small, 'x', sizeof(small));
    CHECK_INT(model_validate(model_shape_find("CreateMeshInput"), doc, "", small, sizeof(small)), 1);
    CHECK(strlen(small) < sizeof(small));
    CHECK(strncmp(small, PREFIX1, strlen(PREFIX1)) == 0);
    json_t *as_json = json_string(small); /* jansson refuses invalid UTF-8 */
    CHECK(as_json != NULL);
    json_decref(as_json);
    CHECK_INT(model_validate(model_shape_find("CreateMeshInput"), doc, "", NULL, 0), 1);
    json_decref(doc);
    free(long_name);
}

int main(void)
{
    test_string_length();
    test_integer_ranges();
    test_list_lengths();
    test_nested_paths();
    test_required();
    test_enums();
    test_unions();
    test_unknown_members();
    test_wrong_types();
    test_patterns();
    test_quoting_and_truncation();
    return test_finish("unit_model_validate");
}
