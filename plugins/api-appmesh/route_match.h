/*
 * Routing an App Mesh REST request: HTTP method + path to one operation of
 * the generated route table (appmesh_routes.h), and the members bound to the
 * URI, query string and headers collected as trellis_api_param by member name.
 *
 * Rules (see README.md):
 *   - the path is split on '/' first, then each segment is percent-decoded,
 *     so an encoded slash (%2F) stays inside its segment ("a%2Fb" -> "a/b");
 *     an invalid escape or %00 is a bad request;
 *   - literal segments must match exactly; a {label} matches any segment,
 *     including an empty one (the model's length rule then reports it);
 *   - query keys the operation does not bind are ignored, as AWS does; a bound
 *     key given twice is a bad request; an undecodable query is a bad request;
 *   - header bindings take the header's value; the same header twice is a bad
 *     request.
 */
#ifndef TRELLIS_API_APPMESH_ROUTE_MATCH_H
#define TRELLIS_API_APPMESH_ROUTE_MATCH_H

#include <stddef.h>

#include <trellis/plugin.h>

#include "appmesh_routes.h"
#include "http_server.h"

/* No route binds more members than this (checked by the unit test). */
#define APPMESH_MAX_PARAMS 8
/* Paths with more segments than this match no route. */
#define APPMESH_MAX_SEGMENTS 16

typedef enum appmesh_match_status {
    APPMESH_MATCH_OK = 0,
    APPMESH_MATCH_NO_ROUTE,     /* no URI template matches the path */
    APPMESH_MATCH_NO_METHOD,    /* templates match the path, none with this method */
    APPMESH_MATCH_BAD_REQUEST,  /* undecodable path or query, a bound key twice */
    APPMESH_MATCH_NO_MEMORY
} appmesh_match_status;

/* The outcome of routing one request. Initialise with appmesh_match_init();
 * release with appmesh_match_free(). */
typedef struct appmesh_match {
    const appmesh_route *route;               /* set when OK */
    size_t route_index;                       /* index into appmesh_routes[] */
    trellis_api_param params[APPMESH_MAX_PARAMS];
    size_t param_count;
    char *values[APPMESH_MAX_PARAMS];         /* owned copies behind params[].value */
    char message[256];                        /* why, when not OK */
} appmesh_match;

void appmesh_match_init(appmesh_match *match);
void appmesh_match_free(appmesh_match *match);

/* Routes one request. `path` is the raw path (still percent-encoded, without
 * the query), `query` the raw query string ("" if none). `headers` may be
 * NULL when header_count is 0. */
appmesh_match_status appmesh_route_request(const char *method, const char *path,
                                           const char *query, const http_header *headers,
                                           size_t header_count, appmesh_match *match);

#endif
