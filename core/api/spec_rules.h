/*
 * The rules App Mesh applies to specs beyond the model's shapes: protocol
 * agreement between routes and listeners, port rules, references to existing
 * resources, reserved names, retry policies, regexes (RE2), connection pools,
 * health checks. Each function returns true when the spec is acceptable;
 * otherwise it records the error on the call (BadRequestException, or
 * NotFoundException for a reference to a resource that does not exist).
 */
#ifndef TRELLIS_CORE_SPEC_RULES_H
#define TRELLIS_CORE_SPEC_RULES_H

#include <jansson.h>
#include <stdbool.h>

#include "api_call.h"

/* Names of resources (and meshes) may not contain '/' or control characters:
 * they appear in ARNs, which would become ambiguous. */
bool rules_resource_name(api_call *call, const char *member, const char *name);

bool rules_virtual_node_spec(api_call *call, const char *mesh, const json_t *spec);
bool rules_virtual_service_spec(api_call *call, const char *mesh, const json_t *spec);
/* `router` is the router's name; existing routes must stay valid on update. */
bool rules_virtual_router_spec(api_call *call, const char *mesh, const char *router,
                               const json_t *spec);
bool rules_route_spec(api_call *call, const char *mesh, const json_t *router_spec,
                      const json_t *spec);
bool rules_virtual_gateway_spec(api_call *call, const char *mesh, const char *gateway,
                                const json_t *spec);
bool rules_gateway_route_spec(api_call *call, const char *mesh, const json_t *gateway_spec,
                              const json_t *spec);

#endif
