#include "xds_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_key.h"
#include "hex_digit.h"
#include "host.h"
#include "instance.h"
#include "log.h"
#include "node_id.h"
#include "snapshot.h"
#include "strmap.h"

typedef struct identity identity;

/* A node an identity's last compile asked the endpoint source about. */
typedef struct endpoint_use {
    char *node;
    char *node_key;              /* its catalog key: the "e:" and "n:" index keys */
    bool looked_up;              /* its endpoints were looked up (not only resolves_dns) */
} endpoint_use;

struct trellis_xds_watch {
    xds_engine *engine;
    identity *id;
    trellis_host_ctx *owner;
    trellis_xds_update_fn fn;
    void *arg;
    bool dead;                   /* unwatched while its identity was notifying */
    bool initial_pending;        /* first snapshot not delivered yet */
    trellis_xds_watch *prev, *next;                 /* in the identity */
    trellis_xds_watch *pending_prev, *pending_next; /* in engine->pending */
};

struct identity {
    xds_engine *engine;
    char *key;                   /* canonical + "#" + flavor: the identity map key */
    char canonical[NODE_ID_CANONICAL_MAX];
    resource_kind kind;
    char *mesh;
    char *name;
    trellis_xds_flavor flavor;
    xds_snapshot *snapshot;      /* current (one reference); NULL when it does not exist */
    compile_deps deps;
    endpoint_use *uses;          /* sorted by node */
    size_t use_count;
    trellis_xds_watch *watches;
    size_t watch_count;          /* live watches */
    unsigned notifying;          /* deliveries in progress (watch list must stay) */
    bool index_incomplete;       /* a dependency insertion failed: recompiled on every change */
    bool dirty;
    uint64_t dirty_since_ns;
    identity *next_dirty;
};

/* Identities depending on one key or prefix. */
typedef struct dep_bucket {
    identity **items;
    size_t count;
    size_t capacity;
} dep_bucket;

/* A snapshot object shared by every identity whose resources are identical. */
typedef struct shared_snapshot {
    xds_snapshot *snapshot;      /* borrowed: the users hold the references */
    unsigned users;
} shared_snapshot;

struct xds_engine {
    control_plane *cp;
    loop *lp;
    uint64_t coalesce_ms;
    xds_endpoint_source source;

    strmap *identities;          /* identity key -> identity */
    /* "k:<key>" / "p:<prefix>" -> dep_bucket of identities that read a
     * catalog key or prefix; "e:<node key>" -> identities that asked the
     * endpoint source about a node; "n:<node key>" -> those that looked its
     * endpoints up (the source's demand). */
    strmap *deps;
    strmap *shared;              /* snapshot digest -> shared_snapshot */
    identity *dirty;             /* to recompile when the timer fires */
    loop_timer *timer;
    bool timer_armed;

    trellis_xds_watch *pending;  /* watches waiting for their first snapshot */
    bool pending_scheduled;

    xds_engine_stats stats;
    size_t incomplete_indexes;   /* identities with index_incomplete */
};

/* ---- dependency index ---- */

static void bucket_key(char *out, size_t size, const char *tag, const char *text)
{
    snprintf(out, size, "%s%s", tag, text);
}

static bool bucket_add(xds_engine *e, const char *tag, const char *text, identity *id)
{
    char key[CATALOG_KEY_MAX + 4];
    bucket_key(key, sizeof(key), tag, text);
    dep_bucket *b = strmap_get(e->deps, key);
    if (b == NULL) {
        b = calloc(1, sizeof(*b));
        if (b == NULL || !strmap_put(e->deps, key, b)) {
            free(b);
            return false;
        }
    }
    if (b->count == b->capacity) {
        size_t capacity = b->capacity ? b->capacity * 2 : 4;
        identity **grown = realloc(b->items, capacity * sizeof(*grown));
        if (grown == NULL)
            return false;
        b->items = grown;
        b->capacity = capacity;
    }
    b->items[b->count++] = id;
    return true;
}

static void bucket_remove(xds_engine *e, const char *tag, const char *text, identity *id)
{
    char key[CATALOG_KEY_MAX + 4];
    bucket_key(key, sizeof(key), tag, text);
    dep_bucket *b = strmap_get(e->deps, key);
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->count; i++) {
        if (b->items[i] == id) {
            b->items[i] = b->items[--b->count];
            break;
        }
    }
    if (b->count == 0) {
        strmap_remove(e->deps, key);
        free(b->items);
        free(b);
    }
}

