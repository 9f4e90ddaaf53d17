/*
 * Golden tests: the names App Mesh gave Envoy resources (user guide, "Envoy
 * resource naming" and the online-store example) and App Mesh's defaults
 * (15 s / 300 s timeouts, the default retry policy, 2147483647 circuit
 * breakers), asserted as exact JSON fragments.
 */
#include <stdlib.h>
#include <string.h>

#include "compiler_fixture.h"
#include "test_check.h"

static const compile_options no_defaults = {false, false};

/* The names of a type's resources, sorted, comma-separated. */
static char *names_of(const compile_output *out, trellis_xds_type type)
{
    const char *names[64];
    size_t n = 0;
    const char *name;
    json_t *value;
    json_object_foreach(out->resources[type], name, value) {
        if (n < 64)
            names[n++] = name;
    }
    for (size_t i = 1; i < n; i++) {
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            const char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    }
    static char text[4096];
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strcat(text, ",");
        strncat(text, names[i], sizeof(text) - strlen(text) - 2);
    }
    return text;
}

/* Guide: "if you have a virtual node named my-virtual-node that listens for
 * http traffic on port 8080 and that virtual node is in a mesh named my-mesh,
 * App Mesh creates a cluster named cds_ingress_my-mesh_my-virtual-node_http_8080". */
static void test_single_listener_names(void)
{
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'my-mesh': {'virtualNodes': {'my-virtual-node': {"
        "  'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'}}],"
        "  'serviceDiscovery': {'dns': {'hostname': 'node.my-mesh.local'}}}}}}}");
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "my-mesh", "my-virtual-node",
                          TRELLIS_XDS_SIDECAR, &fixture_appmesh_defaults, &out, &deps));
    CHECK_STR(names_of(&out, TRELLIS_XDS_LISTENER), "lds_egress_0.0.0.0_15001,lds_ingress_0.0.0.0_15000");
    CHECK_STR(names_of(&out, TRELLIS_XDS_CLUSTER),
              "cds_egress_my-mesh_amazonaws,cds_ingress_my-mesh_my-virtual-node_http_8080");
    CHECK_STR(names_of(&out, TRELLIS_XDS_ROUTE), "rds_ingress_http_8080");

    json_t *ingress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000");
    CHECK_JSON(fixture_at(ingress, "address"), "{'socket_address': {'address': '0.0.0.0', 'port_value': 15000}}");
    CHECK_JSON(fixture_at(ingress, "listener_filters"),
               "[{'name': 'envoy.filters.listener.original_dst', 'typed_config': {'@type': "
               "'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst'}}]");
    CHECK_JSON(fixture_at(ingress, "filter_chains[0]"),
               "{'filter_chain_match': {'destination_port': 8080},"
               " 'filters': [{'name': 'envoy.filters.network.http_connection_manager', 'typed_config': {"
               "  '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',"
               "  'stat_prefix': 'ingress',"
               "  'rds': {'config_source': {'ads': {}, 'resource_api_version': 'V3'}, 'route_config_name': 'rds_ingress_http_8080'},"
               "  'http_filters': [{'name': 'envoy.filters.http.router', 'typed_config': {'@type': "
               "    'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'}}],"
               "  'upgrade_configs': [{'upgrade_type': 'websocket', 'enabled': true}]}}]}");
    CHECK_JSON(fixture_at(ingress, "traffic_direction"), "'INBOUND'");

    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_ingress_http_8080"),
               "{'name': 'rds_ingress_http_8080', 'virtual_hosts': [{'name': 'ingress', 'domains': ['*'],"
               " 'routes': [{'match': {'prefix': '/'}, 'route': {'cluster': 'cds_ingress_my-mesh_my-virtual-node_http_8080',"
               "  'timeout': '15s', 'idle_timeout': '300s'}}]}]}");
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_my-mesh_my-virtual-node_http_8080"),
               "{'name': 'cds_ingress_my-mesh_my-virtual-node_http_8080', 'connect_timeout': '0.250s', 'type': 'STATIC',"
               " 'load_assignment': {'cluster_name': 'cds_ingress_my-mesh_my-virtual-node_http_8080', 'endpoints': [{"
               "  'lb_endpoints': [{'endpoint': {'address': {'socket_address': {'address': '127.0.0.1', 'port_value': 8080}}}}]}]},"
               " 'circuit_breakers': {'thresholds': [{'max_connections': 2147483647, 'max_pending_requests': 2147483647,"
               "  'max_requests': 2147483647, 'max_retries': 2147483647}]}}");

    /* The egress listener exists even without backends: AWS services stay reachable. */
    json_t *egress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001");
    CHECK_JSON(fixture_at(egress, "address"), "{'socket_address': {'address': '0.0.0.0', 'port_value': 15001}}");
    CHECK_JSON(fixture_at(egress, "traffic_direction"), "'OUTBOUND'");
    CHECK_INT(json_array_size(fixture_at(egress, "filter_chains")), 1);
    CHECK_JSON(fixture_at(egress, "filter_chains[0]"),
               "{'filter_chain_match': {'destination_port': 443,"
               "  'prefix_ranges': [{'address_prefix': '0.0.0.0', 'prefix_len': 0}], 'server_names': ['*.amazonaws.com']},"
               " 'filters': [{'name': 'envoy.filters.network.tcp_proxy', 'typed_config': {"
               "  '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',"
               "  'stat_prefix': 'egress', 'cluster': 'cds_egress_my-mesh_amazonaws'}}]}");
    CHECK_JSON(fixture_at(egress, "listener_filters[1]"),
               "{'name': 'envoy.filters.listener.tls_inspector', 'typed_config': {'@type': "
               "'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'},"
               " 'filter_disabled': {'not_match': {'destination_port_range': {'start': 443, 'end': 444}}}}");
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_my-mesh_amazonaws"),
               "{'name': 'cds_egress_my-mesh_amazonaws', 'connect_timeout': '1s', 'type': 'ORIGINAL_DST',"
               " 'lb_policy': 'CLUSTER_PROVIDED', 'circuit_breakers': {'thresholds': [{'max_connections': 2147483647,"
               " 'max_pending_requests': 2147483647, 'max_requests': 2147483647, 'max_retries': 2147483647}]}}");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Guide, "Resource names": the website virtual node's proxy of the
 * online-store example (all services http 8080). */
