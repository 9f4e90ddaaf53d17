/*
 * The generated model tables and their lookups: counts, order, integrity of
 * every cross reference, and spot checks of facts from service-2.json.
 */
#include <string.h>

#include "model/model.h"
#include "model/model_pattern.h"
#include "test_check.h"

static void test_counts_and_order(void)
{
    CHECK_INT(model_shape_count, 333);
    CHECK_INT(model_operation_count, 38);
    CHECK_INT(model_error_count, 10);
    for (size_t i = 1; i < model_shape_count; i++)
        CHECK(strcmp(model_shapes[i - 1].name, model_shapes[i].name) < 0);
    for (size_t i = 1; i < model_operation_count; i++)
        CHECK(strcmp(model_operations[i - 1].name, model_operations[i].name) < 0);
    for (size_t i = 1; i < model_error_count; i++)
        CHECK(strcmp(model_errors[i - 1].name, model_errors[i].name) < 0);
}

/* Every pointer in the tables leads somewhere sensible. */
static void test_integrity(void)
{
    size_t structures = 0, members = 0, unions = 0, enums = 0, patterns = 0;
    for (size_t i = 0; i < model_shape_count; i++) {
        const model_shape *s = &model_shapes[i];
        CHECK(s->type >= MODEL_STRUCTURE && s->type <= MODEL_DOUBLE);
        CHECK(model_shape_find(s->name) == s);
        if (s->type == MODEL_LIST)
            CHECK(s->element != NULL);
        if (s->type == MODEL_STRUCTURE) {
            structures++;
            members += s->member_count;
            CHECK(s->member_count == 0 || s->members != NULL);
            for (size_t m = 0; m < s->member_count; m++) {
                CHECK(s->members[m].shape != NULL);
                CHECK(s->members[m].location <= MODEL_IN_HEADER);
                CHECK((s->members[m].location == MODEL_IN_BODY) ==
                      (s->members[m].location_name == NULL));
                CHECK(model_member_find(s, s->members[m].name) == &s->members[m]);
            }
        } else {
            CHECK(s->member_count == 0);
        }
        unions += s->is_union;
        enums += s->enum_values != NULL;
        patterns += s->pattern != NULL;
        if (s->has_min && s->has_max)
            CHECK(s->min <= s->max);
    }
    CHECK_INT(structures, 228);
    CHECK_INT(members, 597);
    CHECK_INT(unions, 20);
    CHECK_INT(enums, 20);
    CHECK_INT(patterns, 2);
    CHECK(model_patterns_ok());

    size_t tokens = 0;
    for (size_t i = 0; i < model_operation_count; i++) {
        const model_operation *op = &model_operations[i];
        CHECK(model_operation_find(op->name) == op);
        CHECK(op->input != NULL && op->input->type == MODEL_STRUCTURE);
        CHECK(op->output != NULL && op->output->type == MODEL_STRUCTURE);
        CHECK(strncmp(op->request_uri, "/v20190125/", 11) == 0);
        CHECK(strcmp(op->http_method, "GET") == 0 || strcmp(op->http_method, "PUT") == 0 ||
              strcmp(op->http_method, "DELETE") == 0);
        if (op->output_payload != NULL)
            CHECK(model_member_find(op->output, op->output_payload) != NULL);
        CHECK(op->errors != NULL && op->errors[0] != NULL);
        for (const char *const *e = op->errors; *e != NULL; e++)
            CHECK(model_error_http_status(*e) != 500 ||
                  strcmp(*e, "InternalServerErrorException") == 0);
        const model_member *token = model_member_find(op->input, "clientToken");
        if (token != NULL) {
            CHECK(token->idempotency_token);
            tokens++;
        }
    }
    CHECK_INT(tokens, 14);
}

