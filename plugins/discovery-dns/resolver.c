#include "resolver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery_watch.h"

#define ERROR_MAX 300
#define MAX_ALIAS_HOPS 8
#define INFLIGHT_RETRY_MS 20
#define MAX_CANDIDATES (RESOLV_MAX_SEARCH + 1)

typedef struct name_entry name_entry;

enum family { FAMILY_V4 = 0, FAMILY_V6 = 1 };

/* One family's question in the round under way. */
typedef struct question {
    name_entry *entry;
    int family;
    bool asked;
    dns_exchange *exchange;
    unsigned hops;                  /* aliases asked again */
    bool done;
    int rcode;
    size_t count;
    char (*addresses)[DNS_ADDRESS_TEXT];
    bool ttl_known;
    uint32_t ttl;
} question;

/* Addresses of one family, owned. */
typedef struct address_list {
    char (*items)[DNS_ADDRESS_TEXT];
    size_t count;
} address_list;

struct name_entry {
    dns_resolver *resolver;
    char *hostname;
    char candidates[MAX_CANDIDATES][DNS_NAME_MAX + 1];
    size_t candidate_count;
    size_t candidate;               /* being asked in this round */
    question q[2];
    bool in_round;
    bool deferred;                  /* the candidate waits for room under max_inflight */
    char round_error[ERROR_MAX];

    bool known;                     /* a round succeeded once */
    bool asked_v4, asked_v6;        /* what the last successful round asked */
    address_list v4, v6;
    bool failing;
    unsigned failures;
    char error[ERROR_MAX];
    trellis_timer *timer;
    trellis_discovery_watch *watches;
    unsigned busy;
    bool sweep;
    name_entry *next;
};

struct dns_resolver {
    const trellis_host *host;
    trellis_host_ctx *ctx;
    resolv_config config;
    dns_settings settings;
    name_entry *names;
    size_t inflight;
    dns_health_fn on_health;
    void *health_arg;
    dns_resolver_stats stats;
};

static void start_candidate(name_entry *e);

/* What a watch follows: its hostname's entry. */
static name_entry *watch_entry(const trellis_discovery_watch *w)
{
    return w->source;
}

/* ---- selection and delivery ---- */

static bool wants_v4(uint32_t preference)
{
    return preference != TRELLIS_IP_IPV6_ONLY;
}

static bool wants_v6(uint32_t preference)
{
    return preference != TRELLIS_IP_IPV4_ONLY;
}

static const address_list *pick(const name_entry *e, uint32_t preference)
{
    switch (preference) {
    case TRELLIS_IP_IPV4_ONLY: return &e->v4;
    case TRELLIS_IP_IPV6_ONLY: return &e->v6;
    case TRELLIS_IP_IPV4_PREFERRED: return e->v4.count > 0 ? &e->v4 : &e->v6;
    default: return e->v6.count > 0 ? &e->v6 : &e->v4; /* Envoy's AUTO: IPv6 first */
    }
}