static void index_remove(xds_engine *e, identity *id)
{
    for (size_t i = 0; i < id->deps.key_count; i++)
        bucket_remove(e, "k:", id->deps.keys[i], id);
    for (size_t i = 0; i < id->deps.prefix_count; i++)
        bucket_remove(e, "p:", id->deps.prefixes[i], id);
}

static void set_index_incomplete(xds_engine *e, identity *id, bool incomplete)
{
    if (id->index_incomplete != incomplete)
        e->incomplete_indexes += incomplete ? 1 : (size_t)-1;
    id->index_incomplete = incomplete;
}

static bool same_strings(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0)
            return false;
    }
    return true;
}

/* Replaces the identity's dependencies, taking the contents of `deps`. If
 * an insertion fails (out of memory) the identity is recompiled on every
 * change until a later compile indexes it completely, so no change is missed. */
static void index_replace(xds_engine *e, identity *id, compile_deps *deps)
{
    bool same = same_strings(id->deps.keys, id->deps.key_count, deps->keys, deps->key_count) &&
                same_strings(id->deps.prefixes, id->deps.prefix_count, deps->prefixes,
                             deps->prefix_count);
    if (!same || id->index_incomplete) {
        index_remove(e, id);
        bool ok = true;
        for (size_t i = 0; i < deps->key_count; i++)
            ok = bucket_add(e, "k:", deps->keys[i], id) && ok;
        for (size_t i = 0; i < deps->prefix_count; i++)
            ok = bucket_add(e, "p:", deps->prefixes[i], id) && ok;
        if (!ok && !id->index_incomplete)
            log_core(TRELLIS_LOG_ERROR, "xds_index_failed",
                     "%s: out of memory indexing dependencies; recompiled on every change until indexed",
                     id->canonical);
        set_index_incomplete(e, id, !ok);
    }
    compile_deps_free(&id->deps);
    id->deps = *deps;
    memset(deps, 0, sizeof(*deps));
}

/* ---- endpoint uses ---- */

/* What one compile asked the endpoint source about, collected by the
 * callbacks the engine hands the compiler in place of the source's own. */
typedef struct endpoint_recorder {
    xds_engine *engine;
    endpoint_use *uses;
    size_t count, capacity;
    bool failed;
} endpoint_recorder;

static void record_use(endpoint_recorder *r, const char *node, bool looked_up)
{
    for (size_t i = 0; i < r->count; i++) {
        if (strcmp(r->uses[i].node, node) == 0) {
            r->uses[i].looked_up |= looked_up;
            return;
        }
    }
    if (r->count == r->capacity) {
        size_t capacity = r->capacity ? r->capacity * 2 : 8;
        endpoint_use *grown = realloc(r->uses, capacity * sizeof(*grown));
        if (grown == NULL) {
            r->failed = true;
            return;
        }
        r->uses = grown;
        r->capacity = capacity;
    }
    char *copy = strdup(node);
    if (copy == NULL) {
        r->failed = true;
        return;
    }
    r->uses[r->count++] = (endpoint_use){.node = copy, .looked_up = looked_up};
}

static bool recorded_endpoints(void *arg, const char *mesh, const char *node,
                               const compile_endpoint **endpoints, size_t *count)
{
    endpoint_recorder *r = arg;
    record_use(r, node, true);
    const xds_endpoint_source *s = &r->engine->source;
    return s->endpoints != NULL && s->endpoints(s->arg, mesh, node, endpoints, count);
}

static bool recorded_resolves_dns(void *arg, const char *mesh, const char *node,
                                  trellis_xds_flavor flavor)
{
    endpoint_recorder *r = arg;
    record_use(r, node, false);
    const xds_endpoint_source *s = &r->engine->source;
    return s->resolves_dns != NULL && s->resolves_dns(s->arg, mesh, node, flavor);
}

static void uses_free(endpoint_use *uses, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(uses[i].node);
        free(uses[i].node_key);
    }
    free(uses);
}

static int use_compare(const void *a, const void *b)
{
    return strcmp(((const endpoint_use *)a)->node, ((const endpoint_use *)b)->node);
}

/* Counts one more (or one less) identity looking a node's endpoints up, and
 * tells the source when the first one arrives or the last one leaves. */
static void demand_change(xds_engine *e, identity *id, const endpoint_use *u, bool add)
{
    char key[CATALOG_KEY_MAX + 4];
    bucket_key(key, sizeof(key), "n:", u->node_key);
    bool existed = strmap_get(e->deps, key) != NULL;
    if (add) {
        if (!bucket_add(e, "n:", u->node_key, id))
            log_core(TRELLIS_LOG_ERROR, "xds_index_failed",
                     "%s: out of memory recording the use of %s's endpoints", id->canonical,
                     u->node);
    } else {
        bucket_remove(e, "n:", u->node_key, id);
    }
    bool exists = strmap_get(e->deps, key) != NULL;
    if (existed != exists && e->source.demand != NULL)
        e->source.demand(e->source.arg, id->mesh, u->node, exists);
}

