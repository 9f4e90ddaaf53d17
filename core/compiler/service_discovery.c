#include "service_discovery.h"

#include <string.h>

static bool filled(const char *s)
{
    return s != NULL && s[0] != '\0';
}

discovery service_discovery_of(const json_t *node_spec)
{
    discovery d = {DISCOVERY_NONE, NULL, NULL, NULL};
    const json_t *sd = json_object_get(node_spec, "serviceDiscovery");
    const json_t *dns = json_object_get(sd, "dns");
    const json_t *cloud_map = json_object_get(sd, "awsCloudMap");
    if (dns != NULL) {
        d.hostname = json_string_value(json_object_get(dns, "hostname"));
        if (filled(d.hostname)) {
            const char *type = json_string_value(json_object_get(dns, "responseType"));
            d.kind = type != NULL && strcmp(type, "ENDPOINTS") == 0 ? DISCOVERY_DNS_ENDPOINTS
                                                                    : DISCOVERY_DNS_LOADBALANCER;
        }
    } else if (cloud_map != NULL) {
        d.namespace_name = json_string_value(json_object_get(cloud_map, "namespaceName"));
        d.service_name = json_string_value(json_object_get(cloud_map, "serviceName"));
        if (filled(d.namespace_name) && filled(d.service_name))
            d.kind = DISCOVERY_CLOUD_MAP;
    }
    return d;
}

bool service_discovery_reachable(const json_t *node_spec)
{
    return service_discovery_of(node_spec).kind != DISCOVERY_NONE;
}
