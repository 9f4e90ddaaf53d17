/*
 * The order Envoy tries a router's routes in (Envoy takes the first match).
 * App Mesh: "Routes are matched based on the specified value [priority],
 * where 0 is the highest priority". It does not say how routes of equal or
 * no priority are ordered; we order them, most specific first, the way the
 * guide describes gateway routes ("a request is matched to the route with
 * the longest prefix"):
 *   1. priority ascending; a route without priority after all with one;
 *   2. exact path (http path.exact, grpc service + method) before regex path
 *      before prefix (http prefix, grpc service only, then match-all);
 *   3. longer prefix (or exact path) first;
 *   4. more header / metadata / query / method / scheme / hostname conditions first;
 *   5. route name (byte order), so the order is total and stable.
 */
#ifndef TRELLIS_COMPILER_ROUTE_ORDER_H
#define TRELLIS_COMPILER_ROUTE_ORDER_H

#include <stddef.h>

#include "egress_plan.h"

/* Sorts App Mesh routes, or gateway routes (same match shapes, no targets). */
void route_order_sort(plan_route *routes, size_t count);

#endif
