#include "spec_rules.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog_key.h"
#include "references.h"

/* "httpRoute" -> "http", ... : the listener protocol a route type needs. */
static const char *route_protocol(const char *route_type)
{
    if (strcmp(route_type, "httpRoute") == 0)
        return "http";
    if (strcmp(route_type, "http2Route") == 0)
        return "http2";
    if (strcmp(route_type, "grpcRoute") == 0)
        return "grpc";
    return "tcp";
}

static const char *str(const json_t *object, const char *member)
{
    return json_string_value(json_object_get(object, member));
}

static bool has(const json_t *object, const char *member)
{
    return json_object_get(object, member) != NULL;
}

bool rules_resource_name(api_call *call, const char *member, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '/' || *p < 0x20 || *p == 0x7f)
            return api_fail(call, API_BAD_REQUEST,
                            "%s '%s' must not contain '/' or control characters", member, name);
    }
    return true;
}

/* ---- listeners ---- */

/* The listener of `listeners` on `port`, or NULL. */
static json_t *listener_on_port(const json_t *listeners, json_int_t port)
{
    size_t i;
    json_t *listener;
    json_array_foreach(listeners, i, listener) {
        if (json_integer_value(json_object_get(json_object_get(listener, "portMapping"), "port")) ==
            port)
            return listener;
    }
    return NULL;
}

static const char *listener_protocol(const json_t *listener)
{
    return str(json_object_get(listener, "portMapping"), "protocol");
}

static bool unique_listener_ports(api_call *call, const json_t *listeners, const char *path)
{
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(listeners, i, a) {
        json_int_t port = json_integer_value(json_object_get(json_object_get(a, "portMapping"), "port"));
        json_array_foreach(listeners, j, b) {
            if (j >= i)
                break;
            if (json_integer_value(json_object_get(json_object_get(b, "portMapping"), "port")) == port)
                return api_fail(call, API_BAD_REQUEST, "%s: port %lld is used by two listeners",
                                path, (long long)port);
        }
    }
    return true;
}

/* The member set in a union-like object (connection pool, timeout). */
static const char *only_member(const json_t *object)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value) {
        return key;
    }
    return NULL;
}

/* http and http2 health checks request a path; the model cannot say so. */
static bool check_health_check(api_call *call, const json_t *health, const char *path)
{
    const char *protocol = str(health, "protocol");
    const char *hc_path = str(health, "path");
    bool http_like = protocol != NULL && (strcmp(protocol, "http") == 0 || strcmp(protocol, "http2") == 0);
    if (http_like && (hc_path == NULL || hc_path[0] != '/'))
        return api_fail(call, API_BAD_REQUEST,
                        "%s.healthCheck.path: an %s health check needs a path starting with '/'",
                        path, protocol);
    return true;
}

/* Connection pool, timeout and health check of one node or gateway listener. */
static bool check_listener(api_call *call, const json_t *listener, const char *path)
{
    const char *protocol = listener_protocol(listener);
    const json_t *pool = json_object_get(listener, "connectionPool");
    const char *pool_type = pool ? only_member(pool) : NULL;
    if (pool_type != NULL && protocol != NULL && strcmp(pool_type, protocol) != 0)
        return api_fail(call, API_BAD_REQUEST,
                        "%s.connectionPool: the connection pool protocol (%s) must match the "
                        "listener's portMapping protocol (%s)",
                        path, pool_type, protocol);
    const json_t *timeout = json_object_get(listener, "timeout");
    const char *timeout_type = timeout ? only_member(timeout) : NULL;
    if (timeout_type != NULL && protocol != NULL && strcmp(timeout_type, protocol) != 0)
        return api_fail(call, API_BAD_REQUEST,
                        "%s.timeout: the timeout protocol (%s) must match the listener's "
                        "portMapping protocol (%s)",
                        path, timeout_type, protocol);
    return check_health_check(call, json_object_get(listener, "healthCheck"), path);
}

static bool check_listeners(api_call *call, const json_t *listeners, bool need_one)
{
    if (need_one && json_array_size(listeners) == 0)
        return api_fail(call, API_BAD_REQUEST, "spec.listeners: at least one listener is required");
    if (!unique_listener_ports(call, listeners, "spec.listeners"))
        return false;
    size_t i;
    json_t *listener;
    json_array_foreach(listeners, i, listener) {
        char path[64];
        snprintf(path, sizeof(path), "spec.listeners.%zu.member", i + 1);
        if (!check_listener(call, listener, path))
            return false;
    }
    return true;
}

