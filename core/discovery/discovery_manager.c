#include "discovery_manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_key.h"
#include "discovery_target.h"
#include "endpoint_set.h"
#include "host.h"
#include "log.h"
#include "strmap.h"
#include "xds/xds_engine.h"

#define CLIENTS_ALL (TRELLIS_DISCOVERY_FOR_SIDECARS | TRELLIS_DISCOVERY_FOR_PROXYLESS)
#define DESCRIPTION_MAX 600
#define ERROR_TEXT_MAX 300

typedef struct target_state target_state;

/* A virtual node whose endpoints were looked up (or are needed). */
typedef struct node_state {
    char *key;                   /* its catalog key (the map key) */
    char *mesh, *name;
    target_state *target;        /* NULL: the node has no service discovery */
    bool demanded;               /* a watched identity looks its endpoints up */
    uint64_t idle_since_ns;      /* when it was last needed or looked up */
} node_state;

/* One distinct discovery target, watched once for every node that has it. */
struct target_state {
    discovery_manager *mgr;
    discovery_target *spec;
    const void *provider;        /* token of the instance watching it; NULL: none */
    trellis_discovery_watch *watch;
    endpoint_set *current;       /* the last good set; NULL until the first */
    node_state **nodes;
    size_t node_count, node_capacity;
    bool failing;
    char error[ERROR_TEXT_MAX];
    bool unserved_logged;
};

typedef struct provider_slot {
    char *name;
    const trellis_discovery_ops *ops;
    void *instance;
    const void *token;
} provider_slot;

struct discovery_manager {
    loop *lp;
    catalog *cat;
    xds_engine *engine;
    trellis_host_ctx *core_ctx;
    uint64_t idle_ms;
    provider_slot *providers;
    size_t provider_count;
    strmap *nodes;               /* node key -> node_state */
    strmap *targets;             /* target key -> target_state */
    loop_timer *sweep;
    bool sweep_armed;
    discovery_manager_stats stats;

    trellis_metric *m_targets, *m_failing, *m_unserved, *m_endpoints;
    trellis_metric *m_changed, *m_unchanged, *m_failed;
};

static const provider_slot *provider_find(const discovery_manager *m, const void *token)
{
    for (size_t i = 0; token != NULL && i < m->provider_count; i++) {
        if (m->providers[i].token == token)
            return &m->providers[i];
    }
    return NULL;
}

/* ---- metrics ---- */

typedef struct gauge_sums {
    size_t targets, watches, failing, unserved, endpoints;
} gauge_sums;

static void sum_target(const char *key, void *value, void *arg)
{
    (void)key;
    const target_state *t = value;
    gauge_sums *g = arg;
    g->targets++;
    g->watches += t->watch != NULL;
    g->failing += t->failing;
    g->unserved += t->provider == NULL;
    g->endpoints += t->current ? t->current->count : 0;
}

static void refresh_gauges(discovery_manager *m)
{
    gauge_sums g = {0};
    strmap_foreach(m->targets, sum_target, &g);
    m->stats.targets = g.targets;
    m->stats.watches = g.watches;
    m->stats.failing = g.failing;
    m->stats.unserved = g.unserved;
    m->stats.nodes = strmap_count(m->nodes);
    host_services.metric_set(m->m_targets, (double)g.targets);
    host_services.metric_set(m->m_failing, (double)g.failing);
    host_services.metric_set(m->m_unserved, (double)g.unserved);
    host_services.metric_set(m->m_endpoints, (double)g.endpoints);
}

