#include "metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX_COLLECTORS 8
#define METRICS_MAX_BUCKETS 64
#define METRICS_LABELS_MAX 1024

struct trellis_metric {
    metrics_registry *reg;
    const void *owner;
    uint64_t generation; /* creation order; the newest of identical series is exported */
    trellis_metric_type type;
    char *name;
    char *help;
    char *labels;
    double value;     /* counter/gauge value, histogram sum */
    uint64_t count;   /* histogram observations */
    size_t bucket_count;
    double *bounds;
    uint64_t *buckets; /* per-bucket (not cumulative) counts */
};

struct metrics_registry {
    uint64_t generations;
    metric **series;
    size_t count;
    size_t capacity;
    struct {
        metrics_collector_fn fn;
        void *arg;
    } collectors[METRICS_MAX_COLLECTORS];
    size_t collector_count;
};

metrics_registry *metrics_registry_new(void)
{
    return calloc(1, sizeof(metrics_registry));
}

static void series_destroy(metric *m)
{
    free(m->name);
    free(m->help);
    free(m->labels);
    free(m->bounds);
    free(m->buckets);
    free(m);
}

void metrics_registry_free(metrics_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->count; i++)
        series_destroy(reg->series[i]);
    free(reg->series);
    free(reg);
}

static bool valid_metric_name(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        bool digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != s))
            return false;
    }
    return true;
}

static bool valid_label_name(const char *s)
{
    if (s == NULL || *s == '\0' || strncmp(s, "__", 2) == 0)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
        bool digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != s))
            return false;
    }
    return true;
}

/* Appends k="v" pairs with Prometheus escaping. false on a bad name or overflow. */
static bool render_labels(char *out, size_t size, size_t *len, const char *const *labels,
                          char *errbuf, size_t errbuf_size)
{
    for (size_t i = 0; labels != NULL && labels[i] != NULL; i += 2) {
        const char *key = labels[i];
        const char *value = labels[i + 1];
        if (value == NULL || !valid_label_name(key)) {
            snprintf(errbuf, errbuf_size, "invalid label name or missing value at label %zu", i / 2);
            return false;
        }
        int n = snprintf(out + *len, size - *len, "%s%s=\"", *len ? "," : "", key);
        if (n < 0 || (size_t)n >= size - *len)
            goto overflow;
        *len += (size_t)n;
        for (const char *p = value; *p; p++) {
            const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
            size_t need = esc ? 2 : 1;
            if (*len + need + 2 >= size)
                goto overflow;
            if (esc) {
                memcpy(out + *len, esc, 2);
            } else {
                out[*len] = *p;
            }
            *len += need;
        }
        out[(*len)++] = '"';
        out[*len] = '\0';
    }
    return true;
overflow:
    snprintf(errbuf, errbuf_size, "labels longer than %d bytes", METRICS_LABELS_MAX);
    return false;
}