/* ---- virtual nodes ---- */

bool rules_virtual_node_spec(api_call *call, const char *mesh, const json_t *spec)
{
    (void)mesh;
    const json_t *listeners = json_object_get(spec, "listeners");
    if (!check_listeners(call, listeners, false))
        return false;
    if (json_array_size(listeners) > 0 && !has(spec, "serviceDiscovery"))
        return api_fail(call, API_BAD_REQUEST,
                        "spec.serviceDiscovery: a virtual node with listeners needs service discovery");
    const json_t *backends = json_object_get(spec, "backends");
    size_t limit = call->cp->settings.quota_backends_per_virtual_node;
    if (json_array_size(backends) > limit)
        return api_fail(call, API_LIMIT,
                        "spec.backends: %zu backends exceed the limit of %zu per virtual node",
                        json_array_size(backends), limit);
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(backends, i, a) {
        const char *name = str(json_object_get(a, "virtualService"), "virtualServiceName");
        json_array_foreach(backends, j, b) {
            if (j >= i)
                break;
            const char *other = str(json_object_get(b, "virtualService"), "virtualServiceName");
            if (name != NULL && other != NULL && strcmp(name, other) == 0)
                return api_fail(call, API_BAD_REQUEST,
                                "spec.backends: virtual service '%s' is listed twice", name);
        }
    }
    return true;
}

/* ---- virtual services ---- */

static bool resource_exists(api_call *call, resource_kind kind, const char *mesh, const char *parent,
                            const char *name)
{
    return catalog_get_resource(call->cp->cat, kind, mesh, parent, name) != NULL;
}

static const json_t *resource_spec(api_call *call, resource_kind kind, const char *mesh,
                                   const char *name)
{
    const catalog_entry *e = catalog_get_resource(call->cp->cat, kind, mesh, NULL, name);
    return e ? json_object_get(e->data, "spec") : NULL;
}

bool rules_virtual_service_spec(api_call *call, const char *mesh, const json_t *spec)
{
    const json_t *provider = json_object_get(spec, "provider");
    const char *node = str(json_object_get(provider, "virtualNode"), "virtualNodeName");
    const char *router = str(json_object_get(provider, "virtualRouter"), "virtualRouterName");
    if (node != NULL && !resource_exists(call, RESOURCE_VIRTUAL_NODE, mesh, NULL, node))
        return api_fail(call, API_NOT_FOUND,
                        "spec.provider.virtualNode: virtual node '%s' does not exist in mesh '%s'",
                        node, mesh);
    if (router != NULL && !resource_exists(call, RESOURCE_VIRTUAL_ROUTER, mesh, NULL, router))
        return api_fail(call, API_NOT_FOUND,
                        "spec.provider.virtualRouter: virtual router '%s' does not exist in mesh '%s'",
                        router, mesh);
    return true;
}

/* ---- routes ---- */

static bool reserved_path(const char *path)
{
    return strncmp(path, "/aws-appmesh", 12) == 0 || strncmp(path, "/aws-app-mesh", 13) == 0;
}

static bool reserved_service_name(const char *name)
{
    return strncmp(name, "aws.appmesh", 11) == 0 || strncmp(name, "aws.app-mesh", 12) == 0;
}

static bool check_regex(api_call *call, const char *regex, const char *path)
{
    char reason[256];
    if (regex != NULL && !model_re2_syntax_ok(regex, reason, sizeof(reason)))
        return api_fail(call, API_BAD_REQUEST, "%s: '%s' is not a valid RE2 regular expression: %s",
                        path, regex, reason);
    return true;
}

/* A header or metadata match: the regex must be RE2, a range must be ordered. */
static bool check_header_matches(api_call *call, const json_t *headers, const char *path)
{
    size_t i;
    json_t *header;
    json_array_foreach(headers, i, header) {
        char item[128];
        snprintf(item, sizeof(item), "%s.%zu.member", path, i + 1);
        const char *name = str(header, "name");
        if (name != NULL && name[0] == ':')
            return api_fail(call, API_BAD_REQUEST,
                            "%s.name: '%s' is a pseudo-header; match the method or path instead",
                            item, name);
        const json_t *match = json_object_get(header, "match");
        char where[160];
        snprintf(where, sizeof(where), "%s.match.regex", item);
        if (!check_regex(call, str(match, "regex"), where))
            return false;
        const json_t *range = json_object_get(match, "range");
        if (range != NULL &&
            json_integer_value(json_object_get(range, "start")) >=
                json_integer_value(json_object_get(range, "end")))
            return api_fail(call, API_BAD_REQUEST, "%s.match.range: start must be less than end",
                            item);
    }
    return true;
}

