/*
 * trellis/plugin.h — the trellis plugin ABI, base header.
 *
 * This is the only contract between the trellis core and a plugin. A plugin
 * includes trellis/plugin.h plus the header of its kind (trellis/frontend.h,
 * trellis/store.h, ...) and nothing else from trellis. It never links against
 * the trellis executable: everything it needs from the host arrives through the
 * `trellis_host` table handed to it.
 *
 * Shape of a plugin (see docs/plugin-abi.md for a complete example):
 *
 *   static const trellis_plugin_descriptor descriptor = {
 *       TRELLIS_DESCRIPTOR_HEADER,
 *       .name = "api.example", .version = "1.0.0", .kind = TRELLIS_KIND_FRONTEND, ...
 *   };
 *   TRELLIS_PLUGIN_ENTRY(descriptor)
 *
 * Threading: the host owns the event loop and every thread. Unless a function
 * says otherwise, the host calls plugin callbacks on the loop thread and the
 * plugin calls host functions on the loop thread. The exceptions are marked
 * "any thread". Plugins never create threads or event loops; blocking work
 * goes through host->offload().
 *
 * Ownership is in the names: `get0_` returns a borrowed pointer (do not free),
 * `new_`/`get1_` return an owned pointer (free it with the matching `_free`).
 *
 * ABI changelog
 *   1.0  first version: descriptor, config schema, host services (memory,
 *        logging, errors, config accessors, timers, fd watches, deferred calls,
 *        thread-safe post, offload pool, TCP listen, readiness, metrics,
 *        instance listing, debug providers, error objects); frontend kind ops.
 *   1.1  api_invoke (the App Mesh control-plane API for front ends) and the
 *        store kind's ops table (trellis/store.h).
 *   1.2  xDS snapshots for front ends serving Envoy and gRPC clients:
 *        xds_watch/xds_unwatch and the snapshot accessors.
 *   1.3  the discovery kind's ops table (trellis/discovery.h).
 *
 * Versioning policy: the major number changes when anything in an existing
 * struct moves or changes meaning; the host refuses plugins of another major.
 * The minor number grows when something is appended (a host function at the end
 * of `trellis_host`, a kind's ops table, an enum value); the host refuses plugins
 * built for a newer minor than its own. Plugins built for an older minor keep
 * loading. Static assertions at the end of this header pin every struct's layout.
 */
#ifndef TRELLIS_PLUGIN_H
#define TRELLIS_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRELLIS_ABI_MAJOR 1
#define TRELLIS_ABI_MINOR 3

/* "TRLS" — first field of every descriptor. */
#define TRELLIS_PLUGIN_MAGIC 0x534c5254u

/* Name of the one symbol a plugin exports (see TRELLIS_PLUGIN_ENTRY). */
#define TRELLIS_PLUGIN_ENTRY_SYMBOL "trellis_plugin_entry"

/*
 * Build signature: the properties of the compilation that must match between
 * host and plugin for structs to be shared. byte 0: sizeof(void *),
 * byte 1: sizeof(time_t), byte 2: sizeof(long), byte 3: 1 little / 2 big endian.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define TRELLIS_BUILD_ENDIAN 2u
#else
#define TRELLIS_BUILD_ENDIAN 1u
#endif
#define TRELLIS_BUILD_SIGNATURE                                                 \
    ((uint32_t)sizeof(void *) | ((uint32_t)sizeof(time_t) << 8) |             \
     ((uint32_t)sizeof(long) << 16) | (TRELLIS_BUILD_ENDIAN << 24))

/* ------------------------------------------------------------------------ */
/* Status codes                                                               */
/* ------------------------------------------------------------------------ */

/* Every fallible function returns one of these. Negative values are errors;
 * the human-readable reason travels in a host-owned trellis_error. */
typedef enum trellis_status {
    TRELLIS_OK = 0,
    TRELLIS_AGAIN = 1,              /* not finished yet; completion is signalled later */
    TRELLIS_ERR = -1,               /* failure; see the error message */
    TRELLIS_ERR_NOMEM = -2,         /* allocation failed */
    TRELLIS_ERR_INVALID = -3,       /* invalid argument or configuration */
    TRELLIS_ERR_NOT_FOUND = -4,     /* the named thing does not exist */
    TRELLIS_ERR_CONFLICT = -5,      /* a precondition (version, uniqueness) failed */
    TRELLIS_ERR_UNAVAILABLE = -6,   /* transient: a dependency is down, retry later */
    TRELLIS_ERR_IO = -7,            /* an operating-system I/O call failed */
    TRELLIS_ERR_LIMIT = -8,         /* a bound was reached (queue, quota, size) */
    TRELLIS_ERR_UNSUPPORTED = -9    /* the host or plugin does not offer this */
} trellis_status;