static const char *const online_store =
    "{'meshes': {'online-store': {"
    " 'virtualNodes': {"
    "  'website': {'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'}}],"
    "   'serviceDiscovery': {'dns': {'hostname': 'website.online-store.local'}},"
    "   'backends': [{'virtualService': {'virtualServiceName': 'product-details.online-store.local'}},"
    "                {'virtualService': {'virtualServiceName': 'cart.online-store.local'}}]},"
    "  'product-details': {'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'}}],"
    "   'serviceDiscovery': {'dns': {'hostname': 'product-details.online-store.local'}}},"
    "  'cart': {'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'}}],"
    "   'serviceDiscovery': {'dns': {'hostname': 'cart.online-store.local'}}}},"
    " 'virtualServices': {"
    "  'product-details.online-store.local': {'provider': {'virtualRouter': {'virtualRouterName': 'product-details'}}},"
    "  'cart.online-store.local': {'provider': {'virtualNode': {'virtualNodeName': 'cart'}}}},"
    " 'virtualRouters': {'product-details': {'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'}}]}},"
    " 'routes': {'product-details': {'all': {'httpRoute': {'match': {'prefix': '/'},"
    "   'action': {'weightedTargets': [{'virtualNode': 'product-details', 'weight': 100}]}}}}}}}}";

