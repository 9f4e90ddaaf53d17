#include "conninfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

bool conninfo_parses(const char *conninfo, char *why, size_t why_size)
{
    if (conninfo == NULL || conninfo[0] == '\0')
        return true;
    char *errmsg = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &errmsg);
    if (options != NULL) {
        PQconninfoFree(options);
        return true;
    }
    /* libpq's message quotes the offending part of the string, which may be
     * a password: keep only its words outside quotes. */
    char cleaned[200] = "";
    if (errmsg != NULL) {
        size_t out = 0;
        bool quoted = false;
        for (const char *p = errmsg; *p && out + 4 < sizeof(cleaned); p++) {
            if (*p == '"') {
                if (!quoted)
                    cleaned[out++] = '?';
                quoted = !quoted;
                continue;
            }
            if (!quoted)
                cleaned[out++] = (*p == '\n') ? ' ' : *p;
        }
        cleaned[out] = '\0';
        pg_message_flatten(cleaned);
        PQfreemem(errmsg);
    }
    snprintf(why, why_size,
             "not a valid libpq connection string or URI (%s; quoted parts left out: they may "
             "hold a password)",
             cleaned[0] ? cleaned : "libpq gave no reason");
    return false;
}

/* The value of `keyword` among libpq's parsed options, or NULL/"". */
static const char *option_value(const PQconninfoOption *options, const char *keyword)
{
    for (const PQconninfoOption *o = options; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, keyword) == 0)
            return o->val;
    }
    return NULL;
}

static void append_pair(char *out, size_t out_size, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return;
    size_t len = strlen(out);
    if (len >= out_size - 1)
        return;
    snprintf(out + len, out_size - len, "%s%s=%s", len ? " " : "", key, value);
}

void conninfo_describe(const char *conninfo, char *out, size_t out_size)
{
    out[0] = '\0';
    PQconninfoOption *parsed = NULL;
    if (conninfo != NULL && conninfo[0] != '\0') {
        parsed = PQconninfoParse(conninfo, NULL);
        if (parsed == NULL) {
            snprintf(out, out_size, "(unparsable conninfo)");
            return;
        }
    }
    /* The environment and compiled-in defaults fill whatever the string
     * leaves out, as PQconnectdb does. */
    PQconninfoOption *defaults = PQconndefaults();
    const char *keys[] = {"host", "hostaddr", "port", "dbname", "user"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *value = parsed ? option_value(parsed, keys[i]) : NULL;
        if (value == NULL || value[0] == '\0')
            value = defaults ? option_value(defaults, keys[i]) : NULL;
        if (strcmp(keys[i], "dbname") == 0 && (value == NULL || value[0] == '\0'))
            value = NULL; /* libpq then uses the user name; say nothing rather than guess */
        append_pair(out, out_size, keys[i], value);
    }
    if (out[0] == '\0')
        snprintf(out, out_size, "(libpq defaults)");
    if (parsed != NULL)
        PQconninfoFree(parsed);
    if (defaults != NULL)
        PQconninfoFree(defaults);
}

void conninfo_params_build(conninfo_params *params, const char *conninfo,
                           uint64_t connect_timeout_ms)
{
    memset(params, 0, sizeof(*params));
    size_t n = 0;
    bool has_timeout = false;
    if (conninfo != NULL && conninfo[0] != '\0') {
        params->keywords[n] = "dbname"; /* expanded: a whole connection string or URI */
        params->values[n++] = conninfo;
        PQconninfoOption *parsed = PQconninfoParse(conninfo, NULL);
        if (parsed != NULL) {
            const char *t = option_value(parsed, "connect_timeout");
            has_timeout = t != NULL && t[0] != '\0';
            PQconninfoFree(parsed);
        }
    }
    params->keywords[n] = "fallback_application_name";
    params->values[n++] = "trellis";
    if (!has_timeout) {
        /* libpq counts whole seconds and treats 1 as 2. */
        uint64_t seconds = (connect_timeout_ms + 999) / 1000;
        if (seconds < 2)
            seconds = 2;
        snprintf(params->timeout_text, sizeof(params->timeout_text), "%llu",
                 (unsigned long long)seconds);
        params->keywords[n] = "connect_timeout";
        params->values[n++] = params->timeout_text;
    }
    /* Keys are UTF-8 text and the encoding of every value we send. */
    params->keywords[n] = "client_encoding";
    params->values[n++] = "UTF8";
    params->keywords[n] = NULL;
    params->values[n] = NULL;
}

void pg_message_flatten(char *message)
{
    for (char *p = message; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    size_t len = strlen(message);
    while (len > 0 && message[len - 1] == ' ')
        message[--len] = '\0';
}
