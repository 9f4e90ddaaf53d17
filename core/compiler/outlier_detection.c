#include "outlier_detection.h"

#include "json_build.h"
#include "timeouts.h"

json_t *outlier_detection_build(compile_ctx *c, const json_t *outlier_detection)
{
    if (outlier_detection == NULL)
        return NULL;
    json_t *od = jb_object(c);
    json_int_t errors = json_integer_value(json_object_get(outlier_detection, "maxServerErrors"));
    if (errors >= 1)
        jb_set_integer(c, od, "consecutive_5xx", errors > UINT32_MAX ? UINT32_MAX : errors);
    int64_t ms;
    /* Envoy requires both durations > 0; a 0 keeps Envoy's default. */
    if (duration_ms(json_object_get(outlier_detection, "interval"), &ms) && ms > 0)
        jb_set(c, od, "interval", jb_duration_ms(c, ms));
    if (duration_ms(json_object_get(outlier_detection, "baseEjectionDuration"), &ms) && ms > 0)
        jb_set(c, od, "base_ejection_time", jb_duration_ms(c, ms));
    const json_t *percent = json_object_get(outlier_detection, "maxEjectionPercent");
    if (json_is_integer(percent)) {
        json_int_t p = json_integer_value(percent);
        jb_set_integer(c, od, "max_ejection_percent", p < 0 ? 0 : p > 100 ? 100 : p);
    }
    jb_set_integer(c, od, "enforcing_success_rate", 0);
    return od;
}