static void test_online_store(void)
{
    catalog *cat = fixture_catalog_from_text(online_store);
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "online-store", "website", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_STR(names_of(&out, TRELLIS_XDS_LISTENER), "lds_egress_0.0.0.0_15001,lds_ingress_0.0.0.0_15000");
    CHECK_STR(names_of(&out, TRELLIS_XDS_CLUSTER),
              "cds_egress_online-store_amazonaws,cds_egress_online-store_cart_http_8080,"
              "cds_egress_online-store_product-details_http_8080,cds_ingress_online-store_website_http_8080");
    CHECK_STR(names_of(&out, TRELLIS_XDS_ROUTE), "rds_egress_http_8080,rds_ingress_http_8080");

    json_t *egress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001");
    CHECK_JSON(fixture_at(egress, "filter_chains[0].filter_chain_match"),
               "{'destination_port': 8080, 'prefix_ranges': [{'address_prefix': '0.0.0.0', 'prefix_len': 0}]}");
    CHECK_JSON(fixture_at(egress, "filter_chains[0].filters[0].typed_config.stat_prefix"), "'egress'");
    CHECK_JSON(fixture_at(egress, "filter_chains[0].filters[0].typed_config.rds.route_config_name"),
               "'rds_egress_http_8080'");
    CHECK_JSON(fixture_at(egress, "filter_chains[0].filters[0].typed_config.normalize_path"), "true");
    CHECK_JSON(fixture_at(egress, "filter_chains[0].filters[0].typed_config.merge_slashes"), "true");

    /* One virtual host per backend service; the router's route keeps App
     * Mesh's defaults; the virtual-node provider gets a match-all route with
     * only the default retry policy. */
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_8080"),
               "{'name': 'rds_egress_http_8080', 'virtual_hosts': ["
               " {'name': 'cart.online-store.local', 'domains': ['cart.online-store.local', 'cart.online-store.local:8080'],"
               "  'routes': [{'match': {'prefix': '/'}, 'route': {'cluster': 'cds_egress_online-store_cart_http_8080',"
               "   'timeout': '15s', 'idle_timeout': '300s', 'retry_policy': {"
               "   'retry_on': 'connect-failure,refused-stream,reset,retriable-status-codes,unavailable',"
               "   'num_retries': 2, 'retriable_status_codes': [503]}}}]},"
               " {'name': 'product-details.online-store.local',"
               "  'domains': ['product-details.online-store.local', 'product-details.online-store.local:8080'],"
               "  'routes': [{'name': 'all', 'match': {'prefix': '/'}, 'route': {'weighted_clusters': {'clusters': ["
               "   {'name': 'cds_egress_online-store_product-details_http_8080', 'weight': 100}]},"
               "   'timeout': '15s', 'idle_timeout': '300s', 'retry_policy': {"
               "   'retry_on': 'connect-failure,refused-stream,reset,retriable-status-codes,unavailable',"
               "   'num_retries': 2, 'retriable_status_codes': [503]}}}]}]}");
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_online-store_cart_http_8080"),
               "{'name': 'cds_egress_online-store_cart_http_8080', 'connect_timeout': '1s', 'type': 'LOGICAL_DNS',"
               " 'load_assignment': {'cluster_name': 'cds_egress_online-store_cart_http_8080', 'endpoints': [{"
               "  'lb_endpoints': [{'endpoint': {'address': {'socket_address': {'address': 'cart.online-store.local',"
               "  'port_value': 8080}}}}]}]},"
               " 'circuit_breakers': {'thresholds': [{'max_connections': 2147483647, 'max_pending_requests': 2147483647,"
               "  'max_requests': 2147483647, 'max_retries': 2147483647}]}}");
    compile_output_free(&out);
    compile_deps_free(&deps);

    /* Without App Mesh's account-level defaults: no retry policy, no breakers. */
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "online-store", "website", TRELLIS_XDS_SIDECAR,
                          &no_defaults, &out, &deps));
    json_t *cart = fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_8080");
    CHECK_JSON(fixture_at(cart, "virtual_hosts[0].routes[0].route"),
               "{'cluster': 'cds_egress_online-store_cart_http_8080', 'timeout': '15s', 'idle_timeout': '300s'}");
    CHECK(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_online-store_cart_http_8080"),
                     "circuit_breakers") == NULL);
    CHECK(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_online-store_website_http_8080"),
                     "circuit_breakers") == NULL);
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Guide, "Exporting metrics": single vs multiple listeners. */
static void test_multiple_listener_stat_prefixes(void)
{
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'multiple-listeners-mesh': {'virtualNodes': {'foodteller-vn': {"
        "  'listeners': [{'portMapping': {'port': 5555, 'protocol': 'http'}},"
        "                {'portMapping': {'port': 6666, 'protocol': 'http'}},"
        "                {'portMapping': {'port': 7777, 'protocol': 'tcp'}}],"
        "  'serviceDiscovery': {'dns': {'hostname': 'foodteller.local'}}}}}}}");
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "multiple-listeners-mesh", "foodteller-vn",
                          TRELLIS_XDS_SIDECAR, &fixture_appmesh_defaults, &out, &deps));
    json_t *ingress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000");
    CHECK_INT(json_array_size(fixture_at(ingress, "filter_chains")), 3);
    CHECK_JSON(fixture_at(ingress, "filter_chains[0].filters[0].typed_config.stat_prefix"), "'ingress.http.5555'");
    CHECK_JSON(fixture_at(ingress, "filter_chains[0].filters[0].typed_config.rds.route_config_name"),
               "'rds_ingress_http_5555'");
    CHECK_JSON(fixture_at(ingress, "filter_chains[1].filters[0].typed_config.stat_prefix"), "'ingress.http.6666'");
    CHECK_JSON(fixture_at(ingress, "filter_chains[1].filters[0].typed_config.rds.route_config_name"),
               "'rds_ingress_http_6666'");
    CHECK_JSON(fixture_at(ingress, "filter_chains[2]"),
               "{'filter_chain_match': {'destination_port': 7777},"
               " 'filters': [{'name': 'envoy.filters.network.tcp_proxy', 'typed_config': {"
               "  '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',"
               "  'stat_prefix': 'ingress.tcp.7777', 'cluster': 'cds_ingress_multiple-listeners-mesh_foodteller-vn_tcp_7777',"
               "  'idle_timeout': '300s'}}]}");
    CHECK_STR(names_of(&out, TRELLIS_XDS_CLUSTER),
              "cds_egress_multiple-listeners-mesh_amazonaws,"
              "cds_ingress_multiple-listeners-mesh_foodteller-vn_http_5555,"
              "cds_ingress_multiple-listeners-mesh_foodteller-vn_http_6666,"
              "cds_ingress_multiple-listeners-mesh_foodteller-vn_tcp_7777");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Guide names for gateways: cds_ingress_<mesh>_<gateway>_self_redirect_<protocol>_<port>
 * and, with several listeners, ..._self_redirect_<listener port>_<protocol>_<port>. */
static void test_gateway_names(void)
{
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'multiple-listeners-mesh': {'virtualGateways': {"
        "  'tellergateway-vg': {'listeners': [{'portMapping': {'port': 1111, 'protocol': 'http'}},"
        "                                     {'portMapping': {'port': 2222, 'protocol': 'http'}}]},"
        "  'single-vg': {'listeners': [{'portMapping': {'port': 8088, 'protocol': 'http'}}]}}}}}");
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_GATEWAY, "multiple-listeners-mesh", "tellergateway-vg",
                          TRELLIS_XDS_SIDECAR, &fixture_appmesh_defaults, &out, &deps));
    CHECK_STR(names_of(&out, TRELLIS_XDS_CLUSTER),
              "cds_ingress_multiple-listeners-mesh_tellergateway-vg_self_redirect_1111_http_15001,"
              "cds_ingress_multiple-listeners-mesh_tellergateway-vg_self_redirect_2222_http_15001");
    CHECK_STR(names_of(&out, TRELLIS_XDS_LISTENER),
              "lds_egress_0.0.0.0_15001,lds_ingress_0.0.0.0_1111,lds_ingress_0.0.0.0_2222");
    CHECK_STR(names_of(&out, TRELLIS_XDS_ROUTE), "rds_egress_http_15001,rds_ingress_http_1111,rds_ingress_http_2222");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_2222"),
                          "filter_chains[0].filters[0].typed_config.stat_prefix"),
               "'ingress.http.2222'");
    compile_output_free(&out);
    compile_deps_free(&deps);

    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_GATEWAY, "multiple-listeners-mesh", "single-vg",
                          TRELLIS_XDS_SIDECAR, &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_CLUSTER,
                                "cds_ingress_multiple-listeners-mesh_single-vg_self_redirect_http_15001"),
               "{'name': 'cds_ingress_multiple-listeners-mesh_single-vg_self_redirect_http_15001',"
               " 'connect_timeout': '0.250s', 'type': 'STATIC', 'load_assignment': {"
               "  'cluster_name': 'cds_ingress_multiple-listeners-mesh_single-vg_self_redirect_http_15001',"
               "  'endpoints': [{'lb_endpoints': [{'endpoint': {'address': {'socket_address': {"
               "   'address': '127.0.0.1', 'port_value': 15001}}}}]}]},"
               " 'circuit_breakers': {'thresholds': [{'max_connections': 2147483647, 'max_pending_requests': 2147483647,"
               "  'max_requests': 2147483647, 'max_retries': 2147483647}]}}");
    json_t *ingress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_8088");
    CHECK_JSON(fixture_at(ingress, "address"), "{'socket_address': {'address': '0.0.0.0', 'port_value': 8088}}");
    CHECK_JSON(fixture_at(ingress, "filter_chains[0].filters[0].typed_config.stat_prefix"), "'ingress'");
    /* No gateway routes yet: the listener is there with an empty self_redirect host. */
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_ingress_http_8088"),
               "{'name': 'rds_ingress_http_8088', 'virtual_hosts': [{'name': 'self_redirect', 'domains': ['*'], 'routes': []}]}");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Listener timeouts (ingress) and route timeouts (egress): defaults 15 s and
 * 300 s, explicit values, and 0 disabling; listener connection pools. */