metric *metrics_series_new(metrics_registry *reg, const void *owner, trellis_metric_type type,
                           const char *name, const char *help, const char *const *labels,
                           const char *const *extra_labels, const double *buckets,
                           size_t bucket_count, char *errbuf, size_t errbuf_size)
{
    char rendered[METRICS_LABELS_MAX] = "";
    size_t len = 0;
    metric *m = NULL;

    if (type != TRELLIS_METRIC_COUNTER && type != TRELLIS_METRIC_GAUGE &&
        type != TRELLIS_METRIC_HISTOGRAM) {
        snprintf(errbuf, errbuf_size, "unknown metric type %d", (int)type);
        return NULL;
    }
    if (!valid_metric_name(name)) {
        snprintf(errbuf, errbuf_size, "invalid metric name '%s'", name ? name : "(null)");
        return NULL;
    }
    if (type == TRELLIS_METRIC_HISTOGRAM) {
        if (buckets == NULL || bucket_count == 0 || bucket_count > METRICS_MAX_BUCKETS) {
            snprintf(errbuf, errbuf_size, "histogram %s needs 1..%d buckets", name,
                     METRICS_MAX_BUCKETS);
            return NULL;
        }
        for (size_t i = 1; i < bucket_count; i++) {
            if (!(buckets[i] > buckets[i - 1])) {
                snprintf(errbuf, errbuf_size, "histogram %s buckets are not ascending", name);
                return NULL;
            }
        }
    } else if (buckets != NULL || bucket_count != 0) {
        snprintf(errbuf, errbuf_size, "metric %s: buckets are only for histograms", name);
        return NULL;
    }
    if (!render_labels(rendered, sizeof(rendered), &len, labels, errbuf, errbuf_size) ||
        !render_labels(rendered, sizeof(rendered), &len, extra_labels, errbuf, errbuf_size))
        return NULL;

    for (size_t i = 0; i < reg->count; i++) {
        metric *other = reg->series[i];
        if (strcmp(other->name, name) != 0)
            continue;
        if (other->type != type) {
            snprintf(errbuf, errbuf_size, "metric %s already registered with another type", name);
            return NULL;
        }
        /* The same series from another owner is a reloaded instance's
         * successor (instance names are unique, and the host labels every
         * plugin series with its instance): both live until the old one is
         * destroyed, and exporters see only the newest. */
        if (strcmp(other->labels, rendered) == 0 && other->owner == owner) {
            snprintf(errbuf, errbuf_size, "metric series %s{%s} already exists", name, rendered);
            return NULL;
        }
    }

    if (reg->count == reg->capacity) {
        size_t capacity = reg->capacity ? reg->capacity * 2 : 64;
        metric **series = realloc(reg->series, capacity * sizeof(*series));
        if (series == NULL)
            goto nomem;
        reg->series = series;
        reg->capacity = capacity;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        goto nomem;
    m->reg = reg;
    m->owner = owner;
    m->generation = ++reg->generations;
    m->type = type;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    m->labels = strdup(rendered);
    if (m->name == NULL || m->help == NULL || m->labels == NULL)
        goto nomem;
    if (type == TRELLIS_METRIC_HISTOGRAM) {
        m->bucket_count = bucket_count;
        m->bounds = malloc(bucket_count * sizeof(double));
        m->buckets = calloc(bucket_count, sizeof(uint64_t));
        if (m->bounds == NULL || m->buckets == NULL)
            goto nomem;
        memcpy(m->bounds, buckets, bucket_count * sizeof(double));
    }
    reg->series[reg->count++] = m;
    return m;
nomem:
    if (m != NULL)
        series_destroy(m);
    snprintf(errbuf, errbuf_size, "out of memory");
    return NULL;
}

void metric_add(metric *m, double delta)
{
    if (m == NULL)
        return;
    if (m->type == TRELLIS_METRIC_COUNTER && delta < 0)
        return; /* counters only go up */
    m->value += delta;
}

void metric_set(metric *m, double value)
{
    if (m != NULL && m->type == TRELLIS_METRIC_GAUGE)
        m->value = value;
}

void metric_observe(metric *m, double value)
{
    if (m == NULL || m->type != TRELLIS_METRIC_HISTOGRAM)
        return;
    m->value += value;
    m->count++;
    for (size_t i = 0; i < m->bucket_count; i++) {
        if (value <= m->bounds[i]) {
            m->buckets[i]++;
            break;
        }
    }
}

double metric_value(const metric *m)
{
    return m ? m->value : 0;
}

static void registry_remove_at(metrics_registry *reg, size_t i)
{
    series_destroy(reg->series[i]);
    reg->series[i] = reg->series[--reg->count];
}

void metric_free(metric *m)
{
    if (m == NULL)
        return;
    metrics_registry *reg = m->reg;
    for (size_t i = 0; i < reg->count; i++) {
        if (reg->series[i] == m) {
            registry_remove_at(reg, i);
            return;
        }
    }
}

void metrics_free_owner(metrics_registry *reg, const void *owner)
{
    for (size_t i = 0; i < reg->count;) {
        if (reg->series[i]->owner == owner)
            registry_remove_at(reg, i);
        else
            i++;
    }
}

bool metrics_add_collector(metrics_registry *reg, metrics_collector_fn fn, void *arg)
{
    if (reg->collector_count == METRICS_MAX_COLLECTORS)
        return false;
    reg->collectors[reg->collector_count].fn = fn;
    reg->collectors[reg->collector_count].arg = arg;
    reg->collector_count++;
    return true;
}

void metrics_remove_collector(metrics_registry *reg, metrics_collector_fn fn, void *arg)
{
    for (size_t i = 0; i < reg->collector_count; i++) {
        if (reg->collectors[i].fn == fn && reg->collectors[i].arg == arg) {
            reg->collectors[i] = reg->collectors[--reg->collector_count];
            return;
        }
    }
}

static int compare_series(const void *a, const void *b)
{
    const metric *x = *(const metric *const *)a;
    const metric *y = *(const metric *const *)b;
    int c = strcmp(x->name, y->name);
    if (c == 0)
        c = strcmp(x->labels, y->labels);
    if (c == 0) /* newest first, so it is the one exported */
        c = x->generation < y->generation ? 1 : -1;
    return c;
}

void metrics_foreach(metrics_registry *reg, trellis_metric_visit_fn fn, void *arg)
{
    for (size_t i = 0; i < reg->collector_count; i++)
        reg->collectors[i].fn(reg->collectors[i].arg);
    /* Sorting in place keeps exposition grouped by family; order is not otherwise used. */
    qsort(reg->series, reg->count, sizeof(metric *), compare_series);
    uint64_t cumulative[METRICS_MAX_BUCKETS];
    for (size_t i = 0; i < reg->count; i++) {
        const metric *m = reg->series[i];
        const metric *newer = i > 0 ? reg->series[i - 1] : NULL;
        if (newer != NULL && strcmp(newer->name, m->name) == 0 &&
            strcmp(newer->labels, m->labels) == 0)
            continue; /* shadowed by a reloaded instance's series */
        trellis_metric_sample sample = {
            .size = sizeof(sample),
            .type = (uint32_t)m->type,
            .name = m->name,
            .help = m->help,
            .labels = m->labels,
            .value = m->value,
            .count = m->count,
            .bucket_count = m->bucket_count,
            .bucket_bounds = m->bounds,
            .bucket_counts = m->bucket_count ? cumulative : NULL,
        };
        uint64_t running = 0;
        for (size_t b = 0; b < m->bucket_count; b++) {
            running += m->buckets[b];
            cumulative[b] = running;
        }
        fn(&sample, arg);
    }
}
