#include "fake_host.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Objects                                                                   */
/* ------------------------------------------------------------------------ */

struct trellis_host_ctx {
    fake_host *fh;
};

struct trellis_config {
    json_t *values;
    const trellis_config_field *schema;
    struct trellis_config *next;
};

struct trellis_error {
    char message[1024];
};

struct trellis_watch {
    fake_host *fh;
    int fd;
    unsigned events;
    trellis_watch_fn fn;
    void *arg;
    bool dead;
    struct trellis_watch *next;
};

struct trellis_timer {
    fake_host *fh;
    trellis_callback_fn fn;
    void *arg;
    uint64_t deadline_ns;
    uint64_t period_ns;
    bool active;
    bool dead;
    struct trellis_timer *next;
};

struct trellis_metric {
    char *name;
    char *labels;
    uint32_t type;
    double value;
    uint64_t count;
    struct trellis_metric *next;
};

typedef struct fake_resource {
    trellis_xds_resource pub;
} fake_resource;

struct trellis_xds_snapshot {
    unsigned refs;
    uint64_t changed_ns;
    fake_resource *resources[TRELLIS_XDS_TYPE_COUNT];
    size_t count[TRELLIS_XDS_TYPE_COUNT];
    char version[TRELLIS_XDS_TYPE_COUNT][40];
    bool sealed;
    fake_host *fh;
};

typedef struct identity_entry {
    char *identity;
    uint32_t flavor;          /* 0: both */
    trellis_xds_snapshot *snapshot; /* NULL: deleted */
    struct identity_entry *next;
} identity_entry;

struct trellis_xds_watch {
    fake_host *fh;
    char identity[512];
    uint32_t flavor;
    trellis_xds_update_fn fn;
    void *arg;
    bool needs_delivery;
    bool dead;
    struct trellis_xds_watch *next;
};

typedef struct deferred {
    trellis_callback_fn fn;
    void *arg;
} deferred;

typedef struct debug_provider {
    char *name;
    trellis_debug_fn fn;
    void *arg;
    struct debug_provider *next;
} debug_provider;

struct fake_host {
    trellis_host table;
    trellis_host_ctx ctx;
    int epfd;
    uint64_t clock_offset_ns;
    trellis_watch *watches;
    trellis_timer *timers;
    deferred *defers;
    size_t defer_count, defer_cap;
    trellis_config *configs;
    trellis_metric *metrics;
    debug_provider *debug;
    char *log;
    size_t log_len, log_cap;
    bool log_to_stderr;
    identity_entry *identities;
    trellis_xds_watch *xwatches;
    bool delivery_scheduled;
    bool unavailable;
    size_t live_snapshots;
};

/* The host functions reach the fake host through the ctx (or a global for
 * functions that get none: there is one fake host per process). */
static fake_host *the_host;

/* ------------------------------------------------------------------------ */
/* Memory, errors, logs                                                      */
/* ------------------------------------------------------------------------ */

static void *h_alloc(size_t n) { return malloc(n); }
static void *h_realloc(void *p, size_t n) { return realloc(p, n); }
static void h_free(void *p) { free(p); }

static void log_append(fake_host *fh, const char *line)
{
    size_t n = strlen(line);
    if (fh->log_to_stderr)
        fprintf(stderr, "%s\n", line);
    if (fh->log_len + n + 2 > 8u << 20)
        return; /* bounded */
    if (fh->log_len + n + 2 > fh->log_cap) {
        size_t cap = fh->log_cap ? fh->log_cap * 2 : 65536;
        while (cap < fh->log_len + n + 2)
            cap *= 2;
        char *grown = realloc(fh->log, cap);
        if (grown == NULL)
            return;
        fh->log = grown;
        fh->log_cap = cap;
    }
    memcpy(fh->log + fh->log_len, line, n);
    fh->log_len += n;
    fh->log[fh->log_len++] = '\n';
    fh->log[fh->log_len] = '\0';
}

static const char *level_name(trellis_log_level l)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    return (unsigned)l < 4 ? names[l] : "?";
}