static void test_timeouts_and_pools(void)
{
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'m': {"
        " 'virtualNodes': {"
        "  'server': {'listeners': ["
        "    {'portMapping': {'port': 8080, 'protocol': 'http'},"
        "     'timeout': {'http': {'perRequest': {'value': 0, 'unit': 's'}, 'idle': {'value': 1500, 'unit': 'ms'}}},"
        "     'connectionPool': {'http': {'maxConnections': 7}}},"
        "    {'portMapping': {'port': 9000, 'protocol': 'grpc'},"
        "     'timeout': {'grpc': {'perRequest': {'value': 60, 'unit': 's'}}},"
        "     'connectionPool': {'grpc': {'maxRequests': 9}}},"
        "    {'portMapping': {'port': 5432, 'protocol': 'tcp'},"
        "     'timeout': {'tcp': {'idle': {'value': 0, 'unit': 's'}}},"
        "     'connectionPool': {'tcp': {'maxConnections': 3}}}],"
        "   'serviceDiscovery': {'dns': {'hostname': 'server.local'}}}}}}}");
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "server", TRELLIS_XDS_SIDECAR, &no_defaults,
                          &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_ingress_http_8080"),
                          "virtual_hosts[0].routes[0].route"),
               "{'cluster': 'cds_ingress_m_server_http_8080', 'timeout': '0s', 'idle_timeout': '1.500s'}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_ingress_grpc_9000"),
                          "virtual_hosts[0].routes[0].route"),
               "{'cluster': 'cds_ingress_m_server_grpc_9000', 'timeout': '60s', 'idle_timeout': '300s'}");
    json_t *ingress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000");
    CHECK_JSON(fixture_at(ingress, "filter_chains[2].filters[0].typed_config.idle_timeout"), "'0s'");
    /* grpc listeners accept no websocket upgrade; http ones do. */
    CHECK(fixture_at(ingress, "filter_chains[1].filters[0].typed_config.upgrade_configs") == NULL);
    CHECK(fixture_at(ingress, "filter_chains[0].filters[0].typed_config.upgrade_configs") != NULL);

    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_m_server_http_8080"),
                          "circuit_breakers"),
               "{'thresholds': [{'max_connections': 7, 'max_pending_requests': 2147483647}]}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_m_server_grpc_9000"),
                          "circuit_breakers"),
               "{'thresholds': [{'max_requests': 9}]}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_m_server_grpc_9000"),
                          "typed_extension_protocol_options"),
               "{'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {"
               " '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',"
               " 'explicit_http_config': {'http2_protocol_options': {}}}}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_m_server_tcp_5432"),
                          "circuit_breakers"),
               "{'thresholds': [{'max_connections': 3}]}");
    compile_output_free(&out);
    compile_deps_free(&deps);

    /* With App Mesh's defaults the pool's limits join the 2147483647 others. */
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "server", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_m_server_grpc_9000"),
                          "circuit_breakers"),
               "{'thresholds': [{'max_connections': 2147483647, 'max_pending_requests': 2147483647,"
               " 'max_requests': 9, 'max_retries': 2147483647}]}");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* ALLOW_ALL: passthrough chains on 443 and everywhere, the mesh-allow-all
 * ORIGINAL_DST cluster, and a catch-all virtual host on HTTP ports. */
