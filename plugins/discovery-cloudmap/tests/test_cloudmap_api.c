/*
 * Cloud Map request bodies and answers: the DiscoverInstances body, the
 * attribute filter applied again locally, Cloud Map's HealthStatus rules
 * (UNKNOWN counts as healthy, HEALTHY_OR_ELSE_ALL fails open), ports and
 * zones from attributes, the guide's IP preference table, and error answers
 * (AWS and moto spellings) with the status the core keeps sets on.
 */
#include <stdlib.h>
#include <string.h>

#include "cloudmap_api.h"
#include "test_check.h"

static const char *answer =
    "{\"Instances\": ["
    " {\"InstanceId\": \"a\", \"HealthStatus\": \"HEALTHY\", \"Attributes\": {"
    "   \"AWS_INSTANCE_IPV4\": \"10.0.0.1\", \"AWS_INSTANCE_PORT\": \"8080\", \"stage\": \"prod\","
    "   \"AVAILABILITY_ZONE\": \"us-east-1a\"}},"
    " {\"InstanceId\": \"b\", \"HealthStatus\": \"UNKNOWN\", \"Attributes\": {"
    "   \"AWS_INSTANCE_IPV6\": \"fd00::2\", \"stage\": \"prod\"}},"
    " {\"InstanceId\": \"c\", \"HealthStatus\": \"UNHEALTHY\", \"Attributes\": {"
    "   \"AWS_INSTANCE_IPV4\": \"10.0.0.3\", \"AWS_INSTANCE_IPV6\": \"fd00::3\","
    "   \"AWS_INSTANCE_PORT\": \"99999\", \"stage\": \"prod\"}},"
    " {\"InstanceId\": \"d\", \"HealthStatus\": \"HEALTHY\", \"Attributes\": {"
    "   \"AWS_INSTANCE_IPV4\": \"10.0.0.4\", \"AWS_INSTANCE_IPV6\": \"fd00::4\", \"stage\": \"dev\"}}"
    "], \"InstancesRevision\": 7}";

static const trellis_discovery_attribute prod[] = {{"stage", "prod"}};

static void test_bodies(void)
{
    char *body = cloudmap_discover_instances_body("apps.local", "web", prod, 1,
                                                  CLOUDMAP_HEALTH_HEALTHY_OR_ELSE_ALL, 1000);
    CHECK_STR(body, "{\"NamespaceName\":\"apps.local\",\"ServiceName\":\"web\",\"MaxResults\":1000,"
                    "\"HealthStatus\":\"HEALTHY_OR_ELSE_ALL\",\"QueryParameters\":{\"stage\":\"prod\"}}");
    free(body);
    body = cloudmap_discover_instances_body("apps.local", "web", NULL, 0, CLOUDMAP_HEALTH_ALL, 10);
    CHECK_STR(body, "{\"NamespaceName\":\"apps.local\",\"ServiceName\":\"web\",\"MaxResults\":10,"
                    "\"HealthStatus\":\"ALL\"}");
    free(body);
    body = cloudmap_revision_body("apps.local", "web");
    CHECK_STR(body, "{\"NamespaceName\":\"apps.local\",\"ServiceName\":\"web\"}");
    free(body);
    cloudmap_health_mode mode;
    CHECK(cloudmap_health_mode_parse("HEALTHY", &mode) && mode == CLOUDMAP_HEALTH_HEALTHY);
    CHECK(!cloudmap_health_mode_parse("healthy", &mode));
}

static const char *ids(const cloudmap_instance_list *list)
{
    static char out[64];
    out[0] = '\0';
    for (size_t i = 0; i < list->count; i++)
        strcat(out, list->items[i].id);
    return out;
}

static void test_filters(void)
{
    cloudmap_instance_list list;
    char why[256];
    /* The attribute filter again, locally: d (stage=dev) goes. */
    CHECK(cloudmap_parse_instances(answer, strlen(answer), prod, 1, CLOUDMAP_HEALTH_ALL,
                                   "AVAILABILITY_ZONE", &list, why, sizeof(why)));
    CHECK_STR(ids(&list), "abc");
    CHECK_INT(list.items[0].port, 8080);
    CHECK_STR(list.items[0].zone, "us-east-1a");
    CHECK_INT(list.items[2].port, 0); /* 99999 is no port */
    CHECK(list.items[1].zone == NULL);
    cloudmap_instance_list_free(&list);

    /* HEALTHY drops UNHEALTHY and keeps UNKNOWN (no health checking). */
    CHECK(cloudmap_parse_instances(answer, strlen(answer), prod, 1, CLOUDMAP_HEALTH_HEALTHY, NULL,
                                   &list, why, sizeof(why)));
    CHECK_STR(ids(&list), "ab");
    cloudmap_instance_list_free(&list);
    CHECK(cloudmap_parse_instances(answer, strlen(answer), NULL, 0,
                                   CLOUDMAP_HEALTH_HEALTHY_OR_ELSE_ALL, NULL, &list, why, sizeof(why)));
    CHECK_STR(ids(&list), "abd");
    cloudmap_instance_list_free(&list);

    /* HEALTHY_OR_ELSE_ALL fails open when none is healthy; HEALTHY does not. */
    const char *sick = "{\"Instances\": [{\"InstanceId\": \"x\", \"HealthStatus\": \"UNHEALTHY\","
                       " \"Attributes\": {\"AWS_INSTANCE_IPV4\": \"10.1.1.1\"}}]}";
    CHECK(cloudmap_parse_instances(sick, strlen(sick), NULL, 0, CLOUDMAP_HEALTH_HEALTHY_OR_ELSE_ALL,
                                   NULL, &list, why, sizeof(why)));
    CHECK_STR(ids(&list), "x");
    cloudmap_instance_list_free(&list);
    CHECK(cloudmap_parse_instances(sick, strlen(sick), NULL, 0, CLOUDMAP_HEALTH_HEALTHY, NULL, &list,
                                   why, sizeof(why)));
    CHECK_INT(list.count, 0);
    cloudmap_instance_list_free(&list);

    CHECK(!cloudmap_parse_instances("{\"x\": 1}", 8, NULL, 0, CLOUDMAP_HEALTH_ALL, NULL, &list, why,
                                    sizeof(why)));
    CHECK_CONTAINS(why, "no Instances list");
    CHECK(!cloudmap_parse_instances("<html>", 6, NULL, 0, CLOUDMAP_HEALTH_ALL, NULL, &list, why,
                                    sizeof(why)));
}

