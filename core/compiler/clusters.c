#include "clusters.h"

#include "circuit_breakers.h"
#include "endpoints.h"
#include "health_check.h"
#include "json_build.h"
#include "naming.h"
#include "outlier_detection.h"
#include "service_discovery.h"

#define LOCAL_CONNECT_TIMEOUT_MS 250
#define REMOTE_CONNECT_TIMEOUT_MS 1000
#define HTTP_PROTOCOL_OPTIONS "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

static json_t *http2_protocol_options(compile_ctx *c)
{
    if (c->shared_http2_options == NULL) {
        json_t *explicit_config = jb_object(c);
        jb_set(c, explicit_config, "http2_protocol_options", jb_object(c));
        json_t *options = jb_typed(c, HTTP_PROTOCOL_OPTIONS);
        jb_set(c, options, "explicit_http_config", explicit_config);
        json_t *map = jb_object(c);
        jb_set(c, map, HTTP_PROTOCOL_OPTIONS, options);
        c->shared_http2_options = map;
    }
    return jb_share(c, c->shared_http2_options);
}

/* A cluster object with the members every cluster has. */
static json_t *cluster_base(compile_ctx *c, const char *name, int64_t connect_timeout_ms)
{
    json_t *cluster = jb_object(c);
    jb_set_string(c, cluster, "name", name);
    jb_set(c, cluster, "connect_timeout", jb_duration_ms(c, connect_timeout_ms));
    return cluster;
}

static void set_optional(compile_ctx *c, json_t *object, const char *key, json_t *value)
{
    if (value != NULL)
        jb_set(c, object, key, value);
}

/* A STATIC loopback cluster with the listener's pool as circuit breakers. */
static const char *loopback_cluster(compile_ctx *c, const char *name, const json_t *listener,
                                    const char *address, uint32_t port, mesh_protocol protocol)
{
    if (name == NULL || ctx_resource(c, TRELLIS_XDS_CLUSTER, name) != NULL)
        return name;
    json_t *cluster = cluster_base(c, name, LOCAL_CONNECT_TIMEOUT_MS);
    jb_set_string(c, cluster, "type", "STATIC");
    jb_set(c, cluster, "load_assignment", endpoints_single(c, name, address, port, 0));
    set_optional(c, cluster, "circuit_breakers",
                 breakers_for_pool(c, json_object_get(listener, "connectionPool")));
    if (protocol_upstream_http2(protocol))
        jb_set(c, cluster, "typed_extension_protocol_options", http2_protocol_options(c));
    ctx_add_resource(c, TRELLIS_XDS_CLUSTER, name, cluster);
    return name;
}

const char *cluster_local(compile_ctx *c, const json_t *listener, uint32_t port,
                          mesh_protocol protocol)
{
    ip_preference preference = ip_preference_of_node(c->self_spec, c->mesh_ip_preference);
    return loopback_cluster(
        c, name_cluster(&c->arena, "ingress", c->id->mesh, c->id->name, protocol, port), listener,
        ip_preference_loopback(preference), port, protocol);
}

const char *cluster_self_redirect(compile_ctx *c, const json_t *listener, bool several_listeners,
                                  uint32_t port, mesh_protocol protocol)
{
    return loopback_cluster(c,
                            name_cluster_self_redirect(&c->arena, c->id->mesh, c->id->name,
                                                       several_listeners, port, protocol),
                            listener, ip_preference_loopback(c->mesh_ip_preference),
                            NAME_EGRESS_PORT, protocol);
}

static void set_eds(compile_ctx *c, json_t *cluster)
{
    json_t *eds = jb_object(c);
    jb_set(c, eds, "eds_config", jb_ads_source(c));
    jb_set_string(c, cluster, "type", "EDS");
    jb_set(c, cluster, "eds_cluster_config", eds);
}