static void test_allow_all(void)
{
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'open': {'spec': {'egressFilter': {'type': 'ALLOW_ALL'}},"
        " 'virtualNodes': {"
        "  'client': {'backends': [{'virtualService': {'virtualServiceName': 'b.local'}}]},"
        "  'b': {'listeners': [{'portMapping': {'port': 80, 'protocol': 'http'}}],"
        "        'serviceDiscovery': {'dns': {'hostname': 'b.local'}}}},"
        " 'virtualServices': {'b.local': {'provider': {'virtualNode': {'virtualNodeName': 'b'}}}}}}}");
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "open", "client", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000") == NULL);
    json_t *egress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001");
    CHECK_INT(json_array_size(fixture_at(egress, "filter_chains")), 4);
    CHECK_JSON(fixture_at(egress, "filter_chains[2]"),
               "{'filter_chain_match': {'destination_port': 443, 'prefix_ranges': [{'address_prefix': '0.0.0.0', 'prefix_len': 0}]},"
               " 'filters': [{'name': 'envoy.filters.network.tcp_proxy', 'typed_config': {"
               "  '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',"
               "  'stat_prefix': 'egress', 'cluster': 'cds_egress_open_mesh-allow-all'}}]}");
    CHECK_JSON(fixture_at(egress, "filter_chains[3].filter_chain_match"),
               "{'prefix_ranges': [{'address_prefix': '0.0.0.0', 'prefix_len': 0}]}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_http_80"), "virtual_hosts[1]"),
               "{'name': 'mesh-allow-all/*', 'domains': ['*'], 'routes': [{'match': {'prefix': '/'},"
               " 'route': {'cluster': 'cds_egress_open_mesh-allow-all'}}]}");
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_open_mesh-allow-all"),
               "{'name': 'cds_egress_open_mesh-allow-all', 'connect_timeout': '1s', 'type': 'ORIGINAL_DST',"
               " 'lb_policy': 'CLUSTER_PROVIDED', 'circuit_breakers': {'thresholds': [{'max_connections': 2147483647,"
               " 'max_pending_requests': 2147483647, 'max_requests': 2147483647, 'max_retries': 2147483647}]},"
               " 'typed_extension_protocol_options': {'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {"
               "  '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',"
               "  'use_downstream_protocol_config': {'http_protocol_options': {}, 'http2_protocol_options': {}}}}}");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Retry policies: every App Mesh event and its Envoy name. */
