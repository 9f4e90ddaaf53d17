/*
 * Crash test: a child process commits in a loop (eight commits in flight)
 * and prints every acknowledged commit; the parent kills it with SIGKILL at
 * random moments, again and again, and after each kill opens the directory
 * itself and checks that
 *   - every acknowledged commit is there, and
 *   - no commit is half-applied: each commit writes six records at once
 *     (its own key, a counter, a pair of keys, and moves a "tmp" key), so
 *     the whole state must be exactly the state after some commit S.
 * Snapshots are frequent, so kills also land during snapshots and rotations.
 *
 *   store_file_crash <plugin dir>                    the parent (the test)
 *   store_file_crash <plugin dir> --child <data dir> the committing child
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin_harness.h"
#include "store_client.h"
#include "test_check.h"

#define ROUNDS 10
#define IN_FLIGHT 8
#define CONFIG_FMT "{\"dir\":\"%s\",\"snapshot_every_commits\":40}"

/* ---- the child ---- */

typedef struct child {
    store_client *c;
    uint64_t next_seq;
    /* Keys and values of the commits in flight (borrowed by commit() only
     * until it returns, but kept simple). */
    char text[IN_FLIGHT][6][48];
} child;

static void child_commit(child *ch);

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One write per line: the parent must never see half a line as an ack. */
    if (write(1, line, (size_t)n) != n)
        _exit(4);
}

typedef struct in_flight {
    child *ch;
    uint64_t seq;
} in_flight;

static in_flight slots[IN_FLIGHT];

static void on_done(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    in_flight *slot = arg;
    if (status != TRELLIS_OK) {
        say("fail %" PRIu64 " %d %s\n", slot->seq, (int)status, message ? message : "");
        _exit(3);
    }
    say("ack %" PRIu64 " %" PRIu64 "\n", slot->seq, revision);
    child_commit(slot->ch);
}

