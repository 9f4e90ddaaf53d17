#include "listener_common.h"

#include "json_build.h"
#include "naming.h"

json_t *listener_shell(compile_ctx *c, const char *name, uint32_t port, const char *direction,
                       bool dual_stack)
{
    json_t *listener = jb_object(c);
    jb_set_string(c, listener, "name", name);
    json_t *address = jb_socket_address(c, dual_stack ? "::" : NAME_ANY_IPV4, port);
    if (dual_stack)
        jb_set_bool(c, json_object_get(address, "socket_address"), "ipv4_compat", true);
    jb_set(c, listener, "address", address);
    jb_set_string(c, listener, "traffic_direction", direction);
    return listener;
}

json_t *listener_filter_original_dst(compile_ctx *c)
{
    return jb_extension(c, "envoy.filters.listener.original_dst",
                        jb_typed(c, "envoy.extensions.filters.listener.original_dst.v3.OriginalDst"));
}

json_t *listener_filter_tls_inspector(compile_ctx *c)
{
    json_t *filter = jb_extension(
        c, "envoy.filters.listener.tls_inspector",
        jb_typed(c, "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"));
    json_t *range = jb_object(c);
    jb_set_integer(c, range, "start", 443);
    jb_set_integer(c, range, "end", 444);
    json_t *port = jb_object(c);
    jb_set(c, port, "destination_port_range", range);
    json_t *disabled = jb_object(c);
    jb_set(c, disabled, "not_match", port);
    jb_set(c, filter, "filter_disabled", disabled);
    return filter;
}

json_t *filter_chain(compile_ctx *c, json_t *match, json_t *filter)
{
    json_t *chain = jb_object(c);
    if (match != NULL)
        jb_set(c, chain, "filter_chain_match", match);
    json_t *filters = jb_array(c);
    jb_push(c, filters, filter);
    jb_set(c, chain, "filters", filters);
    return chain;
}