/* Replaces the identity's endpoint uses with what a compile recorded (taken
 * from the recorder). New uses are indexed before old ones are dropped, so a
 * node that stays in use never looks unused in between. */
static void uses_replace(xds_engine *e, identity *id, endpoint_recorder *r)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->count; i++) {
        char key[CATALOG_KEY_MAX];
        if (catalog_key_resource(key, sizeof(key), RESOURCE_VIRTUAL_NODE, id->mesh, NULL,
                                 r->uses[i].node) &&
            (r->uses[i].node_key = strdup(key)) != NULL) {
            r->uses[kept++] = r->uses[i];
        } else {
            free(r->uses[i].node);
            r->failed = true;
        }
    }
    r->count = kept;
    if (r->failed)
        log_core(TRELLIS_LOG_ERROR, "xds_index_failed",
                 "%s: out of memory recording endpoint uses; endpoint changes may be missed",
                 id->canonical);
    if (r->count > 1)
        qsort(r->uses, r->count, sizeof(*r->uses), use_compare);
    for (size_t i = 0; i < r->count; i++) {
        bucket_add(e, "e:", r->uses[i].node_key, id);
        if (r->uses[i].looked_up)
            demand_change(e, id, &r->uses[i], true);
    }
    for (size_t i = 0; i < id->use_count; i++) {
        bucket_remove(e, "e:", id->uses[i].node_key, id);
        if (id->uses[i].looked_up)
            demand_change(e, id, &id->uses[i], false);
    }
    uses_free(id->uses, id->use_count);
    id->uses = r->uses;
    id->use_count = r->count;
    r->uses = NULL;
    r->count = r->capacity = 0;
}

/* ---- shared snapshots ---- */

/* Makes `fresh` (one reference, passed in) the identity's snapshot, reusing
 * an identical shared object when there is one. */
static void set_snapshot(xds_engine *e, identity *id, xds_snapshot *fresh)
{
    const char *digest = xds_snapshot_digest(fresh);
    shared_snapshot *sh = strmap_get(e->shared, digest);
    if (sh != NULL) {
        xds_snapshot_unref(fresh);
        fresh = xds_snapshot_ref(sh->snapshot);
        sh->users++;
    } else {
        sh = calloc(1, sizeof(*sh));
        if (sh != NULL && strmap_put(e->shared, digest, sh)) {
            sh->snapshot = fresh;
            sh->users = 1;
        } else {
            free(sh); /* unshared, still correct */
        }
    }
    id->snapshot = fresh;
}

static void release_snapshot(xds_engine *e, identity *id)
{
    if (id->snapshot == NULL)
        return;
    const char *digest = xds_snapshot_digest(id->snapshot);
    shared_snapshot *sh = strmap_get(e->shared, digest);
    if (sh != NULL && sh->snapshot == id->snapshot && --sh->users == 0) {
        strmap_remove(e->shared, digest);
        free(sh);
    }
    xds_snapshot_unref(id->snapshot);
    id->snapshot = NULL;
}

/* ---- watches ---- */

static void unlink_pending(xds_engine *e, trellis_xds_watch *w)
{
    if (!w->initial_pending)
        return;
    if (w->pending_prev != NULL)
        w->pending_prev->pending_next = w->pending_next;
    else
        e->pending = w->pending_next;
    if (w->pending_next != NULL)
        w->pending_next->pending_prev = w->pending_prev;
    w->pending_prev = w->pending_next = NULL;
    w->initial_pending = false;
}

static void identity_free(xds_engine *e, identity *id)
{
    strmap_remove(e->identities, id->key);
    index_remove(e, id);
    set_index_incomplete(e, id, false);
    endpoint_recorder none = {.engine = e};
    uses_replace(e, id, &none);
    compile_deps_free(&id->deps);
    release_snapshot(e, id);
    /* Take it off the dirty list if it is there. */
    for (identity **link = &e->dirty; *link != NULL; link = &(*link)->next_dirty) {
        if (*link == id) {
            *link = id->next_dirty;
            break;
        }
    }
    free(id->key);
    free(id->mesh);
    free(id->name);
    free(id);
    e->stats.identities--;
}

static void free_watch(identity *id, trellis_xds_watch *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        id->watches = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    free(w);
}

