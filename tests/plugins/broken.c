/*
 * Test-only plugins that break the plugin ABI on purpose, one way each.
 *
 * One source, many plugins: tests/plugins/CMakeLists.txt builds this file once
 * per refusal with compile definitions that override one descriptor field
 * (or leave out the entry symbol). Everything not overridden is correct, so
 * each plugin is refused for exactly one reason, and the tests assert the
 * loader's exact message for it.
 *
 *   BROKEN_NAME              the plugin's name, its file is BROKEN_NAME.so (required)
 *   BROKEN_DECLARED_NAME     the name the descriptor declares; default BROKEN_NAME
 *   BROKEN_VERSION           the version the descriptor declares; default "0.0.1"
 *   BROKEN_NO_ENTRY          do not export trellis_plugin_entry at all
 *   BROKEN_NULL_DESCRIPTOR   the entry returns NULL
 *   BROKEN_MAGIC, BROKEN_ABI_MAJOR, BROKEN_ABI_MINOR, BROKEN_SIZE,
 *   BROKEN_SIGNATURE, BROKEN_KIND          override that header field
 *   BROKEN_OPS               which ops table (see below); default frontend_ops
 *   BROKEN_SCHEMA            which config schema; default: none
 *   BROKEN_NO_CREATE         descriptor without a create function
 *   BROKEN_FAIL_CREATE       create() fails with a message (and maybe a key)
 *   BROKEN_FAIL_START        start() fails; stop() and destroy() log that
 *                            the host still called them
 *   BROKEN_CHECK_CONFIG      check_config() enforces a cross-field rule
 */
#include <stdlib.h>
#include <string.h>

#include <trellis/frontend.h>
#include <trellis/plugin.h>
#include <trellis/store.h>

#ifndef BROKEN_NAME
#error "BROKEN_NAME must name the plugin"
#endif
#ifndef BROKEN_DECLARED_NAME
#define BROKEN_DECLARED_NAME BROKEN_NAME
#endif
#ifndef BROKEN_VERSION
#define BROKEN_VERSION "0.0.1"
#endif
#ifndef BROKEN_MAGIC
#define BROKEN_MAGIC TRELLIS_PLUGIN_MAGIC
#endif
#ifndef BROKEN_ABI_MAJOR
#define BROKEN_ABI_MAJOR TRELLIS_ABI_MAJOR
#endif
#ifndef BROKEN_ABI_MINOR
#define BROKEN_ABI_MINOR TRELLIS_ABI_MINOR
#endif
#ifndef BROKEN_SIZE
#define BROKEN_SIZE sizeof(trellis_plugin_descriptor)
#endif
#ifndef BROKEN_SIGNATURE
#define BROKEN_SIGNATURE TRELLIS_BUILD_SIGNATURE
#endif
#ifndef BROKEN_KIND
#define BROKEN_KIND TRELLIS_KIND_FRONTEND
#endif
#ifndef BROKEN_OPS
#define BROKEN_OPS (&frontend_ops)
#endif
#ifndef BROKEN_SCHEMA
#define BROKEN_SCHEMA NULL
#endif

#ifndef BROKEN_NO_ENTRY

typedef struct broken_instance {
    const trellis_host *host;
    trellis_host_ctx *ctx;
} broken_instance;

/* A correct frontend ops table. */
static const trellis_frontend_ops frontend_ops = TRELLIS_FRONTEND_OPS_INIT;

/* Only a header: smaller than any store ops table. */
static const trellis_ops_header store_ops_too_small = {sizeof(trellis_ops_header),
                                                       TRELLIS_STORE_OPS_VERSION};

/* A frontend ops table claiming a version this host does not know yet. */
static const trellis_ops_header frontend_ops_from_the_future = {sizeof(trellis_frontend_ops),
                                                                TRELLIS_FRONTEND_OPS_VERSION + 1};