/* The listener a route or gateway route attaches to, by its match port. */
static const json_t *attached_listener(api_call *call, const json_t *listeners, const json_t *match,
                                       const char *match_path, const char *owner)
{
    const json_t *port = json_object_get(match, "port");
    if (port == NULL) {
        if (json_array_size(listeners) > 1) {
            api_fail(call, API_BAD_REQUEST,
                     "Route must define a port match criteria if the %s has multiple listeners",
                     owner);
            return NULL;
        }
        if (json_array_size(listeners) == 0) {
            api_fail(call, API_BAD_REQUEST, "the %s has no listener to attach the route to", owner);
            return NULL;
        }
        return json_array_get(listeners, 0);
    }
    const json_t *listener = listener_on_port(listeners, json_integer_value(port));
    if (listener == NULL)
        api_fail(call, API_BAD_REQUEST, "%s.port: %lld is not a listener port of the %s", match_path,
                 (long long)json_integer_value(port), owner);
    return listener;
}

static bool check_http_match(api_call *call, const json_t *match, const char *path, bool gateway)
{
    const char *prefix = str(match, "prefix");
    const json_t *path_match = json_object_get(match, "path");
    bool hostname = gateway && has(match, "hostname");
    char where[128];
    if (prefix != NULL && path_match != NULL)
        return api_fail(call, API_BAD_REQUEST, "%s: specify either prefix or path, not both", path);
    if (prefix == NULL && path_match == NULL && !hostname)
        return api_fail(call, API_BAD_REQUEST,
                        gateway ? "%s: specify a prefix, a path or a hostname to match"
                                : "%s: specify either prefix or path",
                        path);
    if (prefix != NULL) {
        if (prefix[0] != '/')
            return api_fail(call, API_BAD_REQUEST, "%s.prefix: '%s' must start with '/'", path, prefix);
        if (reserved_path(prefix))
            return api_fail(call, API_BAD_REQUEST,
                            "%s.prefix: '%s' is reserved (/aws-appmesh and /aws-app-mesh)", path,
                            prefix);
    }
    if (path_match != NULL) {
        const char *exact = str(path_match, "exact");
        const char *regex = str(path_match, "regex");
        if ((exact == NULL) == (regex == NULL))
            return api_fail(call, API_BAD_REQUEST, "%s.path: specify exactly one of exact or regex",
                            path);
        if (exact != NULL && exact[0] != '/')
            return api_fail(call, API_BAD_REQUEST, "%s.path.exact: '%s' must start with '/'", path,
                            exact);
        if (exact != NULL && reserved_path(exact))
            return api_fail(call, API_BAD_REQUEST,
                            "%s.path.exact: '%s' is reserved (/aws-appmesh and /aws-app-mesh)",
                            path, exact);
        snprintf(where, sizeof(where), "%s.path.regex", path);
        if (!check_regex(call, regex, where))
            return false;
    }
    if (hostname) {
        const json_t *host = json_object_get(match, "hostname");
        if (has(host, "exact") == has(host, "suffix"))
            return api_fail(call, API_BAD_REQUEST,
                            "%s.hostname: specify exactly one of exact or suffix", path);
    }
    snprintf(where, sizeof(where), "%s.headers", path);
    if (!check_header_matches(call, json_object_get(match, "headers"), where))
        return false;
    const json_t *params = json_object_get(match, "queryParameters");
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(params, i, a) {
        json_array_foreach(params, j, b) {
            if (j >= i)
                break;
            if (strcmp(str(a, "name"), str(b, "name")) == 0)
                return api_fail(call, API_BAD_REQUEST,
                                "%s.queryParameters: parameter '%s' is matched twice", path,
                                str(a, "name"));
        }
    }
    return true;
}

