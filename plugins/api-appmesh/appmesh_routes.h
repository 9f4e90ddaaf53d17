/*
 * The App Mesh REST route table: one route per operation, generated from the
 * botocore model into appmesh_routes.c by core/model/gen_appmesh_model.py.
 * Data only; route_match.h does the matching.
 */
#ifndef TRELLIS_API_APPMESH_ROUTES_H
#define TRELLIS_API_APPMESH_ROUTES_H

#include <stddef.h>

typedef enum appmesh_location {
    APPMESH_IN_URI = 1,    /* a {label} segment of the URI template */
    APPMESH_IN_QUERY,      /* a query-string key */
    APPMESH_IN_HEADER      /* a request header */
} appmesh_location;

/* One input member bound outside the body. */
typedef struct appmesh_binding {
    unsigned char location;     /* appmesh_location */
    const char *location_name;  /* URI label, query key or header name */
    const char *member;         /* the input member's name, e.g. "meshName" */
} appmesh_binding;

typedef struct appmesh_route {
    const char *method;         /* "PUT" */
    const char *uri_template;   /* "/v20190125/meshes/{meshName}/virtualNodes" */
    const char *operation;      /* "CreateVirtualNode" */
    const appmesh_binding *bindings;
    size_t binding_count;
} appmesh_route;

/* Every route, in operation-name order. */
extern const appmesh_route appmesh_routes[];
extern const size_t appmesh_route_count;

#endif
