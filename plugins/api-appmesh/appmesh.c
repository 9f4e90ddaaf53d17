/*
 * api.appmesh — the App Mesh REST JSON API (2019-01-25) on HTTP/1.1, so the
 * AWS CLI, boto3, the JS SDK and Terraform work with --endpoint-url.
 *
 * Each request is routed by method and path to one of the 38 operations
 * (appmesh_routes.c, generated from botocore's model), its URI, query and
 * header members are collected by member name, and the call goes to the core
 * through host->api_invoke(), which validates, executes and answers. Answers
 * carry what AWS clients read: the status, Content-Type: application/json,
 * x-amzn-RequestId, and on errors x-amzn-ErrorType plus {"message": "..."}.
 * See README.md for the error choices where AWS is silent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/frontend.h>
#include <trellis/plugin.h>

#include "appmesh_routes.h"
#include "http_frontend.h"
#include "http_server.h"
#include "request_id.h"
#include "route_match.h"
#include "text_buffer.h"

/* botocore and the JS SDK keep what precedes the first ':' as the error code. */
#define ERROR_TYPE_SUFFIX ":http://internal.amazon.com/coral/com.amazonaws.appmesh/"
#define WRITE_TIMEOUT_MS 30000

/* Error types counted under their own label; anything else is "other". */
static const char *const known_error_types[] = {
    "BadRequestException", "ConflictException", "ForbiddenException",
    "InternalServerErrorException", "LimitExceededException", "NotFoundException",
    "ResourceInUseException", "ServiceUnavailableException", "TooManyRequestsException",
    "TooManyTagsException", "UnknownOperationException", "other",
};
#define KNOWN_ERROR_TYPES (sizeof(known_error_types) / sizeof(known_error_types[0]))

typedef struct appmesh {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    const trellis_config *config;
    http_server *http;
    uint64_t request_sequence;       /* request_id fallback */
    size_t max_body_bytes;
    size_t max_header_bytes;

    size_t pending;                  /* api_invoke calls not answered yet */
    bool http_drained;
    bool stop_returned_again;        /* host->stopped() is owed */

    trellis_metric **requests;       /* per route, then one for unrouted requests */
    trellis_metric *errors[KNOWN_ERROR_TYPES];
    trellis_metric *duration;
    trellis_metric *connections;
} appmesh;

/* One request from arrival to answer. Owned by the handler until the answer
 * is sent, then freed. */
typedef struct appmesh_call {
    appmesh *a;
    http_exchange *exchange;
    char request_id[REQUEST_ID_SIZE];
    uint64_t start_ns;
    size_t route_index;              /* appmesh_route_count when unrouted */
    char method[16];
    char path[256];
    char peer[64];
} appmesh_call;

