#include "cloudmap_api.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const health_names[] = {"HEALTHY", "HEALTHY_OR_ELSE_ALL", "ALL"};

bool cloudmap_health_mode_parse(const char *text, cloudmap_health_mode *out)
{
    for (size_t i = 0; text != NULL && i < sizeof(health_names) / sizeof(health_names[0]); i++) {
        if (strcmp(text, health_names[i]) == 0) {
            *out = (cloudmap_health_mode)i;
            return true;
        }
    }
    return false;
}

const char *cloudmap_health_mode_name(cloudmap_health_mode mode)
{
    return (unsigned)mode < sizeof(health_names) / sizeof(health_names[0]) ? health_names[mode]
                                                                            : "ALL";
}

void cloudmap_instance_list_free(cloudmap_instance_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].id);
        free(list->items[i].ipv4);
        free(list->items[i].ipv6);
        free(list->items[i].zone);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static char *dump(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

char *cloudmap_discover_instances_body(const char *namespace_name, const char *service_name,
                                       const trellis_discovery_attribute *attributes,
                                       size_t attribute_count, cloudmap_health_mode mode,
                                       unsigned max_results)
{
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "NamespaceName", namespace_name, "ServiceName",
                            service_name, "MaxResults", (json_int_t)max_results, "HealthStatus",
                            cloudmap_health_mode_name(mode));
    if (doc != NULL && attribute_count > 0) {
        json_t *query = json_object();
        for (size_t i = 0; query != NULL && i < attribute_count; i++)
            json_object_set_new(query, attributes[i].key, json_string(attributes[i].value));
        json_object_set_new(doc, "QueryParameters", query);
    }
    return dump(doc);
}

char *cloudmap_revision_body(const char *namespace_name, const char *service_name)
{
    return dump(json_pack("{s:s, s:s}", "NamespaceName", namespace_name, "ServiceName",
                          service_name));
}

static char *copy_attribute(const json_t *attributes, const char *key)
{
    const char *value = json_string_value(json_object_get(attributes, key));
    return value != NULL && value[0] != '\0' ? strdup(value) : NULL;
}

static bool matches(const json_t *attrs, const trellis_discovery_attribute *filter, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *value = json_string_value(json_object_get(attrs, filter[i].key));
        if (value == NULL || strcmp(value, filter[i].value) != 0)
            return false;
    }
    return true;
}

static uint32_t parse_port(const char *text)
{
    if (text == NULL || text[0] == '\0')
        return 0;
    char *end;
    unsigned long port = strtoul(text, &end, 10);
    return *end == '\0' && port >= 1 && port <= 65535 ? (uint32_t)port : 0;
}

bool cloudmap_parse_instances(const char *body, size_t len,
                              const trellis_discovery_attribute *attributes,
                              size_t attribute_count, cloudmap_health_mode mode,
                              const char *zone_attribute, cloudmap_instance_list *out,
                              char *why, size_t why_size)
{
    out->items = NULL;
    out->count = 0;
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    const json_t *list = json_object_get(doc, "Instances");
    if (!json_is_array(list)) {
        snprintf(why, why_size, "not a DiscoverInstances answer (%s)",
                 doc == NULL ? jerr.text : "no Instances list");
        json_decref(doc);
        return false;
    }
    size_t n = json_array_size(list);
    out->items = calloc(n ? n : 1, sizeof(*out->items));
    if (out->items == NULL) {
        snprintf(why, why_size, "out of memory");
        json_decref(doc);
        return false;
    }
    bool ok = true;
    size_t healthy = 0;
    for (size_t i = 0; i < n && ok; i++) {
        const json_t *item = json_array_get(list, i);
        const json_t *attrs = json_object_get(item, "Attributes");
        if (!matches(attrs, attributes, attribute_count))
            continue; /* a registry that ignored QueryParameters */
        cloudmap_instance *inst = &out->items[out->count++];
        const char *id = json_string_value(json_object_get(item, "InstanceId"));
        const char *health = json_string_value(json_object_get(item, "HealthStatus"));
        inst->id = strdup(id ? id : "");
        inst->ipv4 = copy_attribute(attrs, "AWS_INSTANCE_IPV4");
        inst->ipv6 = copy_attribute(attrs, "AWS_INSTANCE_IPV6");
        inst->port = parse_port(json_string_value(json_object_get(attrs, "AWS_INSTANCE_PORT")));
        inst->zone = zone_attribute ? copy_attribute(attrs, zone_attribute) : NULL;
        inst->unhealthy = health != NULL && strcmp(health, "UNHEALTHY") == 0;
        healthy += !inst->unhealthy;
        ok = inst->id != NULL;
    }
    json_decref(doc);
    if (!ok) {
        cloudmap_instance_list_free(out);
        snprintf(why, why_size, "out of memory");
        return false;
    }
    /* Health, as Cloud Map defines the HealthStatus filter (UNKNOWN: no
     * health checking, counted as healthy). */
    bool drop_unhealthy = mode == CLOUDMAP_HEALTH_HEALTHY ||
                          (mode == CLOUDMAP_HEALTH_HEALTHY_OR_ELSE_ALL && healthy > 0);
    if (drop_unhealthy) {
        size_t kept = 0;
        for (size_t i = 0; i < out->count; i++) {
            if (!out->items[i].unhealthy) {
                out->items[kept++] = out->items[i];
            } else {
                free(out->items[i].id);
                free(out->items[i].ipv4);
                free(out->items[i].ipv6);
                free(out->items[i].zone);
            }
        }
        out->count = kept;
    }
    return true;
}