/* Frees watches unwatched during a delivery, and the identity with its last one. */
static void sweep(identity *id)
{
    for (trellis_xds_watch *w = id->watches; w != NULL;) {
        trellis_xds_watch *next = w->next;
        if (w->dead)
            free_watch(id, w);
        w = next;
    }
    if (id->watches == NULL)
        identity_free(id->engine, id);
}

/* Delivers the identity's snapshot (NULL: gone) to every watch that has
 * already had its first one; the rest get theirs from the pending list. */
static void notify(identity *id)
{
    id->notifying++;
    for (trellis_xds_watch *w = id->watches; w != NULL; w = w->next) {
        if (!w->dead && !w->initial_pending)
            w->fn(w->arg, id->snapshot);
    }
    if (--id->notifying == 0)
        sweep(id);
}

static void deliver_pending(void *arg)
{
    xds_engine *e = arg;
    e->pending_scheduled = false;
    while (e->pending != NULL) {
        trellis_xds_watch *w = e->pending;
        unlink_pending(e, w);
        identity *id = w->id;
        id->notifying++;
        w->fn(w->arg, id->snapshot);
        if (--id->notifying == 0)
            sweep(id); /* the callback may have unwatched this watch or a sibling */
    }
}

/* ---- compiling and publishing ---- */

static void mark_dirty(identity *id, uint64_t since)
{
    if (id->dirty)
        return;
    id->dirty = true;
    id->dirty_since_ns = since;
    id->next_dirty = id->engine->dirty;
    id->engine->dirty = id;
}

/* Compiles one identity. Returns COMPILE_OK when it has a snapshot (changed
 * or not); `changed` tells whether watchers must hear about it. */
static compile_status recompile(xds_engine *e, identity *id, uint64_t changed_ns, bool *changed)
{
    endpoint_recorder recorder = {.engine = e};
    bool has_source = e->source.endpoints != NULL || e->source.resolves_dns != NULL;
    compile_source src = {
        .cat = e->cp->cat,
        .endpoints = has_source ? recorded_endpoints : NULL,
        .resolves_dns = has_source ? recorded_resolves_dns : NULL,
        .endpoints_arg = &recorder,
        .options = {.default_retry_policy = true, .default_circuit_breakers = true},
    };
    compile_identity cid = {.kind = id->kind, .mesh = id->mesh, .name = id->name,
                            .flavor = id->flavor};
    compile_output out = {0};
    compile_deps deps = {0};
    char message[256] = "";
    *changed = false;
    compile_status st = compiler_compile(&src, &cid, &out, &deps, message, sizeof(message));
    e->stats.compiles++;
    index_replace(e, id, &deps);
    compile_deps_free(&deps);
    uses_replace(e, id, &recorder);
    if (st == COMPILE_FAILED) {
        log_core(TRELLIS_LOG_ERROR, "compile_failed", "%s: %s; proxies keep their configuration",
                 id->canonical, message);
        compile_output_free(&out);
        return st;
    }
    if (st == COMPILE_NO_IDENTITY) {
        compile_output_free(&out);
        *changed = id->snapshot != NULL;
        release_snapshot(e, id);
        return st;
    }
    xds_snapshot *fresh = xds_snapshot_build(&out, changed_ns);
    compile_output_free(&out);
    if (fresh == NULL) {
        log_core(TRELLIS_LOG_ERROR, "snapshot_failed", "%s: out of memory building a snapshot",
                 id->canonical);
        return COMPILE_FAILED;
    }
    if (id->snapshot != NULL &&
        strcmp(xds_snapshot_digest(id->snapshot), xds_snapshot_digest(fresh)) == 0) {
        xds_snapshot_unref(fresh); /* this change did not touch its resources */
        return COMPILE_OK;
    }
    release_snapshot(e, id);
    set_snapshot(e, id, fresh);
    e->stats.snapshots_published++;
    *changed = true;
    return COMPILE_OK;
}

static void on_timer(void *arg)
{
    xds_engine *e = arg;
    e->timer_armed = false;
    /* Watchers may unwatch (and free identities) during delivery: detach
     * the list first and deliver only to identities still present. */
    identity *list = e->dirty;
    e->dirty = NULL;
    identity *to_notify = NULL;
    while (list != NULL) {
        identity *id = list;
        list = id->next_dirty;
        id->dirty = false;
        id->next_dirty = NULL;
        bool changed = false;
        recompile(e, id, id->dirty_since_ns, &changed);
        if (changed) {
            id->next_dirty = to_notify; /* reuse the link; dirty stays false */
            to_notify = id;
            id->notifying++;            /* keeps it alive until notified */
        }
    }
    while (to_notify != NULL) {
        identity *id = to_notify;
        to_notify = id->next_dirty;
        id->next_dirty = NULL;
        id->notifying--;
        notify(id);
    }
}

