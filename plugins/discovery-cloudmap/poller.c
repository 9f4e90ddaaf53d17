#include "poller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery_watch.h"

#define ERROR_MAX 300

typedef struct cm_service cm_service;
typedef struct cm_query cm_query;

/* One attribute filter of a service: one DiscoverInstances per cycle. */
struct cm_query {
    cm_service *service;
    trellis_discovery_attribute *attributes; /* owned, in the target's order */
    size_t attribute_count;
    cloudmap_instance_list instances;
    bool known;                     /* instances hold a successful answer */
    bool failed;                    /* this cycle's call failed */
    trellis_status status;
    char error[ERROR_MAX];
    cloudmap_pending *pending;
    bool dead;                      /* no watch left; freed when its call returns */
    trellis_discovery_watch *watches;
    cm_query *next;
};

struct cm_service {
    cloudmap_poller *poller;
    char *namespace_name;
    char *service_name;
    cm_query *queries;
    trellis_timer *timer;
    cloudmap_pending *revision_call;
    bool in_cycle;
    bool full_cycle;                /* this cycle asks DiscoverInstances */
    bool revision_failed;
    trellis_status status;          /* of the last failed cycle */
    char error[ERROR_MAX];          /* what failed in the last failed cycle */
    trellis_status cycle_status;
    char cycle_error[ERROR_MAX];    /* the first failure of the cycle under way */
    int64_t revision;               /* as of the last complete DiscoverInstances round */
    bool revision_known;
    int64_t cycle_revision;
    uint64_t last_full_ns;
    size_t outstanding;             /* DiscoverInstances calls in flight */
    unsigned failures;              /* consecutive failed cycles */
    bool failing;
    unsigned busy;                  /* > 0 while delivering: structure stays */
    bool sweep;                     /* something died while busy */
    cm_service *next;
};

struct cloudmap_poller {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    cloudmap_client *client;
    cloudmap_settings settings;
    char *zone_attribute;
    cm_service *services;
    uint64_t rng;
    cloudmap_health_fn on_health;
    void *health_arg;
    cloudmap_poller_stats stats;
};

static void service_schedule(cm_service *s, uint64_t delay_ms);
static void on_service_timer(void *arg);

/* What a watch follows: its service's query of its attribute filter. */
static cm_query *watch_query(const trellis_discovery_watch *w)
{
    return w->source;
}

/* ---- small helpers ---- */

static uint64_t next_random(cloudmap_poller *p)
{
    /* xorshift64*: spreading poll times, not secrets. */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return p->rng * 2685821657736338717ull;
}

static uint64_t jittered(cloudmap_poller *p, uint64_t delay_ms)
{
    if (delay_ms == 0 || p->settings.jitter <= 0)
        return delay_ms;
    double u = (double)(next_random(p) >> 11) / 9007199254740992.0; /* [0, 1) */
    double factor = 1.0 + p->settings.jitter * (2.0 * u - 1.0);
    uint64_t out = (uint64_t)((double)delay_ms * factor);
    return out > 0 ? out : 1;
}

static bool same_attributes(const cm_query *q, const trellis_discovery_target *t)
{
    if (q->attribute_count != t->attribute_count)
        return false;
    for (size_t i = 0; i < q->attribute_count; i++) {
        if (strcmp(q->attributes[i].key, t->attributes[i].key) != 0 ||
            strcmp(q->attributes[i].value, t->attributes[i].value ? t->attributes[i].value : "") != 0)
            return false;
    }
    return true;
}

/* ---- delivering ---- */

/* Gives a watch its filter's endpoints if they differ from what it has. */
static void deliver_set(trellis_discovery_watch *w)
{
    const cm_query *q = watch_query(w);
    trellis_endpoint *eps = malloc((q->instances.count ? q->instances.count : 1) * sizeof(*eps));
    if (eps == NULL)
        return;
    size_t n = cloudmap_select_endpoints(&q->instances, w->ip_preference, w->default_port, eps);
    discovery_watch_deliver(w, eps, n);
    free(eps);
}

static void deliver_failure(trellis_discovery_watch *w, trellis_status status, const char *error)
{
    w->update(w->arg, status, NULL, 0, error);
}

/* ---- freeing ---- */

