/*
 * The mesh-to-Envoy compiler: for one proxy identity (a virtual node or a
 * virtual gateway, in the sidecar or proxyless flavor) it turns the catalog
 * into the Envoy v3 resources App Mesh produced: listeners, route
 * configurations, clusters and cluster load assignments, as Envoy proto3 JSON
 * (proto field names, as config_dump shows them).
 *
 * The compiler is pure: it reads the catalog (and endpoints) through
 * compile_source, records every key and key prefix it read (so the snapshot
 * engine knows which catalog changes affect which identities), and returns
 * new JSON documents. Loop thread.
 *
 * Output conventions (for the snapshot engine and the encoder):
 *  - the documents are read-only: resources of one compile may share
 *    sub-documents by reference (the ADS config source, the router filter
 *    list, default retry policies and circuit breakers, access logs);
 *    json_deep_copy before changing anything;
 *  - an empty object is a message that is present ("ads": {} in a config
 *    source, "http2_protocol_options": {}, "locality": {} of an endpoint group
 *    without a zone) and must be encoded as a present, empty sub-message;
 *  - durations are proto3 JSON strings ("15s", "0.250s"); typed_config and
 *    api_listener values carry "@type";
 *  - every name a resource refers to (an RDS route configuration, a cluster,
 *    an EDS assignment) is in the same output: nothing dangles.
 * docs/envoy-mapping.md describes what each App Mesh field becomes.
 */
#ifndef TRELLIS_CORE_COMPILER_H
#define TRELLIS_CORE_COMPILER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "catalog/catalog.h"

/* One endpoint of a virtual node, from a discovery source (Cloud Map, DNS). */
typedef struct compile_endpoint {
    const char *address;        /* IPv4 or IPv6 literal */
    uint32_t port;              /* 0: use the listener's port */
    const char *zone;           /* availability zone / locality, or NULL */
} compile_endpoint;

/*
 * Where endpoints come from (the discovery plugins, a later addition). Returns
 * true and fills *endpoints and *count (borrowed until the compile returns) when
 * the source manages the node's endpoints; false when it does not (the node
 * then gets an empty ClusterLoadAssignment for EDS clusters).
 */
typedef bool (*compile_endpoints_fn)(void *arg, const char *mesh, const char *virtual_node,
                                     const compile_endpoint **endpoints, size_t *count);

/*
 * Whether the endpoint source resolves the DNS name of a DNS-discovered node
 * itself for clients of `flavor` (a discovery.dns plugin is configured for
 * them). The node's clusters then become EDS clusters fed through `endpoints`
 * instead of Envoy's LOGICAL_DNS / STRICT_DNS. Proxyless clients get EDS for
 * responseType ENDPOINTS nodes whatever this answers (gRPC has no STRICT_DNS).
 */
typedef bool (*compile_resolves_dns_fn)(void *arg, const char *mesh, const char *virtual_node,
                                        trellis_xds_flavor flavor);

typedef struct compile_options {
    /* App Mesh's defaults for accounts without meshes before 2020-07-29:
     * the default retry policy and 2147483647 circuit breakers. */
    bool default_retry_policy;
    bool default_circuit_breakers;
} compile_options;

typedef struct compile_source {
    const catalog *cat;
    compile_endpoints_fn endpoints; /* may be NULL */
    compile_resolves_dns_fn resolves_dns; /* may be NULL: Envoy resolves DNS names */
    void *endpoints_arg;            /* for both */
    compile_options options;
} compile_source;

typedef struct compile_identity {
    resource_kind kind;         /* RESOURCE_VIRTUAL_NODE or RESOURCE_VIRTUAL_GATEWAY */
    const char *mesh;
    const char *name;
    trellis_xds_flavor flavor;  /* gateways are always TRELLIS_XDS_SIDECAR (the
                                 * flavor of a gateway identity is ignored) */
} compile_identity;

/* What a compile read. A catalog change to a key in `keys`, or to any key
 * starting with a string in `prefixes`, may change the output. Every prefix
 * is a listing prefix (catalog_key_list_prefix) and so ends in '/'. */
typedef struct compile_deps {
    char **keys;
    size_t key_count;
    char **prefixes;
    size_t prefix_count;
    bool endpoints;             /* the output depends on the endpoint source */
} compile_deps;

typedef struct compile_output {
    /* Per type: a JSON object mapping resource name -> resource (owned). */
    json_t *resources[TRELLIS_XDS_TYPE_COUNT];
} compile_output;

typedef enum compile_status {
    COMPILE_OK = 0,
    COMPILE_NO_IDENTITY,        /* the mesh or the node/gateway does not exist */
    COMPILE_FAILED              /* allocation failure or an internal error (message set) */
} compile_status;

/*
 * Compiles `id`. On COMPILE_OK fills `out` (the caller frees it with
 * compile_output_free). `deps` is filled in every case (even COMPILE_NO_IDENTITY
 * records what was looked up, so creating the node later is noticed); free it
 * with compile_deps_free. `message` explains COMPILE_FAILED.
 */
compile_status compiler_compile(const compile_source *src, const compile_identity *id,
                                compile_output *out, compile_deps *deps, char *message,
                                size_t message_size);

void compile_output_free(compile_output *out);
void compile_deps_free(compile_deps *deps);

/* Envoy type URL of an xDS type ("type.googleapis.com/envoy.config.listener.v3.Listener"). */
const char *compiler_type_url(trellis_xds_type type);

#endif