static void test_retry_policy_mapping(void)
{
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'m': {"
        " 'virtualNodes': {"
        "  'client': {'backends': [{'virtualService': {'virtualServiceName': 'g.local'}}]},"
        "  'g': {'listeners': [{'portMapping': {'port': 50051, 'protocol': 'grpc'}}],"
        "        'serviceDiscovery': {'dns': {'hostname': 'g.local'}}}},"
        " 'virtualServices': {'g.local': {'provider': {'virtualRouter': {'virtualRouterName': 'r'}}}},"
        " 'virtualRouters': {'r': {'listeners': [{'portMapping': {'port': 50051, 'protocol': 'grpc'}}]}},"
        " 'routes': {'r': {'all': {'grpcRoute': {'match': {'serviceName': 'pkg.Svc', 'methodName': 'Call'},"
        "   'action': {'weightedTargets': [{'virtualNode': 'g', 'weight': 1}]},"
        "   'retryPolicy': {'maxRetries': 4, 'perRetryTimeout': {'value': 1500, 'unit': 'ms'},"
        "     'httpRetryEvents': ['server-error', 'gateway-error', 'client-error', 'stream-error'],"
        "     'tcpRetryEvents': ['connection-error'],"
        "     'grpcRetryEvents': ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']},"
        "   'timeout': {'perRequest': {'value': 20, 'unit': 's'}, 'idle': {'value': 0, 'unit': 's'}}}}}}}}}");
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "client", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_egress_grpc_50051"),
                          "virtual_hosts[0].routes[0]"),
               "{'name': 'all', 'match': {'path': '/pkg.Svc/Call'}, 'route': {"
               " 'weighted_clusters': {'clusters': [{'name': 'cds_egress_m_g_grpc_50051', 'weight': 1}]},"
               " 'timeout': '20s', 'idle_timeout': '0s', 'retry_policy': {"
               "  'retry_on': '5xx,gateway-error,retriable-4xx,refused-stream,connect-failure,cancelled,"
               "deadline-exceeded,internal,resource-exhausted,unavailable',"
               "  'num_retries': 4, 'per_try_timeout': '1.500s'}}}");
    /* The egress chain of a grpc port: HCM, no websocket, path normalisation. */
    json_t *egress = fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001");
    CHECK(fixture_at(egress, "filter_chains[0].filters[0].typed_config.upgrade_configs") == NULL);
    CHECK_JSON(fixture_at(egress, "filter_chains[0].filters[0].typed_config.normalize_path"), "true");
    compile_output_free(&out);
    compile_deps_free(&deps);

    /* Proxyless: the same route with max_stream_duration. */
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "client", TRELLIS_XDS_PROXYLESS,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK_STR(names_of(&out, TRELLIS_XDS_LISTENER), "g.local:50051");
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_LISTENER, "g.local:50051"),
               "{'name': 'g.local:50051', 'api_listener': {'api_listener': {"
               " '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',"
               " 'stat_prefix': 'egress',"
               " 'rds': {'config_source': {'ads': {}, 'resource_api_version': 'V3'}, 'route_config_name': 'rds_proxyless_g.local_50051'},"
               " 'http_filters': [{'name': 'envoy.filters.http.router', 'typed_config': {"
               "  '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'}}]}}}");
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_ROUTE, "rds_proxyless_g.local_50051"),
                          "virtual_hosts[0]"),
               "{'name': 'g.local', 'domains': ['g.local', 'g.local:50051'], 'routes': [{'name': 'all',"
               " 'match': {'path': '/pkg.Svc/Call'}, 'route': {"
               " 'weighted_clusters': {'clusters': [{'name': 'cds_egress_m_g_grpc_50051', 'weight': 1}]},"
               " 'max_stream_duration': {'max_stream_duration': '20s'}, 'retry_policy': {"
               "  'retry_on': '5xx,gateway-error,retriable-4xx,refused-stream,connect-failure,cancelled,"
               "deadline-exceeded,internal,resource-exhausted,unavailable',"
               "  'num_retries': 4, 'per_try_timeout': '1.500s'}}}]}");
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_m_g_grpc_50051"),
               "{'name': 'cds_egress_m_g_grpc_50051', 'connect_timeout': '1s', 'type': 'LOGICAL_DNS',"
               " 'load_assignment': {'cluster_name': 'cds_egress_m_g_grpc_50051', 'endpoints': [{'lb_endpoints': [{"
               "  'endpoint': {'address': {'socket_address': {'address': 'g.local', 'port_value': 50051}}}}]}]},"
               " 'circuit_breakers': {'thresholds': [{'max_connections': 2147483647, 'max_pending_requests': 2147483647,"
               "  'max_requests': 2147483647, 'max_retries': 2147483647}]}}");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