/* ------------------------------------------------------------------------ */
/* Kinds                                                                      */
/* ------------------------------------------------------------------------ */

typedef enum trellis_plugin_kind {
    TRELLIS_KIND_STORE = 1,     /* durable resource storage (trellis/store.h, ABI 1.1) */
    TRELLIS_KIND_DISCOVERY = 2, /* service discovery (trellis/discovery.h, ABI 1.3) */
    TRELLIS_KIND_CERTS = 3,     /* certificate sources: reserved, no ops table yet */
    TRELLIS_KIND_SINK = 4,      /* telemetry sinks: reserved, no ops table yet */
    TRELLIS_KIND_FRONTEND = 5   /* protocol front ends: REST API, xDS, admin */
} trellis_plugin_kind;

/*
 * Every kind's ops table starts with this header. `size` is sizeof() the ops
 * struct the plugin was built with; `version` is the kind's ops version
 * (TRELLIS_<KIND>_OPS_VERSION). The host refuses a version newer than it knows
 * and a size smaller than that version requires.
 */
typedef struct trellis_ops_header {
    uint32_t size;
    uint32_t version;
} trellis_ops_header;

/* ------------------------------------------------------------------------ */
/* Opaque host objects                                                        */
/* ------------------------------------------------------------------------ */

typedef struct trellis_host_ctx trellis_host_ctx; /* one per plugin instance */
typedef struct trellis_config trellis_config;     /* an instance's validated config */
typedef struct trellis_error trellis_error;       /* host-owned error message channel */
typedef struct trellis_timer trellis_timer;
typedef struct trellis_watch trellis_watch;
typedef struct trellis_metric trellis_metric;

/* ------------------------------------------------------------------------ */
/* Configuration schema                                                       */
/* ------------------------------------------------------------------------ */

typedef enum trellis_config_type {
    TRELLIS_CONFIG_STRING = 1,      /* JSON string; min/max bound its length */
    TRELLIS_CONFIG_INTEGER = 2,     /* JSON integer; min/max bound its value */
    TRELLIS_CONFIG_BOOLEAN = 3,     /* JSON true/false */
    TRELLIS_CONFIG_NUMBER = 4,      /* JSON number; min/max bound its value */
    TRELLIS_CONFIG_ADDRESS = 5,     /* "host:port" or "[v6]:port", numeric host */
    TRELLIS_CONFIG_STRING_LIST = 6, /* array of strings; min/max bound its count */
    TRELLIS_CONFIG_OBJECT = 7       /* any JSON object, read back as JSON text */
} trellis_config_type;

#define TRELLIS_CONFIG_REQUIRED 0x1u /* the key must be present */
#define TRELLIS_CONFIG_SECRET 0x2u   /* never printed in logs or messages */

/*
 * One configuration key. A plugin's schema is an array terminated by an entry
 * whose `key` is NULL. The host checks every instance config against it before
 * calling check_config(): unknown keys, wrong types, values outside [min, max]
 * (ignored when min == max == 0), strings not in `choices` ("a|b|c") and missing
 * required keys are refused with a message naming the key. The same table
 * produces `trellis plugins --schema` and the plugin's config documentation.
 */
typedef struct trellis_config_field {
    const char *key;
    uint32_t type;              /* trellis_config_type */
    uint32_t flags;             /* TRELLIS_CONFIG_REQUIRED | TRELLIS_CONFIG_SECRET */
    const char *default_json;   /* default as JSON text, e.g. "\"127.0.0.1:7081\"", "64"; NULL: none */
    double min;
    double max;
    const char *choices;        /* allowed string values separated by '|'; NULL: any */
    const char *description;
} trellis_config_field;

/* ------------------------------------------------------------------------ */
/* Host services                                                              */
/* ------------------------------------------------------------------------ */

typedef enum trellis_log_level {
    TRELLIS_LOG_ERROR = 0,
    TRELLIS_LOG_WARN = 1,
    TRELLIS_LOG_INFO = 2,
    TRELLIS_LOG_DEBUG = 3
} trellis_log_level;

/* One extra key/value pair on a log line. Values are copied by the host. */
typedef struct trellis_log_field {
    const char *key;
    const char *value;
} trellis_log_field;

#define TRELLIS_WATCH_READ 0x1u
#define TRELLIS_WATCH_WRITE 0x2u

typedef enum trellis_metric_type {
    TRELLIS_METRIC_COUNTER = 1,
    TRELLIS_METRIC_GAUGE = 2,
    TRELLIS_METRIC_HISTOGRAM = 3
} trellis_metric_type;

/* One metric series, as seen by an exporter through metrics_foreach(). All
 * pointers are borrowed for the duration of the callback. */