static void metrics_create(discovery_manager *m)
{
    trellis_host_ctx *ctx = m->core_ctx;
    if (ctx == NULL)
        return;
    m->m_targets = host_services.metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_discovery_targets",
                                            "distinct discovery targets (Cloud Map queries, DNS names) in use",
                                            NULL, NULL, 0);
    m->m_failing = host_services.metric_new(ctx, TRELLIS_METRIC_GAUGE,
                                            "trellis_discovery_targets_failing",
                                            "targets whose last refresh failed (serving their last good endpoints)",
                                            NULL, NULL, 0);
    m->m_unserved = host_services.metric_new(ctx, TRELLIS_METRIC_GAUGE,
                                             "trellis_discovery_targets_unserved",
                                             "targets no configured discovery plugin accepts",
                                             NULL, NULL, 0);
    m->m_endpoints = host_services.metric_new(ctx, TRELLIS_METRIC_GAUGE, "trellis_discovery_endpoints",
                                              "endpoints known across all targets", NULL, NULL, 0);
    const char *changed[] = {"result", "changed", NULL};
    const char *unchanged[] = {"result", "unchanged", NULL};
    const char *failed[] = {"result", "failed", NULL};
    const char *help = "endpoint updates from discovery plugins, by outcome";
    m->m_changed = host_services.metric_new(ctx, TRELLIS_METRIC_COUNTER,
                                            "trellis_discovery_updates_total", help, changed, NULL, 0);
    m->m_unchanged = host_services.metric_new(ctx, TRELLIS_METRIC_COUNTER,
                                              "trellis_discovery_updates_total", help, unchanged, NULL, 0);
    m->m_failed = host_services.metric_new(ctx, TRELLIS_METRIC_COUNTER,
                                           "trellis_discovery_updates_total", help, failed, NULL, 0);
}

/* ---- endpoint updates ---- */

static void notify_nodes(discovery_manager *m, const target_state *t)
{
    for (size_t i = 0; m->engine != NULL && i < t->node_count; i++)
        xds_engine_endpoints_changed(m->engine, t->nodes[i]->mesh, t->nodes[i]->name);
}

static void on_update(void *arg, trellis_status status, const trellis_endpoint *endpoints,
                      size_t count, const char *message)
{
    target_state *t = arg;
    discovery_manager *m = t->mgr;
    char what[DESCRIPTION_MAX];
    discovery_target_describe(t->spec, what, sizeof(what));
    bool was_failing = t->failing;
    if (status != TRELLIS_OK) {
        m->stats.failures++;
        host_services.metric_add(m->m_failed, 1);
        if (!t->failing)
            log_core(TRELLIS_LOG_WARN, "discovery_failing",
                     "%s: %s; proxies keep its last known %zu endpoints", what,
                     message && message[0] ? message : "refresh failed",
                     t->current ? t->current->count : 0);
        t->failing = true;
        snprintf(t->error, sizeof(t->error), "%s", message && message[0] ? message : "refresh failed");
        if (!was_failing) /* the gauges move only when a target's state does */
            refresh_gauges(m);
        return;
    }
    endpoint_set *fresh = endpoint_set_new(endpoints, count);
    if (fresh == NULL) {
        log_core(TRELLIS_LOG_ERROR, "discovery_update_dropped",
                 "%s: out of memory copying %zu endpoints; the last set stays", what, count);
        return;
    }
    if (t->failing)
        log_core(TRELLIS_LOG_INFO, "discovery_recovered", "%s: answering again", what);
    t->failing = false;
    t->error[0] = '\0';
    if (t->current != NULL && endpoint_set_equal(t->current, fresh)) {
        endpoint_set_free(fresh);
        m->stats.unchanged++;
        host_services.metric_add(m->m_unchanged, 1);
        if (was_failing)
            refresh_gauges(m);
        return;
    }
    if (fresh->dropped > 0)
        log_core(TRELLIS_LOG_WARN, "discovery_endpoints_ignored",
                 "%s: ignored %zu endpoints that are not IP addresses with a valid port", what,
                 fresh->dropped);
    log_core(TRELLIS_LOG_INFO, "discovery_endpoints", "%s: %zu endpoints (was %zu)", what,
             fresh->count, t->current ? t->current->count : 0);
    endpoint_set_free(t->current);
    t->current = fresh;
    m->stats.changes++;
    host_services.metric_add(m->m_changed, 1);
    refresh_gauges(m);
    notify_nodes(m, t);
}

/* ---- targets ---- */

static void target_unwatch(discovery_manager *m, target_state *t)
{
    if (t->watch == NULL)
        return;
    const provider_slot *p = provider_find(m, t->provider);
    if (p != NULL)
        p->ops->unwatch(p->instance, t->watch);
    t->watch = NULL;
    t->provider = NULL;
}

static const provider_slot *provider_for(const discovery_manager *m, const trellis_discovery_target *view)
{
    for (size_t i = 0; i < m->provider_count; i++) {
        if (m->providers[i].ops->accepts(m->providers[i].instance, view))
            return &m->providers[i];
    }
    return NULL;
}

static const char *configure_hint(const target_state *t)
{
    return t->spec->view.method == TRELLIS_DISCOVERY_CLOUD_MAP
               ? "configure a discovery.cloudmap instance"
               : "configure a discovery.dns instance (proxyless clients of responseType "
                 "ENDPOINTS nodes need one)";
}

