/*
 * core/loader.c, core/kinds.c and the instance lifecycle: every refusal of a
 * plugin, each asserted with its exact message. The test-only plugins from
 * tests/plugins/ each break the ABI in one way.
 *
 * usage: unit_loader TEST_PLUGIN_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "debug.h"
#include "diag_check.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "runtime.h"
#include "test_check.h"

static char plugin_dir[PATH_MAX];
static char temp_dir[128];

/* Opens <plugin_dir>/<name>.so expecting refusal with "<file>: <reason>". */
static void expect_refusal(const char *name, const char *reason)
{
    char path[PATH_MAX + 80];
    char want[PATH_MAX + 600];
    char got[2048] = "";
    snprintf(path, sizeof(path), "%s/%s.so", plugin_dir, name);
    snprintf(want, sizeof(want), "%s: %s", path, reason);
    loaded_plugin *p = loader_open_file(path, name, got, sizeof(got));
    CHECK(p == NULL);
    CHECK_STR(got, want);
    loader_close(p);
}

static void test_descriptor_refusals(void)
{
    char reason[256];
    expect_refusal("test.no-entry", "missing symbol trellis_plugin_entry (not a trellis plugin)");
    expect_refusal("test.null-descriptor", "trellis_plugin_entry returned no descriptor");
    expect_refusal("test.bad-magic",
                   "bad magic 0x12345678 (expected 0x534c5254): not a trellis plugin descriptor");
    snprintf(reason, sizeof(reason), "built for plugin ABI 2.0, this host speaks ABI %d.x",
             TRELLIS_ABI_MAJOR);
    expect_refusal("test.abi-major", reason);
    snprintf(reason, sizeof(reason), "built for plugin ABI %d.%d, newer than this host's %d.%d",
             TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR + 1, TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR);
    expect_refusal("test.abi-minor", reason);
    snprintf(reason, sizeof(reason), "descriptor is 64 bytes, ABI %d.%d needs at least 104",
             TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR);
    expect_refusal("test.short-descriptor", reason);
    snprintf(reason, sizeof(reason),
             "build signature 0x%08x does not match the host's 0x%08x (pointer, time_t or long "
             "size, or byte order differ)",
             (TRELLIS_BUILD_SIGNATURE & ~0xffu) | 4u, TRELLIS_BUILD_SIGNATURE);
    expect_refusal("test.signature", reason);
    expect_refusal("test.bad-name", "descriptor has no valid name (a-z, 0-9, . - _; at most 64)");
    expect_refusal("test.name-mismatch",
                   "declares the name 'test.other-name' but was loaded as 'test.name-mismatch'");
    expect_refusal("test.no-version", "descriptor has no version");
    expect_refusal("test.unknown-kind", "unknown kind 42");
    static const char *const kinds_without_ops[] = {"certs", "sink"};
    for (size_t i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof(name), "test.kind-%s", kinds_without_ops[i]);
        snprintf(reason, sizeof(reason),
                 "kind '%s' has no ops table in this host (ABI %d.%d); a newer trellis is needed",
                 kinds_without_ops[i], TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR);
        expect_refusal(name, reason);
    }
    /* Discovery has an ops table since ABI 1.3: a frontend-sized one is too small. */
    expect_refusal("test.kind-discovery", "discovery ops table is 8 bytes, version 1 needs at least 32");
    expect_refusal("test.ops-none", "kind 'frontend' needs an ops table, descriptor has none");
    expect_refusal("test.ops-too-small", "store ops table is 8 bytes, version 1 needs at least 40");
    expect_refusal("test.ops-newer", "frontend ops version 2 is not supported (this host knows 1..1)");
    expect_refusal("test.ops-missing-function", "store ops table has no function in slot 2");
    expect_refusal("test.no-create", "descriptor has no create function");
    expect_refusal("test.schema-bad-default",
                   "invalid config schema: config key 'retries' has an invalid default \"ten\": "
                   "expected an integer");
    expect_refusal("test.schema-unknown-type",
                   "invalid config schema: config key 'colour' has unknown type 99");
    expect_refusal("test.schema-duplicate-key",
                   "invalid config schema: config key 'listen' is declared twice");
}

