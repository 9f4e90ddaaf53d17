#include "discovery_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/ip_preference.h"
#include "compiler/service_discovery.h"

static trellis_ip_preference abi_preference(ip_preference p)
{
    switch (p) {
    case IP_PREFERENCE_IPV4_PREFERRED: return TRELLIS_IP_IPV4_PREFERRED;
    case IP_PREFERENCE_IPV6_PREFERRED: return TRELLIS_IP_IPV6_PREFERRED;
    case IP_PREFERENCE_IPV4_ONLY: return TRELLIS_IP_IPV4_ONLY;
    case IP_PREFERENCE_IPV6_ONLY: return TRELLIS_IP_IPV6_ONLY;
    case IP_PREFERENCE_DEFAULT: break;
    }
    return TRELLIS_IP_DEFAULT;
}

static int attribute_compare(const void *pa, const void *pb)
{
    const trellis_discovery_attribute *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    return c != 0 ? c : strcmp(a->value, b->value);
}

/* Appends "<length>:<text>" so no text can fake a component boundary. */
static bool key_append(char **key, size_t *len, size_t *capacity, const char *text)
{
    text = text ? text : "";
    size_t need = strlen(text) + 24;
    if (*len + need > *capacity) {
        size_t grown_capacity = (*len + need) * 2;
        char *grown = realloc(*key, grown_capacity);
        if (grown == NULL)
            return false;
        *key = grown;
        *capacity = grown_capacity;
    }
    *len += (size_t)snprintf(*key + *len, *capacity - *len, "%zu:%s", strlen(text), text);
    return true;
}

static bool build_key(discovery_target *t)
{
    size_t len = 0, capacity = 0;
    char method[16];
    snprintf(method, sizeof(method), "%u/%u", t->view.method, t->view.ip_preference);
    bool ok = key_append(&t->key, &len, &capacity, method);
    if (t->view.method == TRELLIS_DISCOVERY_CLOUD_MAP) {
        ok = ok && key_append(&t->key, &len, &capacity, t->namespace_name) &&
             key_append(&t->key, &len, &capacity, t->service_name);
        for (size_t i = 0; ok && i < t->view.attribute_count; i++)
            ok = key_append(&t->key, &len, &capacity, t->attributes[i].key) &&
                 key_append(&t->key, &len, &capacity, t->attributes[i].value);
    } else {
        ok = ok && key_append(&t->key, &len, &capacity, t->hostname);
    }
    return ok;
}

static char *copy(const char *s, bool *ok)
{
    if (s == NULL)
        return NULL;
    char *c = strdup(s);
    if (c == NULL)
        *ok = false;
    return c;
}

/* Copies the Cloud Map attribute filter; entries without a key are ignored
 * (the API requires both, so only a hand-edited store could hold one). */
static bool copy_attributes(discovery_target *t, const json_t *list)
{
    size_t n = json_array_size(list);
    if (n == 0)
        return true;
    t->attributes = calloc(n, sizeof(*t->attributes));
    if (t->attributes == NULL)
        return false;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        const json_t *item = json_array_get(list, i);
        const char *key = json_string_value(json_object_get(item, "key"));
        const char *value = json_string_value(json_object_get(item, "value"));
        if (key == NULL)
            continue;
        trellis_discovery_attribute *a = &t->attributes[t->view.attribute_count++];
        a->key = copy(key, &ok);
        a->value = copy(value ? value : "", &ok);
    }
    if (ok)
        qsort(t->attributes, t->view.attribute_count, sizeof(*t->attributes), attribute_compare);
    return ok;
}

discovery_target *discovery_target_derive(const json_t *node_spec, const json_t *mesh_spec,
                                          const char *mesh, const char *node, uint32_t clients,
                                          bool *failed)
{
    *failed = false;
    discovery d = service_discovery_of(node_spec);
    if (d.kind == DISCOVERY_NONE)
        return NULL;
    discovery_target *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        *failed = true;
        return NULL;
    }
    bool ok = true;
    t->view.size = sizeof(t->view);
    t->view.clients = clients;
    t->view.default_port = 0; /* the compiler uses each cluster's listener port */
    t->view.ip_preference =
        abi_preference(ip_preference_of_node(node_spec, ip_preference_of_mesh(mesh_spec)));
    t->view.mesh = t->mesh = copy(mesh, &ok);
    t->view.virtual_node = t->node = copy(node, &ok);
    if (d.kind == DISCOVERY_CLOUD_MAP) {
        const json_t *cloud_map =
            json_object_get(json_object_get(node_spec, "serviceDiscovery"), "awsCloudMap");
        t->view.method = TRELLIS_DISCOVERY_CLOUD_MAP;
        t->view.namespace_name = t->namespace_name = copy(d.namespace_name, &ok);
        t->view.service_name = t->service_name = copy(d.service_name, &ok);
        ok = ok && copy_attributes(t, json_object_get(cloud_map, "attributes"));
        t->view.attributes = t->attributes;
    } else {
        t->view.method = TRELLIS_DISCOVERY_DNS;
        t->view.hostname = t->hostname = copy(d.hostname, &ok);
    }
    if (!ok || !build_key(t)) {
        discovery_target_free(t);
        *failed = true;
        return NULL;
    }
    return t;
}

void discovery_target_free(discovery_target *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->view.attribute_count; i++) {
        free((char *)t->attributes[i].key);
        free((char *)t->attributes[i].value);
    }
    free(t->attributes);
    free(t->key);
    free(t->mesh);
    free(t->node);
    free(t->namespace_name);
    free(t->service_name);
    free(t->hostname);
    free(t);
}

void discovery_target_describe(const discovery_target *t, char *out, size_t size)
{
    if (t->view.method == TRELLIS_DISCOVERY_DNS) {
        snprintf(out, size, "DNS %s", t->hostname);
        return;
    }
    int n = snprintf(out, size, "Cloud Map %s/%s", t->namespace_name, t->service_name);
    for (size_t i = 0; i < t->view.attribute_count && n > 0 && (size_t)n < size; i++)
        n += snprintf(out + n, size - (size_t)n, "%s%s=%s", i == 0 ? " [" : ",",
                      t->attributes[i].key, t->attributes[i].value);
    if (t->view.attribute_count > 0 && n > 0 && (size_t)n + 1 < size)
        snprintf(out + n, size - (size_t)n, "]");
}
