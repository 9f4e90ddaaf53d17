/*
 * core/config.c: the configuration file. Good files load with defaults
 * applied and plugin_path resolved; each bad file is refused with the exact
 * diagnostic `trellis check-config` would print.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "log.h"
#include "plugin_config.h"
#include "test_check.h"

static char temp_dir[128];
static char config_path[160];

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, len, f) != len) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* Loads `text` as trellis.json; returns the config or NULL with diagnostics. */
static core_config *load_text(const char *text, diag_list *diags)
{
    write_file(config_path, text, strlen(text));
    return core_config_load(config_path, diags);
}

/* Expects `text` to be refused with exactly these diagnostics, each given
 * without the file name, which is added here: "FILE: " + item, or FILE + item
 * for items starting with ':' (JSON syntax errors, "FILE:line:column: ..."). */
static void expect_refused_with(int line, const char *text, const char *const *expected)
{
    diag_list diags = {0};
    core_config *cfg = load_text(text, &diags);
    CHECK(cfg == NULL);
    core_config_free(cfg);
    size_t n = 0;
    for (; expected[n] != NULL; n++) {
        char want[2048];
        snprintf(want, sizeof(want), "%s%s%s", config_path, expected[n][0] == ':' ? "" : ": ",
                 expected[n]);
        if (n < diags.count) {
            CHECK_STR(diags.items[n], want);
        } else {
            fprintf(stderr, "line %d: missing diagnostic: %s\n", line, want);
            CHECK(n < diags.count);
        }
    }
    for (size_t extra = n; extra < diags.count; extra++)
        fprintf(stderr, "line %d: unexpected diagnostic: %s\n", line, diags.items[extra]);
    CHECK_INT(diags.count, n);
    diag_clear(&diags);
}

#define EXPECT_REFUSED(text, ...)                                                       \
    do {                                                                               \
        static const char *const expected_[] = {__VA_ARGS__, NULL};                    \
        expect_refused_with(__LINE__, text, expected_);                                \
    } while (0)

static void test_minimal_file_gets_defaults(void)
{
    diag_list diags = {0};
    core_config *cfg = load_text("{}", &diags);
    CHECK(cfg != NULL);
    CHECK(diag_empty(&diags));
    if (cfg == NULL)
        return;
    CHECK_STR(plugin_config_get0_string(cfg->settings, "region"), "us-west-2");
    CHECK_STR(plugin_config_get0_string(cfg->settings, "account_id"), "111122223333");
    CHECK_STR(plugin_config_get0_string(cfg->settings, "log_level"), "info");
    CHECK_STR(plugin_config_get0_string(cfg->settings, "log_format"), "text");
    CHECK_INT(plugin_config_get_int(cfg->settings, "shutdown_timeout_ms"), 10000);
    CHECK_INT(plugin_config_get_int(cfg->settings, "offload_threads"), 2);
    CHECK_INT(plugin_config_get_int(cfg->settings, "offload_queue"), 4096);
    CHECK_INT(cfg->instance_count, 0);
    /* No plugin_path: the plugins bundled beside the executable. */
    CHECK_INT(cfg->plugin_path_count, 1);
    char *bundled = core_default_plugin_dir();
    CHECK(bundled != NULL);
    if (cfg->plugin_path_count == 1)
        CHECK_STR(cfg->plugin_path[0], bundled);
    const char *suffix = "/lib/trellis/plugins";
    size_t len = bundled ? strlen(bundled) : 0;
    CHECK(len > strlen(suffix) && strcmp(bundled + len - strlen(suffix), suffix) == 0);
    free(bundled);
    core_config_free(cfg);
}

