/*
 * The JSON -> protobuf encoder: exact bytes for the wire-format corner cases,
 * a round trip through protobuf-c's own decoder for nested messages, and one
 * check per way the encoder must refuse input (with the JSON path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_check.h"

#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "pb_json.h"
#include "pb_registry.h"
#include "pb_wire.h"

static const ProtobufCMessageDescriptor *type(const char *name)
{
    const ProtobufCMessageDescriptor *d = pb_registry_find(name, strlen(name));
    if (d == NULL) {
        fprintf(stderr, "no descriptor %s\n", name);
        exit(1);
    }
    return d;
}

/* Encodes and returns the bytes as lowercase hex ("" on an empty message),
 * or "ERROR: <message>". Static buffer: one result at a time. */
static const char *encode_hex(const char *type_name, const char *json)
{
    static char result[8192];
    byte_buffer out;
    bb_init(&out, 1 << 20);
    char err[512];
    if (!pb_json_encode_text(type(type_name), json, strlen(json), &out, err, sizeof(err))) {
        snprintf(result, sizeof(result), "ERROR: %s", err);
    } else {
        size_t n = 0;
        for (size_t i = 0; i < out.len && n + 3 < sizeof(result); i++)
            n += (size_t)snprintf(result + n, sizeof(result) - n, "%02x", out.data[i]);
        result[n] = '\0';
    }
    bb_free(&out);
    return result;
}

static void *encode_and_unpack(const char *type_name, const char *json)
{
    byte_buffer out;
    bb_init(&out, 1 << 20);
    char err[512];
    void *msg = NULL;
    if (pb_json_encode_text(type(type_name), json, strlen(json), &out, err, sizeof(err)))
        msg = protobuf_c_message_unpack(type(type_name), NULL, out.len, out.data);
    else
        fprintf(stderr, "encode failed: %s\n", err);
    bb_free(&out);
    return msg;
}

static void test_scalars(void)
{
    const char *sa = "envoy.config.core.v3.SocketAddress";
    /* string field 2, uint32 oneof member 3 */
    CHECK_STR(encode_hex(sa, "{\"address\":\"10.0.0.1\",\"port_value\":8080}"),
              "120831302e302e302e3118903f");
    /* a oneof member holding its default is still written (it selects the case) */
    CHECK_STR(encode_hex(sa, "{\"port_value\":0}"), "1800");
    /* a plain proto3 scalar holding its default is not */
    CHECK_STR(encode_hex(sa, "{\"address\":\"\",\"ipv4_compat\":false}"), "");
    /* enum by name, and by number */
    CHECK_STR(encode_hex(sa, "{\"protocol\":\"UDP\"}"), "0801");
    CHECK_STR(encode_hex(sa, "{\"protocol\":1}"), "0801");
    /* integers as decimal strings and integral numbers are proto3 JSON too */
    CHECK_STR(encode_hex(sa, "{\"port_value\":\"443\"}"), "18bb03");
    CHECK_STR(encode_hex(sa, "{\"port_value\":443.0}"), "18bb03");
    /* null is the default */
    CHECK_STR(encode_hex(sa, "{\"address\":null}"), "");

    /* negative int64 is a 10-byte varint */
    CHECK_STR(encode_hex("envoy.type.v3.Int64Range", "{\"start\":-1,\"end\":\"9007199254740993\"}"),
              "08ffffffffffffffffff01108180808080808010");
    /* double */
    CHECK_STR(encode_hex("envoy.type.v3.Percent", "{\"value\":50.5}"), "090000000000404940");
    CHECK_STR(encode_hex("envoy.type.v3.Percent", "{\"value\":\"Infinity\"}"), "09000000000000f07f");
    /* packed repeated uint32 */
    CHECK_STR(encode_hex("envoy.config.route.v3.RetryPolicy",
                         "{\"retriable_status_codes\":[503,504]}"),
              "3a04f703f803");
    /* repeated strings are not packed */
    CHECK_STR(encode_hex("envoy.config.listener.v3.FilterChainMatch",
                         "{\"server_names\":[\"a\",\"b\"]}"),
              "5a01615a0162");
    /* bytes: standard and URL-safe base64, padding optional */
    CHECK_STR(encode_hex("envoy.config.core.v3.HeaderValue", "{\"raw_value\":\"/+8=\"}"), "1a02ffef");
    CHECK_STR(encode_hex("envoy.config.core.v3.HeaderValue", "{\"raw_value\":\"_-8\"}"), "1a02ffef");
}

