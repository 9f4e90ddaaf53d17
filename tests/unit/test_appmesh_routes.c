/*
 * api.appmesh routing without a server: the generated route table against
 * the model, every operation's URI to the right operation and parameters,
 * percent-decoding, query handling, and the refusals.
 */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "route_match.h"
#include "test_check.h"

static appmesh_match match;

static appmesh_match_status route(const char *method, const char *path, const char *query)
{
    return appmesh_route_request(method, path, query, NULL, 0, &match);
}

static const char *param(const char *name)
{
    for (size_t i = 0; i < match.param_count; i++) {
        if (strcmp(match.params[i].name, name) == 0)
            return match.params[i].value;
    }
    return NULL;
}

static const char *operation(void)
{
    return match.route ? match.route->operation : "(none)";
}

/* The route table is the model's view of HTTP: same operations, methods,
 * URIs, and exactly the members the model binds outside the body. */
static void test_table_matches_model(void)
{
    CHECK_INT(appmesh_route_count, model_operation_count);
    for (size_t i = 0; i < appmesh_route_count; i++) {
        const appmesh_route *r = &appmesh_routes[i];
        const model_operation *op = model_operation_find(r->operation);
        CHECK(op != NULL);
        if (op == NULL)
            continue;
        CHECK_STR(r->method, op->http_method);
        CHECK_STR(r->uri_template, op->request_uri);
        CHECK(r->binding_count <= APPMESH_MAX_PARAMS);
        size_t bound = 0;
        for (size_t m = 0; m < op->input->member_count; m++)
            bound += op->input->members[m].location != MODEL_IN_BODY;
        CHECK_INT(r->binding_count, bound);
        for (size_t b = 0; b < r->binding_count; b++) {
            const model_member *member = model_member_find(op->input, r->bindings[b].member);
            CHECK(member != NULL);
            if (member == NULL)
                continue;
            CHECK_STR(r->bindings[b].location_name, member->location_name);
            CHECK((member->location == MODEL_IN_URI && r->bindings[b].location == APPMESH_IN_URI) ||
                  (member->location == MODEL_IN_QUERY &&
                   r->bindings[b].location == APPMESH_IN_QUERY) ||
                  (member->location == MODEL_IN_HEADER &&
                   r->bindings[b].location == APPMESH_IN_HEADER));
        }
    }
}

/* Fills a URI template: each {label} becomes "<label>-v%20x" (an encoded
 * space, so decoding is exercised), and checks the route and parameters. */
static void test_every_operation(void)
{
    for (size_t i = 0; i < appmesh_route_count; i++) {
        const appmesh_route *r = &appmesh_routes[i];
        char path[512] = "";
        size_t used = 0;
        for (const char *t = r->uri_template; *t;) {
            if (*t == '{') {
                const char *close = strchr(t, '}');
                used += (size_t)snprintf(path + used, sizeof(path) - used, "%.*s-v%%20x",
                                         (int)(close - t - 1), t + 1);
                t = close + 1;
            } else {
                path[used++] = *t++;
                path[used] = '\0';
            }
        }
        CHECK_INT(route(r->method, path, "meshOwner=111122223333&limit=7&nextToken=tok%2B1&"
                                         "resourceArn=arn%3Aaws%3Aappmesh&other=ignored"),
                  APPMESH_MATCH_OK);
        CHECK_STR(operation(), r->operation);
        CHECK(match.route_index == i);
        for (size_t b = 0; b < r->binding_count; b++) {
            const appmesh_binding *binding = &r->bindings[b];
            const char *value = param(binding->member);
            if (binding->location == APPMESH_IN_URI) {
                char expected[128];
                snprintf(expected, sizeof(expected), "%s-v x", binding->location_name);
                CHECK_STR(value, expected);
            } else if (strcmp(binding->member, "meshOwner") == 0) {
                CHECK_STR(value, "111122223333");
            } else if (strcmp(binding->member, "limit") == 0) {
                CHECK_STR(value, "7");
            } else if (strcmp(binding->member, "nextToken") == 0) {
                CHECK_STR(value, "tok+1");
            } else if (strcmp(binding->member, "resourceArn") == 0) {
                CHECK_STR(value, "arn:aws:appmesh");
            }
        }
        /* Unbound query keys never become parameters. */
        CHECK(param("other") == NULL);
        CHECK(match.param_count == r->binding_count);
    }
}