/* Watches the target on the first instance that accepts it (or keeps the
 * current watch when that is still the one). */
static void target_bind(discovery_manager *m, target_state *t)
{
    const provider_slot *p = provider_for(m, &t->spec->view);
    if (p != NULL && t->watch != NULL && p->token == t->provider)
        return;
    target_unwatch(m, t);
    char what[DESCRIPTION_MAX];
    discovery_target_describe(t->spec, what, sizeof(what));
    if (p == NULL) {
        if (!t->unserved_logged)
            log_core(TRELLIS_LOG_WARN, "discovery_unserved",
                     "%s (virtual node %s in mesh %s): no discovery plugin instance accepts it; %s",
                     what, t->spec->node, t->spec->mesh, configure_hint(t));
        t->unserved_logged = true;
        return;
    }
    t->unserved_logged = false;
    trellis_status st = p->ops->watch(p->instance, &t->spec->view, on_update, t, &t->watch);
    if (st != TRELLIS_OK) {
        t->watch = NULL;
        t->failing = true;
        snprintf(t->error, sizeof(t->error), "%s refused to watch it (status %d)", p->name, (int)st);
        log_core(TRELLIS_LOG_ERROR, "discovery_watch_refused", "%s: %s", what, t->error);
        return;
    }
    t->provider = p->token;
    log_core(TRELLIS_LOG_DEBUG, "discovery_watch", "%s: watched by %s", what, p->name);
}

static void target_free(discovery_manager *m, target_state *t)
{
    target_unwatch(m, t);
    strmap_remove(m->targets, t->spec->key);
    endpoint_set_free(t->current);
    discovery_target_free(t->spec);
    free(t->nodes);
    free(t);
}

/* The target with spec's key (taking `spec`), created and watched if new. */
static target_state *target_get(discovery_manager *m, discovery_target *spec)
{
    target_state *t = strmap_get(m->targets, spec->key);
    if (t != NULL) {
        discovery_target_free(spec);
        return t;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL || !strmap_put(m->targets, spec->key, t)) {
        free(t);
        discovery_target_free(spec);
        return NULL;
    }
    t->mgr = m;
    t->spec = spec;
    target_bind(m, t);
    return t;
}

static bool target_attach(target_state *t, node_state *ns)
{
    if (t->node_count == t->node_capacity) {
        size_t capacity = t->node_capacity ? t->node_capacity * 2 : 4;
        node_state **grown = realloc(t->nodes, capacity * sizeof(*grown));
        if (grown == NULL)
            return false;
        t->nodes = grown;
        t->node_capacity = capacity;
    }
    t->nodes[t->node_count++] = ns;
    ns->target = t;
    return true;
}

static void node_detach(discovery_manager *m, node_state *ns)
{
    target_state *t = ns->target;
    if (t == NULL)
        return;
    ns->target = NULL;
    for (size_t i = 0; i < t->node_count; i++) {
        if (t->nodes[i] == ns) {
            t->nodes[i] = t->nodes[--t->node_count];
            break;
        }
    }
    if (t->node_count == 0)
        target_free(m, t);
}

/* ---- nodes ---- */

static void arm_sweep(discovery_manager *m)
{
    if (m->sweep_armed)
        return;
    m->sweep_armed = true;
    loop_timer_start(m->sweep, m->idle_ms / 2 + 1, false);
}

static void node_free(discovery_manager *m, node_state *ns)
{
    node_detach(m, ns);
    strmap_remove(m->nodes, ns->key);
    free(ns->key);
    free(ns->mesh);
    free(ns->name);
    free(ns);
}

/* The node's target as the catalog has it now: NULL with *found false when
 * the node (or its mesh) is gone, NULL with *found true when it has no
 * service discovery. */
static discovery_target *derive_now(discovery_manager *m, const char *mesh, const char *name,
                                    uint32_t clients, bool *found)
{
    *found = false;
    const catalog_entry *node = catalog_get_resource(m->cat, RESOURCE_VIRTUAL_NODE, mesh, NULL, name);
    const catalog_entry *mesh_entry = catalog_get_resource(m->cat, RESOURCE_MESH, NULL, NULL, mesh);
    if (node == NULL || mesh_entry == NULL)
        return NULL;
    *found = true;
    bool failed;
    discovery_target *t = discovery_target_derive(json_object_get(node->data, "spec"),
                                                  json_object_get(mesh_entry->data, "spec"), mesh,
                                                  name, clients, &failed);
    if (failed)
        log_core(TRELLIS_LOG_ERROR, "discovery_oom",
                 "out of memory deriving the discovery target of %s/%s", mesh, name);
    return t;
}