typedef struct trellis_metric_sample {
    uint32_t size;              /* sizeof(trellis_metric_sample) of the host */
    uint32_t type;              /* trellis_metric_type */
    const char *name;
    const char *help;
    const char *labels;         /* rendered label pairs without braces: a="x",b="y"; "" if none */
    double value;               /* counter/gauge value; histogram: sum of observations */
    uint64_t count;             /* histogram: number of observations */
    size_t bucket_count;        /* histogram: number of finite buckets */
    const double *bucket_bounds;    /* histogram: upper bounds, ascending */
    const uint64_t *bucket_counts;  /* histogram: cumulative counts per bound */
} trellis_metric_sample;

typedef enum trellis_instance_state {
    TRELLIS_INSTANCE_CREATED = 1,
    TRELLIS_INSTANCE_STARTED = 2,
    TRELLIS_INSTANCE_STOPPING = 3,
    TRELLIS_INSTANCE_STOPPED = 4
} trellis_instance_state;

/* One plugin instance, as listed by instances_foreach(). Borrowed. Core
 * components that gate readiness (the catalog) are listed too, with kind 0
 * and plugin "core". */
typedef struct trellis_instance_info {
    uint32_t size;              /* sizeof(trellis_instance_info) of the host */
    uint32_t kind;              /* trellis_plugin_kind, or 0 for a core component */
    const char *plugin;         /* plugin name, e.g. "api.admin" */
    const char *instance;       /* instance name from the configuration */
    uint32_t state;             /* trellis_instance_state */
    uint32_t ready;             /* 1 when the instance reports itself ready */
    const char *detail;         /* why not ready, or "" */
} trellis_instance_info;

typedef void (*trellis_callback_fn)(void *arg);
typedef void (*trellis_watch_fn)(int fd, unsigned events, void *arg);
typedef void (*trellis_metric_visit_fn)(const trellis_metric_sample *sample, void *arg);
typedef void (*trellis_instance_visit_fn)(const trellis_instance_info *info, void *arg);

/*
 * A debug provider answers a named query with a JSON document. `query` is the
 * raw query string given by the caller (may be ""). On success it returns
 * TRELLIS_OK and sets *json_out to a string allocated with host->alloc, which
 * the caller frees with host->free. On failure it returns an error status and
 * explains in `err` (TRELLIS_ERR_NOT_FOUND, TRELLIS_ERR_INVALID, ...).
 */
typedef trellis_status (*trellis_debug_fn)(void *arg, const char *query, char **json_out,
                                           trellis_error *err);

/* Memory. Any thread. Plugins may use their own malloc; memory passed across
 * the ABI to be freed by the other side must come from these. */
typedef void *(*trellis_alloc_fn)(size_t size);
typedef void *(*trellis_realloc_fn)(void *ptr, size_t size);
typedef void (*trellis_free_fn)(void *ptr);