static const char *addresses(const cloudmap_instance_list *list, uint32_t preference)
{
    static char out[256];
    trellis_endpoint eps[8];
    size_t n = cloudmap_select_endpoints(list, preference, 80, eps);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, sizeof(out) - len, "%s%s:%u", i ? " " : "", eps[i].address, eps[i].port);
    }
    return out;
}

/* The guide's IP version preference table (virtual nodes / meshes). */
static void test_ip_preference(void)
{
    const char *mixed = "{\"Instances\": ["
                        " {\"InstanceId\": \"v4\", \"Attributes\": {\"AWS_INSTANCE_IPV4\": \"10.0.0.1\"}},"
                        " {\"InstanceId\": \"v6\", \"Attributes\": {\"AWS_INSTANCE_IPV6\": \"fd00::2\","
                        "   \"AWS_INSTANCE_PORT\": \"9090\"}},"
                        " {\"InstanceId\": \"both\", \"Attributes\": {\"AWS_INSTANCE_IPV4\": \"10.0.0.3\","
                        "   \"AWS_INSTANCE_IPV6\": \"fd00::3\"}},"
                        " {\"InstanceId\": \"bad\", \"Attributes\": {\"AWS_INSTANCE_IPV4\": \"fd00::9\"}},"
                        " {\"InstanceId\": \"none\", \"Attributes\": {}}]}";
    cloudmap_instance_list list;
    char why[256];
    CHECK(cloudmap_parse_instances(mixed, strlen(mixed), NULL, 0, CLOUDMAP_HEALTH_ALL, NULL, &list,
                                   why, sizeof(why)));
    CHECK_STR(addresses(&list, TRELLIS_IP_DEFAULT), "10.0.0.1:80 fd00::2:9090 10.0.0.3:80");
    CHECK_STR(addresses(&list, TRELLIS_IP_IPV4_PREFERRED), "10.0.0.1:80 fd00::2:9090 10.0.0.3:80");
    CHECK_STR(addresses(&list, TRELLIS_IP_IPV6_PREFERRED), "10.0.0.1:80 fd00::2:9090 fd00::3:80");
    CHECK_STR(addresses(&list, TRELLIS_IP_IPV4_ONLY), "10.0.0.1:80 10.0.0.3:80");
    CHECK_STR(addresses(&list, TRELLIS_IP_IPV6_ONLY), "fd00::2:9090 fd00::3:80");
    cloudmap_instance_list_free(&list);

    /* IPv4_ONLY with only IPv6 instances: an empty set. */
    const char *v6_only = "{\"Instances\": [{\"InstanceId\": \"v6\", \"Attributes\": "
                          "{\"AWS_INSTANCE_IPV6\": \"fd00::2\"}}]}";
    CHECK(cloudmap_parse_instances(v6_only, strlen(v6_only), NULL, 0, CLOUDMAP_HEALTH_ALL, NULL,
                                   &list, why, sizeof(why)));
    CHECK_STR(addresses(&list, TRELLIS_IP_IPV4_ONLY), "");
    cloudmap_instance_list_free(&list);
}

static void test_errors_and_revision(void)
{
    char text[256];
    const char *moto = "{\"__type\": \"ServiceNotFound\", \"message\": \"web\"}";
    CHECK_INT(cloudmap_describe_error(400, NULL, moto, strlen(moto), text, sizeof(text)),
              TRELLIS_ERR_NOT_FOUND);
    CHECK_STR(text, "ServiceNotFound: web");
    const char *aws = "{\"__type\": \"com.amazonaws.servicediscovery#RequestLimitExceeded\","
                      " \"Message\": \"slow down\"}";
    CHECK_INT(cloudmap_describe_error(400, NULL, aws, strlen(aws), text, sizeof(text)),
              TRELLIS_ERR_UNAVAILABLE);
    CHECK_STR(text, "RequestLimitExceeded: slow down");
    CHECK_INT(cloudmap_describe_error(403, "InvalidSignatureException:http://internal", "", 0, text,
                                      sizeof(text)),
              TRELLIS_ERR_UNAVAILABLE);
    CHECK_STR(text, "InvalidSignatureException");
    CHECK_INT(cloudmap_describe_error(503, NULL, "<html>busy</html>", 17, text, sizeof(text)),
              TRELLIS_ERR_UNAVAILABLE);
    CHECK_STR(text, "HTTP 503");

    int64_t revision = 0;
    CHECK(cloudmap_parse_revision("{\"InstancesRevision\": 42}", 25, &revision, text, sizeof(text)));
    CHECK_INT(revision, 42);
    CHECK(!cloudmap_parse_revision("{}", 2, &revision, text, sizeof(text)));
}

int main(void)
{
    test_bodies();
    test_filters();
    test_ip_preference();
    test_errors_and_revision();
    return test_finish("cloudmap_api");
}