static bool check_retry_policy(api_call *call, const json_t *retry, const char *route_type,
                               const char *path)
{
    if (retry == NULL)
        return true;
    static const char *const http_events[] = {"server-error", "gateway-error", "client-error",
                                              "stream-error", NULL};
    const json_t *http = json_object_get(retry, "httpRetryEvents");
    size_t i;
    json_t *event;
    json_array_foreach(http, i, event) {
        const char *name = json_string_value(event);
        bool known = false;
        for (size_t k = 0; http_events[k] != NULL && name != NULL; k++)
            known = known || strcmp(http_events[k], name) == 0;
        if (!known)
            return api_fail(call, API_BAD_REQUEST,
                            "%s.retryPolicy.httpRetryEvents: '%s' is not one of server-error, "
                            "gateway-error, client-error, stream-error",
                            path, name ? name : "");
    }
    bool grpc = strcmp(route_type, "grpcRoute") == 0;
    if (json_array_size(http) == 0 && json_array_size(json_object_get(retry, "tcpRetryEvents")) == 0 &&
        (!grpc || json_array_size(json_object_get(retry, "grpcRetryEvents")) == 0))
        return api_fail(call, API_BAD_REQUEST,
                        grpc ? "%s.retryPolicy: specify at least one of grpcRetryEvents, "
                               "httpRetryEvents or tcpRetryEvents"
                             : "%s.retryPolicy: specify at least one of httpRetryEvents or "
                               "tcpRetryEvents",
                        path);
    return true;
}

static bool check_weighted_targets(api_call *call, const char *mesh, const json_t *targets,
                                   const char *path)
{
    bool some_weight = false;
    size_t i, j;
    json_t *target, *other;
    json_array_foreach(targets, i, target) {
        const char *node = str(target, "virtualNode");
        const json_t *port = json_object_get(target, "port");
        char item[128];
        snprintf(item, sizeof(item), "%s.weightedTargets.%zu.member", path, i + 1);
        if (json_integer_value(json_object_get(target, "weight")) > 0)
            some_weight = true;
        const json_t *node_spec = resource_spec(call, RESOURCE_VIRTUAL_NODE, mesh, node);
        if (node_spec == NULL)
            return api_fail(call, API_NOT_FOUND,
                            "%s.virtualNode: virtual node '%s' does not exist in mesh '%s'", item,
                            node, mesh);
        const json_t *listeners = json_object_get(node_spec, "listeners");
        if (port != NULL && listener_on_port(listeners, json_integer_value(port)) == NULL)
            return api_fail(call, API_BAD_REQUEST,
                            "%s.port: virtual node '%s' has no listener on port %lld", item, node,
                            (long long)json_integer_value(port));
        if (port == NULL && json_array_size(listeners) > 1)
            return api_fail(call, API_BAD_REQUEST,
                            "%s.port: virtual node '%s' has several listeners; the target must "
                            "name a port",
                            item, node);
        json_array_foreach(targets, j, other) {
            if (j >= i)
                break;
            const json_t *other_port = json_object_get(other, "port");
            /* json_equal() is false when either side is NULL: compare "no
             * port" explicitly. */
            bool same_port = (other_port == NULL && port == NULL) ||
                             (other_port != NULL && port != NULL &&
                              json_equal((json_t *)other_port, (json_t *)port));
            if (strcmp(str(other, "virtualNode"), node) == 0 && same_port)
                return api_fail(call, API_BAD_REQUEST,
                                "%s: virtual node '%s' is a target twice", item, node);
        }
    }
    if (!some_weight)
        return api_fail(call, API_BAD_REQUEST,
                        "%s.weightedTargets: at least one target needs a weight greater than 0",
                        path);
    return true;
}

static bool check_grpc_match(api_call *call, const json_t *match, const char *path)
{
    const char *service = str(match, "serviceName");
    if (has(match, "methodName") && service == NULL)
        return api_fail(call, API_BAD_REQUEST, "%s.methodName: a method name requires serviceName",
                        path);
    if (service != NULL && reserved_service_name(service))
        return api_fail(call, API_BAD_REQUEST,
                        "%s.serviceName: '%s' is reserved (aws.appmesh and aws.app-mesh)", path,
                        service);
    char where[128];
    snprintf(where, sizeof(where), "%s.metadata", path);
    return check_header_matches(call, json_object_get(match, "metadata"), where);
}