static void schedule(xds_engine *e)
{
    if (e->timer_armed || e->dirty == NULL)
        return;
    e->timer_armed = true;
    loop_timer_start(e->timer, e->coalesce_ms, false);
}

/* ---- catalog changes ---- */

static void mark_bucket(xds_engine *e, const char *tag, const char *text, uint64_t since)
{
    char key[CATALOG_KEY_MAX + 4];
    bucket_key(key, sizeof(key), tag, text);
    dep_bucket *b = strmap_get(e->deps, key);
    for (size_t i = 0; b != NULL && i < b->count; i++)
        mark_dirty(b->items[i], since);
}

static void mark_every_identity(const char *key, void *value, void *arg)
{
    (void)key;
    mark_dirty(value, *(const uint64_t *)arg);
}

static void mark_unindexed_identity(const char *key, void *value, void *arg)
{
    identity *id = value;
    (void)key;
    if (id->index_incomplete)
        mark_dirty(id, *(const uint64_t *)arg);
}

static void on_catalog_change(void *arg, uint64_t revision, const catalog_change *changes,
                              size_t change_count)
{
    xds_engine *e = arg;
    (void)revision;
    uint64_t since = host_services.monotonic_ns();
    if (change_count == 0) /* a full reload: anything may have changed */
        strmap_foreach(e->identities, mark_every_identity, &since);
    else if (e->incomplete_indexes > 0)
        strmap_foreach(e->identities, mark_unindexed_identity, &since);
    for (size_t i = 0; i < change_count; i++) {
        const char *key = changes[i].key;
        if (changes[i].kind == RESOURCE_SYSTEM)
            continue;
        mark_bucket(e, "k:", key, since);
        /* dependency prefixes end in '/' (compile_deps): only those can match */
        char prefix[CATALOG_KEY_MAX];
        size_t len = strlen(key);
        for (size_t n = 1; n <= len && n < sizeof(prefix); n++) {
            if (key[n - 1] != '/')
                continue;
            memcpy(prefix, key, n);
            prefix[n] = '\0';
            mark_bucket(e, "p:", prefix, since);
        }
    }
    schedule(e);
}

/* ---- the engine ---- */

xds_engine *xds_engine_new(control_plane *cp, loop *lp, uint64_t coalesce_ms)
{
    xds_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->cp = cp;
    e->lp = lp;
    e->coalesce_ms = coalesce_ms;
    e->identities = strmap_new();
    e->deps = strmap_new();
    e->shared = strmap_new();
    e->timer = loop_timer_new(lp, on_timer, e);
    if (e->identities == NULL || e->deps == NULL || e->shared == NULL || e->timer == NULL ||
        !catalog_subscribe(cp->cat, on_catalog_change, e)) {
        xds_engine_free(e);
        return NULL;
    }
    return e;
}

static void free_identity_entry(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    identity *id = value;
    for (trellis_xds_watch *w = id->watches; w != NULL;) {
        trellis_xds_watch *next = w->next;
        free(w);
        w = next;
    }
    compile_deps_free(&id->deps);
    uses_free(id->uses, id->use_count);
    xds_snapshot_unref(id->snapshot);
    free(id->key);
    free(id->mesh);
    free(id->name);
    free(id);
}

static void free_bucket(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    dep_bucket *b = value;
    free(b->items);
    free(b);
}

static void free_shared(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    free(value);
}

void xds_engine_free(xds_engine *e)
{
    if (e == NULL)
        return;
    if (e->cp != NULL && e->cp->cat != NULL)
        catalog_unsubscribe(e->cp->cat, on_catalog_change, e);
    if (e->identities != NULL)
        strmap_foreach(e->identities, free_identity_entry, NULL);
    if (e->deps != NULL)
        strmap_foreach(e->deps, free_bucket, NULL);
    if (e->shared != NULL)
        strmap_foreach(e->shared, free_shared, NULL);
    strmap_free(e->identities);
    strmap_free(e->deps);
    strmap_free(e->shared);
    loop_cancel_owner(e->lp, e);
    loop_timer_free(e->timer);
    free(e);
}

void xds_engine_set_endpoint_source(xds_engine *engine, const xds_endpoint_source *source)
{
    if (source != NULL)
        engine->source = *source;
    else
        memset(&engine->source, 0, sizeof(engine->source));
}

typedef struct endpoint_mark {
    const char *mesh;            /* NULL: every mesh */
    uint64_t since;
} endpoint_mark;

