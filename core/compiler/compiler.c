/*
 * compiler_compile(): sets up one compile (arena, recording reader, the mesh
 * and the identity's resource), runs the builder for the identity's kind and
 * flavor, and hands over the resources and what was read.
 */
#include "compiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_context.h"
#include "compile_gateway.h"
#include "egress_plan.h"
#include "listener_egress.h"
#include "listener_ingress.h"
#include "listener_proxyless.h"

static const char *const type_urls[TRELLIS_XDS_TYPE_COUNT] = {
    [TRELLIS_XDS_LISTENER] = "type.googleapis.com/envoy.config.listener.v3.Listener",
    [TRELLIS_XDS_ROUTE] = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    [TRELLIS_XDS_CLUSTER] = "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    [TRELLIS_XDS_ENDPOINT] = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
    [TRELLIS_XDS_SECRET] = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
};

const char *compiler_type_url(trellis_xds_type type)
{
    return (unsigned)type < TRELLIS_XDS_TYPE_COUNT ? type_urls[type] : NULL;
}

json_t *ctx_resource(compile_ctx *c, trellis_xds_type type, const char *name)
{
    return json_object_get(c->resources[type], name);
}

void ctx_add_resource(compile_ctx *c, trellis_xds_type type, const char *name, json_t *resource)
{
    if (resource == NULL || name == NULL) {
        json_decref(resource);
        c->failed = true;
        return;
    }
    if (json_object_get(c->resources[type], name) != NULL) {
        json_decref(resource);
        return;
    }
    if (json_object_set_new_nocheck(c->resources[type], name, resource) != 0)
        c->failed = true;
}

static void compile_virtual_node(compile_ctx *c)
{
    egress_plan plan;
    if (!egress_plan_build(c, json_object_get(c->self_spec, "backends"), &plan))
        return;
    if (c->id->flavor == TRELLIS_XDS_PROXYLESS) {
        proxyless_compile(c, &plan);
        return;
    }
    ingress_compile(c);
    egress_compile(c, &plan);
}

static void release_shared(compile_ctx *c)
{
    json_decref(c->shared_ads_source);
    json_decref(c->shared_default_breakers);
    json_decref(c->shared_http_filters);
    json_decref(c->shared_http2_options);
    json_decref(c->shared_default_retry);
    json_decref(c->shared_access_logs);
}

static void fail(char *message, size_t size, const char *text)
{
    if (message != NULL && size > 0)
        snprintf(message, size, "%s", text);
}

compile_status compiler_compile(const compile_source *src, const compile_identity *id,
                                compile_output *out, compile_deps *deps, char *message,
                                size_t message_size)
{
    memset(out, 0, sizeof(*out));
    compile_ctx c;
    memset(&c, 0, sizeof(c));
    c.src = src;
    c.id = id;
    arena_init(&c.arena);
    reader_init(&c.reader, src->cat, &c.arena);

    compile_status status = COMPILE_OK;
    bool gateway = id->kind == RESOURCE_VIRTUAL_GATEWAY;
    bool proxy_kind = gateway || id->kind == RESOURCE_VIRTUAL_NODE;
    /* Only nodes and gateways run proxies; anything else reads nothing. */
    const catalog_entry *mesh =
        proxy_kind ? reader_get(&c.reader, RESOURCE_MESH, NULL, NULL, id->mesh) : NULL;
    const catalog_entry *self =
        mesh == NULL ? NULL : reader_get(&c.reader, id->kind, id->mesh, NULL, id->name);
    if (mesh == NULL || self == NULL) {
        status = COMPILE_NO_IDENTITY;
    } else {
        c.mesh_spec = reader_spec(mesh);
        c.self_spec = reader_spec(self);
        c.mesh_ip_preference = ip_preference_of_mesh(c.mesh_spec);
        for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
            c.resources[t] = json_object();
            if (c.resources[t] == NULL)
                c.failed = true;
        }
        if (!c.failed) {
            if (gateway)
                gateway_compile(&c);
            else
                compile_virtual_node(&c);
        }
        if (c.failed || c.arena.failed) {
            status = COMPILE_FAILED;
            fail(message, message_size, "out of memory while compiling");
        }
    }

    if (!reader_finish(&c.reader, deps) && status == COMPILE_OK) {
        status = COMPILE_FAILED;
        fail(message, message_size, "out of memory while recording dependencies");
    }
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        if (status == COMPILE_OK)
            out->resources[t] = c.resources[t];
        else
            json_decref(c.resources[t]);
    }
    release_shared(&c);
    arena_release(&c.arena);
    return status;
}

void compile_output_free(compile_output *out)
{
    if (out == NULL)
        return;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        json_decref(out->resources[t]);
        out->resources[t] = NULL;
    }
}

void compile_deps_free(compile_deps *deps)
{
    if (deps == NULL)
        return;
    for (size_t i = 0; i < deps->key_count; i++)
        free(deps->keys[i]);
    for (size_t i = 0; i < deps->prefix_count; i++)
        free(deps->prefixes[i]);
    free(deps->keys);
    free(deps->prefixes);
    memset(deps, 0, sizeof(*deps));
}
