#include "ip_preference.h"

#include <string.h>

static ip_preference parse(const char *value)
{
    if (value == NULL)
        return IP_PREFERENCE_DEFAULT;
    if (strcmp(value, "IPv6_PREFERRED") == 0)
        return IP_PREFERENCE_IPV6_PREFERRED;
    if (strcmp(value, "IPv4_PREFERRED") == 0)
        return IP_PREFERENCE_IPV4_PREFERRED;
    if (strcmp(value, "IPv6_ONLY") == 0)
        return IP_PREFERENCE_IPV6_ONLY;
    if (strcmp(value, "IPv4_ONLY") == 0)
        return IP_PREFERENCE_IPV4_ONLY;
    return IP_PREFERENCE_DEFAULT;
}

ip_preference ip_preference_of_mesh(const json_t *mesh_spec)
{
    return parse(json_string_value(
        json_object_get(json_object_get(mesh_spec, "serviceDiscovery"), "ipPreference")));
}

ip_preference ip_preference_of_node(const json_t *node_spec, ip_preference mesh)
{
    const json_t *discovery = json_object_get(node_spec, "serviceDiscovery");
    const json_t *method = json_object_get(discovery, "dns");
    if (method == NULL)
        method = json_object_get(discovery, "awsCloudMap");
    ip_preference own = parse(json_string_value(json_object_get(method, "ipPreference")));
    return own != IP_PREFERENCE_DEFAULT ? own : mesh;
}

const char *ip_preference_dns_lookup_family(ip_preference preference)
{
    switch (preference) {
    case IP_PREFERENCE_IPV4_PREFERRED: return "V4_PREFERRED";
    case IP_PREFERENCE_IPV6_ONLY: return "V6_ONLY";
    case IP_PREFERENCE_IPV4_ONLY: return "V4_ONLY";
    case IP_PREFERENCE_IPV6_PREFERRED:
    case IP_PREFERENCE_DEFAULT: break;
    }
    return NULL;
}

const char *ip_preference_loopback(ip_preference preference)
{
    return preference == IP_PREFERENCE_IPV6_PREFERRED || preference == IP_PREFERENCE_IPV6_ONLY
               ? "::1"
               : "127.0.0.1";
}

bool ip_preference_dual_stack(ip_preference preference)
{
    /* The guide binds IPv4 and IPv6 for every explicit preference. For the
     * IPv4 ones we keep 0.0.0.0: an Envoy on a host without IPv6 cannot bind
     * "::" and would reject the whole listener update (docs/envoy-mapping.md). */
    return preference == IP_PREFERENCE_IPV6_PREFERRED || preference == IP_PREFERENCE_IPV6_ONLY;
}

bool ip_preference_allows(ip_preference preference, const char *address)
{
    bool v6 = address != NULL && strchr(address, ':') != NULL;
    if (preference == IP_PREFERENCE_IPV4_ONLY)
        return !v6;
    if (preference == IP_PREFERENCE_IPV6_ONLY)
        return v6;
    return address != NULL;
}