static void mark_endpoint_users(const char *key, void *value, void *arg)
{
    (void)key;
    identity *id = value;
    const endpoint_mark *m = arg;
    if (id->use_count > 0 && (m->mesh == NULL || strcmp(id->mesh, m->mesh) == 0))
        mark_dirty(id, m->since);
}

void xds_engine_endpoints_changed(xds_engine *engine, const char *mesh, const char *node)
{
    uint64_t since = host_services.monotonic_ns();
    char key[CATALOG_KEY_MAX];
    if (mesh != NULL && node != NULL) {
        if (catalog_key_resource(key, sizeof(key), RESOURCE_VIRTUAL_NODE, mesh, NULL, node))
            mark_bucket(engine, "e:", key, since);
    } else {
        endpoint_mark m = {mesh, since};
        strmap_foreach(engine->identities, mark_endpoint_users, &m);
    }
    schedule(engine);
}

/* Resolves a node id to an existing identity; status and message otherwise. */
static trellis_status resolve_node(xds_engine *e, const char *node_id, node_identity *nid,
                                   char *message, size_t message_size)
{
    if (!node_id_parse(node_id, nid, message, message_size))
        return TRELLIS_ERR_INVALID;
    const control_plane_settings *s = &e->cp->settings;
    if ((nid->owner[0] != '\0' && strcmp(nid->owner, s->account_id) != 0) ||
        (nid->region[0] != '\0' && strcmp(nid->region, s->region) != 0)) {
        snprintf(message, message_size,
                 "mesh '%s' of account %s in %s not found (this control plane serves account "
                 "%s in %s)",
                 nid->mesh, nid->owner[0] ? nid->owner : s->account_id,
                 nid->region[0] ? nid->region : s->region, s->account_id, s->region);
        return TRELLIS_ERR_NOT_FOUND;
    }
    if (catalog_get_resource(e->cp->cat, RESOURCE_MESH, NULL, NULL, nid->mesh) == NULL) {
        snprintf(message, message_size, "mesh '%s' not found", nid->mesh);
        return TRELLIS_ERR_NOT_FOUND;
    }
    if (catalog_get_resource(e->cp->cat, nid->kind, nid->mesh, NULL, nid->name) == NULL) {
        snprintf(message, message_size, "%s '%s' not found in mesh '%s'",
                 resource_kind_get(nid->kind)->display_name, nid->name, nid->mesh);
        return TRELLIS_ERR_NOT_FOUND;
    }
    return TRELLIS_OK;
}

static identity *identity_get(xds_engine *e, const node_identity *nid, trellis_xds_flavor flavor,
                              trellis_status *status, char *message, size_t message_size)
{
    char canonical[NODE_ID_CANONICAL_MAX];
    char key[NODE_ID_CANONICAL_MAX + 16];
    node_id_canonical(nid, canonical, sizeof(canonical));
    snprintf(key, sizeof(key), "%s#%d", canonical, (int)flavor);
    identity *id = strmap_get(e->identities, key);
    if (id != NULL)
        return id;
    id = calloc(1, sizeof(*id));
    if (id == NULL || (id->key = strdup(key)) == NULL || (id->mesh = strdup(nid->mesh)) == NULL ||
        (id->name = strdup(nid->name)) == NULL || !strmap_put(e->identities, key, id)) {
        if (id != NULL) {
            free(id->key);
            free(id->mesh);
            free(id->name);
            free(id);
        }
        *status = TRELLIS_ERR_NOMEM;
        snprintf(message, message_size, "out of memory");
        return NULL;
    }
    id->engine = e;
    snprintf(id->canonical, sizeof(id->canonical), "%s", canonical);
    id->kind = nid->kind;
    id->flavor = flavor;
    e->stats.identities++;
    bool changed;
    compile_status cs = recompile(e, id, 0, &changed);
    if (cs != COMPILE_OK) {
        *status = cs == COMPILE_NO_IDENTITY ? TRELLIS_ERR_NOT_FOUND : TRELLIS_ERR;
        snprintf(message, message_size, cs == COMPILE_NO_IDENTITY ? "%s not found"
                                                                   : "%s: compiling its configuration failed",
                 canonical);
        identity_free(e, id);
        return NULL;
    }
    return id;
}