static void test_spot_checks(void)
{
    const model_shape *port = model_shape_find("PortNumber");
    CHECK(port != NULL && port->type == MODEL_INTEGER && port->has_min && port->min == 1 &&
          port->has_max && port->max == 65535);
    const model_shape *interval = model_shape_find("HealthCheckIntervalMillis");
    CHECK(interval != NULL && interval->type == MODEL_LONG && interval->min == 5000 &&
          interval->max == 300000);
    const model_shape *name = model_shape_find("ResourceName");
    CHECK(name != NULL && name->type == MODEL_STRING && name->min == 1 && name->max == 255);
    const model_shape *tags = model_shape_find("TagList");
    CHECK(tags != NULL && tags->type == MODEL_LIST && tags->min == 0 && tags->max == 50 &&
          tags->element == model_shape_find("TagRef"));
    const model_shape *protocol = model_shape_find("PortProtocol");
    CHECK(protocol != NULL && protocol->enum_values != NULL);
    if (protocol != NULL && protocol->enum_values != NULL) {
        CHECK_STR(protocol->enum_values[0], "http");
        CHECK_STR(protocol->enum_values[3], "grpc");
        CHECK(protocol->enum_values[4] == NULL);
    }
    const model_shape *discovery = model_shape_find("ServiceDiscovery");
    CHECK(discovery != NULL && discovery->is_union && discovery->member_count == 2);
    const model_shape *key = model_shape_find("AwsCloudMapInstanceAttributeKey");
    CHECK(key != NULL && key->pattern != NULL);
    if (key != NULL)
        CHECK_STR(key->pattern, "^[a-zA-Z0-9!-~]+$");

    const model_operation *update = model_operation_find("UpdateMesh");
    CHECK(update != NULL);
    if (update != NULL) {
        CHECK_STR(update->http_method, "PUT");
        CHECK_STR(update->request_uri, "/v20190125/meshes/{meshName}");
        CHECK_STR(update->output_payload, "mesh");
        const model_member *mesh_name = model_member_find(update->input, "meshName");
        CHECK(mesh_name != NULL && mesh_name->location == MODEL_IN_URI && mesh_name->required);
        if (mesh_name != NULL)
            CHECK_STR(mesh_name->location_name, "meshName");
    }
    const model_operation *create = model_operation_find("CreateMesh");
    CHECK(create != NULL);
    if (create != NULL) {
        const model_member *mesh_name = model_member_find(create->input, "meshName");
        CHECK(mesh_name != NULL && mesh_name->location == MODEL_IN_BODY);
    }
    const model_operation *list = model_operation_find("ListTagsForResource");
    CHECK(list != NULL && list->output_payload == NULL);
    if (list != NULL) {
        const model_member *limit = model_member_find(list->input, "limit");
        CHECK(limit != NULL && limit->location == MODEL_IN_QUERY &&
              limit->shape->type == MODEL_INTEGER);
    }

    CHECK(model_operation_find("NoSuchOperation") == NULL);
    CHECK(model_operation_find(NULL) == NULL);
    CHECK(model_shape_find("NoSuchShape") == NULL);
    CHECK(model_member_find(model_shape_find("PortNumber"), "x") == NULL);
    CHECK(model_member_find(model_shape_find("PortMapping"), "nope") == NULL);
}

static void test_error_statuses(void)
{
    CHECK_INT(model_error_http_status("BadRequestException"), 400);
    CHECK_INT(model_error_http_status("ConflictException"), 409);
    CHECK_INT(model_error_http_status("ForbiddenException"), 403);
    CHECK_INT(model_error_http_status("InternalServerErrorException"), 500);
    CHECK_INT(model_error_http_status("LimitExceededException"), 400);
    CHECK_INT(model_error_http_status("NotFoundException"), 404);
    CHECK_INT(model_error_http_status("ResourceInUseException"), 409);
    CHECK_INT(model_error_http_status("ServiceUnavailableException"), 503);
    CHECK_INT(model_error_http_status("TooManyRequestsException"), 429);
    CHECK_INT(model_error_http_status("TooManyTagsException"), 400);
    CHECK_INT(model_error_http_status("SomethingElse"), 500);
    CHECK_INT(model_error_http_status(NULL), 500);
    CHECK(model_errors[0].sender_fault);              /* BadRequestException */
    CHECK(!model_errors[3].sender_fault);             /* InternalServerErrorException */
}

int main(void)
{
    test_counts_and_order();
    test_integrity();
    test_spot_checks();
    test_error_statuses();
    return test_finish("unit_model");
}