static int text_compare(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void deliver_set(trellis_discovery_watch *w)
{
    const address_list *list = pick(watch_entry(w), w->ip_preference);
    trellis_endpoint *eps = malloc((list->count ? list->count : 1) * sizeof(*eps));
    if (eps == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        eps[i] = (trellis_endpoint){.address = list->items[i], .port = w->default_port, .zone = NULL};
    discovery_watch_deliver(w, eps, list->count);
    free(eps);
}

/* ---- freeing ---- */

/* Forgets the question, cancelling its exchange if one is in flight. */
static void question_reset(question *q)
{
    if (q->exchange != NULL) {
        dns_exchange_cancel(q->exchange);
        q->entry->resolver->inflight--;
    }
    free(q->addresses);
    name_entry *entry = q->entry;
    int family = q->family;
    memset(q, 0, sizeof(*q));
    q->entry = entry;
    q->family = family;
}

static void entry_free(name_entry *e)
{
    dns_resolver *r = e->resolver;
    for (name_entry **link = &r->names; *link != NULL; link = &(*link)->next) {
        if (*link == e) {
            *link = e->next;
            break;
        }
    }
    for (int f = 0; f < 2; f++)
        question_reset(&e->q[f]);
    r->stats.watches -= discovery_watches_free(r->host, &e->watches);
    if (e->timer != NULL)
        r->host->timer_free(e->timer);
    free(e->v4.items);
    free(e->v6.items);
    bool was_failing = e->failing;
    free(e->hostname);
    free(e);
    r->stats.names--;
    if (was_failing) {
        r->stats.failing--;
        if (r->on_health != NULL)
            r->on_health(r->health_arg);
    }
}

/* Frees dead watches, and the entry when none is left. True if freed. */
static bool entry_sweep(name_entry *e)
{
    dns_resolver *r = e->resolver;
    if (e->busy > 0) {
        e->sweep = true;
        return false;
    }
    e->sweep = false;
    discovery_watches_sweep(r->host, &e->watches);
    if (e->watches == NULL) {
        entry_free(e);
        return true;
    }
    return false;
}

/* ---- rounds ---- */

static uint64_t clamp_ttl(const dns_resolver *r, uint64_t ms)
{
    if (ms < r->settings.min_ttl_ms)
        return r->settings.min_ttl_ms;
    return ms > r->settings.max_ttl_ms ? r->settings.max_ttl_ms : ms;
}

static void set_failing(name_entry *e, bool failing)
{
    dns_resolver *r = e->resolver;
    if (e->failing == failing)
        return;
    e->failing = failing;
    if (failing) {
        r->stats.failing++;
        r->host->log(r->ctx, TRELLIS_LOG_WARN, "dns_failing",
                     "%s: %s; watches keep their last addresses", e->hostname, e->error);
    } else {
        r->stats.failing--;
        r->host->log(r->ctx, TRELLIS_LOG_INFO, "dns_recovered", "%s: resolving again", e->hostname);
    }
    if (r->on_health != NULL)
        r->on_health(r->health_arg);
}

/* Takes a question's addresses, sorted: servers rotate their answers, and a
 * new order alone is no change. */
static void take_list(address_list *list, question *q)
{
    free(list->items);
    if (q->count > 1)
        qsort(q->addresses, q->count, sizeof(*q->addresses), text_compare);
    list->items = q->addresses;
    list->count = q->count;
    q->addresses = NULL;
    q->count = 0;
}

static void round_failed(name_entry *e)
{
    dns_resolver *r = e->resolver;
    r->stats.rounds++;
    r->stats.failures++;
    e->failures++;
    snprintf(e->error, sizeof(e->error), "%s", e->round_error);
    set_failing(e, true);
    e->busy++;
    for (trellis_discovery_watch *w = e->watches; w != NULL; w = w->next) {
        if (!w->dead)
            w->update(w->arg, TRELLIS_ERR_UNAVAILABLE, NULL, 0, e->error);
    }
    e->busy--;
    if (entry_sweep(e))
        return;
    uint64_t delay = r->settings.min_ttl_ms;
    for (unsigned i = 1; i < e->failures && delay < r->settings.max_ttl_ms; i++)
        delay *= 2;
    r->host->timer_start(e->timer, clamp_ttl(r, delay), false);
}

/* Whether the last successful round asked every family the watch needs. */
static bool covered(const name_entry *e, const trellis_discovery_watch *w)
{
    return (!wants_v4(w->ip_preference) || e->asked_v4) &&
           (!wants_v6(w->ip_preference) || e->asked_v6);
}

static void round_succeeded(name_entry *e, uint64_t ttl_ms)
{
    dns_resolver *r = e->resolver;
    r->stats.rounds++;
    e->asked_v4 = e->q[FAMILY_V4].asked;
    e->asked_v6 = e->q[FAMILY_V6].asked;
    take_list(&e->v4, &e->q[FAMILY_V4]);
    take_list(&e->v6, &e->q[FAMILY_V6]);
    e->known = true;
    e->failures = 0;
    set_failing(e, false);
    bool uncovered = false;
    e->busy++;
    for (trellis_discovery_watch *w = e->watches; w != NULL; w = w->next) {
        if (w->dead)
            continue;
        if (covered(e, w))
            deliver_set(w);
        else
            uncovered = true; /* joined during the round: another round for it */
    }
    e->busy--;
    if (entry_sweep(e))
        return;
    r->host->timer_start(e->timer, uncovered ? 0 : clamp_ttl(r, ttl_ms), false);
}

/* Both questions of the candidate are back. */
static void candidate_done(name_entry *e)
{
    dns_resolver *r = e->resolver;
    e->in_round = false;
    if (e->round_error[0] != '\0') {
        round_failed(e);
        return;
    }
    bool records = false, ttl_known = false, negative_known = false;
    uint64_t ttl = UINT64_MAX, negative = UINT64_MAX;
    for (int f = 0; f < 2; f++) {
        const question *q = &e->q[f];
        if (!q->asked)
            continue;
        if (q->count > 0) {
            records = true;
            if (q->ttl_known && q->ttl * 1000ull < ttl)
                ttl = q->ttl * 1000ull;
            ttl_known = ttl_known || q->ttl_known;
        } else if (q->ttl_known && q->ttl * 1000ull < negative) {
            negative = q->ttl * 1000ull;
            negative_known = true;
        }
    }
    if (!records && e->candidate + 1 < e->candidate_count) {
        e->candidate++; /* NXDOMAIN or no data: the next search-list name */
        start_candidate(e);
        return;
    }
    if (records)
        round_succeeded(e, ttl_known ? ttl : r->settings.min_ttl_ms);
    else
        round_succeeded(e, negative_known ? negative : r->settings.max_ttl_ms);
}

static void on_answer(void *arg, const dns_answer *answer, const char *error);

static bool ask(name_entry *e, int family, const char *name)
{
    dns_resolver *r = e->resolver;
    question *q = &e->q[family];
    q->exchange = dns_exchange_start(r->host, r->ctx, &r->config, name,
                                     family == FAMILY_V4 ? DNS_TYPE_A : DNS_TYPE_AAAA,
                                     r->settings.timeout_ms, r->settings.attempts,
                                     &r->stats.exchange, on_answer, q);
    if (q->exchange == NULL)
        return false;
    r->inflight++;
    return true;
}

static bool round_pending(const name_entry *e)
{
    return (e->q[0].asked && !e->q[0].done) || (e->q[1].asked && !e->q[1].done);
}

static void on_answer(void *arg, const dns_answer *answer, const char *error)
{
    question *q = arg;
    name_entry *e = q->entry;
    dns_resolver *r = e->resolver;
    dns_exchange *finished = q->exchange;
    q->exchange = NULL;
    r->inflight--;
    const char *family = q->family == FAMILY_V4 ? "A" : "AAAA";
    if (answer == NULL) {
        if (e->round_error[0] == '\0')
            snprintf(e->round_error, sizeof(e->round_error), "%s %.40s: %.200s", family,
                     e->candidates[e->candidate], error ? error : "failed");
        q->done = true;
    } else if (answer->alias_unresolved && q->hops < MAX_ALIAS_HOPS) {
        /* The resolver left the alias for us: ask for its target. */
        char target[DNS_NAME_MAX + 1];
        snprintf(target, sizeof(target), "%s", answer->final_name);
        q->hops++;
        dns_exchange_cancel(finished);
        finished = NULL;
        if (!ask(e, q->family, target)) {
            snprintf(e->round_error, sizeof(e->round_error), "out of memory");
            q->done = true;
        }
    } else {
        q->rcode = answer->rcode;
        q->ttl_known = answer->ttl_known;
        q->ttl = answer->ttl;
        q->count = answer->count;
        q->addresses = answer->count ? malloc(answer->count * sizeof(*q->addresses)) : NULL;
        if (answer->count > 0 && q->addresses == NULL) {
            q->count = 0;
            snprintf(e->round_error, sizeof(e->round_error), "out of memory");
        } else if (answer->count > 0) {
            memcpy(q->addresses, answer->addresses, answer->count * sizeof(*q->addresses));
        }
        q->done = true;
    }
    dns_exchange_cancel(finished);
    if (!round_pending(e))
        candidate_done(e);
}

static void start_candidate(name_entry *e)
{
    dns_resolver *r = e->resolver;
    bool v4 = false, v6 = false;
    for (trellis_discovery_watch *w = e->watches; w != NULL; w = w->next) {
        if (!w->dead) {
            v4 = v4 || wants_v4(w->ip_preference);
            v6 = v6 || wants_v6(w->ip_preference);
        }
    }
    size_t needed = (size_t)v4 + (size_t)v6;
    if (r->inflight + needed > r->settings.max_inflight) {
        /* Bounded: this candidate is asked once others have finished. */
        e->in_round = false;
        e->deferred = true;
        r->host->timer_start(e->timer, INFLIGHT_RETRY_MS, false);
        return;
    }
    e->in_round = true;
    question_reset(&e->q[FAMILY_V4]);
    question_reset(&e->q[FAMILY_V6]);
    e->q[FAMILY_V4].asked = v4;
    e->q[FAMILY_V6].asked = v6;
    const char *name = e->candidates[e->candidate];
    if ((v4 && !ask(e, FAMILY_V4, name)) || (v6 && !ask(e, FAMILY_V6, name))) {
        question_reset(&e->q[FAMILY_V4]);
        question_reset(&e->q[FAMILY_V6]);
        snprintf(e->round_error, sizeof(e->round_error), "out of memory starting a query");
        e->in_round = false;
        round_failed(e);
    }
}

static void on_entry_timer(void *arg)
{
    name_entry *e = arg;
    if (e->in_round)
        return;
    if (!e->deferred) { /* a new round: from the first search-list name */
        e->candidate = 0;
        e->round_error[0] = '\0';
    }
    e->deferred = false;
    start_candidate(e);
}

/* ---- watches ---- */

static void on_first(void *arg)
{
    trellis_discovery_watch *w = arg;
    name_entry *e = watch_entry(w);
    if (w->dead)
        return;
    e->busy++;
    if (e->known)
        deliver_set(w);
    else if (e->failing)
        w->update(w->arg, TRELLIS_ERR_UNAVAILABLE, NULL, 0, e->error);
    e->busy--;
    if (e->sweep)
        entry_sweep(e);
}

static name_entry *entry_get(dns_resolver *r, const char *hostname)
{
    for (name_entry *e = r->names; e != NULL; e = e->next) {
        if (strcmp(e->hostname, hostname) == 0)
            return e;
    }
    name_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->resolver = r;
    e->hostname = strdup(hostname);
    e->timer = r->host->timer_new(r->ctx, on_entry_timer, e);
    e->candidate_count = resolv_candidates(&r->config, hostname, e->candidates, MAX_CANDIDATES);
    for (int f = 0; f < 2; f++) {
        e->q[f].entry = e;
        e->q[f].family = f;
    }
    if (e->hostname == NULL || e->timer == NULL || e->candidate_count == 0) {
        if (e->timer != NULL)
            r->host->timer_free(e->timer);
        free(e->hostname);
        free(e);
        return NULL;
    }
    e->next = r->names;
    r->names = e;
    r->stats.names++;
    r->host->timer_start(e->timer, 0, false);
    return e;
}

trellis_status dns_resolver_watch(dns_resolver *r, const trellis_discovery_target *t,
                                  trellis_discovery_update_fn update, void *arg,
                                  trellis_discovery_watch **watch_out)
{
    if (t->method != TRELLIS_DISCOVERY_DNS || t->hostname == NULL || !dns_name_valid(t->hostname) ||
        update == NULL || watch_out == NULL)
        return TRELLIS_ERR_INVALID;
    name_entry *e = entry_get(r, t->hostname);
    trellis_discovery_watch *w =
        e ? discovery_watch_new(r->host, r->ctx, t, update, arg, e, on_first) : NULL;
    if (w == NULL) {
        if (e != NULL && e->watches == NULL)
            entry_free(e);
        return TRELLIS_ERR_NOMEM;
    }
    w->next = e->watches;
    e->watches = w;
    r->stats.watches++;
    if (e->known && covered(e, w))
        r->host->timer_start(w->first, 0, false);
    else if (e->known && !e->in_round)
        r->host->timer_start(e->timer, 0, false); /* a family nobody asked for yet */
    else if (e->failing)
        r->host->timer_start(w->first, 0, false);
    *watch_out = w;
    return TRELLIS_OK;
}

void dns_resolver_unwatch(dns_resolver *r, trellis_discovery_watch *w)
{
    if (!discovery_watch_kill(r->host, w))
        return;
    r->stats.watches--;
    entry_sweep(watch_entry(w));
}

/* ---- the resolver ---- */

dns_resolver *dns_resolver_new(const trellis_host *host, trellis_host_ctx *ctx,
                               const resolv_config *config, const dns_settings *settings,
                               dns_health_fn on_health, void *health_arg)
{
    dns_resolver *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->host = host;
    r->ctx = ctx;
    r->config = *config;
    r->settings = *settings;
    if (r->settings.max_inflight == 0)
        r->settings.max_inflight = 2;
    r->on_health = on_health;
    r->health_arg = health_arg;
    return r;
}

void dns_resolver_free(dns_resolver *r)
{
    if (r == NULL)
        return;
    r->on_health = NULL;
    while (r->names != NULL)
        entry_free(r->names);
    free(r);
}

void dns_resolver_get_stats(const dns_resolver *r, dns_resolver_stats *out)
{
    *out = r->stats;
}

void dns_resolver_detail(const dns_resolver *r, char *out, size_t size)
{
    if (size == 0)
        return;
    out[0] = '\0';
    if (r->stats.failing == 0)
        return;
    int n = snprintf(out, size, "%zu of %zu names failing (watches keep their last addresses): ",
                     r->stats.failing, r->stats.names);
    size_t listed = 0;
    for (const name_entry *e = r->names; e != NULL && n > 0 && (size_t)n < size; e = e->next) {
        if (e->failing)
            n += snprintf(out + n, size - (size_t)n, "%s%s: %s", listed++ ? "; " : "", e->hostname,
                          e->error);
    }
}