static void child_commit(child *ch)
{
    uint64_t s = ch->next_seq++;
    in_flight *slot = &slots[s % IN_FLIGHT];
    slot->ch = ch;
    slot->seq = s;
    char(*t)[48] = ch->text[s % IN_FLIGHT];
    snprintf(t[0], 48, "seq/%" PRIu64, s);
    snprintf(t[1], 48, "%" PRIu64, s);
    snprintf(t[2], 48, "tmp/%" PRIu64, s - 1);
    snprintf(t[3], 48, "tmp/%" PRIu64, s);
    trellis_store_op ops[6] = {
        op_put(t[0], t[1], TRELLIS_STORE_ABSENT),
        op_put("counter", t[1], s - 1), /* ABSENT (0) for the first commit */
        op_put("pair/a", t[1], TRELLIS_STORE_ANY_VERSION),
        op_put("pair/b", t[1], TRELLIS_STORE_ANY_VERSION),
        op_put(t[3], t[1], TRELLIS_STORE_ABSENT),
        op_delete(t[2], 1),
    };
    size_t n = s == 1 ? 5 : 6;
    trellis_status st = ch->c->ops->commit(ch->c->store, ops, n, on_done, slot);
    if (st != TRELLIS_OK) {
        say("refused %" PRIu64 " %d\n", s, (int)st);
        _exit(3);
    }
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static int child_main(const char *plugin_dir, const char *data)
{
    harness *h = harness_new(plugin_dir);
    char config[PATH_MAX + 100], err[2048];
    snprintf(config, sizeof(config), CONFIG_FMT, data);
    harness_instance *hi = h ? harness_create(h, "store.file", config, err, sizeof(err)) : NULL;
    if (hi == NULL || !harness_start(hi, err, sizeof(err))) {
        say("cannot start: %s\n", err);
        return 2;
    }
    store_client c = {0};
    store_client_bind(&c, h, hi);
    read_result r = store_read_all(&c);
    const read_record *counter = read_result_find(&r, "counter");
    uint64_t last = counter ? strtoull(counter->value, NULL, 10) : 0;
    say("start %" PRIu64 " %" PRIu64 "\n", r.revision, last);
    read_result_free(&r);
    child ch = {.c = &c, .next_seq = last + 1};
    for (int i = 0; i < IN_FLIGHT; i++)
        child_commit(&ch);
    for (;;)
        harness_run_until(h, never, NULL, 60000);
}

/* ---- the parent ---- */

static const char *plugin_dir;

typedef struct round_output {
    uint64_t max_acked;
    uint64_t acks;
    bool bad_line; /* an ack whose revision is not its sequence number */
    bool child_failed;
    char first_line[256];
} round_output;

static void parse_lines(char *buf, size_t *len, round_output *out)
{
    char *start = buf;
    char *nl;
    while ((nl = memchr(start, '\n', (size_t)(buf + *len - start))) != NULL) {
        *nl = '\0';
        uint64_t seq, rev;
        if (out->first_line[0] == '\0')
            snprintf(out->first_line, sizeof(out->first_line), "%.255s", start);
        if (sscanf(start, "ack %" SCNu64 " %" SCNu64, &seq, &rev) == 2) {
            out->acks++;
            if (seq > out->max_acked)
                out->max_acked = seq;
            if (rev != seq)
                out->bad_line = true;
        } else if (strncmp(start, "start ", 6) != 0) {
            fprintf(stderr, "child: %s\n", start);
            out->child_failed = true;
        }
        start = nl + 1;
    }
    size_t rest = (size_t)(buf + *len - start);
    memmove(buf, start, rest);
    *len = rest;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs one child, kills it after `kill_after_ms` (counted from its first
 * ack, or from the start when `early`), and collects what it acknowledged. */
static round_output run_child(const char *self, const char *data, uint64_t kill_after_ms,
                              bool early)
{
    round_output out = {0};
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, plugin_dir, "--child", data, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[65536];
    size_t len = 0;
    uint64_t started = now_ms(), kill_at = early ? started + kill_after_ms : UINT64_MAX;
    bool killed = false;
    for (;;) {
        uint64_t now = now_ms();
        if (!killed && now >= kill_at) {
            kill(pid, SIGKILL);
            killed = true;
        }
        if (!killed && now - started > 60000) {
            fprintf(stderr, "child made no progress in 60 s\n");
            kill(pid, SIGKILL);
            killed = true;
            out.child_failed = true;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int wait_ms = killed ? 1000 : kill_at == UINT64_MAX ? 50 : (int)(kill_at - now);
        if (poll(&p, 1, wait_ms < 0 ? 0 : wait_ms) < 0 && errno != EINTR)
            break;
        if (p.revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(fds[0], buf + len, sizeof(buf) - len - 1);
            if (n <= 0)
                break; /* the child is gone and everything it wrote is read */
            len += (size_t)n;
            parse_lines(buf, &len, &out);
            if (kill_at == UINT64_MAX && out.acks > 0)
                kill_at = now_ms() + kill_after_ms;
        }
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        fprintf(stderr, "child ended by itself (status %d): %s\n", status, out.first_line);
        out.child_failed = true;
    }
    return out;
}

/* Opens the directory and checks the state is exactly "after commit S",
 * with S >= every acknowledged commit. Returns S. */
static uint64_t verify(const char *data, uint64_t max_acked)
{
    harness *h = harness_new(plugin_dir);
    char config[PATH_MAX + 100], err[2048];
    snprintf(config, sizeof(config), CONFIG_FMT, data);
    harness_instance *hi = harness_create(h, "store.file", config, err, sizeof(err));
    bool started = hi != NULL && harness_start(hi, err, sizeof(err));
    CHECK(started);
    if (!started) {
        fprintf(stderr, "recovery failed: %s\n", err);
        harness_log_dump(h, stderr);
        harness_stop(hi);
        harness_free(h);
        exit(1);
    }
    store_client c = {0};
    store_client_bind(&c, h, hi);
    read_result r = store_read_all(&c);
    CHECK_INT(r.status, TRELLIS_OK);
    const read_record *counter = read_result_find(&r, "counter");
    uint64_t s = counter ? strtoull(counter->value, NULL, 10) : 0;
    int failures_before = test_failures;
    CHECK(s >= max_acked);    /* nothing acknowledged is lost */
    CHECK_INT(r.revision, s); /* one revision per commit, none half there */
    CHECK_INT(r.count, s == 0 ? 0 : s + 4);
    if (counter != NULL)
        CHECK_INT(counter->version, s);
    char key[48], value[48];
    snprintf(value, sizeof(value), "%" PRIu64, s);
    const char *pair_keys[] = {"pair/a", "pair/b"};
    for (int i = 0; i < 2 && s > 0; i++) {
        const read_record *p = read_result_find(&r, pair_keys[i]);
        CHECK(p != NULL && strcmp(p->value, value) == 0 && p->version == s);
    }
    snprintf(key, sizeof(key), "tmp/%" PRIu64, s);
    const read_record *tmp = read_result_find(&r, key);
    CHECK(s == 0 || (tmp != NULL && tmp->revision == s));
    int missing = 0;
    for (uint64_t i = 1; i <= s; i++) {
        snprintf(key, sizeof(key), "seq/%" PRIu64, i);
        snprintf(value, sizeof(value), "%" PRIu64, i);
        const read_record *rec = read_result_find(&r, key);
        if (rec == NULL || strcmp(rec->value, value) != 0 || rec->revision != i)
            missing++;
    }
    CHECK_INT(missing, 0);
    read_result_free(&r);
    CHECK_INT(store_client_finish(&c), 0);
    harness_stop(hi);
    if (test_failures != failures_before)
        harness_log_dump(h, stderr);
    harness_free(h);
    return s;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[2], "--child") == 0)
        return child_main(argv[1], argv[3]);
    if (argc != 2) {
        fprintf(stderr, "usage: store_file_crash <plugin dir>\n");
        return 2;
    }
    plugin_dir = argv[1];
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    char root[PATH_MAX], data[PATH_MAX + 8];
    snprintf(root, sizeof(root), "%s/store-file-crash-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(root) == NULL)
        return 1;
    snprintf(data, sizeof(data), "%s/data", root);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    printf("seed %u\n", seed);

    uint64_t state = 0, total_acks = 0;
    for (int round = 0; round < ROUNDS && test_failures == 0; round++) {
        /* Every fourth child dies early: during start-up or its first commits. */
        bool early = round % 4 == 3;
        uint64_t delay = early ? (uint64_t)(rand() % 40) : 5 + (uint64_t)(rand() % 300);
        round_output out = run_child(self, data, delay, early);
        CHECK(!out.child_failed);
        CHECK(!out.bad_line);
        uint64_t after = verify(data, out.max_acked);
        CHECK(after >= state); /* nothing that was there before is gone */
        printf("round %d: killed %s %" PRIu64 " ms, %" PRIu64 " acks, state after commit %" PRIu64
               "\n",
               round, early ? "after start" : "after the first ack", delay, out.acks, after);
        fflush(stdout);
        state = after;
        total_acks += out.acks;
    }
    CHECK(total_acks > 0);
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return test_finish("store_file_crash");
}