static void test_full_file(void)
{
    char plugins_dir[160];
    snprintf(plugins_dir, sizeof(plugins_dir), "%s/plugins", temp_dir);
    mkdir(plugins_dir, 0700);
    const char *text =
        "{\n"
        "  \"region\": \"eu-central-1\",\n"
        "  \"account_id\": \"123456789012\",\n"
        "  \"plugin_path\": [\"plugins\", \"/opt/elsewhere\"],\n"
        "  \"log_level\": \"debug\",\n"
        "  \"log_format\": \"json\",\n"
        "  \"shutdown_timeout_ms\": 2500,\n"
        "  \"plugins\": [\n"
        "    {\"plugin\": \"api.admin\", \"name\": \"admin\", \"config\": {\"listen\": \"127.0.0.1:9\"}},\n"
        "    {\"plugin\": \"api.admin\", \"name\": \"Admin-2.b_c\"}\n"
        "  ]\n"
        "}\n";
    diag_list diags = {0};
    core_config *cfg = load_text(text, &diags);
    CHECK(cfg != NULL);
    CHECK(diag_empty(&diags));
    if (cfg == NULL) {
        for (size_t i = 0; i < diags.count; i++)
            fprintf(stderr, "  %s\n", diags.items[i]);
        diag_clear(&diags);
        return;
    }
    CHECK_STR(cfg->path, config_path);
    CHECK_STR(plugin_config_get0_string(cfg->settings, "region"), "eu-central-1");
    CHECK_STR(plugin_config_get0_string(cfg->settings, "account_id"), "123456789012");
    CHECK_STR(plugin_config_get0_string(cfg->settings, "log_format"), "json");
    CHECK_INT(plugin_config_get_int(cfg->settings, "shutdown_timeout_ms"), 2500);
    /* Relative entries are relative to the file and resolved; absolute ones
     * are kept even when they do not exist (yet). */
    CHECK_INT(cfg->plugin_path_count, 2);
    if (cfg->plugin_path_count == 2) {
        char resolved[PATH_MAX];
        CHECK(realpath(plugins_dir, resolved) != NULL);
        CHECK_STR(cfg->plugin_path[0], resolved);
        CHECK_STR(cfg->plugin_path[1], "/opt/elsewhere");
    }
    CHECK_INT(cfg->instance_count, 2);
    if (cfg->instance_count == 2) {
        CHECK_STR(cfg->instances[0].plugin, "api.admin");
        CHECK_STR(cfg->instances[0].name, "admin");
        CHECK_INT(cfg->instances[0].index, 0);
        CHECK_STR(json_string_value(json_object_get(cfg->instances[0].config, "listen")),
                  "127.0.0.1:9");
        /* Several instances of one plugin; a missing "config" is {}. */
        CHECK_STR(cfg->instances[1].plugin, "api.admin");
        CHECK_STR(cfg->instances[1].name, "Admin-2.b_c");
        CHECK_INT(cfg->instances[1].index, 1);
        CHECK(json_is_object(cfg->instances[1].config));
        CHECK_INT(json_object_size(cfg->instances[1].config), 0);
        CHECK(core_config_find_instance(cfg, "Admin-2.b_c") == &cfg->instances[1]);
        CHECK(core_config_find_instance(cfg, "admin-2.b_c") == NULL);
    }
    core_config_free(cfg);
}

static void test_invalid_json(void)
{
    EXPECT_REFUSED("{\n  \"region\": \"us-west-2\",\n  \"plugins\": [}\n",
                   ":3:15: invalid JSON: unexpected token near '}'");
    /* The file name comes first, then line:column, for editors to jump to. */
    {
        diag_list diags = {0};
        CHECK(load_text("", &diags) == NULL);
        char want[PATH_MAX + 100];
        snprintf(want, sizeof(want), "%s:1:0: invalid JSON: '[' or '{' expected near end of file",
                 config_path);
        CHECK_INT(diags.count, 1);
        if (diags.count == 1)
            CHECK_STR(diags.items[0], want);
        diag_clear(&diags);
    }
    EXPECT_REFUSED("{\"region\": \"us-west-2\", \"region\": \"eu-west-1\"}",
                   ":1:32: invalid JSON: duplicate object key near '\"region\"'");
    EXPECT_REFUSED("[1, 2]", "expected a JSON object at the top level");
    EXPECT_REFUSED("{\"plugins\": []} trailing", ":1:24: invalid JSON: end of file expected near 'trailing'");
}

