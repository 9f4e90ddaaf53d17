/*
 * store.file commit throughput with sync on: closed-loop committers (each
 * commits again as soon as its previous commit is acknowledged) at 1, 16 and
 * 64 concurrent committers, through the real host. Prints commits/s,
 * syncs/s (journal writes, each one fdatasync), commits per sync and the
 * commit latency. Not run by ctest: numbers depend on the disk.
 *
 *   store_file_bench <plugin dir> [parent dir for the data, default .] [seconds per run, default 3]
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin_harness.h"
#include "store_client.h"

#define MAX_COMMITTERS 64
#define LATENCY_SAMPLES (1u << 22)

typedef struct bench bench;

typedef struct committer {
    bench *b;
    char key[32];
    uint64_t issued_ns;
    bool busy;
} committer;

struct bench {
    store_client c;
    committer committers[MAX_COMMITTERS];
    int count;
    uint64_t deadline_ns;
    uint64_t commits;
    uint64_t failures;
    uint64_t *latencies; /* ns, first LATENCY_SAMPLES commits */
    size_t latency_count;
    char value[256];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void issue(committer *w);

static void on_done(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    (void)revision;
    committer *w = arg;
    bench *b = w->b;
    w->busy = false;
    if (status != TRELLIS_OK) {
        if (b->failures++ == 0)
            fprintf(stderr, "commit failed: %d %s\n", (int)status, message ? message : "");
        return;
    }
    b->commits++;
    if (b->latency_count < LATENCY_SAMPLES)
        b->latencies[b->latency_count++] = now_ns() - w->issued_ns;
    if (now_ns() < b->deadline_ns)
        issue(w);
}

static void issue(committer *w)
{
    bench *b = w->b;
    trellis_store_op op =
        op_put_bytes(w->key, b->value, sizeof(b->value), TRELLIS_STORE_ANY_VERSION);
    w->issued_ns = now_ns();
    w->busy = true;
    if (b->c.ops->commit(b->c.store, &op, 1, on_done, w) != TRELLIS_OK) {
        w->busy = false;
        b->failures++;
    }
}

static bool finished(void *arg)
{
    bench *b = arg;
    if (now_ns() < b->deadline_ns)
        return false;
    for (int i = 0; i < b->count; i++) {
        if (b->committers[i].busy)
            return false;
    }
    return true;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool run(const char *plugin_dir, const char *parent, int committers, double seconds)
{
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/store-file-bench-XXXXXX", parent);
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return false;
    }
    char config[PATH_MAX + 64], err[2048];
    snprintf(config, sizeof(config), "{\"dir\":\"%s/data\",\"sync\":true}", root);
    harness *h = harness_new(plugin_dir);
    harness_instance *hi = h ? harness_create(h, "store.file", config, err, sizeof(err)) : NULL;
    bool ok = hi != NULL && harness_start(hi, err, sizeof(err));
    static bench b;
    memset(&b, 0, sizeof(b));
    b.latencies = malloc(LATENCY_SAMPLES * sizeof(uint64_t));
    if (!ok || b.latencies == NULL) {
        fprintf(stderr, "cannot start store.file: %s\n", err);
    } else {
        store_client_bind(&b.c, h, hi);
        memset(b.value, 'v', sizeof(b.value));
        b.count = committers;
        double syncs_before = harness_metric(h, "trellis_store_file_batches_total");
        uint64_t started = now_ns();
        b.deadline_ns = started + (uint64_t)(seconds * 1e9);
        for (int i = 0; i < committers; i++) {
            b.committers[i].b = &b;
            snprintf(b.committers[i].key, sizeof(b.committers[i].key), "bench/%d", i);
            issue(&b.committers[i]);
        }
        harness_run_until(h, finished, &b, (uint64_t)(seconds * 1000) + 60000);
        double elapsed = (double)(now_ns() - started) / 1e9;
        double syncs = harness_metric(h, "trellis_store_file_batches_total") - syncs_before;
        qsort(b.latencies, b.latency_count, sizeof(uint64_t), compare_u64);
        double p50 = b.latency_count ? (double)b.latencies[b.latency_count / 2] / 1e6 : 0;
        double p99 = b.latency_count ? (double)b.latencies[b.latency_count * 99 / 100] / 1e6 : 0;
        printf("committers %2d: %9.0f commits/s %8.0f syncs/s %6.1f commits/sync   "
               "latency p50 %.2f ms p99 %.2f ms   (%llu commits, %llu failed)\n",
               committers, (double)b.commits / elapsed, syncs / elapsed,
               syncs > 0 ? (double)b.commits / syncs : 0, p50, p99, (unsigned long long)b.commits,
               (unsigned long long)b.failures);
        fflush(stdout);
        ok = b.failures == 0;
    }
    free(b.latencies);
    harness_stop(hi);
    harness_free(h);
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: store_file_bench <plugin dir> [data parent dir] [seconds]\n");
        return 2;
    }
    const char *parent = argc > 2 ? argv[2] : ".";
    double seconds = argc > 3 ? atof(argv[3]) : 3.0;
    static const int levels[] = {1, 16, 64};
    bool ok = true;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        ok = run(argv[1], parent, levels[i], seconds) && ok;
    return ok ? 0 : 1;
}