static const trellis_config_field appmesh_schema[] = {
    {"listen", TRELLIS_CONFIG_ADDRESS, 0, "\"127.0.0.1:7080\"", 0, 0, NULL,
     "address to serve the App Mesh API on; loopback unless you mean otherwise"},
    {"max_body_bytes", TRELLIS_CONFIG_INTEGER, 0, "1048576", 1024, 67108864, NULL,
     "largest request body; larger ones are answered 400 BadRequestException"},
    {"max_header_bytes", TRELLIS_CONFIG_INTEGER, 0, "16384", 1024, 1048576, NULL,
     "largest request line plus headers; larger ones are answered 400 BadRequestException"},
    {"max_connections", TRELLIS_CONFIG_INTEGER, 0, "1024", 1, 100000, NULL,
     "concurrent connections; more are answered 503 and closed"},
    {"request_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "30000", 100, 600000, NULL,
     "time allowed to receive one whole request"},
    {"idle_timeout_ms", TRELLIS_CONFIG_INTEGER, 0, "60000", 100, 3600000, NULL,
     "keep-alive idle time before a connection is closed"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* ---- answering ---- */

static size_t error_type_index(const char *error_type)
{
    for (size_t i = 0; i + 1 < KNOWN_ERROR_TYPES; i++) {
        if (strcmp(known_error_types[i], error_type) == 0)
            return i;
    }
    return KNOWN_ERROR_TYPES - 1;
}

/* Error types go into a header: only identifier characters pass. */
static bool error_type_is_safe(const char *error_type)
{
    if (error_type[0] == '\0' || strlen(error_type) > 128)
        return false;
    for (const char *p = error_type; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.'))
            return false;
    }
    return true;
}

static void log_request(appmesh *a, const appmesh_call *c, int status, const char *error_type,
                        double seconds)
{
    if (!a->host->log_enabled(a->ctx, TRELLIS_LOG_DEBUG))
        return;
    char status_text[16], duration_text[32];
    snprintf(status_text, sizeof(status_text), "%d", status);
    snprintf(duration_text, sizeof(duration_text), "%.3f", seconds * 1000.0);
    const char *operation = c->route_index < appmesh_route_count
                                ? appmesh_routes[c->route_index].operation
                                : "-";
    trellis_log_field fields[] = {
        {"request_id", c->request_id}, {"method", c->method},
        {"path", c->path},             {"operation", operation},
        {"status", status_text},       {"error_type", error_type ? error_type : "-"},
        {"duration_ms", duration_text}, {"peer", c->peer},
    };
    a->host->log_fields(a->ctx, TRELLIS_LOG_DEBUG, "request", fields,
                        sizeof(fields) / sizeof(fields[0]));
}

/* Sends the answer, counts it, logs it and frees the call. */
static void finish(appmesh_call *c, int status, const char *error_type, const char *body,
                   size_t body_len)
{
    appmesh *a = c->a;
    char error_header[192];
    http_header headers[2] = {{"x-amzn-RequestId", c->request_id}};
    size_t header_count = 1;
    if (error_type != NULL) {
        snprintf(error_header, sizeof(error_header), "%s" ERROR_TYPE_SUFFIX, error_type);
        headers[header_count++] = (http_header){"x-amzn-ErrorType", error_header};
    }
    http_respond(c->exchange, status, "application/json", headers, header_count, body, body_len);

    double seconds = (double)(a->host->monotonic_ns() - c->start_ns) / 1e9;
    a->host->metric_add(a->requests[c->route_index], 1);
    if (error_type != NULL)
        a->host->metric_add(a->errors[error_type_index(error_type)], 1);
    a->host->metric_observe(a->duration, seconds);
    log_request(a, c, status, error_type, seconds);
    free(c);
}

/* An error trellis itself reports (routing, limits, no core API). */
static void finish_error(appmesh_call *c, int status, const char *error_type, const char *message)
{
    text_buffer body;
    tb_init(&body);
    tb_append(&body, "{\"message\":");
    tb_append_json_string(&body, message);
    tb_append(&body, "}");
    if (tb_failed(&body)) {
        static const char fallback[] = "{\"message\":\"out of memory\"}";
        finish(c, 500, "InternalServerErrorException", fallback, sizeof(fallback) - 1);
    } else {
        finish(c, status, error_type, body.data, body.len);
    }
    tb_free(&body);
}

static void maybe_stopped(appmesh *a)
{
    if (a->stop_returned_again && a->http_drained && a->pending == 0) {
        a->stop_returned_again = false;
        a->host->stopped(a->ctx);
    }
}

static void on_api_done(void *arg, const trellis_api_response *response)
{
    appmesh_call *c = arg;
    appmesh *a = c->a;
    int status = (int)response->http_status;
    if (status < 200 || status > 599)
        status = 500;
    const char *error_type = response->error_type;
    if (error_type != NULL && !error_type_is_safe(error_type)) {
        a->host->log(a->ctx, TRELLIS_LOG_WARN, "bad_error_type",
                     "the core answered an error type that cannot be sent; sending "
                     "InternalServerErrorException");
        finish_error(c, 500, "InternalServerErrorException", "internal error");
    } else if (error_type != NULL && response->body_len == 0) {
        finish_error(c, status, error_type, error_type);
    } else {
        finish(c, status, error_type, response->body ? response->body : "", response->body_len);
    }
    a->pending--;
    maybe_stopped(a);
}

/* ---- requests ---- */

static appmesh_call *call_new(appmesh *a, http_exchange *x, const char *method, const char *path,
                              const char *peer)
{
    appmesh_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->a = a;
    c->exchange = x;
    c->start_ns = a->host->monotonic_ns();
    c->route_index = appmesh_route_count;
    request_id_new(&a->request_sequence, c->request_id);
    snprintf(c->method, sizeof(c->method), "%s", method);
    snprintf(c->path, sizeof(c->path), "%s", path);
    snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "");
    return c;
}

static void invoke(appmesh_call *c, const http_request *req, const appmesh_match *match)
{
    appmesh *a = c->a;
    c->route_index = match->route_index;
    trellis_api_request request = {
        .size = sizeof(request),
        .operation = match->route->operation,
        .params = match->params,
        .param_count = match->param_count,
        .body = req->body,
        .body_len = req->body_len,
        .request_id = c->request_id,
    };
    /* Counted first: the answer may come before api_invoke returns. */
    a->pending++;
    trellis_status st = a->host->api_invoke(a->ctx, &request, on_api_done, c);
    if (st == TRELLIS_OK)
        return; /* on_api_done owns the call now */
    a->pending--;
    if (st == TRELLIS_ERR_UNAVAILABLE)
        finish_error(c, 503, "ServiceUnavailableException",
                     "The App Mesh API is not available on this trellis server (no control "
                     "plane is configured or it is not ready)");
    else if (st == TRELLIS_ERR_NOMEM)
        finish_error(c, 500, "InternalServerErrorException", "out of memory");
    else
        finish_error(c, 500, "InternalServerErrorException", "the request could not be started");
}

static void handle_request(void *arg, http_exchange *x, const http_request *req)
{
    appmesh *a = arg;
    a->host->metric_set(a->connections, (double)http_server_connection_count(a->http));
    appmesh_call *c = call_new(a, x, req->method, req->path, req->peer);
    if (c == NULL) {
        static const char body[] = "{\"message\":\"out of memory\"}";
        http_header error = {"x-amzn-ErrorType", "InternalServerErrorException" ERROR_TYPE_SUFFIX};
        http_respond(x, 500, "application/json", &error, 1, body, sizeof(body) - 1);
        return;
    }
    appmesh_match match;
    appmesh_match_init(&match);
    switch (appmesh_route_request(req->method, req->path, req->query, req->headers,
                                  req->header_count, &match)) {
    case APPMESH_MATCH_OK:
        invoke(c, req, &match);
        break;
    case APPMESH_MATCH_NO_ROUTE:
    case APPMESH_MATCH_NO_METHOD:
        finish_error(c, 404, "UnknownOperationException", match.message);
        break;
    case APPMESH_MATCH_BAD_REQUEST:
        finish_error(c, 400, "BadRequestException", match.message);
        break;
    case APPMESH_MATCH_NO_MEMORY:
        finish_error(c, 500, "InternalServerErrorException", "out of memory");
        break;
    }
    appmesh_match_free(&match);
}

/* Requests the HTTP layer refuses (too large, malformed) get an AWS error
 * too: clients must see BadRequestException, not a bare HTTP status. */
static void handle_refusal(void *arg, http_exchange *x, int status, const char *reason,
                           const char *peer)
{
    appmesh *a = arg;
    appmesh_call *c = call_new(a, x, "-", "-", peer);
    if (c == NULL) {
        http_respond(x, 400, "application/json", NULL, 0, "{}", 2);
        return;
    }
    char message[256];
    switch (status) {
    case 413:
        snprintf(message, sizeof(message),
                 "Request body too large: this server accepts at most %zu bytes",
                 a->max_body_bytes);
        break;
    case 431:
        snprintf(message, sizeof(message),
                 "Request headers too large: this server accepts at most %zu bytes",
                 a->max_header_bytes);
        break;
    default:
        /* The server's reason ("malformed HTTP request"), as a sentence. */
        snprintf(message, sizeof(message), "%s", reason);
        if (message[0] >= 'a' && message[0] <= 'z')
            message[0] = (char)(message[0] - 'a' + 'A');
        break;
    }
    finish_error(c, 400, "BadRequestException", message);
}

/* ---- lifecycle ---- */

static trellis_status appmesh_check_config(const trellis_host *host, const trellis_config *config,
                                           trellis_error *err)
{
    (void)config;
    if (host->size < offsetof(trellis_host, api_invoke) + sizeof(host->api_invoke) ||
        host->abi_minor < 1) {
        host->error_set(err, NULL, "api.appmesh needs a host with ABI 1.1 (api_invoke)");
        return TRELLIS_ERR_UNSUPPORTED;
    }
    return TRELLIS_OK;
}

static trellis_status create_metrics(appmesh *a)
{
    const trellis_host *h = a->host;
    a->requests = calloc(appmesh_route_count + 1, sizeof(*a->requests));
    if (a->requests == NULL)
        return TRELLIS_ERR_NOMEM;
    const char *help = "App Mesh API requests answered, by operation (unknown: not routed).";
    for (size_t i = 0; i <= appmesh_route_count; i++) {
        const char *labels[] = {"operation",
                                i < appmesh_route_count ? appmesh_routes[i].operation : "unknown",
                                NULL};
        a->requests[i] = h->metric_new(a->ctx, TRELLIS_METRIC_COUNTER,
                                       "trellis_appmesh_requests_total", help, labels, NULL, 0);
    }
    for (size_t i = 0; i < KNOWN_ERROR_TYPES; i++) {
        const char *labels[] = {"error_type", known_error_types[i], NULL};
        a->errors[i] = h->metric_new(a->ctx, TRELLIS_METRIC_COUNTER,
                                     "trellis_appmesh_errors_total",
                                     "App Mesh API error answers, by error type.", labels, NULL, 0);
    }
    static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    a->duration = h->metric_new(a->ctx, TRELLIS_METRIC_HISTOGRAM,
                                "trellis_appmesh_request_duration_seconds",
                                "Time from a request's arrival to its answer.", NULL, buckets,
                                sizeof(buckets) / sizeof(buckets[0]));
    a->connections = h->metric_new(a->ctx, TRELLIS_METRIC_GAUGE, "trellis_appmesh_connections",
                                   "Open connections to the App Mesh API.", NULL, NULL, 0);
    return TRELLIS_OK;
}

static trellis_status appmesh_create(const trellis_host *host, trellis_host_ctx *ctx,
                                     const trellis_config *config, void **instance_out,
                                     trellis_error *err)
{
    if (appmesh_check_config(host, config, err) != TRELLIS_OK)
        return TRELLIS_ERR_UNSUPPORTED;
    appmesh *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    a->host = host;
    a->ctx = ctx;
    a->config = config;
    a->max_body_bytes = (size_t)host->config_get_int(config, "max_body_bytes");
    a->max_header_bytes = (size_t)host->config_get_int(config, "max_header_bytes");
    if (create_metrics(a) != TRELLIS_OK) {
        free(a);
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    *instance_out = a;
    return TRELLIS_OK;
}

static trellis_status appmesh_start(void *instance, trellis_error *err)
{
    appmesh *a = instance;
    http_server_options options = {
        .max_header_bytes = a->max_header_bytes,
        .max_body_bytes = a->max_body_bytes,
        .write_timeout_ms = WRITE_TIMEOUT_MS,
        .server_name = "trellis",
        .on_refusal = handle_refusal,
        .on_refusal_arg = a,
    };
    a->http = http_frontend_start(a->host, a->ctx, a->config, options, "App Mesh API",
                                  handle_request, a, err);
    return a->http != NULL ? TRELLIS_OK : TRELLIS_ERR_IO;
}

static void on_http_drained(void *arg)
{
    appmesh *a = arg;
    a->http_drained = true;
    maybe_stopped(a);
}

static trellis_status appmesh_stop(void *instance)
{
    appmesh *a = instance;
    a->http_drained = http_server_drain(a->http, on_http_drained, a);
    if (a->http_drained && a->pending == 0)
        return TRELLIS_OK;
    a->stop_returned_again = true;
    return TRELLIS_AGAIN;
}

static void appmesh_destroy(void *instance)
{
    appmesh *a = instance;
    http_server_free(a->http);
    free(a->requests); /* the series themselves are the host's to release */
    free(a);
}

static const trellis_frontend_ops appmesh_ops = TRELLIS_FRONTEND_OPS_INIT;

static const trellis_plugin_descriptor appmesh_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER,
    .name = "api.appmesh",
    .version = TRELLIS_PLUGIN_VERSION,
    .summary = "App Mesh REST JSON API (2019-01-25): aws appmesh, boto3, SDKs, Terraform",
    .kind = TRELLIS_KIND_FRONTEND,
    .ops = &appmesh_ops,
    .config_schema = appmesh_schema,
    .check_config = appmesh_check_config,
    .create = appmesh_create,
    .start = appmesh_start,
    .stop = appmesh_stop,
    .destroy = appmesh_destroy,
};

TRELLIS_PLUGIN_ENTRY(appmesh_descriptor)