static void test_core_settings_refused(void)
{
    EXPECT_REFUSED("{\"regoin\": \"us-west-2\"}", "regoin: unknown key");
    EXPECT_REFUSED("{\"shutdown_timeout_ms\": \"10\"}", "shutdown_timeout_ms: expected an integer");
    EXPECT_REFUSED("{\"shutdown_timeout_ms\": 1.5}", "shutdown_timeout_ms: expected an integer");
    EXPECT_REFUSED("{\"shutdown_timeout_ms\": 5}", "shutdown_timeout_ms: 5 is outside 100..600000");
    EXPECT_REFUSED("{\"offload_threads\": 65}", "offload_threads: 65 is outside 1..64");
    EXPECT_REFUSED("{\"log_level\": \"loud\"}",
                   "log_level: \"loud\" is not one of error|warn|info|debug");
    EXPECT_REFUSED("{\"log_format\": true}", "log_format: expected a string");
    EXPECT_REFUSED("{\"region\": \"US_WEST\"}", "region: \"US_WEST\" is not a Region code (a-z, 0-9, -)");
    EXPECT_REFUSED("{\"region\": \"\"}", "region: length 0 is outside 1..32");
    EXPECT_REFUSED("{\"account_id\": \"11112222333a\"}",
                   "account_id: \"11112222333a\" is not a 12-digit account ID");
    EXPECT_REFUSED("{\"account_id\": \"123\"}", "account_id: length 3 is outside 12..12");
    EXPECT_REFUSED("{\"plugin_path\": \"plugins\"}", "plugin_path: expected an array of strings");
    EXPECT_REFUSED("{\"plugin_path\": []}", "plugin_path: 0 items is outside 1..16");
    EXPECT_REFUSED("{\"plugin_path\": [\"a\", 7]}", "plugin_path: item 1 is not a string");
    /* Every problem at once, in file order. */
    EXPECT_REFUSED("{\"log_level\": \"loud\", \"colour\": \"red\", \"offload_queue\": 1}",
                   "log_level: \"loud\" is not one of error|warn|info|debug",
                   "colour: unknown key", "offload_queue: 1 is outside 16..1000000");
}

static void test_instances_refused(void)
{
    EXPECT_REFUSED("{\"plugins\": {\"plugin\": \"api.admin\"}}",
                   "plugins: expected an array of plugin instances");
    EXPECT_REFUSED("{\"plugins\": [\"api.admin\"]}", "plugins[0]: expected an object");
    EXPECT_REFUSED("{\"plugins\": [{\"plugin\": \"api.admin\", \"name\": \"a\", \"cfg\": {}}]}",
                   "plugins[0].cfg: unknown key (expected plugin, name, config)");
    EXPECT_REFUSED("{\"plugins\": [{\"name\": \"a\"}]}",
                   "plugins[0].plugin: expected a plugin name (a-z, 0-9, . - _)");
    EXPECT_REFUSED("{\"plugins\": [{\"plugin\": \"API.Admin\", \"name\": \"a\"}]}",
                   "plugins[0].plugin: expected a plugin name (a-z, 0-9, . - _)");
    EXPECT_REFUSED("{\"plugins\": [{\"plugin\": \"api.admin\", \"name\": \"a b\"}]}",
                   "plugins[0].name: expected an instance name (A-Z, a-z, 0-9, . - _)");
    EXPECT_REFUSED("{\"plugins\": [{\"plugin\": \"api.admin\", \"name\": 3}]}",
                   "plugins[0].name: expected an instance name (A-Z, a-z, 0-9, . - _)");
    EXPECT_REFUSED("{\"plugins\": [{\"plugin\": \"api.admin\", \"name\": \"a\", \"config\": [1]}]}",
                   "plugins[0].config: expected an object");
    EXPECT_REFUSED("{\"plugins\": ["
                   "{\"plugin\": \"api.admin\", \"name\": \"a\"},"
                   "{\"plugin\": \"api.admin\", \"name\": \"b\"},"
                   "{\"plugin\": \"test.probe\", \"name\": \"a\"}]}",
                   "plugins[2].name: duplicate instance name \"a\" (also plugins[0])");
    /* Problems in core settings and in instances are all reported. */
    EXPECT_REFUSED("{\"log_level\": 1, \"plugins\": [{\"plugin\": \"x\", \"name\": \"\"}]}",
                   "log_level: expected a string",
                   "plugins[0].name: expected an instance name (A-Z, a-z, 0-9, . - _)");

    /* At most CONFIG_INSTANCES_MAX instances. */
    char text[16384] = "{\"plugins\": [";
    for (int i = 0; i <= CONFIG_INSTANCES_MAX; i++) {
        char entry[80];
        snprintf(entry, sizeof(entry), "%s{\"plugin\": \"test.probe\", \"name\": \"p%d\"}",
                 i ? "," : "", i);
        strcat(text, entry);
    }
    strcat(text, "]}");
    EXPECT_REFUSED(text, "plugins: 65 instances, at most 64");
}

