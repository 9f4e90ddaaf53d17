#include "circuit_breakers.h"

#include <stdbool.h>

#include "json_build.h"

static json_t *wrap_thresholds(compile_ctx *c, json_t *threshold)
{
    json_t *thresholds = jb_array(c);
    jb_push(c, thresholds, threshold);
    json_t *breakers = jb_object(c);
    jb_set(c, breakers, "thresholds", thresholds);
    return breakers;
}

json_t *breakers_default(compile_ctx *c)
{
    if (!c->src->options.default_circuit_breakers)
        return NULL;
    if (c->shared_default_breakers == NULL) {
        json_t *t = jb_object(c);
        jb_set_integer(c, t, "max_connections", BREAKER_UNLIMITED);
        jb_set_integer(c, t, "max_pending_requests", BREAKER_UNLIMITED);
        jb_set_integer(c, t, "max_requests", BREAKER_UNLIMITED);
        jb_set_integer(c, t, "max_retries", BREAKER_UNLIMITED);
        c->shared_default_breakers = wrap_thresholds(c, t);
    }
    return jb_share(c, c->shared_default_breakers);
}

/* A pool limit as a uint32 (the API allows any positive integer). */
static bool pool_limit(const json_t *pool, const char *member, long long *out)
{
    const json_t *value = json_object_get(pool, member);
    if (!json_is_integer(value))
        return false;
    long long v = json_integer_value(value);
    *out = v < 1 ? 1 : v > 4294967295LL ? 4294967295LL : v;
    return true;
}

json_t *breakers_for_pool(compile_ctx *c, const json_t *pool)
{
    const json_t *tcp = json_object_get(pool, "tcp");
    const json_t *http = json_object_get(pool, "http");
    const json_t *http2 = json_object_get(pool, "http2");
    const json_t *grpc = json_object_get(pool, "grpc");
    if (tcp == NULL && http == NULL && http2 == NULL && grpc == NULL)
        return breakers_default(c);

    bool defaults = c->src->options.default_circuit_breakers;
    long long connections = BREAKER_UNLIMITED, pending = BREAKER_UNLIMITED,
              requests = BREAKER_UNLIMITED;
    bool has_connections = false, has_pending = false, has_requests = false;
    if (tcp != NULL)
        has_connections = pool_limit(tcp, "maxConnections", &connections);
    if (http != NULL) {
        has_connections = pool_limit(http, "maxConnections", &connections);
        pool_limit(http, "maxPendingRequests", &pending);
        has_pending = true; /* the guide's default for http pools: 2147483647 */
    }
    if (http2 != NULL)
        has_requests = pool_limit(http2, "maxRequests", &requests);
    if (grpc != NULL)
        has_requests = pool_limit(grpc, "maxRequests", &requests);

    json_t *t = jb_object(c);
    if (has_connections || defaults)
        jb_set_integer(c, t, "max_connections", connections);
    if (has_pending || defaults)
        jb_set_integer(c, t, "max_pending_requests", pending);
    if (has_requests || defaults)
        jb_set_integer(c, t, "max_requests", requests);
    if (defaults)
        jb_set_integer(c, t, "max_retries", BREAKER_UNLIMITED);
    return wrap_thresholds(c, t);
}