const char *cluster_for_target(compile_ctx *c, const plan_target *t, bool proxyless)
{
    const char *name = name_cluster(&c->arena, "egress", c->id->mesh, t->node, t->protocol, t->port);
    if (name == NULL || ctx_resource(c, TRELLIS_XDS_CLUSTER, name) != NULL)
        return name;
    discovery d = service_discovery_of(t->node_spec);
    if (d.kind == DISCOVERY_NONE)
        return NULL;
    ip_preference preference = ip_preference_of_node(t->node_spec, c->mesh_ip_preference);
    const json_t *health = json_object_get(t->listener, "healthCheck");
    uint32_t health_port = proxyless ? 0 : health_check_port(health, t->port);

    json_t *cluster = cluster_base(c, name, REMOTE_CONNECT_TIMEOUT_MS);
    /* DNS names go to Envoy unless the endpoint source resolves them itself
     * (discovery.dns); gRPC has no STRICT_DNS, so ENDPOINTS is EDS there. */
    bool dns = d.kind == DISCOVERY_DNS_LOADBALANCER || d.kind == DISCOVERY_DNS_ENDPOINTS;
    bool eds = d.kind == DISCOVERY_CLOUD_MAP || (proxyless && d.kind == DISCOVERY_DNS_ENDPOINTS) ||
               (dns && endpoints_resolves_dns(c, t->node));
    if (eds) {
        set_eds(c, cluster);
        endpoints_discovered(c, name, t->node, t->port, preference, health_port);
    } else {
        jb_set_string(c, cluster, "type",
                      d.kind == DISCOVERY_DNS_ENDPOINTS ? "STRICT_DNS" : "LOGICAL_DNS");
        jb_set(c, cluster, "load_assignment",
               endpoints_single(c, name, d.hostname, t->port, health_port));
        const char *family = ip_preference_dns_lookup_family(preference);
        if (family != NULL)
            jb_set_string(c, cluster, "dns_lookup_family", family);
    }
    set_optional(c, cluster, "circuit_breakers", breakers_default(c));
    if (!proxyless) {
        if (protocol_upstream_http2(t->protocol))
            jb_set(c, cluster, "typed_extension_protocol_options", http2_protocol_options(c));
        const char *host = d.kind == DISCOVERY_CLOUD_MAP
                               ? arena_printf(&c->arena, "%s.%s", d.service_name, d.namespace_name)
                               : d.hostname;
        set_optional(c, cluster, "health_checks", health_checks_build(c, health, host, t->port));
        set_optional(c, cluster, "outlier_detection",
                     outlier_detection_build(c, json_object_get(t->listener, "outlierDetection")));
    }
    ctx_add_resource(c, TRELLIS_XDS_CLUSTER, name, cluster);
    return name;
}

static json_t *passthrough_cluster(compile_ctx *c, const char *name)
{
    json_t *cluster = cluster_base(c, name, REMOTE_CONNECT_TIMEOUT_MS);
    jb_set_string(c, cluster, "type", "ORIGINAL_DST");
    jb_set_string(c, cluster, "lb_policy", "CLUSTER_PROVIDED");
    set_optional(c, cluster, "circuit_breakers", breakers_default(c));
    return cluster;
}

const char *cluster_amazonaws(compile_ctx *c)
{
    const char *name = name_cluster_amazonaws(&c->arena, c->id->mesh);
    if (name != NULL && ctx_resource(c, TRELLIS_XDS_CLUSTER, name) == NULL)
        ctx_add_resource(c, TRELLIS_XDS_CLUSTER, name, passthrough_cluster(c, name));
    return name;
}

const char *cluster_allow_all(compile_ctx *c)
{
    const char *name = name_cluster_allow_all(&c->arena, c->id->mesh);
    if (name == NULL || ctx_resource(c, TRELLIS_XDS_CLUSTER, name) != NULL)
        return name;
    json_t *cluster = passthrough_cluster(c, name);
    /* Unmatched HTTP requests are proxied too (catch-all virtual host): speak
     * to the original destination in the protocol the application used. */
    json_t *downstream = jb_object(c);
    jb_set(c, downstream, "http_protocol_options", jb_object(c));
    jb_set(c, downstream, "http2_protocol_options", jb_object(c));
    json_t *options = jb_typed(c, HTTP_PROTOCOL_OPTIONS);
    jb_set(c, options, "use_downstream_protocol_config", downstream);
    json_t *map = jb_object(c);
    jb_set(c, map, HTTP_PROTOCOL_OPTIONS, options);
    jb_set(c, cluster, "typed_extension_protocol_options", map);
    ctx_add_resource(c, TRELLIS_XDS_CLUSTER, name, cluster);
    return name;
}