bool cloudmap_parse_revision(const char *body, size_t len, int64_t *revision, char *why,
                             size_t why_size)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    const json_t *value = json_object_get(doc, "InstancesRevision");
    bool ok = json_is_integer(value);
    if (ok)
        *revision = (int64_t)json_integer_value(value);
    else
        snprintf(why, why_size, "not a DiscoverInstancesRevision answer (%s)",
                 doc == NULL ? jerr.text : "no InstancesRevision");
    json_decref(doc);
    return ok;
}

/* "com.amazonaws.servicediscovery#ServiceNotFound" or "ServiceNotFound:http://..." -> "ServiceNotFound". */
static void error_code(const char *raw, char *out, size_t size)
{
    const char *start = strrchr(raw, '#');
    start = start ? start + 1 : raw;
    size_t n = strcspn(start, ":");
    if (n >= size)
        n = size - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

trellis_status cloudmap_describe_error(int http_status, const char *error_type_header,
                                       const char *body, size_t len, char *out, size_t size)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *type = json_string_value(json_object_get(doc, "__type"));
    if (type == NULL)
        type = json_string_value(json_object_get(doc, "code"));
    if (type == NULL)
        type = error_type_header;
    const char *message = json_string_value(json_object_get(doc, "message"));
    if (message == NULL)
        message = json_string_value(json_object_get(doc, "Message"));
    char code[128] = "";
    if (type != NULL)
        error_code(type, code, sizeof(code));
    if (code[0] == '\0')
        snprintf(code, sizeof(code), "HTTP %d", http_status);
    snprintf(out, size, "%s%s%s", code, message && message[0] ? ": " : "",
             message ? message : "");
    json_decref(doc);
    bool not_found = strcmp(code, "NamespaceNotFound") == 0 || strcmp(code, "ServiceNotFound") == 0;
    return not_found ? TRELLIS_ERR_NOT_FOUND : TRELLIS_ERR_UNAVAILABLE;
}

static bool family_ok(const char *address, int family)
{
    unsigned char bytes[16];
    return address != NULL && inet_pton(family, address, bytes) == 1;
}

size_t cloudmap_select_endpoints(const cloudmap_instance_list *instances, uint32_t ip_preference,
                                 uint32_t default_port, trellis_endpoint *out)
{
    size_t n = 0;
    for (size_t i = 0; i < instances->count; i++) {
        const cloudmap_instance *inst = &instances->items[i];
        const char *v4 = family_ok(inst->ipv4, AF_INET) ? inst->ipv4 : NULL;
        const char *v6 = family_ok(inst->ipv6, AF_INET6) ? inst->ipv6 : NULL;
        const char *address;
        switch (ip_preference) {
        case TRELLIS_IP_IPV6_PREFERRED: address = v6 ? v6 : v4; break;
        case TRELLIS_IP_IPV4_ONLY: address = v4; break;
        case TRELLIS_IP_IPV6_ONLY: address = v6; break;
        case TRELLIS_IP_IPV4_PREFERRED:
        case TRELLIS_IP_DEFAULT:
        default: address = v4 ? v4 : v6; break;
        }
        if (address == NULL)
            continue;
        out[n++] = (trellis_endpoint){.address = address,
                                      .port = inst->port ? inst->port : default_port,
                                      .zone = inst->zone};
    }
    return n;
}