static void h_log(trellis_host_ctx *ctx, trellis_log_level level, const char *event, const char *fmt,
                  ...)
{
    char msg[2048], line[2200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(line, sizeof(line), "%s %s: %s", level_name(level), event, msg);
    log_append(ctx->fh, line);
}

static void h_log_fields(trellis_host_ctx *ctx, trellis_log_level level, const char *event,
                         const trellis_log_field *fields, size_t count)
{
    char line[4096];
    int n = snprintf(line, sizeof(line), "%s %s:", level_name(level), event);
    for (size_t i = 0; i < count && n > 0 && (size_t)n < sizeof(line); i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=\"%s\"", fields[i].key,
                      fields[i].value ? fields[i].value : "");
    log_append(ctx->fh, line);
}

static bool h_log_enabled(trellis_host_ctx *ctx, trellis_log_level level)
{
    (void)ctx;
    (void)level;
    return true;
}

static void h_error_set(trellis_error *err, const char *key, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (key)
        snprintf(err->message, sizeof(err->message), "%s: %s", key, msg);
    else
        snprintf(err->message, sizeof(err->message), "%s", msg);
}

static trellis_error *h_error_new(void) { return calloc(1, sizeof(trellis_error)); }
static const char *h_error_message(const trellis_error *err) { return err ? err->message : ""; }
static void h_error_free(trellis_error *err) { free(err); }

/* ------------------------------------------------------------------------ */
/* Config                                                                    */
/* ------------------------------------------------------------------------ */

static json_t *config_value(const trellis_config *c, const char *key)
{
    json_t *v = json_object_get(c->values, key);
    if (v != NULL)
        return v;
    for (const trellis_config_field *f = c->schema; f && f->key; f++) {
        if (strcmp(f->key, key) == 0 && f->default_json != NULL) {
            json_t *d = json_loads(f->default_json, JSON_DECODE_ANY, NULL);
            if (d != NULL) {
                json_object_set_new(((trellis_config *)c)->values, key, d);
                return d;
            }
        }
    }
    return NULL;
}

static bool h_config_has(const trellis_config *c, const char *key) { return config_value(c, key) != NULL; }
static const char *h_config_string(const trellis_config *c, const char *key)
{
    json_t *v = config_value(c, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
static int64_t h_config_int(const trellis_config *c, const char *key)
{
    json_t *v = config_value(c, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}
static bool h_config_bool(const trellis_config *c, const char *key)
{
    return json_is_true(config_value(c, key));
}
static double h_config_number(const trellis_config *c, const char *key)
{
    json_t *v = config_value(c, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}
static size_t h_config_list_count(const trellis_config *c, const char *key)
{
    json_t *v = config_value(c, key);
    return json_is_array(v) ? json_array_size(v) : 0;
}
static const char *h_config_list_item(const trellis_config *c, const char *key, size_t i)
{
    json_t *v = json_array_get(config_value(c, key), i);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const trellis_config *fake_host_config(fake_host *fh, const trellis_config_field *schema,
                                       const char *json)
{
    json_t *values = json_loads(json, 0, NULL);
    if (!json_is_object(values)) {
        json_decref(values);
        return NULL;
    }
    trellis_config *c = calloc(1, sizeof(*c));
    c->values = values;
    c->schema = schema;
    c->next = fh->configs;
    fh->configs = c;
    return c;
}

/* ------------------------------------------------------------------------ */
/* Loop                                                                      */
/* ------------------------------------------------------------------------ */

static uint64_t real_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t h_monotonic_ns(void)
{
    return real_monotonic() + (the_host ? the_host->clock_offset_ns : 0);
}

static double h_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t epoll_mask(unsigned events)
{
    return (events & TRELLIS_WATCH_READ ? EPOLLIN : 0) | (events & TRELLIS_WATCH_WRITE ? EPOLLOUT : 0);
}

static trellis_watch *watch_create(fake_host *fh, int fd, unsigned events, trellis_watch_fn fn,
                                   void *arg)
{
    trellis_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->fh = fh;
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    struct epoll_event ev = {.events = epoll_mask(events), .data.ptr = w};
    if (epoll_ctl(fh->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(w);
        return NULL;
    }
    w->next = fh->watches;
    fh->watches = w;
    return w;
}

static trellis_watch *h_watch_new(trellis_host_ctx *ctx, int fd, unsigned events, trellis_watch_fn fn,
                                  void *arg)
{
    return watch_create(ctx->fh, fd, events, fn, arg);
}

trellis_watch *fake_host_watch(fake_host *fh, int fd, unsigned events,
                               void (*fn)(int fd, unsigned events, void *arg), void *arg)
{
    return watch_create(fh, fd, events, fn, arg);
}

static void h_watch_update(trellis_watch *w, unsigned events)
{
    w->events = events;
    struct epoll_event ev = {.events = epoll_mask(events), .data.ptr = w};
    epoll_ctl(w->fh->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

static void h_watch_free(trellis_watch *w)
{
    if (w == NULL)
        return;
    epoll_ctl(w->fh->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->dead = true; /* freed after the current dispatch */
}

static trellis_timer *h_timer_new(trellis_host_ctx *ctx, trellis_callback_fn fn, void *arg)
{
    trellis_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->fh = ctx->fh;
    t->fn = fn;
    t->arg = arg;
    t->next = ctx->fh->timers;
    ctx->fh->timers = t;
    return t;
}

static void h_timer_start(trellis_timer *t, uint64_t delay_ms, bool repeat)
{
    t->deadline_ns = h_monotonic_ns() + delay_ms * 1000000ull;
    t->period_ns = repeat ? delay_ms * 1000000ull : 0;
    t->active = true;
}

static void h_timer_stop(trellis_timer *t) { t->active = false; }
static void h_timer_free(trellis_timer *t)
{
    if (t != NULL) {
        t->active = false;
        t->dead = true;
    }
}

static trellis_status h_defer(trellis_host_ctx *ctx, trellis_callback_fn fn, void *arg)
{
    fake_host *fh = ctx->fh;
    if (fh->defer_count == fh->defer_cap) {
        size_t cap = fh->defer_cap ? fh->defer_cap * 2 : 64;
        deferred *grown = realloc(fh->defers, cap * sizeof(*grown));
        if (grown == NULL)
            return TRELLIS_ERR_NOMEM;
        fh->defers = grown;
        fh->defer_cap = cap;
    }
    fh->defers[fh->defer_count++] = (deferred){fn, arg};
    return TRELLIS_OK;
}

static trellis_status h_offload(trellis_host_ctx *ctx, trellis_callback_fn work,
                                trellis_callback_fn done, void *arg)
{
    (void)ctx;
    (void)work;
    (void)done;
    (void)arg;
    return TRELLIS_ERR_UNSUPPORTED;
}

static void run_defers(fake_host *fh)
{
    for (int round = 0; round < 1000 && fh->defer_count > 0; round++) {
        size_t n = fh->defer_count;
        deferred *batch = malloc(n * sizeof(*batch));
        memcpy(batch, fh->defers, n * sizeof(*batch));
        fh->defer_count = 0;
        for (size_t i = 0; i < n; i++)
            batch[i].fn(batch[i].arg);
        free(batch);
    }
}

static void reap(fake_host *fh)
{
    for (trellis_watch **p = &fh->watches; *p;) {
        if ((*p)->dead) {
            trellis_watch *w = *p;
            *p = w->next;
            free(w);
        } else {
            p = &(*p)->next;
        }
    }
    for (trellis_timer **p = &fh->timers; *p;) {
        if ((*p)->dead) {
            trellis_timer *t = *p;
            *p = t->next;
            free(t);
        } else {
            p = &(*p)->next;
        }
    }
}

static void run_timers(fake_host *fh)
{
    uint64_t now = h_monotonic_ns();
    for (trellis_timer *t = fh->timers; t; t = t->next) {
        if (!t->active || t->dead || t->deadline_ns > now)
            continue;
        if (t->period_ns)
            t->deadline_ns = now + t->period_ns;
        else
            t->active = false;
        t->fn(t->arg);
        run_defers(fh);
    }
}

void fake_host_run_once(fake_host *fh, int max_wait_ms)
{
    run_defers(fh);
    uint64_t now = h_monotonic_ns();
    int wait = max_wait_ms;
    for (trellis_timer *t = fh->timers; t; t = t->next) {
        if (t->active && !t->dead) {
            int64_t ms = t->deadline_ns > now ? (int64_t)((t->deadline_ns - now) / 1000000ull) : 0;
            if (ms < wait)
                wait = (int)ms;
        }
    }
    if (fh->defer_count > 0)
        wait = 0;
    struct epoll_event events[256];
    int n = epoll_wait(fh->epfd, events, 256, wait);
    for (int i = 0; i < n; i++) {
        trellis_watch *w = events[i].data.ptr;
        if (w->dead)
            continue;
        unsigned ev = 0;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            ev |= TRELLIS_WATCH_READ;
        if (events[i].events & EPOLLOUT)
            ev |= TRELLIS_WATCH_WRITE;
        ev &= w->events | ((events[i].events & (EPOLLHUP | EPOLLERR)) ? TRELLIS_WATCH_READ : 0);
        if (ev)
            w->fn(w->fd, ev, w->arg);
        run_defers(fh);
    }
    run_timers(fh);
    run_defers(fh);
    reap(fh);
}

bool fake_host_run_until(fake_host *fh, bool (*until)(void *arg), void *arg, int timeout_ms)
{
    uint64_t deadline = real_monotonic() + (uint64_t)timeout_ms * 1000000ull;
    while (!until(arg)) {
        if (real_monotonic() > deadline)
            return until(arg);
        fake_host_run_once(fh, 5);
    }
    return true;
}

void fake_host_run_for(fake_host *fh, int ms)
{
    uint64_t deadline = real_monotonic() + (uint64_t)ms * 1000000ull;
    while (real_monotonic() < deadline)
        fake_host_run_once(fh, 2);
}

void fake_host_advance(fake_host *fh, uint64_t ms)
{
    fh->clock_offset_ns += ms * 1000000ull;
}

/* ------------------------------------------------------------------------ */
/* Listening, readiness, instances                                           */
/* ------------------------------------------------------------------------ */

static trellis_status h_listen_tcp(trellis_host_ctx *ctx, const char *address, int backlog,
                                   int *fd_out, trellis_error *err)
{
    (void)ctx;
    char host[128];
    const char *colon = strrchr(address, ':');
    if (colon == NULL || (size_t)(colon - address) >= sizeof(host)) {
        h_error_set(err, "listen", "bad address %s", address);
        return TRELLIS_ERR_INVALID;
    }
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        h_error_set(err, "listen", "bad address %s", address);
        return TRELLIS_ERR_INVALID;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, backlog) != 0) {
        h_error_set(err, "listen", "%s: %s", address, strerror(errno));
        close(fd);
        return TRELLIS_ERR_IO;
    }
    *fd_out = fd;
    return TRELLIS_OK;
}

static void h_set_ready(trellis_host_ctx *ctx, bool ready, const char *detail)
{
    (void)ctx;
    (void)ready;
    (void)detail;
}
static void h_stopped(trellis_host_ctx *ctx) { (void)ctx; }
static void h_instances_foreach(trellis_host_ctx *ctx, trellis_instance_visit_fn fn, void *arg)
{
    (void)ctx;
    (void)fn;
    (void)arg;
}

/* ------------------------------------------------------------------------ */
/* Metrics and debug providers                                               */
/* ------------------------------------------------------------------------ */

static trellis_metric *h_metric_new(trellis_host_ctx *ctx, trellis_metric_type type, const char *name,
                                    const char *help, const char *const *labels,
                                    const double *buckets, size_t bucket_count)
{
    (void)help;
    (void)buckets;
    (void)bucket_count;
    trellis_metric *m = calloc(1, sizeof(*m));
    char rendered[512] = "";
    size_t n = 0;
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2)
        n += (size_t)snprintf(rendered + n, sizeof(rendered) - n, "%s%s=\"%s\"", n ? "," : "",
                              labels[i], labels[i + 1]);
    m->name = strdup(name);
    m->labels = strdup(rendered);
    m->type = type;
    m->next = ctx->fh->metrics;
    ctx->fh->metrics = m;
    return m;
}

static void h_metric_add(trellis_metric *m, double d) { if (m) m->value += d; }
static void h_metric_set(trellis_metric *m, double v) { if (m) m->value = v; }
static void h_metric_observe(trellis_metric *m, double v)
{
    if (m) {
        m->value += v;
        m->count++;
    }
}
static void h_metric_free(trellis_metric *m) { (void)m; }
static void h_metrics_foreach(trellis_host_ctx *ctx, trellis_metric_visit_fn fn, void *arg)
{
    (void)ctx;
    (void)fn;
    (void)arg;
}

double fake_host_metric(fake_host *fh, const char *name, const char *label_substring)
{
    double sum = 0;
    for (trellis_metric *m = fh->metrics; m; m = m->next)
        if (strcmp(m->name, name) == 0 && (label_substring == NULL || strstr(m->labels, label_substring)))
            sum += m->value;
    return sum;
}

uint64_t fake_host_histogram_count(fake_host *fh, const char *name)
{
    uint64_t n = 0;
    for (trellis_metric *m = fh->metrics; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            n += m->count;
    return n;
}

static trellis_status h_debug_register(trellis_host_ctx *ctx, const char *name, trellis_debug_fn fn,
                                       void *arg)
{
    debug_provider *d = calloc(1, sizeof(*d));
    d->name = strdup(name);
    d->fn = fn;
    d->arg = arg;
    d->next = ctx->fh->debug;
    ctx->fh->debug = d;
    return TRELLIS_OK;
}

static trellis_status h_debug_query(trellis_host_ctx *ctx, const char *name, const char *query,
                                    char **json_out, trellis_error *err)
{
    for (debug_provider *d = ctx->fh->debug; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d->fn(d->arg, query, json_out, err);
    h_error_set(err, NULL, "no debug view %s", name);
    return TRELLIS_ERR_NOT_FOUND;
}

char *fake_host_debug(fake_host *fh, const char *name, const char *query, trellis_status *status)
{
    char *json = NULL;
    trellis_error err = {{0}};
    *status = h_debug_query(&fh->ctx, name, query, &json, &err);
    return *status == TRELLIS_OK ? json : NULL;
}

static trellis_status h_api_invoke(trellis_host_ctx *ctx, const trellis_api_request *request,
                                   trellis_api_done_fn done, void *arg)
{
    (void)ctx;
    (void)request;
    (void)done;
    (void)arg;
    return TRELLIS_ERR_UNAVAILABLE;
}

static trellis_status h_post(trellis_host_ctx *ctx, trellis_callback_fn fn, void *arg)
{
    return h_defer(ctx, fn, arg);
}

/* ------------------------------------------------------------------------ */
/* Snapshots                                                                 */
/* ------------------------------------------------------------------------ */

static void hash128(const char *data, size_t len, char out[33])
{
    uint64_t a = 1469598103934665603ull, b = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len; i++) {
        a = (a ^ (unsigned char)data[i]) * 1099511628211ull;
        b = (b ^ (unsigned char)data[i]) * 0x100000001b3ull + (b >> 29);
    }
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

fake_snapshot *fake_snapshot_new(uint64_t changed_ns)
{
    trellis_xds_snapshot *s = calloc(1, sizeof(*s));
    s->refs = 1;
    s->changed_ns = changed_ns;
    s->fh = the_host;
    if (the_host)
        the_host->live_snapshots++;
    return (fake_snapshot *)s;
}

void fake_snapshot_add(fake_snapshot *fs, trellis_xds_type type, const char *name, const char *json)
{
    trellis_xds_snapshot *s = (trellis_xds_snapshot *)fs;
    size_t n = s->count[type];
    s->resources[type] = realloc(s->resources[type], (n + 1) * sizeof(fake_resource));
    /* keep sorted by name */
    size_t at = n;
    while (at > 0 && strcmp(s->resources[type][at - 1].pub.name, name) > 0)
        at--;
    memmove(&s->resources[type][at + 1], &s->resources[type][at], (n - at) * sizeof(fake_resource));
    fake_resource *r = &s->resources[type][at];
    char *hash = malloc(33);
    hash128(json, strlen(json), hash);
    r->pub.name = strdup(name);
    r->pub.json = strdup(json);
    r->pub.json_len = strlen(json);
    r->pub.hash = hash;
    s->count[type] = n + 1;
}

static void seal(trellis_xds_snapshot *s)
{
    if (s->sealed)
        return;
    s->sealed = true;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        size_t len = 1;
        for (size_t i = 0; i < s->count[t]; i++)
            len += strlen(s->resources[t][i].pub.name) + 34;
        char *all = calloc(1, len);
        size_t n = 0;
        for (size_t i = 0; i < s->count[t]; i++)
            n += (size_t)sprintf(all + n, "%s=%s;", s->resources[t][i].pub.name,
                                 s->resources[t][i].pub.hash);
        char h[33];
        hash128(all, n, h);
        snprintf(s->version[t], sizeof(s->version[t]), "%s", h);
        free(all);
    }
}

static const char *h_snap_version(const trellis_xds_snapshot *s, trellis_xds_type t)
{
    return (unsigned)t < TRELLIS_XDS_TYPE_COUNT ? s->version[t] : "";
}
static size_t h_snap_count(const trellis_xds_snapshot *s, trellis_xds_type t)
{
    return (unsigned)t < TRELLIS_XDS_TYPE_COUNT ? s->count[t] : 0;
}
static const trellis_xds_resource *h_snap_at(const trellis_xds_snapshot *s, trellis_xds_type t,
                                             size_t i)
{
    return i < h_snap_count(s, t) ? &s->resources[t][i].pub : NULL;
}
static const trellis_xds_resource *h_snap_find(const trellis_xds_snapshot *s, trellis_xds_type t,
                                               const char *name)
{
    for (size_t i = 0; i < h_snap_count(s, t); i++)
        if (strcmp(s->resources[t][i].pub.name, name) == 0)
            return &s->resources[t][i].pub;
    return NULL;
}
static uint64_t h_snap_changed(const trellis_xds_snapshot *s) { return s->changed_ns; }
static trellis_xds_snapshot *h_snap_ref(trellis_xds_snapshot *s)
{
    s->refs++;
    return s;
}
static void h_snap_unref(trellis_xds_snapshot *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        for (size_t i = 0; i < s->count[t]; i++) {
            free((char *)s->resources[t][i].pub.name);
            free((char *)s->resources[t][i].pub.json);
            free((char *)s->resources[t][i].pub.hash);
        }
        free(s->resources[t]);
    }
    if (s->fh)
        s->fh->live_snapshots--;
    free(s);
}

size_t fake_host_snapshot_count(fake_host *fh)
{
    return fh->live_snapshots;
}

/* ------------------------------------------------------------------------ */
/* Watches                                                                   */
/* ------------------------------------------------------------------------ */

/* node id -> "mesh/M/virtualNode/N"; false with the reason. */
static bool parse_node_id(const char *id, char *out, size_t size, char *why, size_t why_size)
{
    const char *rest = id;
    if (strncmp(id, "arn:", 4) == 0) {
        /* arn:aws:appmesh:REGION:ACCOUNT:mesh/... */
        int colons = 0;
        const char *p = id;
        for (; *p && colons < 5; p++)
            if (*p == ':')
                colons++;
        if (colons < 5 || strncmp(id, "arn:aws:appmesh:", 16) != 0) {
            snprintf(why, why_size, "not an App Mesh ARN");
            return false;
        }
        rest = p;
    }
    char mesh[256], kind[64], name[256];
    if (sscanf(rest, "mesh/%255[^/]/%63[^/]/%255s", mesh, kind, name) != 3) {
        snprintf(why, why_size, "expected mesh/<mesh>/virtualNode/<name>");
        return false;
    }
    if (strcmp(kind, "virtualNode") != 0 && strcmp(kind, "virtualGateway") != 0) {
        snprintf(why, why_size, "\"%s\" is neither virtualNode nor virtualGateway", kind);
        return false;
    }
    char *at = strchr(mesh, '@');
    if (at)
        *at = '\0';
    int n = snprintf(out, size, "mesh/%s/%s/%s", mesh, kind, name);
    if (n < 0 || (size_t)n >= size) {
        snprintf(why, why_size, "node id too long");
        return false;
    }
    return true;
}

static identity_entry *find_identity(fake_host *fh, const char *identity, uint32_t flavor)
{
    identity_entry *any = NULL;
    for (identity_entry *e = fh->identities; e; e = e->next) {
        if (strcmp(e->identity, identity) != 0)
            continue;
        if (e->flavor == flavor)
            return e;
        if (e->flavor == 0)
            any = e;
    }
    return any;
}

static void deliver_all(void *arg)
{
    fake_host *fh = arg;
    fh->delivery_scheduled = false;
    for (trellis_xds_watch *w = fh->xwatches; w; w = w->next) {
        if (w->dead || !w->needs_delivery)
            continue;
        w->needs_delivery = false;
        identity_entry *e = find_identity(fh, w->identity, w->flavor);
        w->fn(w->arg, e ? e->snapshot : NULL);
    }
    for (trellis_xds_watch **p = &fh->xwatches; *p;) {
        if ((*p)->dead) {
            trellis_xds_watch *w = *p;
            *p = w->next;
            free(w);
        } else {
            p = &(*p)->next;
        }
    }
}

static void schedule_delivery(fake_host *fh)
{
    if (!fh->delivery_scheduled && h_defer(&fh->ctx, deliver_all, fh) == TRELLIS_OK)
        fh->delivery_scheduled = true;
}

static trellis_status h_xds_watch(trellis_host_ctx *ctx, const char *node_id, uint32_t flavor,
                                  trellis_xds_update_fn fn, void *arg,
                                  trellis_xds_watch **watch_out, trellis_error *err)
{
    fake_host *fh = ctx->fh;
    if (fh->unavailable) {
        h_error_set(err, NULL, "the catalog is not loaded yet");
        return TRELLIS_ERR_UNAVAILABLE;
    }
    char identity[512], why[256];
    if (!parse_node_id(node_id, identity, sizeof(identity), why, sizeof(why))) {
        h_error_set(err, NULL, "%s", why);
        return TRELLIS_ERR_INVALID;
    }
    identity_entry *e = find_identity(fh, identity, flavor);
    if (e == NULL || e->snapshot == NULL) {
        h_error_set(err, NULL, "%s does not exist", identity);
        return TRELLIS_ERR_NOT_FOUND;
    }
    trellis_xds_watch *w = calloc(1, sizeof(*w));
    w->fh = fh;
    snprintf(w->identity, sizeof(w->identity), "%s", identity);
    w->flavor = flavor;
    w->fn = fn;
    w->arg = arg;
    w->needs_delivery = true;
    w->next = fh->xwatches;
    fh->xwatches = w;
    schedule_delivery(fh);
    *watch_out = w;
    return TRELLIS_OK;
}

static void h_xds_unwatch(trellis_xds_watch *w)
{
    if (w != NULL)
        w->dead = true;
}

static const char *h_xds_identity(const trellis_xds_watch *w)
{
    return w->identity;
}

size_t fake_host_watch_count(fake_host *fh)
{
    size_t n = 0;
    for (trellis_xds_watch *w = fh->xwatches; w; w = w->next)
        if (!w->dead)
            n++;
    return n;
}

void fake_host_publish(fake_host *fh, const char *identity, uint32_t flavor, fake_snapshot *fs)
{
    trellis_xds_snapshot *s = (trellis_xds_snapshot *)fs;
    seal(s);
    identity_entry *e = NULL;
    for (identity_entry *x = fh->identities; x; x = x->next)
        if (strcmp(x->identity, identity) == 0 && x->flavor == flavor)
            e = x;
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        e->identity = strdup(identity);
        e->flavor = flavor;
        e->next = fh->identities;
        fh->identities = e;
    }
    h_snap_unref(e->snapshot);
    e->snapshot = s;
    for (trellis_xds_watch *w = fh->xwatches; w; w = w->next)
        if (!w->dead && strcmp(w->identity, identity) == 0 && (flavor == 0 || w->flavor == flavor))
            w->needs_delivery = true;
    schedule_delivery(fh);
}

void fake_host_delete(fake_host *fh, const char *identity)
{
    for (identity_entry *e = fh->identities; e; e = e->next) {
        if (strcmp(e->identity, identity) == 0) {
            h_snap_unref(e->snapshot);
            e->snapshot = NULL;
        }
    }
    for (trellis_xds_watch *w = fh->xwatches; w; w = w->next)
        if (!w->dead && strcmp(w->identity, identity) == 0)
            w->needs_delivery = true;
    schedule_delivery(fh);
}

void fake_host_set_unavailable(fake_host *fh, bool unavailable)
{
    fh->unavailable = unavailable;
}

const char *fake_host_version(fake_host *fh, const char *identity, uint32_t flavor,
                              trellis_xds_type type)
{
    identity_entry *e = find_identity(fh, identity, flavor);
    return e && e->snapshot ? e->snapshot->version[type] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Construction                                                              */
/* ------------------------------------------------------------------------ */

fake_host *fake_host_new(void)
{
    fake_host *fh = calloc(1, sizeof(*fh));
    fh->epfd = epoll_create1(EPOLL_CLOEXEC);
    fh->ctx.fh = fh;
    fh->log_to_stderr = getenv("FAKE_HOST_LOG") != NULL;
    trellis_host *t = &fh->table;
    t->size = sizeof(*t);
    t->abi_major = TRELLIS_ABI_MAJOR;
    t->abi_minor = TRELLIS_ABI_MINOR;
    t->alloc = h_alloc;
    t->realloc = h_realloc;
    t->free = h_free;
    t->log = h_log;
    t->log_fields = h_log_fields;
    t->log_enabled = h_log_enabled;
    t->error_set = h_error_set;
    t->config_has = h_config_has;
    t->config_get0_string = h_config_string;
    t->config_get_int = h_config_int;
    t->config_get_bool = h_config_bool;
    t->config_get_number = h_config_number;
    t->config_list_count = h_config_list_count;
    t->config_get0_list_item = h_config_list_item;
    t->timer_new = h_timer_new;
    t->timer_start = h_timer_start;
    t->timer_stop = h_timer_stop;
    t->timer_free = h_timer_free;
    t->watch_new = h_watch_new;
    t->watch_update = h_watch_update;
    t->watch_free = h_watch_free;
    t->defer = h_defer;
    t->post = h_post;
    t->offload = h_offload;
    t->monotonic_ns = h_monotonic_ns;
    t->wall_time = h_wall_time;
    t->listen_tcp = h_listen_tcp;
    t->set_ready = h_set_ready;
    t->stopped = h_stopped;
    t->instances_foreach = h_instances_foreach;
    t->metric_new = h_metric_new;
    t->metric_add = h_metric_add;
    t->metric_set = h_metric_set;
    t->metric_observe = h_metric_observe;
    t->metric_free = h_metric_free;
    t->metrics_foreach = h_metrics_foreach;
    t->debug_register = h_debug_register;
    t->debug_query = h_debug_query;
    t->error_new = h_error_new;
    t->error_get0_message = h_error_message;
    t->error_free = h_error_free;
    t->api_invoke = h_api_invoke;
    t->xds_watch = h_xds_watch;
    t->xds_unwatch = h_xds_unwatch;
    t->xds_watch_identity = h_xds_identity;
    t->xds_snapshot_version = h_snap_version;
    t->xds_snapshot_count = h_snap_count;
    t->xds_snapshot_at = h_snap_at;
    t->xds_snapshot_find = h_snap_find;
    t->xds_snapshot_changed_ns = h_snap_changed;
    t->xds_snapshot_ref = h_snap_ref;
    t->xds_snapshot_unref = h_snap_unref;
    the_host = fh;
    return fh;
}

const trellis_host *fake_host_table(fake_host *fh) { return &fh->table; }
trellis_host_ctx *fake_host_ctx(fake_host *fh) { return &fh->ctx; }

bool fake_host_log_contains(fake_host *fh, const char *needle)
{
    return fh->log != NULL && strstr(fh->log, needle) != NULL;
}

void fake_host_log_clear(fake_host *fh)
{
    fh->log_len = 0;
    if (fh->log)
        fh->log[0] = '\0';
}

void fake_host_free(fake_host *fh)
{
    run_defers(fh);
    for (trellis_watch *w = fh->watches, *n; w; w = n) {
        n = w->next;
        free(w);
    }
    for (trellis_timer *t = fh->timers, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    for (trellis_metric *m = fh->metrics, *n; m; m = n) {
        n = m->next;
        free(m->name);
        free(m->labels);
        free(m);
    }
    for (debug_provider *d = fh->debug, *n; d; d = n) {
        n = d->next;
        free(d->name);
        free(d);
    }
    for (trellis_config *c = fh->configs, *n; c; c = n) {
        n = c->next;
        json_decref(c->values);
        free(c);
    }
    for (identity_entry *e = fh->identities, *n; e; e = n) {
        n = e->next;
        h_snap_unref(e->snapshot);
        free(e->identity);
        free(e);
    }
    for (trellis_xds_watch *w = fh->xwatches, *n; w; w = n) {
        n = w->next;
        free(w);
    }
    close(fh->epfd);
    free(fh->defers);
    free(fh->log);
    if (the_host == fh)
        the_host = NULL;
    free(fh);
}
