/*
 * core/debug.c: named debug providers. Names are validated and unique,
 * except that an instance replacing one of the same name during a reload
 * takes the name over; an owner's providers go away with it.
 */
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "test_check.h"

static trellis_status answer(void *arg, const char *query, char **json_out, trellis_error *err)
{
    (void)err;
    char *text = malloc(128);
    if (text == NULL)
        return TRELLIS_ERR_NOMEM;
    snprintf(text, 128, "{\"from\":\"%s\",\"query\":\"%s\"}", (const char *)arg, query);
    *json_out = text;
    return TRELLIS_OK;
}

static char *query(debug_registry *reg, const char *name, trellis_status *status)
{
    char *json = NULL;
    *status = debug_query(reg, name, "x=1", &json, NULL);
    return json;
}

int main(void)
{
    debug_registry *reg = debug_registry_new();
    int core = 0, old_b = 0, new_b = 0, other = 0; /* only their addresses matter */
    trellis_status st;

    CHECK_INT(debug_register(reg, &core, NULL, "config_dump", answer, "core"), TRELLIS_OK);
    CHECK_INT(debug_register(reg, &old_b, "b", "probe_b", answer, "old b"), TRELLIS_OK);
    static const char *const bad_names[] = {"", "Upper", "has space", "dot.ted",
                                            "x1234567890123456789012345678901234567890123456789012345678901234"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        CHECK_INT(debug_register(reg, &other, "o", bad_names[i], answer, NULL), TRELLIS_ERR_INVALID);
    CHECK_INT(debug_register(reg, &other, "o", "ok", NULL, NULL), TRELLIS_ERR_INVALID);

    /* Taken by another instance, by the core, or twice by the same owner. */
    CHECK_INT(debug_register(reg, &other, "o", "probe_b", answer, NULL), TRELLIS_ERR_CONFLICT);
    CHECK_INT(debug_register(reg, &other, "o", "config_dump", answer, NULL), TRELLIS_ERR_CONFLICT);
    CHECK_INT(debug_register(reg, &old_b, "b", "probe_b", answer, NULL), TRELLIS_ERR_CONFLICT);

    char *json = query(reg, "probe_b", &st);
    CHECK_INT(st, TRELLIS_OK);
    CHECK_STR(json, "{\"from\":\"old b\",\"query\":\"x=1\"}");
    free(json);

    /* The successor of instance b takes the name over while the old one stops. */
    CHECK_INT(debug_register(reg, &new_b, "b", "probe_b", answer, "new b"), TRELLIS_OK);
    json = query(reg, "probe_b", &st);
    CHECK_STR(json, "{\"from\":\"new b\",\"query\":\"x=1\"}");
    free(json);
    debug_unregister_owner(reg, &old_b);
    json = query(reg, "probe_b", &st);
    CHECK_STR(json, "{\"from\":\"new b\",\"query\":\"x=1\"}");
    free(json);
    debug_unregister_owner(reg, &new_b);
    CHECK(query(reg, "probe_b", &st) == NULL);
    CHECK_INT(st, TRELLIS_ERR_NOT_FOUND);
    /* Free again once its owner is gone. */
    CHECK_INT(debug_register(reg, &other, "o", "probe_b", answer, "other"), TRELLIS_OK);

    json = query(reg, "config_dump", &st);
    CHECK_STR(json, "{\"from\":\"core\",\"query\":\"x=1\"}");
    free(json);
    debug_registry_free(reg);
    return test_finish("unit_debug");
}
