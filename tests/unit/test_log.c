/*
 * core/log.c: one line per event, key=value text or JSON, with the plugin and
 * instance (or component=core) on every line, values escaped so a line is
 * always one parseable line, and levels filtered.
 */
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "test_check.h"

static int log_pipe[2];

/* Reads what was logged since the last call. */
static char *drain(void)
{
    static char text[65536];
    ssize_t n = read(log_pipe[0], text, sizeof(text) - 1);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

/* The timestamp differs per run: check its shape and return the rest. */
static const char *after_timestamp(const char *line)
{
    static const char *pattern_text = "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ";
    static const char *pattern_json = "^\\{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\",";
    regex_t re;
    bool json = line[0] == '{';
    regcomp(&re, json ? pattern_json : pattern_text, REG_EXTENDED);
    regmatch_t m;
    bool ok = regexec(&re, line, 1, &m, 0) == 0;
    regfree(&re);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "  no timestamp at the start of: %s\n", line);
        return line;
    }
    return line + m.rm_eo;
}

static void test_text_format(void)
{
    log_configure(LOG_FORMAT_TEXT, TRELLIS_LOG_INFO);
    log_core(TRELLIS_LOG_INFO, "starting", "trellis %s, pid %d", "0.1.0", 42);
    CHECK_STR(after_timestamp(drain()),
              "level=info component=core event=starting msg=\"trellis 0.1.0, pid 42\"\n");

    trellis_log_field fields[] = {
        {"file", "/usr/lib/trellis/plugins/x.so"},
        {"reason", "say \"hi\"\\ then\nnew line\ttab\x01"},
        {"empty", ""},
        {"eq", "a=b"},
        {NULL, "skipped: no key"},
    };
    log_write(TRELLIS_LOG_ERROR, "api.admin", "admin", "plugin_create_failed", "refused", fields,
              5);
    CHECK_STR(after_timestamp(drain()),
              "level=error plugin=api.admin instance=admin event=plugin_create_failed msg=refused "
              "file=/usr/lib/trellis/plugins/x.so "
              "reason=\"say \\\"hi\\\"\\\\ then\\nnew line\\ttab\\u0001\" empty=\"\" eq=\"a=b\"\n");

    /* Non-ASCII bytes are kept as they are, quoted. */
    log_write(TRELLIS_LOG_WARN, NULL, NULL, "utf8", "caf\xc3\xa9", NULL, 0);
    CHECK_STR(after_timestamp(drain()), "level=warn component=core event=utf8 msg=\"caf\xc3\xa9\"\n");

    /* No event given: "log". No message: no msg key. */
    log_write(TRELLIS_LOG_INFO, "p", "i", NULL, NULL, NULL, 0);
    CHECK_STR(after_timestamp(drain()), "level=info plugin=p instance=i event=log\n");
}

static void test_json_format(void)
{
    log_configure(LOG_FORMAT_JSON, TRELLIS_LOG_DEBUG);
    trellis_log_field fields[] = {{"reason", "quote\" backslash\\ nl\n ctl\x1f del\x7f"}};
    log_write(TRELLIS_LOG_DEBUG, "test.probe", "p1", "probe_started", "x", fields, 1);
    const char *line = drain();
    CHECK_STR(after_timestamp(line),
              "\"level\":\"debug\",\"plugin\":\"test.probe\",\"instance\":\"p1\","
              "\"event\":\"probe_started\",\"msg\":\"x\","
              "\"reason\":\"quote\\\" backslash\\\\ nl\\n ctl\\u001f del\\u007f\"}\n");
    /* And it is JSON a parser accepts, with the values round-tripping. */
    json_error_t err;
    json_t *doc = json_loads(line, JSON_DISABLE_EOF_CHECK, &err);
    CHECK(doc != NULL);
    CHECK_STR(json_string_value(json_object_get(doc, "reason")),
              "quote\" backslash\\ nl\n ctl\x1f del\x7f");
    json_decref(doc);
    log_configure(LOG_FORMAT_TEXT, TRELLIS_LOG_INFO);
}