static void test_well_known_types(void)
{
    const char *cluster = "envoy.config.cluster.v3.Cluster";
    /* Duration: seconds 1, nanos 500000000 */
    CHECK_STR(encode_hex(cluster, "{\"connect_timeout\":\"1.5s\"}"), "220808011080cab5ee01");
    CHECK_STR(encode_hex(cluster, "{\"connect_timeout\":\"0s\"}"), "2200");
    CHECK_STR(encode_hex(cluster, "{\"connect_timeout\":\"-0.000000001s\"}"),
              "220b10ffffffffffffffffff01" /* nanos -1: an int32 varint takes 10 bytes */);
    /* wrappers take plain values; a wrapper holding its default is an empty message */
    CHECK_STR(encode_hex(cluster, "{\"per_connection_buffer_limit_bytes\":32768}"), "2a0408808002");
    CHECK_STR(encode_hex(cluster, "{\"per_connection_buffer_limit_bytes\":0}"), "2a00");
    CHECK_STR(encode_hex(cluster, "{\"wait_for_warm_on_init\":false}"), "b20300");
    /* Struct / Value / ListValue */
    CHECK_STR(encode_hex("google.protobuf.Struct", "{\"k\":[1,\"x\",null,true,{}]}"),
              "0a230a016b121e321c0a0911000000000000f03f0a031a01780a0208000a0220010a022a00");
    /* Timestamp */
    CHECK_STR(encode_hex("google.protobuf.Timestamp", "\"1970-01-01T00:00:01.5+00:00\""),
              "08011080cab5ee01");
    /* An Any holding a type with its own JSON form keeps it under "value" */
    CHECK_STR(encode_hex("google.protobuf.Any",
                         "{\"@type\":\"type.googleapis.com/google.protobuf.Duration\",\"value\":\"2s\"}"),
              "0a2c747970652e676f6f676c65617069732e636f6d2f676f6f676c652e70726f746f6275662e4475726174696f6e12020802");
}

static void test_nested_round_trip(void)
{
    const char *listener_json =
        "{\"name\":\"lds_ingress_0.0.0.0_15000\","
        " \"address\":{\"socket_address\":{\"address\":\"0.0.0.0\",\"port_value\":15000}},"
        " \"traffic_direction\":\"INBOUND\","
        " \"filter_chains\":[{\"filters\":[{\"name\":\"envoy.filters.network.http_connection_manager\","
        "   \"typed_config\":{\"@type\":\"type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager\","
        "     \"stat_prefix\":\"ingress\",\"codec_type\":\"AUTO\","
        "     \"rds\":{\"route_config_name\":\"rds_ingress_http_8080\","
        "              \"config_source\":{\"ads\":{},\"resource_api_version\":\"V3\"}},"
        "     \"http_filters\":[{\"name\":\"envoy.filters.http.router\",\"typed_config\":"
        "       {\"@type\":\"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\"}}],"
        "     \"stream_idle_timeout\":\"300s\","
        "     \"upgrade_configs\":[{\"upgrade_type\":\"websocket\"}]}}]}]}";
    Envoy__Config__Listener__V3__Listener *l =
        encode_and_unpack("envoy.config.listener.v3.Listener", listener_json);
    CHECK(l != NULL);
    if (l == NULL)
        return;
    CHECK_STR(l->name, "lds_ingress_0.0.0.0_15000");
    CHECK(l->address != NULL && l->address->socket_address != NULL);
    if (l->address && l->address->socket_address)
        CHECK_INT(l->address->socket_address->port_value, 15000);
    CHECK_INT(l->traffic_direction, ENVOY__CONFIG__CORE__V3__TRAFFIC_DIRECTION__INBOUND);
    CHECK_INT(l->n_filter_chains, 1);
    if (l->n_filter_chains == 1 && l->filter_chains[0]->n_filters == 1) {
        Envoy__Config__Listener__V3__Filter *f = l->filter_chains[0]->filters[0];
        CHECK_STR(f->typed_config->type_url,
                  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                  "HttpConnectionManager");
        Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager *hcm =
            (void *)protobuf_c_message_unpack(
                &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
                NULL, f->typed_config->value.len, f->typed_config->value.data);
        CHECK(hcm != NULL);
        if (hcm != NULL) {
            CHECK_STR(hcm->stat_prefix, "ingress");
            CHECK_INT(hcm->route_specifier_case,
                      ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_RDS);
            CHECK_STR(hcm->rds->route_config_name, "rds_ingress_http_8080");
            CHECK(hcm->rds->config_source->ads != NULL);
            CHECK_INT(hcm->n_http_filters, 1);
            CHECK_INT(hcm->stream_idle_timeout->seconds, 300);
            CHECK_INT(hcm->n_upgrade_configs, 1);
            protobuf_c_message_free_unpacked(&hcm->base, NULL);
        }
    }
    protobuf_c_message_free_unpacked(&l->base, NULL);

    /* A long message: lengths above 127 need multi-byte prefixes, inserted
     * after the content was written. */
    char letters[1001];
    for (int i = 0; i < 1000; i++)
        letters[i] = (char)('a' + i % 26);
    letters[1000] = '\0';
    char big[4096];
    snprintf(big, sizeof(big),
             "{\"name\":\"%s\",\"metadata\":{\"filter_metadata\":{\"m\":{\"long\":\"%.900s\"}}},"
             "\"type\":\"STRICT_DNS\",\"connect_timeout\":\"0.25s\"}",
             letters, letters);
    Envoy__Config__Cluster__V3__Cluster *c = encode_and_unpack("envoy.config.cluster.v3.Cluster", big);
    CHECK(c != NULL);
    if (c != NULL) {
        CHECK_INT(strlen(c->name), 1000);
        CHECK_INT(c->cluster_discovery_type_case,
                  ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE);
        CHECK_INT(c->type, ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STRICT_DNS);
        CHECK_INT(c->connect_timeout->nanos, 250000000);
        CHECK(c->metadata != NULL && c->metadata->n_filter_metadata == 1);
        protobuf_c_message_free_unpacked(&c->base, NULL);
    }
}