static trellis_status store_commit(void *instance, const trellis_store_op *ops, size_t op_count,
                                   trellis_store_commit_done_fn done, void *arg)
{
    (void)instance, (void)ops, (void)op_count, (void)done, (void)arg;
    return TRELLIS_ERR_UNSUPPORTED;
}

static trellis_status store_read_all(void *instance, trellis_store_visit_fn visit,
                                     trellis_store_read_done_fn done, void *arg)
{
    (void)instance, (void)visit, (void)done, (void)arg;
    return TRELLIS_ERR_UNSUPPORTED;
}

static void store_watch(void *instance, trellis_store_notify_fn notify, void *arg)
{
    (void)instance, (void)notify, (void)arg;
}

/* Right size and version, but read_changes (slot 2) is missing. */
static const trellis_store_ops store_ops_missing_function = {
    TRELLIS_STORE_OPS_HEADER,
    .commit = store_commit,
    .read_all = store_read_all,
    .read_changes = NULL,
    .watch = store_watch,
};

/* A default that does not match its key's type. */
static const trellis_config_field schema_bad_default[] = {
    {"retries", TRELLIS_CONFIG_INTEGER, 0, "\"ten\"", 0, 10, NULL, "how often to retry"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* A type this host does not know. */
static const trellis_config_field schema_unknown_type[] = {
    {"colour", 99, 0, NULL, 0, 0, NULL, "a type from a later ABI"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* The same key declared twice. */
static const trellis_config_field schema_duplicate_key[] = {
    {"listen", TRELLIS_CONFIG_ADDRESS, 0, NULL, 0, 0, NULL, "first"},
    {"listen", TRELLIS_CONFIG_ADDRESS, 0, NULL, 0, 0, NULL, "second"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* A schema using every type, bound and flag: the target of the config
 * validation tests (check-config, serve, reload). */
static const trellis_config_field schema_every_rule[] = {
    {"endpoint", TRELLIS_CONFIG_ADDRESS, TRELLIS_CONFIG_REQUIRED, NULL, 0, 0, NULL,
     "where to connect"},
    {"mode", TRELLIS_CONFIG_STRING, 0, "\"relaxed\"", 0, 0, "relaxed|strict",
     "how strictly to check"},
    {"token", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_SECRET, NULL, 8, 64, NULL,
     "credential; required in strict mode"},
    {"retries", TRELLIS_CONFIG_INTEGER, 0, "3", 0, 10, NULL, "attempts before giving up"},
    {"ratio", TRELLIS_CONFIG_NUMBER, 0, "0.5", 0, 1, NULL, "sampling ratio"},
    {"verbose", TRELLIS_CONFIG_BOOLEAN, 0, "false", 0, 0, NULL, "log more"},
    {"tags", TRELLIS_CONFIG_STRING_LIST, 0, NULL, 1, 3, NULL, "one to three tags"},
    {"extra", TRELLIS_CONFIG_OBJECT, 0, NULL, 0, 0, NULL, "free-form settings"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

#ifdef BROKEN_CHECK_CONFIG
static trellis_status broken_check_config(const trellis_host *host, const trellis_config *config,
                                          trellis_error *err)
{
    const char *mode = host->config_get0_string(config, "mode");
    if (strcmp(mode, "strict") == 0 && !host->config_has(config, "token")) {
        host->error_set(err, "token", "is required when mode is \"strict\"");
        return TRELLIS_ERR_INVALID;
    }
    return TRELLIS_OK;
}
#define BROKEN_CHECK_CONFIG_FN broken_check_config
#else
#define BROKEN_CHECK_CONFIG_FN NULL
#endif

static __attribute__((used)) trellis_status broken_create(const trellis_host *host, trellis_host_ctx *ctx,
                                    const trellis_config *config, void **instance_out,
                                    trellis_error *err)
{
    (void)config;
#ifdef BROKEN_FAIL_CREATE
    /* Fails the way a real plugin would: with a reason, optionally blaming a key. */
    const char *endpoint = host->config_get0_string(config, "endpoint");
    if (host->config_get_bool(config, "blame_key"))
        host->error_set(err, "endpoint", "cannot reach %s: connection refused", endpoint);
    else
        host->error_set(err, NULL, "cannot reach %s: connection refused", endpoint);
    (void)ctx, (void)instance_out;
    return TRELLIS_ERR_UNAVAILABLE;
#else
    broken_instance *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    b->host = host;
    b->ctx = ctx;
    *instance_out = b;
    return TRELLIS_OK;
#endif
}

#ifdef BROKEN_FAIL_CREATE
static const trellis_config_field schema_fail_create[] = {
    {"endpoint", TRELLIS_CONFIG_STRING, 0, "\"tcp://192.0.2.1:9\"", 0, 0, NULL,
     "the dependency create() tries to reach"},
    {"blame_key", TRELLIS_CONFIG_BOOLEAN, 0, "false", 0, 0, NULL,
     "report the failure against the endpoint key"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};
#endif

static trellis_status broken_start(void *instance, trellis_error *err)
{
    broken_instance *b = instance;
#ifdef BROKEN_FAIL_START
    b->host->error_set(err, NULL, "cannot bind 127.0.0.1:1: permission denied (simulated)");
    return TRELLIS_ERR_IO;
#else
    (void)b, (void)err;
    return TRELLIS_OK;
#endif
}

static trellis_status broken_stop(void *instance)
{
    broken_instance *b = instance;
#ifdef BROKEN_FAIL_START
    /* The host must still stop and destroy an instance whose start failed. */
    b->host->log(b->ctx, TRELLIS_LOG_INFO, "stop_called", "stop() after the failed start");
#else
    (void)b;
#endif
    return TRELLIS_OK;
}

static void broken_destroy(void *instance)
{
    broken_instance *b = instance;
#ifdef BROKEN_FAIL_START
    b->host->log(b->ctx, TRELLIS_LOG_INFO, "destroy_called", "destroy() after the failed start");
#endif
    free(b);
}

#ifdef BROKEN_NO_CREATE
#define BROKEN_CREATE_FN NULL
#else
#define BROKEN_CREATE_FN broken_create
#endif

static const trellis_plugin_descriptor broken_descriptor = {
    .magic = BROKEN_MAGIC,
    .abi_major = BROKEN_ABI_MAJOR,
    .abi_minor = BROKEN_ABI_MINOR,
    .size = BROKEN_SIZE,
    .build_signature = BROKEN_SIGNATURE,
    .name = BROKEN_DECLARED_NAME,
    .version = BROKEN_VERSION,
    .summary = "test-only plugin (tests/plugins/broken.c)",
    .kind = BROKEN_KIND,
    .ops = BROKEN_OPS,
    .config_schema = BROKEN_SCHEMA,
    .check_config = BROKEN_CHECK_CONFIG_FN,
    .create = BROKEN_CREATE_FN,
    .start = broken_start,
    .stop = broken_stop,
    .destroy = broken_destroy,
};

/* Keeps every table referenced whichever one this variant uses, so that
 * -Werror=unused does not depend on the variant. */
static const void *const broken_tables[] __attribute__((used)) = {
    &frontend_ops, &store_ops_too_small, &frontend_ops_from_the_future,
    &store_ops_missing_function, schema_bad_default, schema_unknown_type,
    schema_duplicate_key, schema_every_rule,
};

#ifdef BROKEN_NULL_DESCRIPTOR
TRELLIS_PLUGIN_EXPORT const trellis_plugin_descriptor *trellis_plugin_entry(void);
TRELLIS_PLUGIN_EXPORT const trellis_plugin_descriptor *trellis_plugin_entry(void)
{
    (void)broken_descriptor;
    return NULL;
}
#else
TRELLIS_PLUGIN_ENTRY(broken_descriptor)
#endif

#else /* BROKEN_NO_ENTRY */

/* A shared object with code but without the entry symbol. */
int broken_not_a_plugin(void);
int broken_not_a_plugin(void)
{
    return 42;
}

#endif