static void query_free(cloudmap_poller *p, cm_query *q)
{
    if (q->pending != NULL)
        cloudmap_client_cancel(q->pending);
    p->stats.watches -= discovery_watches_free(p->host, &q->watches);
    for (size_t i = 0; i < q->attribute_count; i++) {
        free((char *)q->attributes[i].key);
        free((char *)q->attributes[i].value);
    }
    free(q->attributes);
    cloudmap_instance_list_free(&q->instances);
    free(q);
}

static void query_unlink(cm_service *s, cm_query *q)
{
    for (cm_query **link = &s->queries; *link != NULL; link = &(*link)->next) {
        if (*link == q) {
            *link = q->next;
            return;
        }
    }
}

static void service_free(cm_service *s)
{
    cloudmap_poller *p = s->poller;
    for (cm_service **link = &p->services; *link != NULL; link = &(*link)->next) {
        if (*link == s) {
            *link = s->next;
            break;
        }
    }
    if (s->revision_call != NULL)
        cloudmap_client_cancel(s->revision_call);
    while (s->queries != NULL) {
        cm_query *q = s->queries;
        s->queries = q->next;
        query_free(p, q);
    }
    if (s->timer != NULL)
        p->host->timer_free(s->timer);
    bool was_failing = s->failing;
    free(s->namespace_name);
    free(s->service_name);
    free(s);
    p->stats.services--;
    if (was_failing) {
        p->stats.failing--;
        if (p->on_health != NULL)
            p->on_health(p->health_arg);
    }
}

/* Frees dead watches, queries left without watches (once their call is
 * back), and the service when nothing is left. True if it freed the service. */
static bool service_sweep(cm_service *s)
{
    cloudmap_poller *p = s->poller;
    if (s->busy > 0) {
        s->sweep = true;
        return false;
    }
    s->sweep = false;
    bool live_query = false;
    for (cm_query **qlink = &s->queries; *qlink != NULL;) {
        cm_query *q = *qlink;
        discovery_watches_sweep(p->host, &q->watches);
        if (q->watches == NULL && q->pending == NULL) {
            *qlink = q->next;
            query_free(p, q);
            continue;
        }
        if (q->watches == NULL)
            q->dead = true;
        else
            live_query = true;
        qlink = &q->next;
    }
    if (!live_query) {
        service_free(s);
        return true;
    }
    return false;
}

/* ---- the cycle ---- */

static void set_failing(cm_service *s, bool failing)
{
    cloudmap_poller *p = s->poller;
    if (s->failing == failing)
        return;
    s->failing = failing;
    if (failing) {
        p->stats.failing++;
        p->host->log(p->ctx, TRELLIS_LOG_WARN, "cloudmap_failing",
                     "%s/%s: %s; watches keep their last endpoints", s->namespace_name,
                     s->service_name, s->error);
    } else {
        p->stats.failing--;
        p->host->log(p->ctx, TRELLIS_LOG_INFO, "cloudmap_recovered", "%s/%s: answering again",
                     s->namespace_name, s->service_name);
    }
    if (p->on_health != NULL)
        p->on_health(p->health_arg);
}

/* The first failure of a cycle names the service's error. */
/* Why cloudmap_client_call did not send a request. */
static const char *send_failure(trellis_status status)
{
    switch (status) {
    case TRELLIS_ERR_LIMIT:
        return "too many requests queued";
    case TRELLIS_ERR_NOMEM:
        return "out of memory";
    default:
        return "the request could not be signed";
    }
}

static void note_error(cm_service *s, trellis_status status, const char *error)
{
    if (s->cycle_error[0] == '\0') {
        s->cycle_status = status;
        snprintf(s->cycle_error, sizeof(s->cycle_error), "%s", error ? error : "failed");
    }
}