trellis_status xds_engine_watch(xds_engine *e, trellis_host_ctx *owner, const char *node_id,
                                uint32_t flavor, trellis_xds_update_fn fn, void *arg,
                                trellis_xds_watch **watch_out, trellis_error *err)
{
    char message[600];
    if (watch_out == NULL || fn == NULL ||
        (flavor != TRELLIS_XDS_SIDECAR && flavor != TRELLIS_XDS_PROXYLESS)) {
        host_services.error_set(err, NULL, "xds_watch: invalid arguments");
        return TRELLIS_ERR_INVALID;
    }
    if (!e->cp->ready) {
        host_services.error_set(err, NULL, "the catalog is not loaded yet: %s",
                                e->cp->not_ready_reason);
        return TRELLIS_ERR_UNAVAILABLE;
    }
    node_identity nid;
    trellis_status st = resolve_node(e, node_id, &nid, message, sizeof(message));
    if (st != TRELLIS_OK) {
        host_services.error_set(err, NULL, "%s", message);
        return st;
    }
    if (nid.kind == RESOURCE_VIRTUAL_GATEWAY)
        flavor = TRELLIS_XDS_SIDECAR; /* gateways are Envoys */
    identity *id = identity_get(e, &nid, (trellis_xds_flavor)flavor, &st, message, sizeof(message));
    if (id == NULL) {
        host_services.error_set(err, NULL, "%s", message);
        return st;
    }
    trellis_xds_watch *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        if (id->watches == NULL)
            identity_free(e, id);
        host_services.error_set(err, NULL, "out of memory");
        return TRELLIS_ERR_NOMEM;
    }
    *w = (trellis_xds_watch){.engine = e, .id = id, .owner = owner, .fn = fn, .arg = arg,
                             .initial_pending = true};
    w->next = id->watches;
    if (id->watches != NULL)
        id->watches->prev = w;
    id->watches = w;
    id->watch_count++;
    e->stats.watches++;
    w->pending_next = e->pending;
    if (e->pending != NULL)
        e->pending->pending_prev = w;
    e->pending = w;
    if (!e->pending_scheduled && loop_defer(e->lp, e, deliver_pending, e) == 0)
        e->pending_scheduled = true;
    *watch_out = w;
    return TRELLIS_OK;
}

void xds_engine_unwatch(trellis_xds_watch *w)
{
    if (w == NULL || w->dead)
        return;
    xds_engine *e = w->engine;
    identity *id = w->id;
    unlink_pending(e, w);
    w->dead = true;
    id->watch_count--;
    e->stats.watches--;
    if (id->notifying > 0)
        return; /* freed by the delivery's sweep */
    free_watch(id, w);
    if (id->watches == NULL)
        identity_free(e, id);
}

const char *xds_engine_watch_identity(const trellis_xds_watch *watch)
{
    return watch ? watch->id->canonical : "";
}

typedef struct owner_release {
    const trellis_host_ctx *owner;
    trellis_xds_watch *found[64];
    size_t count;
} owner_release;

static void collect_owner_watches(const char *key, void *value, void *arg)
{
    (void)key;
    owner_release *r = arg;
    for (trellis_xds_watch *w = ((identity *)value)->watches; w != NULL; w = w->next) {
        if (w->owner == r->owner && !w->dead && r->count < 64)
            r->found[r->count++] = w;
    }
}

void xds_engine_release_owner(xds_engine *e, const trellis_host_ctx *owner)
{
    /* Collect in rounds: unwatching may free identities (map changes). */
    for (;;) {
        owner_release r = {.owner = owner};
        strmap_foreach(e->identities, collect_owner_watches, &r);
        if (r.count == 0)
            return;
        for (size_t i = 0; i < r.count; i++)
            xds_engine_unwatch(r.found[i]);
    }
}

void xds_engine_get_stats(const xds_engine *e, xds_engine_stats *out)
{
    *out = e->stats;
    out->shared_snapshots = strmap_count(e->shared);
}

/* ---- config dump ---- */

/* The percent-decoded value of `name` in a query string; false if absent or
 * malformed. */