/* Re-reads the node's discovery from the catalog; drops it if it is gone. */
static void node_rederive(discovery_manager *m, node_state *ns)
{
    bool found;
    discovery_target *spec = derive_now(m, ns->mesh, ns->name, CLIENTS_ALL, &found);
    if (!found) {
        node_free(m, ns);
        return;
    }
    if (spec != NULL && ns->target != NULL && strcmp(spec->key, ns->target->spec->key) == 0) {
        discovery_target_free(spec);
        return;
    }
    node_detach(m, ns);
    target_state *t = spec ? target_get(m, spec) : NULL;
    if (t != NULL && !target_attach(t, ns) && t->node_count == 0)
        target_free(m, t);
}

static node_state *node_get(discovery_manager *m, const char *mesh, const char *name, bool create)
{
    char key[CATALOG_KEY_MAX];
    if (!catalog_key_resource(key, sizeof(key), RESOURCE_VIRTUAL_NODE, mesh, NULL, name))
        return NULL;
    node_state *ns = strmap_get(m->nodes, key);
    if (ns != NULL || !create)
        return ns;
    bool found;
    discovery_target *spec = derive_now(m, mesh, name, CLIENTS_ALL, &found);
    if (!found)
        return NULL;
    ns = calloc(1, sizeof(*ns));
    if (ns == NULL || (ns->key = strdup(key)) == NULL || (ns->mesh = strdup(mesh)) == NULL ||
        (ns->name = strdup(name)) == NULL || !strmap_put(m->nodes, key, ns)) {
        if (ns != NULL) {
            free(ns->key);
            free(ns->mesh);
            free(ns->name);
            free(ns);
        }
        discovery_target_free(spec);
        return NULL;
    }
    ns->idle_since_ns = host_services.monotonic_ns();
    arm_sweep(m);
    target_state *t = spec ? target_get(m, spec) : NULL;
    if (t != NULL && !target_attach(t, ns) && t->node_count == 0)
        target_free(m, t);
    refresh_gauges(m);
    return ns;
}

/* ---- idle sweep ---- */

typedef struct idle_scan {
    uint64_t now, idle_ns;
    node_state **expired;
    size_t count, capacity;
    bool any_idle;               /* some node is idle but not expired yet */
} idle_scan;

static void scan_idle(const char *key, void *value, void *arg)
{
    (void)key;
    node_state *ns = value;
    idle_scan *s = arg;
    if (ns->demanded)
        return;
    if (s->now - ns->idle_since_ns < s->idle_ns) {
        s->any_idle = true;
        return;
    }
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 16;
        node_state **grown = realloc(s->expired, capacity * sizeof(*grown));
        if (grown == NULL) {
            s->any_idle = true; /* try again next time */
            return;
        }
        s->expired = grown;
        s->capacity = capacity;
    }
    s->expired[s->count++] = ns;
}

static void on_sweep(void *arg)
{
    discovery_manager *m = arg;
    m->sweep_armed = false;
    idle_scan s = {.now = host_services.monotonic_ns(), .idle_ns = m->idle_ms * 1000000ull};
    strmap_foreach(m->nodes, scan_idle, &s);
    for (size_t i = 0; i < s.count; i++)
        node_free(m, s.expired[i]);
    free(s.expired);
    if (s.count > 0)
        refresh_gauges(m);
    if (s.any_idle)
        arm_sweep(m);
}

/* ---- catalog changes ---- */

typedef struct node_list {
    node_state **items;
    size_t count, capacity;
    const char *mesh;            /* filter; NULL: every node */
} node_list;

static void collect_node(const char *key, void *value, void *arg)
{
    (void)key;
    node_state *ns = value;
    node_list *l = arg;
    if (l->mesh != NULL && strcmp(ns->mesh, l->mesh) != 0)
        return;
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 16;
        node_state **grown = realloc(l->items, capacity * sizeof(*grown));
        if (grown == NULL)
            return;
        l->items = grown;
        l->capacity = capacity;
    }
    l->items[l->count++] = ns;
}