static void cycle_end(cm_service *s)
{
    cloudmap_poller *p = s->poller;
    s->in_cycle = false;
    p->stats.cycles++;
    bool failed = s->revision_failed;
    bool unknown = false;
    for (cm_query *q = s->queries; q != NULL; q = q->next) {
        if (!q->dead) {
            failed = failed || q->failed;
            unknown = unknown || !q->known;
        }
    }
    s->busy++;
    if (failed) {
        s->failures++;
        s->status = s->cycle_status;
        snprintf(s->error, sizeof(s->error), "%s", s->cycle_error);
        set_failing(s, true);
        for (cm_query *q = s->queries; q != NULL; q = q->next) {
            if (q->dead || !(s->revision_failed || q->failed))
                continue;
            for (trellis_discovery_watch *w = q->watches; w != NULL; w = w->next) {
                if (!w->dead)
                    deliver_failure(w, s->revision_failed ? s->status : q->status,
                                    s->revision_failed ? s->error : q->error);
            }
        }
    } else {
        if (s->full_cycle) {
            s->revision = s->cycle_revision;
            s->revision_known = true;
            s->last_full_ns = p->host->monotonic_ns();
        }
        s->failures = 0;
        s->error[0] = '\0';
        set_failing(s, false);
    }
    s->full_cycle = false;
    s->busy--;
    if (service_sweep(s))
        return;
    uint64_t delay = p->settings.poll_interval_ms;
    if (failed) {
        for (unsigned i = 1; i < s->failures && delay < p->settings.backoff_max_ms; i++)
            delay *= 2;
        if (delay > p->settings.backoff_max_ms)
            delay = p->settings.backoff_max_ms;
    } else if (unknown) {
        delay = 0; /* a filter joined during the cycle */
    }
    service_schedule(s, jittered(p, delay));
}

/* Ends the cycle when its last call is back; else sweeps what died. */
static void after_call(cm_service *s)
{
    if (s->in_cycle && s->outstanding == 0 && s->revision_call == NULL)
        cycle_end(s);
    else if (s->sweep)
        service_sweep(s);
}

static void on_instances(void *arg, trellis_status status, const char *body, size_t len,
                         const char *error)
{
    cm_query *q = arg;
    cm_service *s = q->service;
    cloudmap_poller *p = s->poller;
    q->pending = NULL;
    s->outstanding--;
    if (q->dead) {
        query_unlink(s, q);
        query_free(p, q);
    } else if (status != TRELLIS_OK) {
        p->stats.errors++;
        q->failed = true;
        q->status = status;
        snprintf(q->error, sizeof(q->error), "DiscoverInstances: %.260s", error ? error : "failed");
        note_error(s, status, q->error);
    } else {
        cloudmap_instance_list fresh;
        char why[ERROR_MAX];
        if (!cloudmap_parse_instances(body, len, q->attributes, q->attribute_count,
                                      p->settings.health, p->zone_attribute, &fresh, why,
                                      sizeof(why))) {
            p->stats.errors++;
            q->failed = true;
            q->status = TRELLIS_ERR_UNAVAILABLE;
            snprintf(q->error, sizeof(q->error), "DiscoverInstances: %.260s", why);
            note_error(s, q->status, q->error);
        } else {
            cloudmap_instance_list_free(&q->instances);
            q->instances = fresh;
            q->known = true;
            s->busy++;
            for (trellis_discovery_watch *w = q->watches; w != NULL; w = w->next) {
                if (!w->dead)
                    deliver_set(w);
            }
            s->busy--;
        }
    }
    after_call(s);
}

static void send_discover(cm_service *s, cm_query *q)
{
    cloudmap_poller *p = s->poller;
    q->failed = false;
    /* Every instance, whatever its health: the health rule is applied here,
     * exactly as documented, whatever the registry makes of HealthStatus
     * (moto decides HEALTHY_OR_ELSE_ALL over the whole service, not over the
     * instances the attributes select). */
    char *body = cloudmap_discover_instances_body(s->namespace_name, s->service_name, q->attributes,
                                                  q->attribute_count, CLOUDMAP_HEALTH_ALL,
                                                  p->settings.max_results);
    trellis_status st = body == NULL ? TRELLIS_ERR_NOMEM
                                     : cloudmap_client_call(p->client, "DiscoverInstances", body,
                                                            on_instances, q, &q->pending);
    free(body);
    p->stats.discover_calls++;
    if (st == TRELLIS_OK) {
        s->outstanding++;
        return;
    }
    q->pending = NULL;
    q->failed = true;
    q->status = TRELLIS_ERR_UNAVAILABLE;
    snprintf(q->error, sizeof(q->error), "DiscoverInstances not sent: %s", send_failure(st));
    note_error(s, q->status, q->error);
}