static void test_size_bound(void)
{
    /* Exactly CONFIG_FILE_MAX bytes is accepted, one more is refused. */
    size_t size = CONFIG_FILE_MAX;
    char *text = malloc(size + 2);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    memset(text, ' ', size + 1);
    memcpy(text, "{}", 2);
    write_file(config_path, text, size);
    diag_list diags = {0};
    core_config *cfg = core_config_load(config_path, &diags);
    CHECK(cfg != NULL);
    core_config_free(cfg);
    write_file(config_path, text, size + 1);
    cfg = core_config_load(config_path, &diags);
    CHECK(cfg == NULL);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "%s: larger than 4194304 bytes", config_path);
    CHECK_INT(diags.count, 1);
    if (diags.count == 1)
        CHECK_STR(diags.items[0], want);
    diag_clear(&diags);
    free(text);
}

static void test_missing_file(void)
{
    char missing[200];
    snprintf(missing, sizeof(missing), "%s/absent.json", temp_dir);
    diag_list diags = {0};
    CHECK(core_config_load(missing, &diags) == NULL);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", missing);
    CHECK_INT(diags.count, 1);
    if (diags.count == 1)
        CHECK_STR(diags.items[0], want);
    diag_clear(&diags);
}

static void test_diag_list(void)
{
    diag_list d = {0};
    CHECK(diag_empty(&d));
    diag_add(&d, "first %d", 1);
    diag_add(&d, "second");
    char *joined = diag_join(&d);
    CHECK_STR(joined, "first 1; second");
    free(joined);
    for (int i = 0; i < DIAG_MAX + 3; i++)
        diag_add(&d, "more %d", i);
    CHECK_INT(d.count, DIAG_MAX);
    CHECK_INT(d.dropped, 5);
    joined = diag_join(&d);
    const char *tail = "; more 60; more 61; (5 more)";
    size_t len = joined ? strlen(joined) : 0;
    CHECK(len > strlen(tail) && strcmp(joined + len - strlen(tail), tail) == 0);
    free(joined);
    diag_clear(&d);
    CHECK(diag_empty(&d));

    /* logged: every kept problem, then how many were dropped */
    for (int i = 0; i < DIAG_MAX + 2; i++)
        diag_add(&d, "problem %d", i);
    char path[600];
    snprintf(path, sizeof(path), "%s/diag.log", temp_dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    CHECK(fd >= 0);
    log_configure(LOG_FORMAT_TEXT, TRELLIS_LOG_INFO);
    log_set_fd(fd);
    diag_log_and_clear(&d, "config_invalid");
    log_set_fd(STDERR_FILENO);
    CHECK(diag_empty(&d));
    char text[16384] = "";
    ssize_t got = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    text[got > 0 ? got : 0] = '\0';
    CHECK_CONTAINS(text, "event=config_invalid msg=\"problem 63\"");
    CHECK_CONTAINS(text, "event=config_invalid msg=\"2 more problems not shown\"");
    CHECK(strstr(text, "problem 64") == NULL);
}

int main(void)
{
    snprintf(temp_dir, sizeof(temp_dir), "/tmp/trellis-unit-config-XXXXXX");
    if (mkdtemp(temp_dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(config_path, sizeof(config_path), "%s/trellis.json", temp_dir);

    test_minimal_file_gets_defaults();
    test_full_file();
    test_invalid_json();
    test_core_settings_refused();
    test_instances_refused();
    test_size_bound();
    test_missing_file();
    test_diag_list();

    unlink(config_path);
    char plugins_dir[160];
    snprintf(plugins_dir, sizeof(plugins_dir), "%s/plugins", temp_dir);
    rmdir(plugins_dir);
    rmdir(temp_dir);
    return test_finish("unit_config");
}