static void test_refusals(void)
{
    const char *cluster = "envoy.config.cluster.v3.Cluster";
    CHECK_STR(encode_hex(cluster, "{\"name\":\"a\",\"nmae\":\"b\"}"),
              "ERROR: $.nmae: unknown field \"nmae\" in envoy.config.cluster.v3.Cluster");
    /* camelCase JSON names are not the proto names the compiler must emit */
    CHECK_CONTAINS(encode_hex(cluster, "{\"connectTimeout\":\"1s\"}"),
                   "$.connectTimeout: unknown field");
    CHECK_CONTAINS(encode_hex(cluster, "{\"name\":5}"), "$.name: expected a string for field \"name\"");
    CHECK_CONTAINS(encode_hex(cluster, "{\"connect_timeout\":\"1.5\"}"),
                   "$.connect_timeout: expected a duration string");
    CHECK_CONTAINS(encode_hex(cluster, "{\"connect_timeout\":\"0.0000000001s\"}"),
                   "$.connect_timeout: expected a duration string");
    CHECK_CONTAINS(encode_hex(cluster, "{\"lb_policy\":\"FASTEST\"}"),
                   "$.lb_policy: unknown value \"FASTEST\" for enum field \"lb_policy\"");
    CHECK_CONTAINS(encode_hex(cluster, "{\"type\":\"EDS\",\"cluster_type\":{\"name\":\"x\"}}"),
                   "belong to the same oneof");
    CHECK_CONTAINS(encode_hex(cluster, "{\"name\":\"a\",\"name\":\"b\"}"), "duplicate object key");
    CHECK_CONTAINS(encode_hex(cluster, "{\"health_checks\":[null]}"),
                   "$.health_checks[0]: null is not allowed");
    CHECK_CONTAINS(encode_hex(cluster, "{\"per_connection_buffer_limit_bytes\":-1}"),
                   "$.per_connection_buffer_limit_bytes: expected a uint32");
    CHECK_CONTAINS(encode_hex(cluster, "{\"per_connection_buffer_limit_bytes\":4294967296}"),
                   "expected a uint32");
    CHECK_CONTAINS(encode_hex(cluster, "{\"respect_dns_ttl\":1}"), "expected true or false");
    CHECK_CONTAINS(encode_hex(cluster, "[]"), "$: expected an object for envoy.config.cluster.v3.Cluster");
    CHECK_CONTAINS(encode_hex("envoy.config.core.v3.HeaderValue", "{\"raw_value\":\"a$b\"}"),
                   "not valid base64");
    /* a resource carries no "@type" of its own */
    CHECK_CONTAINS(encode_hex(cluster, "{\"@type\":\"type.googleapis.com/envoy.config.cluster.v3.Cluster\"}"),
                   "unknown field \"@type\"");
    /* the path goes through Any payloads, arrays and maps */
    const char *listener =
        "{\"filter_chains\":[{},{\"filters\":[{\"name\":\"hcm\",\"typed_config\":{"
        "\"@type\":\"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager\",\"http_filters\":[{\"name\":\"r\",\"typed_confg\":{}}]}}]}]}";
    CHECK_STR(encode_hex("envoy.config.listener.v3.Listener", listener),
              "ERROR: $.filter_chains[1].filters[0].typed_config.http_filters[0].typed_confg: unknown "
              "field \"typed_confg\" in "
              "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter");
    CHECK_CONTAINS(encode_hex("envoy.config.listener.v3.Listener",
                              "{\"filter_chains\":[{\"filters\":[{\"typed_config\":{\"@type\":"
                              "\"type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\"}}]}]}"),
                   "$.filter_chains[0].filters[0].typed_config: unknown type "
                   "\"type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\"");
    CHECK_CONTAINS(encode_hex("envoy.config.route.v3.RouteConfiguration",
                              "{\"typed_per_filter_config\":{\"envoy.filters.http.x\":{\"@type\":5}}}"),
                   "$.typed_per_filter_config[\"envoy.filters.http.x\"]: \"@type\" must be a string");
    CHECK_CONTAINS(encode_hex("google.protobuf.Any", "{\"@type\":\"type.googleapis.com/google.protobuf.Duration\","
                                                     "\"seconds\":1}"),
                   "its JSON goes in \"value\"");
    CHECK_CONTAINS(encode_hex("google.protobuf.Timestamp", "\"2023-02-29T00:00:00Z\""),
                   "expected an RFC 3339 timestamp");
    CHECK_CONTAINS(encode_hex(cluster, "{\"name\":"), "invalid JSON");

    /* the size bound fails the encode instead of truncating */
    byte_buffer small;
    bb_init(&small, 16);
    char err[256];
    const char *json = "{\"name\":\"a name longer than sixteen bytes\"}";
    CHECK(!pb_json_encode_text(type(cluster), json, strlen(json), &small, err, sizeof(err)));
    CHECK_CONTAINS(err, "exceeds 16 bytes");
    bb_free(&small);
}

