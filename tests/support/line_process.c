#include "line_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (1u << 20)

struct line_process {
    pid_t pid;
    int to_child;
    int from_child;
    char *pending;                  /* bytes read past the last line */
    size_t pending_len;
};

line_process *line_process_start(char *const argv[])
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return NULL;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv(argv[0], argv);
        fprintf(stderr, "line_process: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    line_process *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(in[1]);
        close(out[0]);
        return NULL;
    }
    p->pid = pid;
    p->to_child = in[1];
    p->from_child = out[0];
    return p;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One line (without its newline), malloc'd; NULL on timeout or EOF. */
static char *read_line(line_process *p, uint64_t timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        char *nl = p->pending ? memchr(p->pending, '\n', p->pending_len) : NULL;
        if (nl != NULL) {
            size_t len = (size_t)(nl - p->pending);
            char *line = malloc(len + 1);
            if (line == NULL)
                return NULL;
            memcpy(line, p->pending, len);
            line[len] = '\0';
            memmove(p->pending, nl + 1, p->pending_len - len - 1);
            p->pending_len -= len + 1;
            return line;
        }
        uint64_t now = now_ms();
        if (now >= deadline || p->pending_len >= REPLY_MAX)
            return NULL;
        struct pollfd pfd = {.fd = p->from_child, .events = POLLIN};
        if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
            continue;
        char buf[65536];
        ssize_t n = read(p->from_child, buf, sizeof(buf));
        if (n <= 0)
            return NULL;
        char *grown = realloc(p->pending, p->pending_len + (size_t)n);
        if (grown == NULL)
            return NULL;
        p->pending = grown;
        memcpy(p->pending + p->pending_len, buf, (size_t)n);
        p->pending_len += (size_t)n;
    }
}

json_t *line_process_call(line_process *p, const char *line, uint64_t timeout_ms)
{
    size_t len = strlen(line);
    if (write(p->to_child, line, len) != (ssize_t)len || write(p->to_child, "\n", 1) != 1) {
        fprintf(stderr, "line_process: cannot send %s: %s\n", line, strerror(errno));
        return NULL;
    }
    char *reply = read_line(p, timeout_ms);
    if (reply == NULL) {
        fprintf(stderr, "line_process: no answer to %s within %llu ms\n", line,
                (unsigned long long)timeout_ms);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loads(reply, 0, &jerr);
    if (doc == NULL || !json_is_true(json_object_get(doc, "ok"))) {
        fprintf(stderr, "line_process: %s answered %s\n", line, reply);
        json_decref(doc);
        doc = NULL;
    }
    free(reply);
    return doc;
}

json_t *line_process_callf(line_process *p, uint64_t timeout_ms, const char *fmt, ...)
{
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return line_process_call(p, line, timeout_ms);
}

void line_process_stop(line_process *p)
{
    if (p == NULL)
        return;
    close(p->to_child);
    close(p->from_child);
    for (int i = 0; i < 100; i++) {
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            free(p->pending);
            free(p);
            return;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    free(p->pending);
    free(p);
}