static void on_revision(void *arg, trellis_status status, const char *body, size_t len,
                        const char *error)
{
    cm_service *s = arg;
    cloudmap_poller *p = s->poller;
    s->revision_call = NULL;
    char why[ERROR_MAX];
    int64_t revision = 0;
    if (status == TRELLIS_OK && !cloudmap_parse_revision(body, len, &revision, why, sizeof(why))) {
        status = TRELLIS_ERR_UNAVAILABLE;
        error = why;
    }
    if (status != TRELLIS_OK) {
        p->stats.errors++;
        s->revision_failed = true;
        char text[ERROR_MAX];
        snprintf(text, sizeof(text), "DiscoverInstancesRevision: %.260s", error ? error : "failed");
        note_error(s, status, text);
        after_call(s);
        return;
    }
    s->cycle_revision = revision;
    bool any_unknown = false;
    for (cm_query *q = s->queries; q != NULL; q = q->next)
        any_unknown = any_unknown || (!q->dead && !q->known);
    uint64_t now = p->host->monotonic_ns();
    s->full_cycle = !s->revision_known || revision != s->revision || any_unknown ||
                    now - s->last_full_ns >= p->settings.refresh_interval_ms * 1000000ull;
    if (s->full_cycle) {
        for (cm_query *q = s->queries; q != NULL; q = q->next) {
            if (!q->dead && q->pending == NULL)
                send_discover(s, q);
        }
    }
    after_call(s);
}

static void service_start_cycle(cm_service *s)
{
    cloudmap_poller *p = s->poller;
    s->in_cycle = true;
    s->revision_failed = false;
    s->full_cycle = false;
    s->cycle_error[0] = '\0';
    for (cm_query *q = s->queries; q != NULL; q = q->next)
        q->failed = false;
    char *body = cloudmap_revision_body(s->namespace_name, s->service_name);
    trellis_status st = body == NULL ? TRELLIS_ERR_NOMEM
                                     : cloudmap_client_call(p->client, "DiscoverInstancesRevision",
                                                            body, on_revision, s, &s->revision_call);
    free(body);
    p->stats.revision_calls++;
    if (st != TRELLIS_OK) {
        s->revision_call = NULL;
        s->revision_failed = true;
        char why[128];
        snprintf(why, sizeof(why), "DiscoverInstancesRevision not sent: %s", send_failure(st));
        note_error(s, TRELLIS_ERR_UNAVAILABLE, why);
        cycle_end(s);
    }
}

static void on_service_timer(void *arg)
{
    cm_service *s = arg;
    if (!s->in_cycle)
        service_start_cycle(s);
}

static void service_schedule(cm_service *s, uint64_t delay_ms)
{
    s->poller->host->timer_start(s->timer, delay_ms, false);
}

/* ---- watches ---- */

static void on_first(void *arg)
{
    trellis_discovery_watch *w = arg;
    cm_query *q = watch_query(w);
    cm_service *s = q->service;
    if (w->dead)
        return;
    s->busy++;
    if (q->known)
        deliver_set(w);
    else if (s->failing)
        deliver_failure(w, s->status, s->error);
    s->busy--;
    if (s->sweep)
        service_sweep(s);
}

static cm_service *service_get(cloudmap_poller *p, const char *namespace_name,
                               const char *service_name)
{
    for (cm_service *s = p->services; s != NULL; s = s->next) {
        if (strcmp(s->namespace_name, namespace_name) == 0 &&
            strcmp(s->service_name, service_name) == 0)
            return s;
    }
    cm_service *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->poller = p;
    s->namespace_name = strdup(namespace_name);
    s->service_name = strdup(service_name);
    s->timer = p->host->timer_new(p->ctx, on_service_timer, s);
    if (s->namespace_name == NULL || s->service_name == NULL || s->timer == NULL) {
        if (s->timer != NULL)
            p->host->timer_free(s->timer);
        free(s->namespace_name);
        free(s->service_name);
        free(s);
        return NULL;
    }
    s->next = p->services;
    p->services = s;
    p->stats.services++;
    service_schedule(s, 0);
    return s;
}