bool rules_route_spec(api_call *call, const char *mesh, const json_t *router_spec,
                      const json_t *spec)
{
    json_t *route = NULL;
    size_t count = 0;
    const char *type = references_route_type(spec, references_route_types, &route, &count);
    if (type == NULL)
        return api_fail(call, API_BAD_REQUEST,
                        count == 0 ? "spec: specify one of grpcRoute, http2Route, httpRoute or tcpRoute"
                                   : "spec: specify only one of grpcRoute, http2Route, httpRoute or "
                                     "tcpRoute");
    char path[64];
    snprintf(path, sizeof(path), "spec.%s", type);
    char match_path[80];
    snprintf(match_path, sizeof(match_path), "%s.match", path);
    const json_t *match = json_object_get(route, "match");
    const json_t *listener = attached_listener(call, json_object_get(router_spec, "listeners"), match,
                                               match_path, "Virtual Router");
    if (listener == NULL)
        return false;
    const char *protocol = listener_protocol(listener);
    if (protocol == NULL || strcmp(protocol, route_protocol(type)) != 0)
        return api_fail(call, API_BAD_REQUEST,
                        "spec.%s: the route type must match the virtual router listener protocol "
                        "(%s on port %lld)",
                        type, protocol ? protocol : "?",
                        (long long)json_integer_value(
                            json_object_get(json_object_get(listener, "portMapping"), "port")));
    if (strcmp(type, "httpRoute") == 0 || strcmp(type, "http2Route") == 0) {
        if (!check_http_match(call, match, match_path, false))
            return false;
    } else if (strcmp(type, "grpcRoute") == 0) {
        if (!check_grpc_match(call, match, match_path))
            return false;
    }
    char action_path[80];
    snprintf(action_path, sizeof(action_path), "%s.action", path);
    if (!check_weighted_targets(call, mesh,
                                json_object_get(json_object_get(route, "action"), "weightedTargets"),
                                action_path))
        return false;
    return check_retry_policy(call, json_object_get(route, "retryPolicy"), type, path);
}

/* ---- routers and gateways: existing routes must stay attached ---- */

/* A router's (or gateway's) routes, checked against its new listeners. */
typedef struct attachment_check {
    api_call *call;
    const json_t *spec;           /* the router's or gateway's new spec */
    const char *const *types;     /* references_(gateway_)route_types */
    const char *route_kind;       /* "route" / "gateway route" */
    const char *owner_kind;       /* "virtual router" / "virtual gateway" */
    bool ok;
} attachment_check;

static bool visit_existing_route(const catalog_entry *e, void *arg)
{
    attachment_check *ac = arg;
    json_t *route = NULL;
    const char *type = references_route_type(json_object_get(e->data, "spec"), ac->types, &route, NULL);
    if (type == NULL)
        return true;
    const json_t *listeners = json_object_get(ac->spec, "listeners");
    const json_t *port = json_object_get(json_object_get(route, "match"), "port");
    const json_t *listener = port ? listener_on_port(listeners, json_integer_value(port))
                             : json_array_size(listeners) == 1 ? json_array_get(listeners, 0)
                                                               : NULL;
    const char *protocol = listener ? listener_protocol(listener) : NULL;
    if (protocol == NULL || strcmp(protocol, route_protocol(type)) != 0) {
        ac->ok = api_fail(ac->call, API_BAD_REQUEST,
                          "spec.listeners: %s '%s' (%s) would no longer match a listener of the "
                          "%s; update or delete the %s first",
                          ac->route_kind, e->name, route_protocol(type), ac->owner_kind,
                          ac->route_kind);
        return false;
    }
    return true;
}

static bool routes_stay_attached(api_call *call, resource_kind route_kind, const char *mesh,
                                 const char *owner, const json_t *spec)
{
    bool gateway = route_kind == RESOURCE_GATEWAY_ROUTE;
    char prefix[CATALOG_KEY_MAX];
    if (!catalog_key_list_prefix(prefix, sizeof(prefix), route_kind, mesh, owner))
        return api_fail(call, API_BAD_REQUEST, "%s: name too long",
                        gateway ? "virtualGatewayName" : "virtualRouterName");
    attachment_check ac = {
        .call = call,
        .spec = spec,
        .types = gateway ? references_gateway_route_types : references_route_types,
        .route_kind = gateway ? "gateway route" : "route",
        .owner_kind = gateway ? "virtual gateway" : "virtual router",
        .ok = true,
    };
    catalog_scan_prefix(call->cp->cat, prefix, visit_existing_route, &ac);
    return ac.ok;
}

bool rules_virtual_router_spec(api_call *call, const char *mesh, const char *router,
                               const json_t *spec)
{
    const json_t *listeners = json_object_get(spec, "listeners");
    if (json_array_size(listeners) == 0)
        return api_fail(call, API_BAD_REQUEST,
                        "spec.listeners: a virtual router needs at least one listener");
    return unique_listener_ports(call, listeners, "spec.listeners") &&
           routes_stay_attached(call, RESOURCE_ROUTE, mesh, router, spec);
}

