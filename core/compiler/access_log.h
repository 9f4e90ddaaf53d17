/*
 * Access logs. A node's (or gateway's) logging.accessLog.file becomes one
 * file access logger on every HTTP connection manager and TCP proxy of its
 * listeners (ingress and egress, as in App Mesh dumps):
 *   file.path        -> FileAccessLog.path
 *   file.format.text -> log_format.text_format_source.inline_string
 *   file.format.json -> log_format.json_format (each {key, value} a string field)
 *   no format        -> no log_format: Envoy's default format, which is what
 *                       App Mesh documented (research LOG-05)
 * A format enables the %REQ_WITHOUT_QUERY(...)% command (guide, LOG-04)
 * through the envoy.formatter.req_without_query extension.
 */
#ifndef TRELLIS_COMPILER_ACCESS_LOG_H
#define TRELLIS_COMPILER_ACCESS_LOG_H

#include <jansson.h>

#include "compile_context.h"

/* The access_log list of the compiled node or gateway (a shared reference),
 * or NULL when it logs nothing. */
json_t *access_logs(compile_ctx *c);

#endif
