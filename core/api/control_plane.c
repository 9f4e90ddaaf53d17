#include "control_plane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "plugin_config.h"
#include "api_ops.h"
#include "write_lanes.h"

#define PAGINATION_KEY_RECORD "meta/pagination-key"

control_plane *control_plane_new(const trellis_config *core_settings)
{
    control_plane *cp = calloc(1, sizeof(*cp));
    if (cp == NULL)
        return NULL;
    control_plane_settings *s = &cp->settings;
    snprintf(s->region, sizeof(s->region), "%s",
             plugin_config_get0_string(core_settings, "region"));
    snprintf(s->account_id, sizeof(s->account_id), "%s",
             plugin_config_get0_string(core_settings, "account_id"));
    for (int k = 0; k < RESOURCE_KIND_COUNT; k++)
        s->quota[k] = (uint32_t)plugin_config_get_int(core_settings,
                                                      resource_kind_get((resource_kind)k)->quota_setting);
    s->quota_backends_per_virtual_node =
        (uint32_t)plugin_config_get_int(core_settings, "quota_backends_per_virtual_node");
    snprintf(cp->not_ready_reason, sizeof(cp->not_ready_reason), "no store instance is configured");
    cp->cat = catalog_new();
    cp->lanes = write_lanes_new(api_plan_write);
    if (cp->cat == NULL || cp->lanes == NULL) {
        control_plane_free(cp);
        return NULL;
    }
    return cp;
}

void control_plane_free(control_plane *cp)
{
    if (cp == NULL)
        return;
    if (cp->load_retry != NULL)
        loop_timer_free(cp->load_retry);
    catalog_store_free(cp->link);
    catalog_free(cp->cat);
    write_lanes_free(cp->lanes);
    free(cp);
}

static bool decode_hex(const char *hex, size_t hex_len, unsigned char *out, size_t out_len)
{
    if (hex_len != out_len * 2)
        return false;
    for (size_t i = 0; i < out_len; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (unsigned char)v;
    }
    return true;
}

static bool load_pagination_key(control_plane *cp)
{
    const catalog_entry *e = catalog_get(cp->cat, PAGINATION_KEY_RECORD);
    if (e == NULL)
        return false;
    return decode_hex(e->value, e->value_len, cp->pagination_key, sizeof(cp->pagination_key));
}

static void become_ready(control_plane *cp)
{
    cp->ready = true;
    cp->not_ready_reason[0] = '\0';
    log_core(TRELLIS_LOG_INFO, "api_ready", "App Mesh API ready (account %s, region %s)",
             cp->settings.account_id, cp->settings.region);
}

static void on_key_committed(void *arg, trellis_status status, uint64_t revision,
                             const char *message)
{
    control_plane *cp = arg;
    (void)revision;
    /* On a conflict another replica wrote the key first: the catalog has it now. */
    if ((status == TRELLIS_OK || status == TRELLIS_ERR_CONFLICT) && load_pagination_key(cp)) {
        become_ready(cp);
        return;
    }
    snprintf(cp->not_ready_reason, sizeof(cp->not_ready_reason),
             "cannot store the pagination key: %s", message);
    log_core(TRELLIS_LOG_ERROR, "api_not_ready", "%s", cp->not_ready_reason);
}

static void on_catalog_loaded(void *arg, trellis_status status, uint64_t revision,
                              const char *message)
{
    control_plane *cp = arg;
    (void)revision;
    if (status == TRELLIS_ERR_UNAVAILABLE && cp->load_retry != NULL) {
        /* A shared store (a database) that is not reachable yet: the
         * catalog is the same once it is, so keep trying. */
        snprintf(cp->not_ready_reason, sizeof(cp->not_ready_reason),
                 "loading the catalog from the store failed (attempt %u, retrying): %s",
                 cp->load_attempts, message);
        log_core(cp->load_attempts == 1 ? TRELLIS_LOG_WARN : TRELLIS_LOG_DEBUG,
                 "catalog_load_retry", "%s", cp->not_ready_reason);
        loop_timer_start(cp->load_retry, CONTROL_PLANE_LOAD_RETRY_MS, false);
        return;
    }
    if (status != TRELLIS_OK) {
        snprintf(cp->not_ready_reason, sizeof(cp->not_ready_reason),
                 "loading the catalog from the store failed: %s", message);
        log_core(TRELLIS_LOG_ERROR, "api_not_ready", "%s", cp->not_ready_reason);
        return;
    }
    if (load_pagination_key(cp)) {
        become_ready(cp);
        return;
    }
    /* First start on this store: create the key every replica will share. */
    unsigned char key[sizeof(cp->pagination_key)];
    char hex[sizeof(key) * 2 + 1];
    if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
        snprintf(cp->not_ready_reason, sizeof(cp->not_ready_reason), "no randomness for keys");
        return;
    }
    for (size_t i = 0; i < sizeof(key); i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    catalog_op op = {.type = TRELLIS_STORE_PUT,
                     .key = PAGINATION_KEY_RECORD,
                     .raw_value = hex,
                     .raw_len = strlen(hex),
                     .expected_version = TRELLIS_STORE_ABSENT};
    trellis_status st = catalog_store_commit(cp->link, &op, 1, on_key_committed, cp);
    if (st != TRELLIS_OK)
        on_key_committed(cp, st, 0, "the store refused the write");
}

static void load_catalog(void *arg)
{
    control_plane *cp = arg;
    cp->load_attempts++;
    catalog_store_load(cp->link, on_catalog_loaded, cp);
}

void control_plane_attach_store(control_plane *cp, loop *lp, const trellis_store_ops *ops,
                                void *store_instance)
{
    cp->link = catalog_store_new(cp->cat, ops, store_instance);
    cp->load_retry = lp != NULL ? loop_timer_new(lp, load_catalog, cp) : NULL;
    if (cp->link == NULL || (lp != NULL && cp->load_retry == NULL)) {
        snprintf(cp->not_ready_reason, sizeof(cp->not_ready_reason), "out of memory");
        return;
    }
    snprintf(cp->not_ready_reason, sizeof(cp->not_ready_reason), "the catalog is loading");
    load_catalog(cp);
}
