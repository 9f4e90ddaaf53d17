/*
 * The two Cloud Map data-plane calls this plugin makes, as JSON 1.1 bodies
 * (X-Amz-Target Route53AutoNaming_v20170314.<Operation>), and what comes
 * back: instances, the service's instance revision, or an error with its
 * AWS error code. Pure functions: no I/O.
 */
#ifndef TRELLIS_CLOUDMAP_API_H
#define TRELLIS_CLOUDMAP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/discovery.h>

#define CLOUDMAP_TARGET_PREFIX "Route53AutoNaming_v20170314."
#define CLOUDMAP_CONTENT_TYPE "application/x-amz-json-1.1"

/* Which instances a watch gets by Cloud Map health. The plugin asks
 * DiscoverInstances for all of them and applies the rule itself. */
typedef enum cloudmap_health_mode {
    CLOUDMAP_HEALTH_HEALTHY = 0,          /* drop UNHEALTHY instances */
    CLOUDMAP_HEALTH_HEALTHY_OR_ELSE_ALL,  /* drop UNHEALTHY ones unless none is left */
    CLOUDMAP_HEALTH_ALL                   /* keep every instance */
} cloudmap_health_mode;

bool cloudmap_health_mode_parse(const char *text, cloudmap_health_mode *out);
const char *cloudmap_health_mode_name(cloudmap_health_mode mode);

/* One instance as the plugin keeps it; strings owned by the instance list. */
typedef struct cloudmap_instance {
    char *id;
    char *ipv4;                 /* AWS_INSTANCE_IPV4, or NULL */
    char *ipv6;                 /* AWS_INSTANCE_IPV6, or NULL */
    uint32_t port;              /* AWS_INSTANCE_PORT, 0 when absent or invalid */
    char *zone;                 /* the zone attribute, or NULL */
    bool unhealthy;             /* HealthStatus UNHEALTHY (HEALTHY and UNKNOWN are not) */
} cloudmap_instance;

typedef struct cloudmap_instance_list {
    cloudmap_instance *items;
    size_t count;
} cloudmap_instance_list;

void cloudmap_instance_list_free(cloudmap_instance_list *list);

/* Request bodies (malloc'd JSON text, NULL on allocation failure). */
char *cloudmap_discover_instances_body(const char *namespace_name, const char *service_name,
                                       const trellis_discovery_attribute *attributes,
                                       size_t attribute_count, cloudmap_health_mode mode,
                                       unsigned max_results);
char *cloudmap_revision_body(const char *namespace_name, const char *service_name);

/*
 * Parses a DiscoverInstances answer: keeps the instances whose attributes
 * match every filter pair, then applies the health mode. false with a reason
 * when the document is not a DiscoverInstances answer.
 */
bool cloudmap_parse_instances(const char *body, size_t len,
                              const trellis_discovery_attribute *attributes,
                              size_t attribute_count, cloudmap_health_mode mode,
                              const char *zone_attribute, cloudmap_instance_list *out,
                              char *why, size_t why_size);
/* Parses {"InstancesRevision": n}. */
bool cloudmap_parse_revision(const char *body, size_t len, int64_t *revision, char *why,
                             size_t why_size);

/*
 * An error answer (HTTP status not 200): "Code: message" in `out`, and the
 * status for the core: TRELLIS_ERR_NOT_FOUND for NamespaceNotFound and
 * ServiceNotFound, TRELLIS_ERR_UNAVAILABLE otherwise (throttling, server
 * errors, refused credentials). `error_type_header` is x-amzn-ErrorType.
 */
trellis_status cloudmap_describe_error(int http_status, const char *error_type_header,
                                       const char *body, size_t len, char *out, size_t size);

/*
 * The endpoints of `instances` for one watch: one address per instance,
 * picked by the IP preference exactly as App Mesh's guide says (IPv4 unless
 * only IPv6 is there for the default and IPv4_PREFERRED, the reverse for
 * IPv6_PREFERRED, one family only for the _ONLY ones, skipping instances
 * without it), the instance's port or `default_port`. Returns how many were
 * written into `out` (at most instances->count); pointers borrow from
 * `instances`.
 */
size_t cloudmap_select_endpoints(const cloudmap_instance_list *instances, uint32_t ip_preference,
                                 uint32_t default_port, trellis_endpoint *out);

#endif
