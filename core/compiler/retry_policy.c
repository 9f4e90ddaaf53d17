#include "retry_policy.h"

#include <string.h>

#include "json_build.h"
#include "timeouts.h"

#define DEFAULT_MAX_RETRIES 2
#define DEFAULT_RETRIABLE_STATUS 503
#define RETRY_ON_MAX 512

typedef struct event_mapping {
    const char *appmesh;
    const char *envoy;
} event_mapping;

static const event_mapping http_events[] = {
    {"server-error", "5xx"},
    {"gateway-error", "gateway-error"},
    {"client-error", "retriable-4xx"},
    {"stream-error", "refused-stream"},
    {NULL, NULL},
};

static const event_mapping tcp_events[] = {
    {"connection-error", "connect-failure"},
    {NULL, NULL},
};

static const event_mapping grpc_events[] = {
    {"cancelled", "cancelled"},
    {"deadline-exceeded", "deadline-exceeded"},
    {"internal", "internal"},
    {"resource-exhausted", "resource-exhausted"},
    {"unavailable", "unavailable"},
    {NULL, NULL},
};

/* Appends the Envoy names of a list of App Mesh events to a comma list,
 * skipping unknown events and repeats. */
static void append_events(char *retry_on, size_t size, const json_t *events,
                          const event_mapping *table)
{
    size_t i;
    const json_t *event;
    json_array_foreach(events, i, event) {
        const char *name = json_string_value(event);
        for (size_t k = 0; name != NULL && table[k].appmesh != NULL; k++) {
            if (strcmp(name, table[k].appmesh) != 0)
                continue;
            const char *token = table[k].envoy;
            size_t len = strlen(token);
            bool repeated = false;
            for (const char *p = strstr(retry_on, token); p != NULL; p = strstr(p + 1, token)) {
                if ((p == retry_on || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
                    repeated = true;
            }
            size_t used = strlen(retry_on);
            if (!repeated && used + len + 2 < size) {
                if (used > 0)
                    retry_on[used++] = ',';
                memcpy(retry_on + used, token, len + 1);
            }
        }
    }
}

json_t *retry_policy_for_route(compile_ctx *c, const json_t *retry_policy, bool proxyless)
{
    if (retry_policy == NULL)
        return retry_policy_default(c);
    char retry_on[RETRY_ON_MAX] = "";
    append_events(retry_on, sizeof(retry_on), json_object_get(retry_policy, "httpRetryEvents"),
                  http_events);
    append_events(retry_on, sizeof(retry_on), json_object_get(retry_policy, "tcpRetryEvents"),
                  tcp_events);
    append_events(retry_on, sizeof(retry_on), json_object_get(retry_policy, "grpcRetryEvents"),
                  grpc_events);
    json_int_t max_retries = json_integer_value(json_object_get(retry_policy, "maxRetries"));
    if (max_retries < 0)
        max_retries = 0;
    if (max_retries > UINT32_MAX)
        max_retries = UINT32_MAX;
    if (retry_on[0] == '\0' || (proxyless && max_retries == 0))
        return NULL;

    json_t *policy = jb_object(c);
    jb_set_string(c, policy, "retry_on", retry_on);
    jb_set_integer(c, policy, "num_retries", max_retries);
    int64_t per_try;
    if (duration_ms(json_object_get(retry_policy, "perRetryTimeout"), &per_try) && per_try > 0)
        jb_set(c, policy, "per_try_timeout", jb_duration_ms(c, per_try));
    return policy;
}

json_t *retry_policy_default(compile_ctx *c)
{
    if (!c->src->options.default_retry_policy)
        return NULL;
    if (c->shared_default_retry == NULL) {
        json_t *policy = jb_object(c);
        jb_set_string(c, policy, "retry_on",
                      "connect-failure,refused-stream,reset,retriable-status-codes,unavailable");
        jb_set_integer(c, policy, "num_retries", DEFAULT_MAX_RETRIES);
        json_t *codes = jb_array(c);
        jb_push(c, codes, jb_integer(c, DEFAULT_RETRIABLE_STATUS));
        jb_set(c, policy, "retriable_status_codes", codes);
        c->shared_default_retry = policy;
    }
    return jb_share(c, c->shared_default_retry);
}