static cm_query *query_get(cm_service *s, const trellis_discovery_target *t)
{
    for (cm_query *q = s->queries; q != NULL; q = q->next) {
        if (same_attributes(q, t)) {
            q->dead = false; /* a new watch revives a query waiting for its call */
            return q;
        }
    }
    cm_query *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->service = s;
    bool ok = true;
    if (t->attribute_count > 0) {
        q->attributes = calloc(t->attribute_count, sizeof(*q->attributes));
        ok = q->attributes != NULL;
        for (size_t i = 0; ok && i < t->attribute_count; i++) {
            q->attributes[i].key = strdup(t->attributes[i].key);
            q->attributes[i].value = strdup(t->attributes[i].value ? t->attributes[i].value : "");
            q->attribute_count++;
            ok = q->attributes[i].key != NULL && q->attributes[i].value != NULL;
        }
    }
    if (!ok) {
        query_free(s->poller, q);
        return NULL;
    }
    q->next = s->queries;
    s->queries = q;
    if (!s->in_cycle)
        service_schedule(s, 0); /* its first answer now, not a poll interval later */
    return q;
}

trellis_status cloudmap_poller_watch(cloudmap_poller *p, const trellis_discovery_target *t,
                                     trellis_discovery_update_fn update, void *arg,
                                     trellis_discovery_watch **watch_out)
{
    if (t->method != TRELLIS_DISCOVERY_CLOUD_MAP || t->namespace_name == NULL ||
        t->service_name == NULL || t->namespace_name[0] == '\0' || t->service_name[0] == '\0' ||
        update == NULL || watch_out == NULL)
        return TRELLIS_ERR_INVALID;
    for (size_t i = 0; i < t->attribute_count; i++) {
        if (t->attributes[i].key == NULL)
            return TRELLIS_ERR_INVALID;
    }
    cm_service *s = service_get(p, t->namespace_name, t->service_name);
    cm_query *q = s ? query_get(s, t) : NULL;
    trellis_discovery_watch *w =
        q ? discovery_watch_new(p->host, p->ctx, t, update, arg, q, on_first) : NULL;
    if (w == NULL) {
        if (s != NULL)
            service_sweep(s);
        return TRELLIS_ERR_NOMEM;
    }
    w->next = q->watches;
    q->watches = w;
    p->stats.watches++;
    if (q->known || s->failing)
        p->host->timer_start(w->first, 0, false);
    *watch_out = w;
    return TRELLIS_OK;
}

void cloudmap_poller_unwatch(cloudmap_poller *p, trellis_discovery_watch *w)
{
    if (!discovery_watch_kill(p->host, w))
        return;
    p->stats.watches--;
    service_sweep(watch_query(w)->service);
}

/* ---- the poller ---- */

cloudmap_poller *cloudmap_poller_new(const trellis_host *host, trellis_host_ctx *ctx,
                                     cloudmap_client *client, const cloudmap_settings *settings,
                                     cloudmap_health_fn on_health, void *health_arg)
{
    cloudmap_poller *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->host = host;
    p->ctx = ctx;
    p->client = client;
    p->settings = *settings;
    p->zone_attribute = settings->zone_attribute && settings->zone_attribute[0]
                            ? strdup(settings->zone_attribute)
                            : NULL;
    p->settings.zone_attribute = NULL;
    p->on_health = on_health;
    p->health_arg = health_arg;
    p->rng = host->monotonic_ns() ^ (uint64_t)(uintptr_t)p ^ 0x9e3779b97f4a7c15ull;
    if (p->rng == 0)
        p->rng = 1;
    return p;
}

void cloudmap_poller_free(cloudmap_poller *p)
{
    if (p == NULL)
        return;
    p->on_health = NULL;
    while (p->services != NULL)
        service_free(p->services);
    free(p->zone_attribute);
    free(p);
}

void cloudmap_poller_get_stats(const cloudmap_poller *p, cloudmap_poller_stats *out)
{
    *out = p->stats;
}

void cloudmap_poller_detail(const cloudmap_poller *p, char *out, size_t size)
{
    if (size == 0)
        return;
    out[0] = '\0';
    if (p->stats.failing == 0)
        return;
    int n = snprintf(out, size, "%zu of %zu Cloud Map services failing (watches keep their last "
                                "endpoints): ",
                     p->stats.failing, p->stats.services);
    size_t listed = 0;
    for (const cm_service *s = p->services; s != NULL && n > 0 && (size_t)n < size; s = s->next) {
        if (!s->failing)
            continue;
        n += snprintf(out + n, size - (size_t)n, "%s%s/%s: %s", listed++ ? "; " : "",
                      s->namespace_name, s->service_name, s->error);
    }
}