static void test_not_a_shared_object(void)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/test.garbage.so", temp_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char junk[256];
    memset(junk, 'x', sizeof(junk));
    CHECK(fd >= 0 && write(fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
    close(fd);
    char got[1024] = "";
    CHECK(loader_open_file(path, "test.garbage", got, sizeof(got)) == NULL);
    char want[600];
    snprintf(want, sizeof(want), "%s: cannot load: %s: invalid ELF header", path, path);
    CHECK_STR(got, want);
    unlink(path);
}

static void test_open_by_name(void)
{
    char got[2048] = "";
    char want[PATH_MAX * 2 + 200];
    char second[PATH_MAX + 16];
    snprintf(second, sizeof(second), "%s/second", plugin_dir);

    /* Found once: opened and checked. */
    char *dirs[] = {temp_dir, plugin_dir};
    loaded_plugin *p = loader_open_by_name("test.probe", dirs, 2, got, sizeof(got));
    CHECK(p != NULL);
    if (p != NULL) {
        CHECK_STR(p->desc->name, "test.probe");
        CHECK_STR(p->desc->version, "1.0.0");
        CHECK_INT(p->desc->kind, TRELLIS_KIND_FRONTEND);
        snprintf(want, sizeof(want), "%s/test.probe.so", plugin_dir);
        CHECK_STR(p->path, want);
        CHECK_INT(p->refs, 0);
    }
    loader_close(p);

    /* Not found anywhere: the message lists where it looked. */
    CHECK(loader_open_by_name("test.absent", dirs, 2, got, sizeof(got)) == NULL);
    snprintf(want, sizeof(want), "test.absent.so: plugin 'test.absent' not found in %s, %s",
             temp_dir, plugin_dir);
    CHECK_STR(got, want);

    /* The same plugin in two directories of the path is ambiguous. */
    char *both[] = {plugin_dir, second};
    CHECK(loader_open_by_name("test.duplicate", both, 2, got, sizeof(got)) == NULL);
    snprintf(want, sizeof(want),
             "%s/test.duplicate.so: duplicate plugin 'test.duplicate': also found as "
             "%s/test.duplicate.so",
             second, plugin_dir);
    CHECK_STR(got, want);
    /* Either copy alone is fine. */
    p = loader_open_by_name("test.duplicate", &both[1], 1, got, sizeof(got));
    CHECK(p != NULL);
    loader_close(p);

    /* Names that could escape the directory are refused before any lookup. */
    CHECK(loader_open_by_name("../etc/evil", dirs, 2, got, sizeof(got)) == NULL);
    CHECK_STR(got, "../etc/evil: not a valid plugin name");
    CHECK(loader_open_by_name("", dirs, 2, got, sizeof(got)) == NULL);
    CHECK_STR(got, ": not a valid plugin name");

    /* The bundled api.admin loads from the default directory. */
    char *bundled = core_default_plugin_dir();
    CHECK(bundled != NULL);
    p = loader_open_by_name("api.admin", &bundled, 1, got, sizeof(got));
    CHECK(p != NULL);
    if (p != NULL) {
        CHECK_STR(p->desc->name, "api.admin");
        CHECK_INT(p->desc->abi_major, TRELLIS_ABI_MAJOR);
        CHECK_INT(p->desc->abi_minor, TRELLIS_ABI_MINOR);
    }
    loader_close(p);
    free(bundled);
}

/* ---- refusals after loading: config, create, start ---- */

static char config_path[200];

static core_config *load_config(const char *plugins_json)
{
    FILE *f = fopen(config_path, "w");
    if (f == NULL)
        return NULL;
    fprintf(f, "{\"plugin_path\": [\"%s\"], \"plugins\": %s}", plugin_dir, plugins_json);
    fclose(f);
    diag_list diags = {0};
    core_config *cfg = core_config_load(config_path, &diags);
    for (size_t i = 0; i < diags.count; i++)
        fprintf(stderr, "unexpected config diagnostic: %s\n", diags.items[i]);
    CHECK(cfg != NULL);
    diag_clear(&diags);
    return cfg;
}

/* runtime_check_config must refuse `plugins_json` with exactly `expected`
 * (each without the "FILE: " prefix), NULL-terminated. */
static void expect_config_refused(int line, const char *plugins_json, const char *const *expected)
{
    core_config *cfg = load_config(plugins_json);
    if (cfg == NULL)
        return;
    plugin_cache *cache = plugin_cache_new();
    diag_list diags = {0};
    CHECK(!runtime_check_config(cache, cfg, &diags));
    char prefix[sizeof(config_path) + 2];
    snprintf(prefix, sizeof(prefix), "%s: ", config_path);
    check_diagnostics(&diags, prefix, expected, line);
    diag_clear(&diags);
    plugin_cache_free(cache);
    core_config_free(cfg);
}

#define EXPECT_CONFIG_REFUSED(json, ...)                                               \
    do {                                                                               \
        const char *const expected_[] = {__VA_ARGS__, NULL};                           \
        expect_config_refused(__LINE__, json, expected_);                              \
    } while (0)

static void test_config_refusals(void)
{
    char want[PATH_MAX + 400];
    /* A plugin the loader refuses is reported against the instance's plugin key. */
    snprintf(want, sizeof(want),
             "plugins[0].plugin: %s/test.bad-magic.so: bad magic 0x12345678 (expected "
             "0x534c5254): not a trellis plugin descriptor",
             plugin_dir);
    EXPECT_CONFIG_REFUSED("[{\"plugin\": \"test.bad-magic\", \"name\": \"m\"}]", want);
    snprintf(want, sizeof(want),
             "plugins[1].plugin: test.nowhere.so: plugin 'test.nowhere' not found in %s",
             plugin_dir);
    EXPECT_CONFIG_REFUSED("[{\"plugin\": \"test.probe\", \"name\": \"ok\"},"
                          " {\"plugin\": \"test.nowhere\", \"name\": \"n\"}]",
                          want);

    /* Schema violations, every kind, named by key. */
    EXPECT_CONFIG_REFUSED("[{\"plugin\": \"test.schema\", \"name\": \"s\", \"config\": {}}]",
                          "plugins[0].config.endpoint: required key is missing");
    EXPECT_CONFIG_REFUSED(
        "[{\"plugin\": \"test.schema\", \"name\": \"s\", \"config\": {\"endpoint\": \"127.0.0.1:1\","
        " \"colour\": 1, \"retries\": \"3\", \"ratio\": 2, \"mode\": \"lenient\", \"tags\": [],"
        " \"token\": \"short\"}}]",
        "plugins[0].config.colour: unknown key", "plugins[0].config.retries: expected an integer",
        "plugins[0].config.ratio: 2 is outside 0..1",
        "plugins[0].config.mode: \"lenient\" is not one of relaxed|strict",
        "plugins[0].config.tags: 0 items is outside 1..3",
        "plugins[0].config.token: length 5 is outside 8..64");
    /* The plugin's own check_config() rule, blamed on the key it names. */
    EXPECT_CONFIG_REFUSED("[{\"plugin\": \"test.schema\", \"name\": \"s\", \"config\":"
                          " {\"endpoint\": \"127.0.0.1:1\", \"mode\": \"strict\"}}]",
                          "plugins[0].config.token: is required when mode is \"strict\"");
    EXPECT_CONFIG_REFUSED("[{\"plugin\": \"test.probe\", \"name\": \"p\", \"config\":"
                          " {\"ready_detail\": \"warming up\"}}]",
                          "plugins[0].config.ready_detail: only applies when ready is false");

    /* A valid configuration passes, several instances of one plugin included. */
    core_config *cfg = load_config(
        "[{\"plugin\": \"test.schema\", \"name\": \"s1\", \"config\": {\"endpoint\": \"[::1]:7\","
        " \"mode\": \"strict\", \"token\": \"12345678\", \"extra\": {\"any\": [1]}}},"
        " {\"plugin\": \"test.schema\", \"name\": \"s2\", \"config\": {\"endpoint\": \"127.0.0.1:7\"}},"
        " {\"plugin\": \"test.probe\", \"name\": \"p\"}]");
    if (cfg != NULL) {
        plugin_cache *cache = plugin_cache_new();
        diag_list diags = {0};
        CHECK(runtime_check_config(cache, cfg, &diags));
        for (size_t i = 0; i < diags.count; i++)
            fprintf(stderr, "unexpected: %s\n", diags.items[i]);
        CHECK_INT(diags.count, 0);
        diag_clear(&diags);
        plugin_cache_free(cache);
        core_config_free(cfg);
    }
}

/* A host environment like `trellis serve` builds, for create/start/stop. */
typedef struct test_host {
    host_env env;
    plugin_cache *cache;
    int log_pipe[2];
} test_host;

static bool test_host_init(test_host *h)
{
    memset(h, 0, sizeof(*h));
    h->env.lp = loop_new();
    h->env.offload = h->env.lp ? offload_pool_new(h->env.lp, 1, 16) : NULL;
    h->env.metrics = metrics_registry_new();
    h->env.debug = debug_registry_new();
    h->cache = plugin_cache_new();
    h->env.rt = runtime_new(&h->env, h->cache);
    if (pipe2(h->log_pipe, O_NONBLOCK) != 0)
        return false;
    log_set_fd(h->log_pipe[1]);
    return h->env.lp && h->env.offload && h->env.metrics && h->env.debug && h->cache && h->env.rt;
}

/* Everything logged since the last call. */
static void read_log(test_host *h, char *out, size_t size)
{
    ssize_t n = read(h->log_pipe[0], out, size - 1);
    out[n > 0 ? n : 0] = '\0';
}

static void test_host_free(test_host *h)
{
    log_set_fd(2);
    runtime_free(h->env.rt);
    offload_pool_free(h->env.offload);
    loop_drain_pending(h->env.lp);
    plugin_cache_free(h->cache);
    debug_registry_free(h->env.debug);
    metrics_registry_free(h->env.metrics);
    loop_free(h->env.lp);
    close(h->log_pipe[0]);
    close(h->log_pipe[1]);
}

static void on_instance_stopped(trellis_host_ctx *inst, void *arg)
{
    (void)inst;
    *(bool *)arg = true;
}

/* Stops an instance whose stop() finishes at once (returns TRELLIS_OK): the
 * host reports it through a deferred call, which draining the loop runs. */
static void stop_now(test_host *h, trellis_host_ctx *inst)
{
    bool stopped = false;
    instance_stop(inst, 1000, on_instance_stopped, &stopped);
    CHECK(!stopped); /* never reported from inside instance_stop() */
    loop_drain_pending(h->env.lp);
    CHECK(stopped);
}

static loaded_plugin *open_test_plugin(const char *name)
{
    char got[1024];
    char *dirs[] = {plugin_dir};
    loaded_plugin *p = loader_open_by_name(name, dirs, 1, got, sizeof(got));
    if (p == NULL)
        fprintf(stderr, "cannot open %s: %s\n", name, got);
    CHECK(p != NULL);
    return p;
}

static void test_create_and_start_failures(void)
{
    test_host h;
    CHECK(test_host_init(&h));
    char reason[2048];
    char want[PATH_MAX + 600];
    char log_text[8192];

    /* create() fails with a message only: blamed on the plugin file. */
    loaded_plugin *fail_create = open_test_plugin("test.fail-create");
    if (fail_create != NULL) {
        json_t *config = json_object();
        trellis_host_ctx *inst =
            instance_new(&h.env, fail_create, "fc", config, "trellis.json: plugins[3].config.");
        CHECK(inst != NULL);
        CHECK(!instance_create(inst, reason, sizeof(reason)));
        snprintf(want, sizeof(want),
                 "create failed (status -6): %s: cannot reach tcp://192.0.2.1:9: connection refused",
                 fail_create->path);
        CHECK_STR(reason, want);
        CHECK(!inst->created);
        instance_free(inst);

        /* ... or blaming a key: the message names the file and the key's path. */
        json_object_set_new(config, "blame_key", json_true());
        json_object_set_new(config, "endpoint", json_string("tcp://10.9.9.9:5432"));
        inst = instance_new(&h.env, fail_create, "fc", config, "trellis.json: plugins[3].config.");
        CHECK(!instance_create(inst, reason, sizeof(reason)));
        CHECK_STR(reason, "create failed (status -6): trellis.json: plugins[3].config.endpoint: "
                          "cannot reach tcp://10.9.9.9:5432: connection refused");
        instance_free(inst);
        json_decref(config);
        CHECK_INT(fail_create->refs, 0);
        loader_close(fail_create);
    }

    /* start() fails: the host still calls stop() and destroy(), in that order. */
    loaded_plugin *fail_start = open_test_plugin("test.fail-start");
    if (fail_start != NULL) {
        json_t *config = json_object();
        trellis_host_ctx *inst = instance_new(&h.env, fail_start, "fs", config, "x: ");
        CHECK(instance_create(inst, reason, sizeof(reason)));
        CHECK(!instance_start(inst, reason, sizeof(reason)));
        snprintf(want, sizeof(want),
                 "start failed (status -7): %s: cannot bind 127.0.0.1:1: permission denied "
                 "(simulated)",
                 fail_start->path);
        CHECK_STR(reason, want);
        CHECK(!inst->ready);
        read_log(&h, log_text, sizeof(log_text));
        stop_now(&h, inst);
        read_log(&h, log_text, sizeof(log_text));
        const char *stop_line = strstr(log_text, "event=stop_called");
        const char *destroy_line = strstr(log_text, "event=destroy_called");
        CHECK(stop_line != NULL && destroy_line != NULL && stop_line < destroy_line);
        CHECK_CONTAINS(log_text, "level=info plugin=test.fail-start instance=fs event=stop_called "
                                 "msg=\"stop() after the failed start\"");
        CHECK_INT(inst->state, TRELLIS_INSTANCE_STOPPED);
        instance_free(inst);
        json_decref(config);
        loader_close(fail_start);
    }
    test_host_free(&h);
}

int main(int argc, char **argv)
{
    if (argc != 2 || realpath(argv[1], plugin_dir) == NULL) {
        fprintf(stderr, "usage: unit_loader TEST_PLUGIN_DIR (%s)\n",
                argc == 2 ? strerror(errno) : "missing");
        return 2;
    }
    snprintf(temp_dir, sizeof(temp_dir), "/tmp/trellis-unit-loader-XXXXXX");
    if (mkdtemp(temp_dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(config_path, sizeof(config_path), "%s/trellis.json", temp_dir);

    test_descriptor_refusals();
    test_not_a_shared_object();
    test_open_by_name();
    test_config_refusals();
    test_create_and_start_failures();

    unlink(config_path);
    rmdir(temp_dir);
    return test_finish("unit_loader");
}
