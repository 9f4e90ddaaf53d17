/*
 * model_build_input(): body parsing (empty, malformed, duplicate keys,
 * invalid UTF-8, NUL, surrogates), parameter conversion, members bound
 * outside the body, and the validation that follows.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "test_check.h"

static char message[4096];

#define PARAMS(...) ((const trellis_api_param[]){__VA_ARGS__})
#define COUNT(...) (sizeof((const trellis_api_param[]){__VA_ARGS__}) / sizeof(trellis_api_param))

static json_t *build(const char *operation, const trellis_api_param *params, size_t count,
                     const char *body, size_t body_len)
{
    const model_operation *op = model_operation_find(operation);
    CHECK(op != NULL);
    memset(message, 'x', sizeof(message));
    message[sizeof(message) - 1] = '\0';
    json_t *input = model_build_input(op, params, count, body, body_len, message, sizeof(message));
    if (input != NULL)
        message[0] = '\0';
    return input;
}

static json_t *build_body(const char *operation, const char *body)
{
    return build(operation, NULL, 0, body, strlen(body));
}

/* The input as compact JSON with sorted keys, for exact comparison. */
static char *dump(const json_t *input)
{
    return json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
}

static void check_input(json_t *input, const char *expected)
{
    CHECK(input != NULL);
    if (input == NULL) {
        fprintf(stderr, "  message: %s\n", message);
        return;
    }
    char *text = dump(input);
    CHECK_STR(text, expected);
    free(text);
    json_decref(input);
}

static void test_bodies(void)
{
    /* Empty and blank bodies mean {}. */
    check_input(build("ListMeshes", NULL, 0, "", 0), "{}");
    check_input(build("ListMeshes", NULL, 0, NULL, 0), "{}");
    check_input(build_body("ListMeshes", " \r\n\t"), "{}");
    check_input(build_body("CreateMesh", "{\"meshName\":\"m\"}"), "{\"meshName\":\"m\"}");

    CHECK(build_body("CreateMesh", "{\"meshName\":") == NULL);
    CHECK_STR(message, "Request body is not valid JSON (line 1, column 12): unexpected token "
                       "near end of file");
    CHECK(build_body("CreateMesh", "{\"meshName\":\"a\"} x") == NULL);
    CHECK_CONTAINS(message, "Request body is not valid JSON (line 1, column 18)");
    CHECK(build_body("CreateMesh", "[1]") == NULL);
    CHECK_STR(message, "Request body must be a JSON object, not a list");
    CHECK(build_body("CreateMesh", "\"m\"") == NULL);
    CHECK_STR(message, "Request body must be a JSON object, not a string");
    CHECK(build_body("CreateMesh", "null") == NULL);
    CHECK_STR(message, "Request body must be a JSON object, not null");

    CHECK(build_body("CreateMesh", "{\"meshName\":\"a\",\"meshName\":\"b\"}") == NULL);
    CHECK_STR(message, "Request body has a duplicate member (line 1, column 26): duplicate "
                       "object key near '\"meshName\"'");

    /* Invalid UTF-8: a stray byte, an overlong form, a CESU surrogate. */
    CHECK(build_body("CreateMesh", "{\"meshName\":\"\xff\"}") == NULL);
    CHECK_CONTAINS(message, "Request body is not valid UTF-8 (line 1, column 13)");
    CHECK_CONTAINS(message, "0xff");
    CHECK(build_body("CreateMesh", "{\"meshName\":\"\xc0\xaf\"}") == NULL);
    CHECK_CONTAINS(message, "Request body is not valid UTF-8");
    CHECK(build_body("CreateMesh", "{\"meshName\":\"\xed\xa0\x80\"}") == NULL);
    CHECK_CONTAINS(message, "Request body is not valid UTF-8");
    json_t *s = json_string(message);
    CHECK(s != NULL); /* the message itself is valid UTF-8 */
    json_decref(s);

    /* NUL: escaped and raw. */
    CHECK(build_body("CreateMesh", "{\"meshName\":\"a\\u0000b\"}") == NULL);
    CHECK_CONTAINS(message, "Request body contains the NUL character \\u0000 (line 1, column");
    CHECK(build("CreateMesh", NULL, 0, "{\"meshName\":\"a\0b\"}", 18) == NULL);
    CHECK_CONTAINS(message, "Request body is not valid JSON");

    /* Surrogates: a pair is one character, a lone one is malformed. */
    check_input(build_body("CreateMesh", "{\"meshName\":\"\\ud83d\\ude00\"}"),
                "{\"meshName\":\"\xf0\x9f\x98\x80\"}");
    CHECK(build_body("CreateMesh", "{\"meshName\":\"\\ud800\"}") == NULL);
    CHECK_CONTAINS(message, "invalid Unicode '\\uD800'");
    CHECK(build_body("CreateMesh", "{\"meshName\":\"\\udc00\\ud800\"}") == NULL);

    /* Big numbers: beyond int64 is malformed, floats fail validation. */
    CHECK(build_body("CreateMesh", "{\"meshName\":\"m\",\"spec\":{\"egressFilter\":{\"type\":"
                                   "\"ALLOW_ALL\"}},\"x\":99999999999999999999}") == NULL);
    CHECK_CONTAINS(message, "too big integer");

    /* null members are not set and do not reach the caller. */
    check_input(build_body("CreateMesh", "{\"meshName\":\"m\",\"spec\":{\"egressFilter\":null},"
                                         "\"tags\":null}"),
                "{\"meshName\":\"m\",\"spec\":{}}");
}

