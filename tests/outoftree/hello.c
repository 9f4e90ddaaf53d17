/*
 * hello — a complete trellis plugin in one file, built outside the trellis
 * tree from the installed headers only:
 *
 *   cc $(pkg-config --cflags --libs trellis-plugin) hello.c -o hello.so
 *
 * It is a frontend that serves nothing: at start it logs its greeting, then
 * repeats it on a timer until stopped. That is enough to show the whole
 * contract: the descriptor and entry symbol, a config schema the host
 * validates, an instance per configuration entry, host services (logging,
 * config accessors, timers), and every lifecycle step.
 *
 * Load it with a configuration like:
 *   { "plugin_path": ["/usr/local/lib/trellis/plugins", "/path/to/dir/of/hello.so"],
 *     "plugins": [ { "plugin": "hello", "name": "hi", "config": { "greeting": "hi!" } } ] }
 */
#include <stdlib.h>

#include <trellis/frontend.h>
#include <trellis/plugin.h>

/* One instance; the host may create several, each with its own config. */
typedef struct hello {
    const trellis_host *host;     /* the host services, valid until destroy */
    trellis_host_ctx *ctx;        /* who we are in every host call */
    const trellis_config *config; /* borrowed until destroy */
    trellis_timer *timer;
    unsigned repeats;
} hello;

/* The host validates every instance's "config" against this table before
 * create() runs: unknown keys, wrong types and values out of range never
 * reach the plugin. */
static const trellis_config_field hello_schema[] = {
    {"greeting", TRELLIS_CONFIG_STRING, 0, "\"hello\"", 1, 100, NULL, "what to log at start"},
    {"interval_ms", TRELLIS_CONFIG_INTEGER, 0, "60000", 10, 3600000, NULL,
     "how often to log it again"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

static void hello_again(void *arg)
{
    hello *h = arg;
    h->repeats++;
    h->host->log(h->ctx, TRELLIS_LOG_INFO, "hello_again", "%s (%u)",
                 h->host->config_get0_string(h->config, "greeting"), h->repeats);
}

static trellis_status hello_create(const trellis_host *host, trellis_host_ctx *ctx,
                                   const trellis_config *config, void **instance_out,
                                   trellis_error *err)
{
    hello *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        host->error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    h->host = host;
    h->ctx = ctx;
    h->config = config;
    h->timer = host->timer_new(ctx, hello_again, h);
    if (h->timer == NULL) {
        free(h);
        host->error_set(err, NULL, "cannot create a timer");
        return TRELLIS_ERR_NOMEM;
    }
    *instance_out = h;
    return TRELLIS_OK;
}

static trellis_status hello_start(void *instance, trellis_error *err)
{
    hello *h = instance;
    (void)err;
    trellis_log_field fields[] = {
        {"greeting", h->host->config_get0_string(h->config, "greeting")},
    };
    h->host->log_fields(h->ctx, TRELLIS_LOG_INFO, "hello_started", fields, 1);
    h->host->timer_start(h->timer, (uint64_t)h->host->config_get_int(h->config, "interval_ms"),
                         true);
    return TRELLIS_OK;
}

static trellis_status hello_stop(void *instance)
{
    hello *h = instance;
    h->host->timer_stop(h->timer); /* no callback after this returns */
    h->host->log(h->ctx, TRELLIS_LOG_INFO, "hello_stopped", "said it %u more times", h->repeats);
    return TRELLIS_OK; /* nothing in flight: stopped at once */
}

static void hello_destroy(void *instance)
{
    hello *h = instance;
    h->host->timer_free(h->timer);
    free(h);
}

static const trellis_frontend_ops hello_ops = TRELLIS_FRONTEND_OPS_INIT;

static const trellis_plugin_descriptor hello_descriptor = {
    TRELLIS_DESCRIPTOR_HEADER, /* magic, ABI version, size, build signature */
    .name = "hello",           /* must match the file name: hello.so */
    .version = "1.0.0",
    .summary = "says hello on a timer (the out-of-tree example)",
    .kind = TRELLIS_KIND_FRONTEND,
    .ops = &hello_ops,
    .config_schema = hello_schema,
    .check_config = NULL, /* the schema says it all */
    .create = hello_create,
    .start = hello_start,
    .stop = hello_stop,
    .destroy = hello_destroy,
};

/* The one exported symbol: trellis_plugin_entry(), returning the descriptor. */
TRELLIS_PLUGIN_ENTRY(hello_descriptor)