static void rederive_nodes(discovery_manager *m, const char *mesh)
{
    node_list l = {.mesh = mesh};
    strmap_foreach(m->nodes, collect_node, &l);
    for (size_t i = 0; i < l.count; i++)
        node_rederive(m, l.items[i]);
    free(l.items);
}

static void on_catalog_change(void *arg, uint64_t revision, const catalog_change *changes,
                              size_t change_count)
{
    discovery_manager *m = arg;
    (void)revision;
    bool rederived = change_count == 0;
    if (change_count == 0) /* a full reload */
        rederive_nodes(m, NULL);
    for (size_t i = 0; i < change_count; i++) {
        if (changes[i].kind == RESOURCE_VIRTUAL_NODE) {
            node_state *ns = strmap_get(m->nodes, changes[i].key);
            if (ns != NULL) {
                node_rederive(m, ns);
                rederived = true;
            }
        } else if (changes[i].kind == RESOURCE_MESH && changes[i].mesh != NULL) {
            rederive_nodes(m, changes[i].mesh); /* the IP preference, or the mesh is gone */
            rederived = true;
        }
    }
    if (rederived) /* most writes touch no node discovery follows: no O(targets) sum */
        refresh_gauges(m);
}

/* ---- the engine's endpoint source ---- */

bool discovery_manager_endpoints(void *arg, const char *mesh, const char *node,
                                 const compile_endpoint **endpoints, size_t *count)
{
    discovery_manager *m = arg;
    node_state *ns = node_get(m, mesh, node, true);
    if (ns == NULL)
        return false;
    if (!ns->demanded) {
        ns->idle_since_ns = host_services.monotonic_ns();
        arm_sweep(m);
    }
    const target_state *t = ns->target;
    if (t == NULL || (t->current == NULL && t->watch == NULL))
        return false;
    *endpoints = t->current ? t->current->items : NULL;
    *count = t->current ? t->current->count : 0;
    return true;
}

bool discovery_manager_resolves_dns(void *arg, const char *mesh, const char *node,
                                    trellis_xds_flavor flavor)
{
    discovery_manager *m = arg;
    uint32_t clients = flavor == TRELLIS_XDS_PROXYLESS ? TRELLIS_DISCOVERY_FOR_PROXYLESS
                                                       : TRELLIS_DISCOVERY_FOR_SIDECARS;
    if (m->provider_count == 0)
        return false;
    char key[CATALOG_KEY_MAX];
    node_state *ns = catalog_key_resource(key, sizeof(key), RESOURCE_VIRTUAL_NODE, mesh, NULL, node)
                         ? strmap_get(m->nodes, key)
                         : NULL;
    if (ns != NULL) {
        if (ns->target == NULL || ns->target->spec->view.method != TRELLIS_DISCOVERY_DNS)
            return false;
        trellis_discovery_target view = ns->target->spec->view;
        view.clients = clients;
        return provider_for(m, &view) != NULL;
    }
    bool found;
    discovery_target *spec = derive_now(m, mesh, node, clients, &found);
    bool resolves = spec != NULL && spec->view.method == TRELLIS_DISCOVERY_DNS &&
                    provider_for(m, &spec->view) != NULL;
    discovery_target_free(spec);
    return resolves;
}

void discovery_manager_demand(void *arg, const char *mesh, const char *node, bool needed)
{
    discovery_manager *m = arg;
    node_state *ns = node_get(m, mesh, node, needed);
    if (ns == NULL)
        return;
    ns->demanded = needed;
    if (!needed) {
        ns->idle_since_ns = host_services.monotonic_ns();
        arm_sweep(m);
    }
}

/* ---- providers ---- */

static void free_providers(provider_slot *providers, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(providers[i].name);
    free(providers);
}

typedef struct target_list {
    target_state **items;
    size_t count, capacity;
    const void *provider;        /* filter; NULL: every target */
} target_list;

static void collect_target(const char *key, void *value, void *arg)
{
    (void)key;
    target_state *t = value;
    target_list *l = arg;
    if (l->provider != NULL && t->provider != l->provider)
        return;
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 16;
        target_state **grown = realloc(l->items, capacity * sizeof(*grown));
        if (grown == NULL)
            return;
        l->items = grown;
        l->capacity = capacity;
    }
    l->items[l->count++] = t;
}