static void check_route(const char *method, const char *path, const char *query,
                        const char *expected_operation)
{
    CHECK_INT(route(method, path, query), APPMESH_MATCH_OK);
    CHECK_STR(operation(), expected_operation);
}

static void test_named_examples(void)
{
    check_route("PUT", "/v20190125/meshes", "", "CreateMesh");
    CHECK_INT(match.param_count, 0);
    check_route("GET", "/v20190125/meshes", "limit=10&nextToken=abc", "ListMeshes");
    CHECK_STR(param("limit"), "10");
    CHECK_STR(param("nextToken"), "abc");
    check_route("GET", "/v20190125/meshes/apps", "", "DescribeMesh");
    CHECK_STR(param("meshName"), "apps");
    check_route("PUT", "/v20190125/meshes/apps", "", "UpdateMesh");
    check_route("DELETE", "/v20190125/meshes/apps", "", "DeleteMesh");
    check_route("GET", "/v20190125/meshes/apps/virtualNodes/vn", "meshOwner=123456789012",
                "DescribeVirtualNode");
    CHECK_STR(param("meshName"), "apps");
    CHECK_STR(param("virtualNodeName"), "vn");
    CHECK_STR(param("meshOwner"), "123456789012");
    check_route("PUT", "/v20190125/meshes/apps/virtualRouter/vr/routes", "", "CreateRoute");
    CHECK_STR(param("virtualRouterName"), "vr");
    check_route("GET", "/v20190125/meshes/apps/virtualRouters/vr", "", "DescribeVirtualRouter");
    check_route("GET", "/v20190125/meshes/apps/virtualGateway/gw/gatewayRoutes/gr", "",
                "DescribeGatewayRoute");
    CHECK_STR(param("gatewayRouteName"), "gr");
    check_route("GET", "/v20190125/meshes/apps/virtualGateways", "limit=1", "ListVirtualGateways");

    /* Tags: the ARN travels in the query string, percent-encoded. */
    check_route("PUT", "/v20190125/tag",
                "resourceArn=arn%3Aaws%3Aappmesh%3Aus-west-2%3A111122223333%3Amesh%2Fapps",
                "TagResource");
    CHECK_STR(param("resourceArn"), "arn:aws:appmesh:us-west-2:111122223333:mesh/apps");
    check_route("PUT", "/v20190125/untag", "resourceArn=arn", "UntagResource");
    check_route("GET", "/v20190125/tags", "resourceArn=arn&limit=50&nextToken=n",
                "ListTagsForResource");
    CHECK_INT(match.param_count, 3);
    /* A key without '=' or value is an empty value (the model then judges it). */
    check_route("GET", "/v20190125/tags", "resourceArn", "ListTagsForResource");
    CHECK_STR(param("resourceArn"), "");
}