/* Health checks and outlier detection of the target node on the client's
 * egress cluster; access logs in both formats. */
static void test_health_outlier_logging(void)
{
    catalog *cat = fixture_catalog_from_text(
        "{'meshes': {'m': {"
        " 'virtualNodes': {"
        "  'client': {'backends': [{'virtualService': {'virtualServiceName': 's.local'}}],"
        "   'logging': {'accessLog': {'file': {'path': '/dev/stdout', 'format': {'json': ["
        "     {'key': 'path', 'value': '%REQ_WITHOUT_QUERY(:PATH)%'}, {'key': 'code', 'value': '%RESPONSE_CODE%'}]}}}}},"
        "  's': {'listeners': [{'portMapping': {'port': 8080, 'protocol': 'http'},"
        "     'healthCheck': {'protocol': 'http', 'path': '/ping', 'healthyThreshold': 2, 'unhealthyThreshold': 3,"
        "                     'intervalMillis': 5000, 'timeoutMillis': 2000},"
        "     'outlierDetection': {'maxServerErrors': 5, 'interval': {'value': 10, 'unit': 's'},"
        "       'baseEjectionDuration': {'value': 30, 'unit': 's'}, 'maxEjectionPercent': 50}}],"
        "   'serviceDiscovery': {'awsCloudMap': {'namespaceName': 'm.local', 'serviceName': 's'}},"
        "   'logging': {'accessLog': {'file': {'path': '/var/log/s.log', 'format': {'text': '%START_TIME% %RESPONSE_CODE%\\n'}}}}}},"
        " 'virtualServices': {'s.local': {'provider': {'virtualNode': {'virtualNodeName': 's'}}}}}}}");
    compile_output out;
    compile_deps deps;
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "client", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    json_t *cluster = fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_egress_m_s_http_8080");
    CHECK_JSON(fixture_at(cluster, "type"), "'EDS'");
    CHECK_JSON(fixture_at(cluster, "eds_cluster_config"), "{'eds_config': {'ads': {}, 'resource_api_version': 'V3'}}");
    CHECK_JSON(fixture_at(cluster, "health_checks"),
               "[{'timeout': '2s', 'interval': '5s', 'unhealthy_threshold': 3, 'healthy_threshold': 2,"
               " 'http_health_check': {'host': 's.m.local:8080', 'path': '/ping'}}]");
    CHECK_JSON(fixture_at(cluster, "outlier_detection"),
               "{'consecutive_5xx': 5, 'interval': '10s', 'base_ejection_time': '30s', 'max_ejection_percent': 50,"
               " 'enforcing_success_rate': 0}");
    /* No discovery source: an empty assignment, never a missing one. */
    CHECK_JSON(fixture_resource(&out, TRELLIS_XDS_ENDPOINT, "cds_egress_m_s_http_8080"),
               "{'cluster_name': 'cds_egress_m_s_http_8080', 'endpoints': []}");
    CHECK(deps.endpoints);
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_egress_0.0.0.0_15001"),
                          "filter_chains[0].filters[0].typed_config.access_log"),
               "[{'name': 'envoy.access_loggers.file', 'typed_config': {"
               " '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',"
               " 'path': '/dev/stdout', 'log_format': {'json_format': {'path': '%REQ_WITHOUT_QUERY(:PATH)%',"
               "  'code': '%RESPONSE_CODE%'}, 'formatters': [{'name': 'envoy.formatter.req_without_query',"
               "  'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery'}}]}}}]");
    compile_output_free(&out);
    compile_deps_free(&deps);

    /* The server's own sidecar: its health check is not on its local cluster;
     * its text format log is on its ingress HCM. */
    CHECK(fixture_compile(cat, RESOURCE_VIRTUAL_NODE, "m", "s", TRELLIS_XDS_SIDECAR,
                          &fixture_appmesh_defaults, &out, &deps));
    CHECK(fixture_at(fixture_resource(&out, TRELLIS_XDS_CLUSTER, "cds_ingress_m_s_http_8080"), "health_checks") == NULL);
    CHECK(!deps.endpoints);
    CHECK_JSON(fixture_at(fixture_resource(&out, TRELLIS_XDS_LISTENER, "lds_ingress_0.0.0.0_15000"),
                          "filter_chains[0].filters[0].typed_config.access_log[0].typed_config.log_format"),
               "{'text_format_source': {'inline_string': '%START_TIME% %RESPONSE_CODE%\\n'},"
               " 'formatters': [{'name': 'envoy.formatter.req_without_query', 'typed_config': {"
               "  '@type': 'type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery'}}]}");
    compile_output_free(&out);
    compile_deps_free(&deps);
    catalog_free(cat);
}

int main(void)
{
    test_single_listener_names();
    test_online_store();
    test_multiple_listener_stat_prefixes();
    test_gateway_names();
    test_timeouts_and_pools();
    test_allow_all();
    test_retry_policy_mapping();
    test_health_outlier_logging();
    return test_finish("unit_compiler_golden");
}
