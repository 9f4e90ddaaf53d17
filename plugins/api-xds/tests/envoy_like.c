#include "envoy_like.h"

#include <string.h>

#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "google/protobuf/any.pb-c.h"

#define HCM_URL                                                                                 \
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."           \
    "HttpConnectionManager"

typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager hcm_t;

static void add_hcm_route(const Google__Protobuf__Any *any, name_set *out)
{
    if (any == NULL || strcmp(any->type_url, HCM_URL) != 0)
        return;
    hcm_t *hcm = (hcm_t *)protobuf_c_message_unpack(
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
        NULL, any->value.len, any->value.data);
    if (hcm == NULL)
        return;
    if (hcm->route_specifier_case ==
            ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_RDS &&
        hcm->rds != NULL && hcm->rds->route_config_name[0])
        name_set_add(out, hcm->rds->route_config_name);
    protobuf_c_message_free_unpacked(&hcm->base, NULL);
}

static void add_chain_routes(const Envoy__Config__Listener__V3__FilterChain *chain, name_set *out)
{
    if (chain == NULL)
        return;
    for (size_t i = 0; i < chain->n_filters; i++)
        add_hcm_route(chain->filters[i]->typed_config, out);
}

void envoy_like_route_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *lds, name_set *out)
{
    for (size_t i = 0; i < lds->n_resources; i++) {
        Envoy__Config__Listener__V3__Listener *l = (Envoy__Config__Listener__V3__Listener *)
            protobuf_c_message_unpack(&envoy__config__listener__v3__listener__descriptor, NULL,
                                      lds->resources[i]->value.len, lds->resources[i]->value.data);
        if (l == NULL)
            continue;
        for (size_t c = 0; c < l->n_filter_chains; c++)
            add_chain_routes(l->filter_chains[c], out);
        add_chain_routes(l->default_filter_chain, out);
        if (l->api_listener != NULL)
            add_hcm_route(l->api_listener->api_listener, out);
        protobuf_c_message_free_unpacked(&l->base, NULL);
    }
}

void envoy_like_endpoint_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *cds,
                               name_set *out)
{
    for (size_t i = 0; i < cds->n_resources; i++) {
        Envoy__Config__Cluster__V3__Cluster *c = (Envoy__Config__Cluster__V3__Cluster *)
            protobuf_c_message_unpack(&envoy__config__cluster__v3__cluster__descriptor, NULL,
                                      cds->resources[i]->value.len, cds->resources[i]->value.data);
        if (c == NULL)
            continue;
        if (c->cluster_discovery_type_case == ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE &&
            c->type == ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__EDS) {
            const char *service = c->eds_cluster_config && c->eds_cluster_config->service_name[0]
                                      ? c->eds_cluster_config->service_name
                                      : c->name;
            name_set_add(out, service);
        }
        protobuf_c_message_free_unpacked(&c->base, NULL);
    }
}

void envoy_like_cluster_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *rds,
                              name_set *out)
{
    for (size_t i = 0; i < rds->n_resources; i++) {
        Envoy__Config__Route__V3__RouteConfiguration *rc =
            (Envoy__Config__Route__V3__RouteConfiguration *)protobuf_c_message_unpack(
                &envoy__config__route__v3__route_configuration__descriptor, NULL,
                rds->resources[i]->value.len, rds->resources[i]->value.data);
        if (rc == NULL)
            continue;
        for (size_t v = 0; v < rc->n_virtual_hosts; v++) {
            Envoy__Config__Route__V3__VirtualHost *vh = rc->virtual_hosts[v];
            for (size_t r = 0; r < vh->n_routes; r++) {
                Envoy__Config__Route__V3__Route *route = vh->routes[r];
                if (route->action_case != ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_ROUTE)
                    continue;
                Envoy__Config__Route__V3__RouteAction *a = route->route;
                if (a->cluster_specifier_case == ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER)
                    name_set_add(out, a->cluster);
                else if (a->cluster_specifier_case ==
                         ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS)
                    for (size_t w = 0; w < a->weighted_clusters->n_clusters; w++)
                        name_set_add(out, a->weighted_clusters->clusters[w]->name);
            }
        }
        protobuf_c_message_free_unpacked(&rc->base, NULL);
    }
}

void envoy_like_resource_names(const Envoy__Service__Discovery__V3__DiscoveryResponse *r,
                               name_set *out)
{
    const ProtobufCMessageDescriptor *d = NULL;
    const char *field = "name";
    if (strstr(r->type_url, "listener.v3.Listener"))
        d = &envoy__config__listener__v3__listener__descriptor;
    else if (strstr(r->type_url, "RouteConfiguration"))
        d = &envoy__config__route__v3__route_configuration__descriptor;
    else if (strstr(r->type_url, "cluster.v3.Cluster"))
        d = &envoy__config__cluster__v3__cluster__descriptor;
    else if (strstr(r->type_url, "ClusterLoadAssignment")) {
        d = &envoy__config__endpoint__v3__cluster_load_assignment__descriptor;
        field = "cluster_name";
    }
    if (d == NULL)
        return;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, field);
    for (size_t i = 0; i < r->n_resources; i++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, r->resources[i]->value.len,
                                                        r->resources[i]->value.data);
        if (m == NULL)
            continue;
        name_set_add(out, *(char **)((char *)m + f->offset));
        protobuf_c_message_free_unpacked(m, NULL);
    }
}
