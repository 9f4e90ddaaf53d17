#include "timeouts.h"

#include <string.h>

/* Envoy rejects durations that overflow int64 nanoseconds where it converts
 * them (timeouts); 9223372036 s is the largest safe whole second. */
#define DURATION_MAX_MS (INT64_C(9223372036) * 1000)

bool duration_ms(const json_t *duration, int64_t *millis)
{
    const json_t *value = json_object_get(duration, "value");
    if (!json_is_integer(value))
        return false;
    json_int_t v = json_integer_value(value);
    if (v < 0)
        v = 0;
    const char *unit = json_string_value(json_object_get(duration, "unit"));
    bool ms = unit != NULL && strcmp(unit, "ms") == 0;
    if (ms)
        *millis = v > DURATION_MAX_MS ? DURATION_MAX_MS : v;
    else
        *millis = v > DURATION_MAX_MS / 1000 ? DURATION_MAX_MS : v * 1000;
    return true;
}

mesh_timeouts timeouts_of(const json_t *timeout)
{
    mesh_timeouts t = {TIMEOUT_DEFAULT_REQUEST_MS, TIMEOUT_DEFAULT_IDLE_MS};
    int64_t ms;
    if (duration_ms(json_object_get(timeout, "perRequest"), &ms))
        t.request_ms = ms;
    if (duration_ms(json_object_get(timeout, "idle"), &ms))
        t.idle_ms = ms;
    return t;
}

const json_t *listener_timeout(const json_t *listener, mesh_protocol protocol)
{
    return json_object_get(json_object_get(listener, "timeout"), protocol_name(protocol));
}
