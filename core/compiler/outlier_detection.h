/*
 * Outlier detection. A virtual node listener's outlierDetection is applied
 * by the clients ("applied at the client Envoy"): it becomes the
 * outlier_detection of each client's egress cluster for that node and port.
 *   maxServerErrors      -> consecutive_5xx
 *   interval             -> interval
 *   baseEjectionDuration -> base_ejection_time
 *   maxEjectionPercent   -> max_ejection_percent
 * App Mesh defines outliers by server errors only, so Envoy's success-rate
 * ejection (on by default) is turned off: enforcing_success_rate 0.
 */
#ifndef TRELLIS_COMPILER_OUTLIER_DETECTION_H
#define TRELLIS_COMPILER_OUTLIER_DETECTION_H

#include <jansson.h>

#include "compile_context.h"

json_t *outlier_detection_build(compile_ctx *c, const json_t *outlier_detection);

#endif