static void test_levels(void)
{
    log_configure(LOG_FORMAT_TEXT, TRELLIS_LOG_WARN);
    CHECK(log_enabled(TRELLIS_LOG_ERROR));
    CHECK(log_enabled(TRELLIS_LOG_WARN));
    CHECK(!log_enabled(TRELLIS_LOG_INFO));
    log_core(TRELLIS_LOG_INFO, "hidden", "not written");
    log_core(TRELLIS_LOG_DEBUG, "hidden", "not written");
    log_core(TRELLIS_LOG_WARN, "shown", "written");
    CHECK_STR(after_timestamp(drain()), "level=warn component=core event=shown msg=written\n");
    log_configure(LOG_FORMAT_TEXT, TRELLIS_LOG_INFO);

    trellis_log_level level;
    log_format format;
    CHECK(log_level_parse("debug", &level) && level == TRELLIS_LOG_DEBUG);
    CHECK(log_level_parse("error", &level) && level == TRELLIS_LOG_ERROR);
    CHECK(!log_level_parse("DEBUG", &level));
    CHECK(!log_level_parse("verbose", &level));
    CHECK(log_format_parse("json", &format) && format == LOG_FORMAT_JSON);
    CHECK(!log_format_parse("yaml", &format));
}

static void test_long_lines_stay_one_line(void)
{
    static char big[20000];
    memset(big, 'x', sizeof(big) - 1);
    log_core(TRELLIS_LOG_INFO, "big", "%s", "short");
    drain();
    trellis_log_field fields[] = {{"blob", big}};
    log_write(TRELLIS_LOG_INFO, NULL, NULL, "big", NULL, fields, 1);
    const char *line = drain();
    size_t len = strlen(line);
    CHECK(len <= 8192);
    CHECK(len > 0 && line[len - 1] == '\n');
    CHECK(strchr(line, '\n') == line + len - 1);
    const char *tail = " truncated=true\n";
    CHECK(len > strlen(tail) && strcmp(line + len - strlen(tail), tail) == 0);
    const char *value = strstr(line, " blob=");
    CHECK(value != NULL && value + 6 + strspn(value + 6, "x") == line + len - strlen(tail));

    /* A cut quoted value keeps its quotes balanced. */
    big[100] = ' ';
    log_write(TRELLIS_LOG_INFO, NULL, NULL, "big", NULL, fields, 1);
    line = drain();
    len = strlen(line);
    const char *quoted_tail = "\" truncated=true\n";
    CHECK(len > strlen(quoted_tail) && strcmp(line + len - strlen(quoted_tail), quoted_tail) == 0);
    const char *open_quote = strstr(line, " blob=\"");
    CHECK(open_quote != NULL && strchr(open_quote + 7, '"') == line + len - strlen(quoted_tail));
    big[100] = 'x';

    log_configure(LOG_FORMAT_JSON, TRELLIS_LOG_INFO);
    log_write(TRELLIS_LOG_INFO, NULL, NULL, "big", NULL, fields, 1);
    line = drain();
    len = strlen(line);
    CHECK(len <= 8192);
    const char *json_tail = ",\"truncated\":\"true\"}\n";
    CHECK(len > strlen(json_tail) && strcmp(line + len - strlen(json_tail), json_tail) == 0);
    /* Still a JSON object: the cut value is closed, not left open. */
    json_error_t err;
    json_t *doc = json_loads(line, JSON_DISABLE_EOF_CHECK, &err);
    CHECK(doc != NULL);
    if (doc == NULL)
        fprintf(stderr, "  truncated JSON line does not parse: %s\n", err.text);
    const char *blob = json_string_value(json_object_get(doc, "blob"));
    CHECK(blob != NULL && strlen(blob) > 7000 && strspn(blob, "x") == strlen(blob));
    json_decref(doc);

    /* A value cut inside an escape sequence or a UTF-8 character still parses. */
    static char tricky[12000];
    for (size_t i = 0; i + 2 < sizeof(tricky); i += 2)
        memcpy(tricky + i, (i / 2) % 3 == 0 ? "\xc3\xa9" : (i / 2) % 3 == 1 ? "\n\"" : "\x01a", 2);
    for (int shift = 0; shift < 8; shift++) {
        trellis_log_field shifted[] = {{"pad", "abcdefgh" + shift}, {"v", tricky}};
        log_write(TRELLIS_LOG_INFO, NULL, NULL, "big", NULL, shifted, 2);
        line = drain();
        doc = json_loads(line, JSON_DISABLE_EOF_CHECK, &err);
        CHECK(doc != NULL);
        if (doc == NULL)
            fprintf(stderr, "  shift %d: %s\n", shift, err.text);
        json_decref(doc);
    }
    log_configure(LOG_FORMAT_TEXT, TRELLIS_LOG_INFO);
}

int main(void)
{
    if (pipe2(log_pipe, O_NONBLOCK) != 0) {
        perror("pipe2");
        return 2;
    }
    /* Room for the long-line test's lines without blocking. */
    fcntl(log_pipe[1], F_SETPIPE_SZ, 1 << 20);
    log_set_fd(log_pipe[1]);
    test_text_format();
    test_json_format();
    test_levels();
    test_long_lines_stay_one_line();
    log_set_fd(2);
    return test_finish("unit_log");
}