static void test_decoding(void)
{
    /* %2F stays inside its segment. */
    check_route("GET", "/v20190125/meshes/a%2Fb", "", "DescribeMesh");
    CHECK_STR(param("meshName"), "a/b");
    /* UTF-8 in a name. */
    check_route("GET", "/v20190125/meshes/caf%C3%A9", "", "DescribeMesh");
    CHECK_STR(param("meshName"), "caf\xc3\xa9");
    /* '+' is literal in a path, a space in a query. */
    check_route("GET", "/v20190125/meshes/a+b", "", "DescribeMesh");
    CHECK_STR(param("meshName"), "a+b");
    check_route("GET", "/v20190125/meshes", "nextToken=a+b", "ListMeshes");
    CHECK_STR(param("nextToken"), "a b");
    /* Encoded literal segments are decoded too. */
    check_route("GET", "/v20190125/%6Deshes", "", "ListMeshes");
    /* An empty label matches; the model's length rule reports it later. */
    check_route("GET", "/v20190125/meshes/", "", "DescribeMesh");
    CHECK_STR(param("meshName"), "");

    CHECK_INT(route("GET", "/v20190125/meshes/a%zz", ""), APPMESH_MATCH_BAD_REQUEST);
    CHECK_STR(match.message, "The request path has an invalid percent-encoding");
    CHECK_INT(route("GET", "/v20190125/meshes/a%00", ""), APPMESH_MATCH_BAD_REQUEST);
    CHECK_INT(route("GET", "/v20190125/meshes/a%4", ""), APPMESH_MATCH_BAD_REQUEST);
    CHECK_INT(route("GET", "/v20190125/meshes", "limit=%zz"), APPMESH_MATCH_BAD_REQUEST);
    CHECK_STR(match.message, "The query string has an invalid percent-encoding");
    CHECK(match.route == NULL);
    CHECK_INT(match.param_count, 0);
}

static void test_refusals(void)
{
    CHECK_INT(route("GET", "/v20190125/meshes", "limit=1&limit=2"), APPMESH_MATCH_BAD_REQUEST);
    CHECK_STR(match.message, "Query parameter 'limit' is given more than once");
    CHECK_INT(route("PUT", "/v20190125/tag", "resourceArn=a&resourceArn=b"),
              APPMESH_MATCH_BAD_REQUEST);
    /* Unbound keys may repeat: they are ignored. */
    CHECK_INT(route("GET", "/v20190125/meshes", "x=1&x=2"), APPMESH_MATCH_OK);

    CHECK_INT(route("GET", "/v20190125/nothing", ""), APPMESH_MATCH_NO_ROUTE);
    CHECK_STR(match.message, "No App Mesh operation matches GET /v20190125/nothing");
    CHECK_INT(route("GET", "/", ""), APPMESH_MATCH_NO_ROUTE);
    CHECK_INT(route("GET", "/v20190125/meshes/a/b", ""), APPMESH_MATCH_NO_ROUTE);
    CHECK_INT(route("GET", "/v20190125/meshes/apps/virtualNodes/vn/extra", ""),
              APPMESH_MATCH_NO_ROUTE);
    CHECK_INT(route("GET", "/v20190125/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r", ""),
              APPMESH_MATCH_NO_ROUTE);
    CHECK_INT(route("GET", "/V20190125/meshes", ""), APPMESH_MATCH_NO_ROUTE);

    CHECK_INT(route("POST", "/v20190125/meshes", ""), APPMESH_MATCH_NO_METHOD);
    CHECK_STR(match.message, "No App Mesh operation matches POST /v20190125/meshes (it accepts "
                             "PUT, GET)");
    CHECK_INT(route("GET", "/v20190125/tag", ""), APPMESH_MATCH_NO_METHOD);
    CHECK_STR(match.message, "No App Mesh operation matches GET /v20190125/tag (it accepts PUT)");
    CHECK_INT(route("HEAD", "/v20190125/meshes/apps", ""), APPMESH_MATCH_NO_METHOD);
    CHECK_INT(route("get", "/v20190125/meshes", ""), APPMESH_MATCH_NO_METHOD);
}

static void test_headers(void)
{
    /* The 2019-01-25 model binds no header; headers never become params. */
    http_header headers[] = {{"Authorization", "AWS4-HMAC-SHA256 Credential=x"},
                             {"X-Amz-Date", "20260101T000000Z"},
                             {"meshName", "from-header"}};
    CHECK_INT(appmesh_route_request("GET", "/v20190125/meshes/apps", "", headers, 3, &match),
              APPMESH_MATCH_OK);
    CHECK_INT(match.param_count, 1);
    CHECK_STR(param("meshName"), "apps");
}

int main(void)
{
    appmesh_match_init(&match);
    test_table_matches_model();
    test_every_operation();
    test_named_examples();
    test_decoding();
    test_refusals();
    test_headers();
    appmesh_match_free(&match);
    return test_finish("unit_appmesh_routes");
}