static void test_any_resource(void)
{
    byte_buffer out;
    bb_init(&out, 1 << 16);
    char err[256];
    const char *json = "{\"name\":\"c1\"}";
    CHECK(pb_json_encode_any_text(type("envoy.config.cluster.v3.Cluster"), json, strlen(json), &out,
                                  err, sizeof(err)));
    Google__Protobuf__Any *any =
        (void *)protobuf_c_message_unpack(&google__protobuf__any__descriptor, NULL, out.len, out.data);
    CHECK(any != NULL);
    if (any != NULL) {
        CHECK_STR(any->type_url, "type.googleapis.com/envoy.config.cluster.v3.Cluster");
        CHECK_INT(any->value.len, 4);
        protobuf_c_message_free_unpacked(&any->base, NULL);
    }
    bb_free(&out);
}

static void test_registry(void)
{
    CHECK(pb_registry_count() > 100);
    for (size_t i = 1; i < pb_registry_count(); i++)
        CHECK(strcmp(pb_registry_at(i - 1)->name, pb_registry_at(i)->name) < 0);
    CHECK(pb_registry_find_type_url("type.googleapis.com/envoy.config.listener.v3.Listener") != NULL);
    CHECK(pb_registry_find_type_url("example.com/x/envoy.config.listener.v3.Listener") != NULL);
    CHECK(pb_registry_find_type_url("type.googleapis.com/envoy.config.listener.v3.Listene") == NULL);
    CHECK(pb_registry_find_type_url("type.googleapis.com/envoy.config.listener.v3.ListenerX") == NULL);
    CHECK(pb_registry_find_type_url("type.googleapis.com/") == NULL);
}

int main(void)
{
    test_scalars();
    test_well_known_types();
    test_nested_round_trip();
    test_refusals();
    test_any_resource();
    test_registry();
    return test_finish("xds_unit_pb_json");
}