bool discovery_manager_set_providers(discovery_manager *m, const discovery_provider *providers,
                                     size_t count)
{
    provider_slot *fresh = calloc(count ? count : 1, sizeof(*fresh));
    if (fresh == NULL)
        return false;
    for (size_t i = 0; i < count; i++) {
        fresh[i] = (provider_slot){.name = strdup(providers[i].name ? providers[i].name : "?"),
                                   .ops = providers[i].ops,
                                   .instance = providers[i].instance,
                                   .token = providers[i].token};
        if (fresh[i].name == NULL) {
            free_providers(fresh, i);
            return false;
        }
    }
    /* Rebinding needs both lists: a target still watched by an instance in
     * the old list is unwatched there before it moves. */
    provider_slot *old = m->providers;
    size_t old_count = m->provider_count;
    target_list l = {0};
    strmap_foreach(m->targets, collect_target, &l);
    for (size_t i = 0; i < l.count; i++) {
        target_state *t = l.items[i];
        const provider_slot *choice = NULL;
        for (size_t k = 0; k < count && choice == NULL; k++) {
            if (fresh[k].ops->accepts(fresh[k].instance, &t->spec->view))
                choice = &fresh[k];
        }
        if (t->watch != NULL && (choice == NULL || choice->token != t->provider))
            target_unwatch(m, t);
    }
    m->providers = fresh;
    m->provider_count = count;
    free_providers(old, old_count);
    for (size_t i = 0; i < l.count; i++)
        target_bind(m, l.items[i]);
    free(l.items);
    refresh_gauges(m);
    /* Which DNS names trellis resolves may have changed with the instances. */
    if (m->engine != NULL)
        xds_engine_endpoints_changed(m->engine, NULL, NULL);
    return true;
}

void discovery_manager_provider_leaving(discovery_manager *m, const void *token)
{
    target_list l = {.provider = token};
    strmap_foreach(m->targets, collect_target, &l);
    for (size_t i = 0; i < l.count; i++)
        target_unwatch(m, l.items[i]);
    free(l.items);
    for (size_t i = 0; i < m->provider_count; i++) {
        if (m->providers[i].token == token) {
            free(m->providers[i].name);
            memmove(&m->providers[i], &m->providers[i + 1],
                    (m->provider_count - i - 1) * sizeof(*m->providers));
            m->provider_count--;
            break;
        }
    }
    refresh_gauges(m);
}

/* ---- views ---- */

void discovery_manager_get_stats(const discovery_manager *m, discovery_manager_stats *out)
{
    *out = m->stats;
}

typedef struct detail_part {
    char text[512];
    size_t len;
    size_t count;
} detail_part;

static void part_add(detail_part *p, const char *what, const char *why)
{
    if (p->len + 1 < sizeof(p->text)) {
        int n = snprintf(p->text + p->len, sizeof(p->text) - p->len, "%s%s%s%s",
                         p->count ? "; " : "", what, why ? ": " : "", why ? why : "");
        if (n > 0)
            p->len = p->len + (size_t)n < sizeof(p->text) ? p->len + (size_t)n : sizeof(p->text) - 1;
    }
    p->count++;
}

typedef struct detail_parts {
    detail_part failing, unserved;
} detail_parts;

static void describe_problem(const char *key, void *value, void *arg)
{
    (void)key;
    const target_state *t = value;
    detail_parts *d = arg;
    char what[DESCRIPTION_MAX];
    discovery_target_describe(t->spec, what, sizeof(what));
    if (t->failing)
        part_add(&d->failing, what, t->error);
    else if (t->provider == NULL)
        part_add(&d->unserved, what, NULL);
}

void discovery_manager_detail(const discovery_manager *m, char *out, size_t size)
{
    detail_parts d;
    memset(&d, 0, sizeof(d));
    strmap_foreach(m->targets, describe_problem, &d);
    if (size == 0)
        return;
    int n = 0;
    out[0] = '\0';
    if (d.failing.count > 0)
        n = snprintf(out, size, "%zu failing, serving their last endpoints: %s", d.failing.count,
                     d.failing.text);
    if (d.unserved.count > 0 && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, "%s%zu without a discovery plugin: %s",
                 n > 0 ? " | " : "", d.unserved.count, d.unserved.text);
}