/* Logging. Any thread. Every line carries the plugin and instance names. */
typedef void (*trellis_log_fn)(trellis_host_ctx *ctx, trellis_log_level level, const char *event,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
typedef void (*trellis_log_fields_fn)(trellis_host_ctx *ctx, trellis_log_level level,
                                      const char *event, const trellis_log_field *fields,
                                      size_t field_count);
typedef bool (*trellis_log_enabled_fn)(trellis_host_ctx *ctx, trellis_log_level level);

/* Errors. `key` names the offending config key or NULL; the host prefixes the
 * file and path (e.g. "trellis.json: plugins[2].config.listen: ..."). */
typedef void (*trellis_error_set_fn)(trellis_error *err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Config accessors. Defaults from the schema are applied; a key absent with no
 * default reads as NULL / 0 / false / count 0. Returned strings are borrowed
 * and stay valid until the instance's destroy() returns. Any thread. */
typedef bool (*trellis_config_has_fn)(const trellis_config *config, const char *key);
typedef const char *(*trellis_config_get0_string_fn)(const trellis_config *config,
                                                     const char *key);
typedef int64_t (*trellis_config_get_int_fn)(const trellis_config *config, const char *key);
typedef bool (*trellis_config_get_bool_fn)(const trellis_config *config, const char *key);
typedef double (*trellis_config_get_number_fn)(const trellis_config *config, const char *key);
typedef size_t (*trellis_config_list_count_fn)(const trellis_config *config, const char *key);
typedef const char *(*trellis_config_get0_list_item_fn)(const trellis_config *config,
                                                        const char *key, size_t index);

/* Timers. Loop thread. A timer fires `fn(arg)` on the loop thread after
 * `delay_ms`, and again every `delay_ms` when `repeat` is true. timer_free()
 * stops it; no callback runs after timer_stop()/timer_free() return. */
typedef trellis_timer *(*trellis_timer_new_fn)(trellis_host_ctx *ctx, trellis_callback_fn fn,
                                               void *arg);
typedef void (*trellis_timer_start_fn)(trellis_timer *timer, uint64_t delay_ms, bool repeat);
typedef void (*trellis_timer_stop_fn)(trellis_timer *timer);
typedef void (*trellis_timer_free_fn)(trellis_timer *timer);

/* File-descriptor watches. Loop thread. `events` is a mask of
 * TRELLIS_WATCH_READ/WRITE; the watch is level-triggered and persistent until
 * changed with watch_update() or removed with watch_free(), which does not
 * close the descriptor. No callback runs after watch_free() returns. */
typedef trellis_watch *(*trellis_watch_new_fn)(trellis_host_ctx *ctx, int fd, unsigned events,
                                               trellis_watch_fn fn, void *arg);
typedef void (*trellis_watch_update_fn)(trellis_watch *watch, unsigned events);
typedef void (*trellis_watch_free_fn)(trellis_watch *watch);

/* Deferred call: run fn(arg) on the loop thread once, after the current
 * callback returns. Loop thread. TRELLIS_ERR_NOMEM on allocation failure. */
typedef trellis_status (*trellis_defer_fn)(trellis_host_ctx *ctx, trellis_callback_fn fn,
                                           void *arg);

/* Post: like defer, but callable from any thread (offload workers). Bounded:
 * TRELLIS_ERR_LIMIT when the host's post queue is full. */
typedef trellis_status (*trellis_post_fn)(trellis_host_ctx *ctx, trellis_callback_fn fn,
                                          void *arg);

/* Offload: run work(arg) on a host worker thread (blocking calls allowed), then
 * done(arg) on the loop thread. Loop thread. The host finishes every accepted
 * job of an instance before its destroy(). TRELLIS_ERR_LIMIT when the bounded
 * queue is full. */
typedef trellis_status (*trellis_offload_fn)(trellis_host_ctx *ctx, trellis_callback_fn work,
                                             trellis_callback_fn done, void *arg);

/* Clocks. Any thread. Monotonic nanoseconds; wall clock in seconds since the
 * epoch with sub-second precision. */
typedef uint64_t (*trellis_monotonic_ns_fn)(void);
typedef double (*trellis_wall_time_fn)(void);

/* Listening socket for "host:port" / "[v6]:port": non-blocking, close-on-exec.
 * While another instance of this process listens on the same address (a
 * reload replacing it), the caller gets a duplicate of that socket, so the
 * swap refuses no connection; another process gets "Address already in use".
 * The caller owns *fd_out and closes it. Loop thread. */
typedef trellis_status (*trellis_listen_tcp_fn)(trellis_host_ctx *ctx, const char *address,
                                                int backlog, int *fd_out, trellis_error *err);

/* Readiness of the calling instance, shown by the admin front end's /readyz.
 * An instance is ready after a successful start() unless it says otherwise.
 * `detail` is copied. Loop thread. */
typedef void (*trellis_set_ready_fn)(trellis_host_ctx *ctx, bool ready, const char *detail);

/* Drain finished: an instance whose stop() returned TRELLIS_AGAIN calls this
 * once, on the loop thread, when it has stopped all work. */
typedef void (*trellis_stopped_fn)(trellis_host_ctx *ctx);

/* Visit every plugin instance, in start order. Loop thread. */
typedef void (*trellis_instances_foreach_fn)(trellis_host_ctx *ctx, trellis_instance_visit_fn fn,
                                             void *arg);

/* Metrics. Loop thread. `labels` is NULL or a NULL-terminated list of
 * key, value, key, value...; the host adds plugin="..." and instance="...".
 * Histograms need ascending `buckets`; other types pass NULL, 0. A series is
 * owned by the instance and freed at destroy at the latest. NULL on bad input
 * (logged) or allocation failure; the update functions accept NULL. */
typedef trellis_metric *(*trellis_metric_new_fn)(trellis_host_ctx *ctx, trellis_metric_type type,
                                                 const char *name, const char *help,
                                                 const char *const *labels, const double *buckets,
                                                 size_t bucket_count);
typedef void (*trellis_metric_add_fn)(trellis_metric *metric, double delta);
typedef void (*trellis_metric_set_fn)(trellis_metric *metric, double value);
typedef void (*trellis_metric_observe_fn)(trellis_metric *metric, double value);
typedef void (*trellis_metric_free_fn)(trellis_metric *metric);
/* Visit every series (process and loop metrics refreshed first), grouped by
 * name. For exporters such as the admin front end. Loop thread. */
typedef void (*trellis_metrics_foreach_fn)(trellis_host_ctx *ctx, trellis_metric_visit_fn fn,
                                           void *arg);

/* Debug providers. A named provider (e.g. "config_dump") is registered by the
 * core or a plugin and queried by a front end (api.admin serves /debug/<name>).
 * Registration ends when the instance is destroyed. Loop thread. */
typedef trellis_status (*trellis_debug_register_fn)(trellis_host_ctx *ctx, const char *name,
                                                    trellis_debug_fn fn, void *arg);
typedef trellis_status (*trellis_debug_query_fn)(trellis_host_ctx *ctx, const char *name,
                                                 const char *query, char **json_out,
                                                 trellis_error *err);

/* Error objects for plugins that call host functions taking a trellis_error.
 * error_new returns NULL on allocation failure (functions accept a NULL err);
 * the message is "" until set and is borrowed until error_free. Any thread. */
typedef trellis_error *(*trellis_error_new_fn)(void);
typedef const char *(*trellis_error_get0_message_fn)(const trellis_error *err);
typedef void (*trellis_error_free_fn)(trellis_error *err);

/*
 * The App Mesh control-plane API (ABI 1.1). A front end decodes its protocol
 * into one operation call; the core validates, executes and answers.
 *
 * `operation` is the App Mesh operation name ("CreateMesh"). `params` carry
 * the members bound outside the body (URI path, query string, headers) by
 * member name, as raw strings ("meshName" -> "apps", "limit" -> "10"); the
 * core converts them to the member's type. `body` is the JSON request body
 * (may be empty). All borrowed for the duration of api_invoke().
 */
typedef struct trellis_api_param {
    const char *name;
    const char *value;
} trellis_api_param;

typedef struct trellis_api_request {
    uint32_t size;                  /* sizeof(trellis_api_request) of the caller */
    uint32_t reserved;
    const char *operation;
    const trellis_api_param *params;
    size_t param_count;
    const char *body;
    size_t body_len;
    const char *request_id;         /* for log correlation; may be NULL */
} trellis_api_request;

/* The answer: on success `error_type` is NULL and `body` is the response
 * document (the operation's payload); on failure `error_type` names the
 * App Mesh error ("NotFoundException") and `body` is {"message": "..."}.
 * `http_status` is the status the App Mesh model assigns (200 on success).
 * Borrowed for the duration of the callback. */
typedef struct trellis_api_response {
    uint32_t size;                  /* sizeof(trellis_api_response) of the host */
    uint32_t http_status;
    const char *error_type;
    const char *body;
    size_t body_len;
} trellis_api_response;

typedef void (*trellis_api_done_fn)(void *arg, const trellis_api_response *response);

/* Runs one API operation. `done` is called exactly once on the loop thread,
 * possibly before api_invoke returns (reads usually answer at once). Returns
 * TRELLIS_OK when the call was accepted, or an error without calling done
 * (TRELLIS_ERR_NOMEM; TRELLIS_ERR_UNAVAILABLE when no catalog is configured).
 * Loop thread. */
typedef trellis_status (*trellis_api_invoke_fn)(trellis_host_ctx *ctx,
                                                const trellis_api_request *request,
                                                trellis_api_done_fn done, void *arg);

/*
 * xDS snapshots (ABI 1.2). The core compiles the mesh into Envoy resources
 * per proxy identity (a virtual node or virtual gateway, in one flavor) and
 * hands them to the xDS front end as immutable, reference-counted snapshots.
 * Identities with identical resources share one snapshot. Resources are Envoy
 * v3 proto3 JSON with proto field names (what config_dump shows), without the
 * "@type" of the resource itself; the front end encodes them.
 */
typedef enum trellis_xds_type {
    TRELLIS_XDS_LISTENER = 0,       /* envoy.config.listener.v3.Listener */
    TRELLIS_XDS_ROUTE = 1,          /* envoy.config.route.v3.RouteConfiguration */
    TRELLIS_XDS_CLUSTER = 2,        /* envoy.config.cluster.v3.Cluster */
    TRELLIS_XDS_ENDPOINT = 3,       /* envoy.config.endpoint.v3.ClusterLoadAssignment */
    TRELLIS_XDS_SECRET = 4,         /* envoy.extensions.transport_sockets.tls.v3.Secret */
    TRELLIS_XDS_TYPE_COUNT = 5
} trellis_xds_type;

typedef enum trellis_xds_flavor {
    TRELLIS_XDS_SIDECAR = 1,        /* Envoy: App Mesh's listeners, wildcard LDS/CDS */
    TRELLIS_XDS_PROXYLESS = 2       /* gRPC clients: an api_listener per "<service>:<port>" */
} trellis_xds_flavor;

typedef struct trellis_xds_resource {
    const char *name;
    const char *json;               /* the resource as Envoy JSON (NUL-terminated) */
    size_t json_len;
    const char *hash;               /* hex digest of json: equal hash, equal resource */
} trellis_xds_resource;

typedef struct trellis_xds_snapshot trellis_xds_snapshot;
typedef struct trellis_xds_watch trellis_xds_watch;

/* A new snapshot for a watched identity (borrowed: take a reference to keep
 * it), or NULL when the identity no longer exists (its mesh or node was
 * deleted). Loop thread. */
typedef void (*trellis_xds_update_fn)(void *arg, trellis_xds_snapshot *snapshot);

/*
 * Starts delivering snapshots for the proxy whose Envoy node.id is `node_id`
 * ("arn:aws:appmesh:REGION:ACCOUNT:mesh/M/virtualNode/N", "mesh/M/virtualNode/N",
 * "mesh/M/virtualGateway/G", "mesh/M@OWNER/virtualNode/N"). The first snapshot
 * arrives through `fn` after xds_watch returns, then one per change.
 * Errors: TRELLIS_ERR_INVALID (malformed id; the message says why),
 * TRELLIS_ERR_NOT_FOUND (no such mesh, node or gateway; the message names it),
 * TRELLIS_ERR_UNAVAILABLE (the catalog is not loaded yet). Loop thread.
 */
typedef trellis_status (*trellis_xds_watch_fn)(trellis_host_ctx *ctx, const char *node_id,
                                               uint32_t flavor, trellis_xds_update_fn fn,
                                               void *arg, trellis_xds_watch **watch_out,
                                               trellis_error *err);
/* Stops a watch; no callback runs after it returns. */
typedef void (*trellis_xds_unwatch_fn)(trellis_xds_watch *watch);
/* The canonical identity of a watch, "mesh/M/virtualNode/N" (borrowed). */
typedef const char *(*trellis_xds_watch_identity_fn)(const trellis_xds_watch *watch);

/* Snapshot accessors; any thread, snapshots are immutable. Resources of a
 * type are in name order. The version of a type is a digest of that type's
 * resources: it changes exactly when they change, and two snapshots (of any
 * identities) with equal resources of a type have the same version. changed_ns is the monotonic time of the oldest
 * catalog change this snapshot is the first to reflect (0 for the first). */
typedef const char *(*trellis_xds_snapshot_version_fn)(const trellis_xds_snapshot *snapshot,
                                                       trellis_xds_type type);
typedef size_t (*trellis_xds_snapshot_count_fn)(const trellis_xds_snapshot *snapshot,
                                                trellis_xds_type type);
typedef const trellis_xds_resource *(*trellis_xds_snapshot_at_fn)(
    const trellis_xds_snapshot *snapshot, trellis_xds_type type, size_t index);
typedef const trellis_xds_resource *(*trellis_xds_snapshot_find_fn)(
    const trellis_xds_snapshot *snapshot, trellis_xds_type type, const char *name);
typedef uint64_t (*trellis_xds_snapshot_changed_ns_fn)(const trellis_xds_snapshot *snapshot);
typedef trellis_xds_snapshot *(*trellis_xds_snapshot_ref_fn)(trellis_xds_snapshot *snapshot);
typedef void (*trellis_xds_snapshot_unref_fn)(trellis_xds_snapshot *snapshot);

/*
 * The host services table. One const instance, handed to every plugin call
 * that needs it. Append-only: a plugin built for an older minor sees a prefix.
 * A plugin that needs a function added in a later minor checks
 * `host->abi_minor` (or `host->size`) before calling it.
 */
typedef struct trellis_host {
    uint32_t size;              /* sizeof(trellis_host) of the running host */
    uint16_t abi_major;
    uint16_t abi_minor;

    trellis_alloc_fn alloc;
    trellis_realloc_fn realloc;
    trellis_free_fn free;

    trellis_log_fn log;
    trellis_log_fields_fn log_fields;
    trellis_log_enabled_fn log_enabled;

    trellis_error_set_fn error_set;

    trellis_config_has_fn config_has;
    trellis_config_get0_string_fn config_get0_string;
    trellis_config_get_int_fn config_get_int;
    trellis_config_get_bool_fn config_get_bool;
    trellis_config_get_number_fn config_get_number;
    trellis_config_list_count_fn config_list_count;
    trellis_config_get0_list_item_fn config_get0_list_item;

    trellis_timer_new_fn timer_new;
    trellis_timer_start_fn timer_start;
    trellis_timer_stop_fn timer_stop;
    trellis_timer_free_fn timer_free;

    trellis_watch_new_fn watch_new;
    trellis_watch_update_fn watch_update;
    trellis_watch_free_fn watch_free;

    trellis_defer_fn defer;
    trellis_post_fn post;
    trellis_offload_fn offload;

    trellis_monotonic_ns_fn monotonic_ns;
    trellis_wall_time_fn wall_time;

    trellis_listen_tcp_fn listen_tcp;

    trellis_set_ready_fn set_ready;
    trellis_stopped_fn stopped;
    trellis_instances_foreach_fn instances_foreach;

    trellis_metric_new_fn metric_new;
    trellis_metric_add_fn metric_add;
    trellis_metric_set_fn metric_set;
    trellis_metric_observe_fn metric_observe;
    trellis_metric_free_fn metric_free;
    trellis_metrics_foreach_fn metrics_foreach;

    trellis_debug_register_fn debug_register;
    trellis_debug_query_fn debug_query;

    trellis_error_new_fn error_new;
    trellis_error_get0_message_fn error_get0_message;
    trellis_error_free_fn error_free;

    /* ABI 1.1 */
    trellis_api_invoke_fn api_invoke;

    /* ABI 1.2 */
    trellis_xds_watch_fn xds_watch;
    trellis_xds_unwatch_fn xds_unwatch;
    trellis_xds_watch_identity_fn xds_watch_identity;
    trellis_xds_snapshot_version_fn xds_snapshot_version;
    trellis_xds_snapshot_count_fn xds_snapshot_count;
    trellis_xds_snapshot_at_fn xds_snapshot_at;
    trellis_xds_snapshot_find_fn xds_snapshot_find;
    trellis_xds_snapshot_changed_ns_fn xds_snapshot_changed_ns;
    trellis_xds_snapshot_ref_fn xds_snapshot_ref;
    trellis_xds_snapshot_unref_fn xds_snapshot_unref;
} trellis_host;

/* ------------------------------------------------------------------------ */
/* The descriptor and the lifecycle                                           */
/* ------------------------------------------------------------------------ */

/*
 * check_config: pure validation of an instance config that already passed the
 * schema check (cross-field rules, parseable values). No side effects: it runs
 * for `trellis check-config` and before every reload. TRELLIS_OK, or an error
 * with a message set through host->error_set(err, key, ...). May be NULL.
 */
typedef trellis_status (*trellis_check_config_fn)(const trellis_host *host,
                                                  const trellis_config *config,
                                                  trellis_error *err);

/*
 * create: allocate an instance. `ctx` identifies the instance to the host in
 * every later host call; `config` stays valid until destroy() returns. Must not
 * start serving (no listening sockets that accept yet). On success sets
 * *instance_out. On failure releases what it allocated and sets `err`.
 */
typedef trellis_status (*trellis_create_fn)(const trellis_host *host, trellis_host_ctx *ctx,
                                            const trellis_config *config, void **instance_out,
                                            trellis_error *err);

/* start: begin serving (bind, connect, schedule timers). On failure the host
 * calls stop() and destroy() next. */
typedef trellis_status (*trellis_start_fn)(void *instance, trellis_error *err);

/*
 * stop: stop accepting work and drain what is in flight. Returns TRELLIS_OK when
 * everything has stopped, or TRELLIS_AGAIN and later calls host->stopped(ctx).
 * The host waits a bounded time (the core's shutdown timeout) and then calls
 * destroy() regardless. Also called after a failed start().
 */
typedef trellis_status (*trellis_stop_fn)(void *instance);

/* destroy: release everything. Timers, watches, metrics and debug providers
 * the instance still holds are released by the host afterwards. */
typedef void (*trellis_destroy_fn)(void *instance);

typedef struct trellis_plugin_descriptor {
    /* These five fields never move, in any ABI version. */
    uint32_t magic;             /* TRELLIS_PLUGIN_MAGIC */
    uint16_t abi_major;         /* TRELLIS_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;         /* TRELLIS_ABI_MINOR the plugin was built with */
    uint32_t size;              /* sizeof(trellis_plugin_descriptor) */
    uint32_t build_signature;   /* TRELLIS_BUILD_SIGNATURE */

    const char *name;           /* "<kind-ish>.<name>", e.g. "store.file"; the file is <name>.so */
    const char *version;        /* the plugin's own version, e.g. "1.2.0" */
    const char *summary;        /* one line for `trellis plugins` */
    uint32_t kind;              /* trellis_plugin_kind */
    uint32_t reserved;          /* zero */
    const void *ops;            /* the kind's ops table; starts with trellis_ops_header */
    const trellis_config_field *config_schema; /* terminated by {NULL}; NULL: no keys */

    trellis_check_config_fn check_config;
    trellis_create_fn create;
    trellis_start_fn start;
    trellis_stop_fn stop;
    trellis_destroy_fn destroy;
} trellis_plugin_descriptor;

typedef const trellis_plugin_descriptor *(*trellis_plugin_entry_fn)(void);

/* Initialiser for the fixed header fields. */
#define TRELLIS_DESCRIPTOR_HEADER                                               \
    .magic = TRELLIS_PLUGIN_MAGIC, .abi_major = TRELLIS_ABI_MAJOR,              \
    .abi_minor = TRELLIS_ABI_MINOR, .size = sizeof(trellis_plugin_descriptor), \
    .build_signature = TRELLIS_BUILD_SIGNATURE

#define TRELLIS_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Defines the exported entry function returning `descriptor_var`. */
#define TRELLIS_PLUGIN_ENTRY(descriptor_var)                                    \
    TRELLIS_PLUGIN_EXPORT const trellis_plugin_descriptor *trellis_plugin_entry(void); \
    TRELLIS_PLUGIN_EXPORT const trellis_plugin_descriptor *trellis_plugin_entry(void)  \
    {                                                                           \
        return &(descriptor_var);                                               \
    }

/* ------------------------------------------------------------------------ */
/* Layout pins: a change here without a version bump fails the build.        */
/* ------------------------------------------------------------------------ */

#if UINTPTR_MAX == 0xffffffffffffffffu && !defined(__cplusplus)
_Static_assert(sizeof(trellis_ops_header) == 8, "ABI: trellis_ops_header");
_Static_assert(sizeof(trellis_config_field) == 56, "ABI: trellis_config_field");
_Static_assert(offsetof(trellis_config_field, default_json) == 16, "ABI: config_field");
_Static_assert(offsetof(trellis_config_field, description) == 48, "ABI: config_field");
_Static_assert(sizeof(trellis_log_field) == 16, "ABI: trellis_log_field");
_Static_assert(sizeof(trellis_metric_sample) == 72, "ABI: trellis_metric_sample");
_Static_assert(offsetof(trellis_metric_sample, value) == 32, "ABI: metric_sample");
_Static_assert(offsetof(trellis_metric_sample, bucket_counts) == 64, "ABI: metric_sample");
_Static_assert(sizeof(trellis_instance_info) == 40, "ABI: trellis_instance_info");
_Static_assert(offsetof(trellis_instance_info, detail) == 32, "ABI: instance_info");
_Static_assert(offsetof(trellis_plugin_descriptor, magic) == 0, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, abi_major) == 4, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, abi_minor) == 6, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, size) == 8, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, build_signature) == 12, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, name) == 16, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, kind) == 40, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, ops) == 48, "ABI: descriptor");
_Static_assert(offsetof(trellis_plugin_descriptor, destroy) == 96, "ABI: descriptor");
_Static_assert(sizeof(trellis_plugin_descriptor) == 104, "ABI: descriptor");
_Static_assert(offsetof(trellis_host, alloc) == 8, "ABI: host");
_Static_assert(offsetof(trellis_host, log) == 32, "ABI: host");
_Static_assert(offsetof(trellis_host, error_set) == 56, "ABI: host");
_Static_assert(offsetof(trellis_host, config_has) == 64, "ABI: host");
_Static_assert(offsetof(trellis_host, timer_new) == 120, "ABI: host");
_Static_assert(offsetof(trellis_host, watch_new) == 152, "ABI: host");
_Static_assert(offsetof(trellis_host, defer) == 176, "ABI: host");
_Static_assert(offsetof(trellis_host, monotonic_ns) == 200, "ABI: host");
_Static_assert(offsetof(trellis_host, listen_tcp) == 216, "ABI: host");
_Static_assert(offsetof(trellis_host, set_ready) == 224, "ABI: host");
_Static_assert(offsetof(trellis_host, metric_new) == 248, "ABI: host");
_Static_assert(offsetof(trellis_host, debug_register) == 296, "ABI: host");
_Static_assert(offsetof(trellis_host, error_new) == 312, "ABI: host");
_Static_assert(offsetof(trellis_host, api_invoke) == 336, "ABI: host (1.1)");
_Static_assert(offsetof(trellis_host, xds_watch) == 344, "ABI: host (1.2)");
_Static_assert(sizeof(trellis_host) == 424, "ABI: host (1.2)");
_Static_assert(sizeof(trellis_xds_resource) == 32, "ABI: trellis_xds_resource");
_Static_assert(sizeof(trellis_api_request) == 56, "ABI: trellis_api_request");
_Static_assert(offsetof(trellis_api_request, request_id) == 48, "ABI: trellis_api_request");
_Static_assert(sizeof(trellis_api_response) == 32, "ABI: trellis_api_response");
#endif

#ifdef __cplusplus
}
#endif

#endif /* TRELLIS_PLUGIN_H */