bool rules_virtual_gateway_spec(api_call *call, const char *mesh, const char *gateway,
                                const json_t *spec)
{
    return check_listeners(call, json_object_get(spec, "listeners"), true) &&
           routes_stay_attached(call, RESOURCE_GATEWAY_ROUTE, mesh, gateway, spec);
}

/* ---- gateway routes ---- */

static bool check_gateway_rewrite(api_call *call, const json_t *match, const json_t *rewrite,
                                  const char *path)
{
    if (rewrite == NULL)
        return true;
    const json_t *prefix = json_object_get(rewrite, "prefix");
    const json_t *path_rewrite = json_object_get(rewrite, "path");
    if (prefix != NULL) {
        if (!has(match, "prefix"))
            return api_fail(call, API_BAD_REQUEST,
                            "%s.prefix: a prefix rewrite needs a prefix match", path);
        if (has(prefix, "defaultPrefix") == has(prefix, "value"))
            return api_fail(call, API_BAD_REQUEST,
                            "%s.prefix: specify exactly one of defaultPrefix or value", path);
        const char *value = str(prefix, "value");
        size_t len = value ? strlen(value) : 0;
        if (value != NULL && (len == 0 || value[0] != '/' || value[len - 1] != '/'))
            return api_fail(call, API_BAD_REQUEST,
                            "%s.prefix.value: '%s' must start and end with '/'", path, value);
    }
    if (path_rewrite != NULL) {
        if (!has(match, "path"))
            return api_fail(call, API_BAD_REQUEST, "%s.path: a path rewrite needs a path match",
                            path);
        const char *exact = str(path_rewrite, "exact");
        if (exact == NULL || exact[0] != '/')
            return api_fail(call, API_BAD_REQUEST, "%s.path.exact: must start with '/'", path);
    }
    if (prefix != NULL && path_rewrite != NULL)
        return api_fail(call, API_BAD_REQUEST, "%s: specify a prefix or a path rewrite, not both",
                        path);
    return true;
}

bool rules_gateway_route_spec(api_call *call, const char *mesh, const json_t *gateway_spec,
                              const json_t *spec)
{
    json_t *route = NULL;
    size_t count = 0;
    const char *type = references_route_type(spec, references_gateway_route_types, &route, &count);
    if (type == NULL)
        return api_fail(call, API_BAD_REQUEST,
                        count == 0 ? "spec: specify one of grpcRoute, http2Route or httpRoute"
                                   : "spec: specify only one of grpcRoute, http2Route or httpRoute");
    char path[64], match_path[80], action_path[96];
    snprintf(path, sizeof(path), "spec.%s", type);
    snprintf(match_path, sizeof(match_path), "%s.match", path);
    snprintf(action_path, sizeof(action_path), "%s.action", path);
    const json_t *match = json_object_get(route, "match");
    const json_t *listener = attached_listener(call, json_object_get(gateway_spec, "listeners"),
                                               match, match_path, "Virtual Gateway");
    if (listener == NULL)
        return false;
    const char *protocol = listener_protocol(listener);
    if (protocol == NULL || strcmp(protocol, route_protocol(type)) != 0)
        return api_fail(call, API_BAD_REQUEST,
                        "spec.%s: the gateway route type must match the virtual gateway listener "
                        "protocol (%s)",
                        type, protocol ? protocol : "?");
    if (strcmp(type, "grpcRoute") == 0) {
        if (!check_grpc_match(call, match, match_path))
            return false;
        const json_t *host = json_object_get(match, "hostname");
        if (host != NULL && has(host, "exact") == has(host, "suffix"))
            return api_fail(call, API_BAD_REQUEST,
                            "%s.hostname: specify exactly one of exact or suffix", match_path);
    } else {
        if (!check_http_match(call, match, match_path, true))
            return false;
        char rewrite_path[128];
        snprintf(rewrite_path, sizeof(rewrite_path), "%s.rewrite", action_path);
        if (!check_gateway_rewrite(call, match,
                                   json_object_get(json_object_get(route, "action"), "rewrite"),
                                   rewrite_path))
            return false;
    }
    const json_t *target = json_object_get(json_object_get(route, "action"), "target");
    const char *service = str(json_object_get(target, "virtualService"), "virtualServiceName");
    if (service == NULL || !resource_exists(call, RESOURCE_VIRTUAL_SERVICE, mesh, NULL, service))
        return api_fail(call, API_NOT_FOUND,
                        "%s.target.virtualService: virtual service '%s' does not exist in mesh '%s'",
                        action_path, service ? service : "", mesh);
    return true;
}