static bool query_value(const char *query, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    for (const char *p = query; p != NULL && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t o = 0;
            for (size_t i = name_len + 1; i < len; i++) {
                char c = p[i];
                if (c == '%') {
                    int hi = i + 2 < len ? hex_digit_value(p[i + 1]) : -1;
                    int lo = hi >= 0 ? hex_digit_value(p[i + 2]) : -1;
                    if (lo < 0)
                        return false;
                    c = (char)(hi * 16 + lo);
                    i += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (c == '\0' || o + 1 >= size)
                    return false;
                out[o++] = c;
            }
            out[o] = '\0';
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* One section of the dump, in Envoy's admin format. */
static json_t *dump_section(trellis_xds_type type, const compile_output *out, const xds_snapshot *s)
{
    static const char *const dump_types[TRELLIS_XDS_TYPE_COUNT] = {
        "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
        "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
        "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
        "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
        "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
    };
    static const char *const list_names[TRELLIS_XDS_TYPE_COUNT] = {
        "dynamic_listeners", "dynamic_route_configs", "dynamic_active_clusters",
        "dynamic_endpoint_configs", "dynamic_active_secrets"};
    static const char *const item_names[TRELLIS_XDS_TYPE_COUNT] = {
        "listener", "route_config", "cluster", "endpoint_config", "secret"};
    const char *version = xds_snapshot_version(s, type);
    json_t *section = json_pack("{s:s}", "@type", dump_types[type]);
    json_t *list = json_array();
    for (size_t i = 0; i < xds_snapshot_count(s, type); i++) {
        const trellis_xds_resource *r = xds_snapshot_at(s, type, i);
        json_t *resource = json_deep_copy(json_object_get(out->resources[type], r->name));
        json_t *typed = json_pack("{s:s}", "@type", compiler_type_url(type));
        json_object_update(typed, resource);
        json_decref(resource);
        json_t *item;
        if (type == TRELLIS_XDS_LISTENER) {
            item = json_pack("{s:s, s:{s:s, s:o}}", "name", r->name, "active_state",
                             "version_info", version, item_names[type], typed);
        } else if (type == TRELLIS_XDS_SECRET) {
            item = json_pack("{s:s, s:s, s:o}", "name", r->name, "version_info", version,
                             item_names[type], typed);
        } else {
            item = json_pack("{s:s, s:o}", "version_info", version, item_names[type], typed);
        }
        json_array_append_new(list, item);
    }
    if (type == TRELLIS_XDS_LISTENER || type == TRELLIS_XDS_CLUSTER)
        json_object_set_new(section, "version_info", json_string(version));
    json_object_set_new(section, list_names[type], list);
    return section;
}

char *xds_engine_config_dump(xds_engine *e, const char *query, trellis_status *status,
                             char *message, size_t message_size)
{
    char node_id[2 * NODE_ID_CANONICAL_MAX], flavor_text[32] = "sidecar";
    if (!query_value(query, "node", node_id, sizeof(node_id))) {
        *status = TRELLIS_ERR_INVALID;
        snprintf(message, message_size, "give the proxy as ?node=<node id>[&flavor=proxyless]");
        return NULL;
    }
    query_value(query, "flavor", flavor_text, sizeof(flavor_text));
    trellis_xds_flavor flavor;
    if (strcmp(flavor_text, "sidecar") == 0) {
        flavor = TRELLIS_XDS_SIDECAR;
    } else if (strcmp(flavor_text, "proxyless") == 0) {
        flavor = TRELLIS_XDS_PROXYLESS;
    } else {
        *status = TRELLIS_ERR_INVALID;
        snprintf(message, message_size, "flavor must be sidecar or proxyless");
        return NULL;
    }
    if (!e->cp->ready) {
        *status = TRELLIS_ERR_UNAVAILABLE;
        snprintf(message, message_size, "the catalog is not loaded yet");
        return NULL;
    }
    node_identity nid;
    *status = resolve_node(e, node_id, &nid, message, message_size);
    if (*status != TRELLIS_OK)
        return NULL;
    compile_source src = {
        .cat = e->cp->cat,
        .endpoints = e->source.endpoints,
        .resolves_dns = e->source.resolves_dns,
        .endpoints_arg = e->source.arg,
        .options = {.default_retry_policy = true, .default_circuit_breakers = true},
    };
    compile_identity cid = {.kind = nid.kind, .mesh = nid.mesh, .name = nid.name,
                            .flavor = nid.kind == RESOURCE_VIRTUAL_GATEWAY ? TRELLIS_XDS_SIDECAR : flavor};
    compile_output out = {0};
    compile_deps deps = {0};
    compile_status cs = compiler_compile(&src, &cid, &out, &deps, message, message_size);
    compile_deps_free(&deps);
    xds_snapshot *s = cs == COMPILE_OK ? xds_snapshot_build(&out, 0) : NULL;
    char *text = NULL;
    if (s != NULL) {
        json_t *configs = json_array();
        for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++)
            json_array_append_new(configs, dump_section((trellis_xds_type)t, &out, s));
        json_t *dump = json_pack("{s:o}", "configs", configs);
        text = dump ? json_dumps(dump, JSON_INDENT(2)) : NULL;
        json_decref(dump);
        xds_snapshot_unref(s);
    }
    compile_output_free(&out);
    if (text == NULL) {
        *status = cs == COMPILE_NO_IDENTITY ? TRELLIS_ERR_NOT_FOUND : TRELLIS_ERR;
        if (cs == COMPILE_OK)
            snprintf(message, message_size, "out of memory");
        return NULL;
    }
    *status = TRELLIS_OK;
    return text;
}