static void test_params(void)
{
    check_input(build("DescribeMesh", PARAMS({"meshName", "apps"}), 1, "", 0),
                "{\"meshName\":\"apps\"}");
    check_input(build("ListVirtualNodes",
                      PARAMS({"meshName", "apps"}, {"limit", "10"}, {"nextToken", "abc=="},
                             {"meshOwner", "111122223333"}),
                      4, "", 0),
                "{\"limit\":10,\"meshName\":\"apps\",\"meshOwner\":\"111122223333\","
                "\"nextToken\":\"abc==\"}");
    check_input(build("ListMeshes", PARAMS({"limit", "1"}), 1, "", 0), "{\"limit\":1}");
    check_input(build("ListMeshes", PARAMS({"limit", "100"}), 1, "", 0), "{\"limit\":100}");

    /* Integers must be canonical. */
    const char *bad[] = {"abc", "", "05", "+5", " 5", "5 ", "5.0", "1e2", "-0", "0x10",
                         "2147483648", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(build("ListMeshes", PARAMS({"limit", bad[i]}), 1, "", 0) == NULL);
        CHECK_CONTAINS(message, "Parameter 'limit' must be an integer from -2147483648 to "
                                "2147483647, got '");
    }
    CHECK(build("ListMeshes", PARAMS({"limit", "abc"}), 1, "", 0) == NULL);
    CHECK_STR(message, "Parameter 'limit' must be an integer from -2147483648 to 2147483647, "
                       "got 'abc'");
    CHECK(build("ListMeshes", PARAMS({"limit", "a\nb"}), 1, "", 0) == NULL);
    CHECK_CONTAINS(message, "got 'a\\nb'");

    /* In range for the type, outside the model's range: a validation error. */
    CHECK(build("ListMeshes", PARAMS({"limit", "0"}), 1, "", 0) == NULL);
    CHECK_STR(message, "1 validation error detected: Value '0' at 'limit' failed to satisfy "
                       "constraint: Member must have value greater than or equal to 1");
    CHECK(build("ListMeshes", PARAMS({"limit", "101"}), 1, "", 0) == NULL);
    CHECK_STR(message, "1 validation error detected: Value '101' at 'limit' failed to satisfy "
                       "constraint: Member must have value less than or equal to 100");
    CHECK(build("ListMeshes", PARAMS({"limit", "-1"}), 1, "", 0) == NULL);
    CHECK_CONTAINS(message, "Value '-1' at 'limit'");

    /* Strings: any valid UTF-8; an empty URI label fails the length. */
    CHECK(build("DescribeMesh", PARAMS({"meshName", ""}), 1, "", 0) == NULL);
    CHECK_STR(message, "1 validation error detected: Value '' at 'meshName' failed to satisfy "
                       "constraint: Member must have length greater than or equal to 1");
    check_input(build("DescribeMesh", PARAMS({"meshName", "a/b c"}), 1, "", 0),
                "{\"meshName\":\"a/b c\"}");
    CHECK(build("DescribeMesh", PARAMS({"meshName", "a\xff"}), 1, "", 0) == NULL);
    CHECK_STR(message, "Parameter 'meshName' must be valid UTF-8, got 'a\\xFF'");
    CHECK(build("DescribeMesh", PARAMS({"meshOwner", "1234"}), 1, "", 0) == NULL);
    CHECK_CONTAINS(message, "Value null at 'meshName' failed to satisfy constraint: "
                            "Member must not be null");
    CHECK_CONTAINS(message, "Value '1234' at 'meshOwner' failed to satisfy constraint: "
                            "Member must have length greater than or equal to 12");

    /* Twice the same parameter, an unknown one, a body member as a parameter. */
    CHECK(build("ListMeshes", PARAMS({"limit", "1"}, {"limit", "2"}), 2, "", 0) == NULL);
    CHECK_STR(message, "Parameter 'limit' is given more than once");
    CHECK(build("ListMeshes", PARAMS({"color", "red"}), 1, "", 0) == NULL);
    CHECK_STR(message, "ListMeshes takes no request parameter named 'color'");
    CHECK(build("CreateMesh", PARAMS({"meshName", "m"}), 1, "", 0) == NULL);
    CHECK_STR(message, "CreateMesh takes no request parameter named 'meshName'");
    CHECK(build("ListMeshes", PARAMS({"limit", NULL}), 1, "", 0) == NULL);

    /* Members bound outside the body may not appear in it. */
    CHECK(build("UpdateMesh", PARAMS({"meshName", "m"}), 1, "{\"meshName\":\"m\"}", 16) == NULL);
    CHECK_STR(message, "Member 'meshName' must be given in the request URI, not in the request body");
    CHECK(build("ListMeshes", NULL, 0, "{\"limit\":5}", 11) == NULL);
    CHECK_STR(message, "Member 'limit' must be given in the query string, not in the request body");
    CHECK(build("CreateVirtualNode", PARAMS({"meshName", "m"}), 1,
                "{\"meshOwner\":\"111122223333\",\"virtualNodeName\":\"v\",\"spec\":{}}", 60) == NULL);
    CHECK_CONTAINS(message, "Member 'meshOwner' must be given in the query string");

    /* Params and body together, then validated as a whole. */
    const char *node = "{\"virtualNodeName\":\"vn\",\"clientToken\":\"t\",\"spec\":{\"listeners\":"
                       "[{\"portMapping\":{\"port\":8080,\"protocol\":\"http\"}}]}}";
    check_input(build("CreateVirtualNode", PARAMS({"meshName", "apps"}), 1, node, strlen(node)),
                "{\"clientToken\":\"t\",\"meshName\":\"apps\",\"spec\":{\"listeners\":[{"
                "\"portMapping\":{\"port\":8080,\"protocol\":\"http\"}}]},\"virtualNodeName\":"
                "\"vn\"}");
    CHECK(build("CreateVirtualNode", NULL, 0, node, strlen(node)) == NULL);
    CHECK_STR(message, "1 validation error detected: Value null at 'meshName' failed to satisfy "
                       "constraint: Member must not be null");

    /* Tags with the resource ARN from the query. */
    const char *tag = "{\"tags\":[{\"key\":\"team\",\"value\":\"a\"}]}";
    check_input(build("TagResource", PARAMS({"resourceArn", "arn:aws:appmesh:r:1:mesh/m"}), 1, tag,
                      strlen(tag)),
                "{\"resourceArn\":\"arn:aws:appmesh:r:1:mesh/m\",\"tags\":[{\"key\":\"team\","
                "\"value\":\"a\"}]}");
}

static void test_small_message_buffer(void)
{
    char small[16];
    const model_operation *op = model_operation_find("CreateMesh");
    CHECK(model_build_input(op, NULL, 0, "{", 1, small, sizeof(small)) == NULL);
    CHECK(strlen(small) == sizeof(small) - 1);
    CHECK(model_build_input(op, NULL, 0, "{", 1, NULL, 0) == NULL);
    CHECK(model_build_input(NULL, NULL, 0, "", 0, small, sizeof(small)) == NULL);
}

int main(void)
{
    test_bodies();
    test_params();
    test_small_message_buffer();
    return test_finish("unit_model_build_input");
}
