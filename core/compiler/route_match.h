/*
 * App Mesh route matches as Envoy RouteMatch objects.
 *   http/http2: prefix -> prefix; path.exact -> path; path.regex -> safe_regex
 *               (RE2, Envoy's only engine; google_re2 is deprecated and implied);
 *               headers[] -> headers (string_match exact/prefix/suffix/safe_regex,
 *               range_match, present_match when no method; invert -> invert_match);
 *               method -> ":method" exact; scheme -> ":scheme" exact;
 *               queryParameters[] -> query_parameters (exact, or present_match).
 *   grpc:       serviceName + methodName -> path "/<service>/<method>";
 *               serviceName -> prefix "/<service>/"; neither -> prefix "/";
 *               metadata[] -> headers as above.
 *   match.port selects the router listener (the route configuration), so it
 *   is not repeated in the RouteMatch.
 * Proxyless gRPC clients see neither the query string nor pseudo-headers: a
 * route matching on query parameters or the scheme, or on a method other than
 * POST (every gRPC call is a POST), can never match one and is left out; a
 * POST method match is always true and is dropped.
 */
#ifndef TRELLIS_COMPILER_ROUTE_MATCH_H
#define TRELLIS_COMPILER_ROUTE_MATCH_H

#include <jansson.h>
#include <stdbool.h>

#include "compile_context.h"
#include "protocol.h"

typedef struct route_match_result {
    json_t *match;              /* the RouteMatch (owned by the caller), NULL when skipped */
    bool uses_path;             /* matches on the path (prefix, exact or regex) */
} route_match_result;

/* `match` is the route's "match" object of a route of type `type`. */
route_match_result route_match_build(compile_ctx *c, const json_t *match, mesh_protocol type,
                                     bool proxyless);

/* An Envoy HeaderMatcher for an App Mesh header or metadata match. */
json_t *route_match_header(compile_ctx *c, const char *name, const json_t *method, bool invert);

#endif