static void dump_target(const char *key, void *value, void *arg)
{
    (void)key;
    const target_state *t = value;
    json_t *list = arg;
    char what[DESCRIPTION_MAX];
    discovery_target_describe(t->spec, what, sizeof(what));
    const provider_slot *p = provider_find(t->mgr, t->provider);
    json_t *nodes = json_array();
    for (size_t i = 0; i < t->node_count; i++)
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:b}", "mesh", t->nodes[i]->mesh,
                                               "virtualNode", t->nodes[i]->name, "needed",
                                               t->nodes[i]->demanded));
    json_t *endpoints = json_array();
    for (size_t i = 0; t->current != NULL && i < t->current->count; i++) {
        const compile_endpoint *e = &t->current->items[i];
        json_t *item = json_pack("{s:s, s:i}", "address", e->address, "port", (json_int_t)e->port);
        if (e->zone != NULL)
            json_object_set_new(item, "zone", json_string(e->zone));
        json_array_append_new(endpoints, item);
    }
    json_t *entry = json_pack("{s:s, s:o, s:b, s:b, s:o, s:o}", "target", what, "instance",
                              p ? json_string(p->name) : json_null(), "known", t->current != NULL,
                              "failing", t->failing, "nodes", nodes, "endpoints", endpoints);
    if (t->failing)
        json_object_set_new(entry, "error", json_string(t->error));
    json_array_append_new(list, entry);
}

static trellis_status debug_discovery(void *arg, const char *query, char **json_out,
                                      trellis_error *err)
{
    discovery_manager *m = arg;
    (void)query;
    json_t *targets = json_array();
    strmap_foreach(m->targets, dump_target, targets);
    char detail[1024];
    discovery_manager_detail(m, detail, sizeof(detail));
    json_t *doc = json_pack("{s:o, s:s}", "targets", targets, "detail", detail);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    if (text == NULL) {
        host_services.error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    *json_out = text; /* malloc'd, as host->alloc is */
    return TRELLIS_OK;
}

/* ---- life cycle ---- */

discovery_manager *discovery_manager_new(loop *lp, catalog *cat, xds_engine *engine,
                                         trellis_host_ctx *core_ctx, uint64_t idle_ms)
{
    discovery_manager *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->lp = lp;
    m->cat = cat;
    m->engine = engine;
    m->core_ctx = core_ctx;
    m->idle_ms = idle_ms;
    m->nodes = strmap_new();
    m->targets = strmap_new();
    m->sweep = loop_timer_new(lp, on_sweep, m);
    if (m->nodes == NULL || m->targets == NULL || m->sweep == NULL ||
        !catalog_subscribe(cat, on_catalog_change, m)) {
        strmap_free(m->nodes);
        strmap_free(m->targets);
        if (m->sweep != NULL)
            loop_timer_free(m->sweep);
        free(m);
        return NULL;
    }
    metrics_create(m);
    if (core_ctx != NULL &&
        host_services.debug_register(core_ctx, "discovery", debug_discovery, m) != TRELLIS_OK)
        log_core(TRELLIS_LOG_WARN, "debug_register_failed", "/debug/discovery is not available");
    if (engine != NULL) {
        xds_endpoint_source source = {discovery_manager_endpoints, discovery_manager_resolves_dns,
                                      discovery_manager_demand, m};
        xds_engine_set_endpoint_source(engine, &source);
    }
    return m;
}

void discovery_manager_free(discovery_manager *m)
{
    if (m == NULL)
        return;
    trellis_metric *metrics[] = {m->m_targets, m->m_failing, m->m_unserved, m->m_endpoints,
                                 m->m_changed, m->m_unchanged, m->m_failed};
    for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
        host_services.metric_free(metrics[i]);
    if (m->engine != NULL)
        xds_engine_set_endpoint_source(m->engine, NULL);
    catalog_unsubscribe(m->cat, on_catalog_change, m);
    node_list nodes = {0};
    strmap_foreach(m->nodes, collect_node, &nodes);
    for (size_t i = 0; i < nodes.count; i++)
        node_free(m, nodes.items[i]);
    free(nodes.items);
    target_list targets = {0};
    strmap_foreach(m->targets, collect_target, &targets); /* none left: every node had gone */
    for (size_t i = 0; i < targets.count; i++)
        target_free(m, targets.items[i]);
    free(targets.items);
    free_providers(m->providers, m->provider_count);
    strmap_free(m->nodes);
    strmap_free(m->targets);
    loop_timer_free(m->sweep);
    free(m);
}
