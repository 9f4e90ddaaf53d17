#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROXY_PAIRS_MAX 64

typedef struct pair {
    int client;   /* -1: free slot */
    int upstream; /* -1: held (accepted while frozen) */
} pair;

struct tcp_proxy {
    int listen_fd;
    int wake[2];
    int port;
    struct sockaddr_in upstream;
    pthread_t thread;
    pthread_mutex_t lock;
    pair pairs[PROXY_PAIRS_MAX];
    _Atomic int mode;
    _Atomic bool stop;
    _Atomic unsigned cut_requests;
    _Atomic unsigned cuts_done;
    _Atomic unsigned mode_requests;
    _Atomic unsigned modes_seen; /* the thread polls with the mode of this request */
};

static void close_pair(pair *p)
{
    if (p->client >= 0)
        close(p->client);
    if (p->upstream >= 0)
        close(p->upstream);
    p->client = -1;
    p->upstream = -1;
}

static void wake(tcp_proxy *p)
{
    char c = 1;
    ssize_t n = write(p->wake[1], &c, 1);
    (void)n;
}

static int connect_upstream(const tcp_proxy *p)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&p->upstream, sizeof(p->upstream)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void accept_one(tcp_proxy *p)
{
    int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    int mode = atomic_load(&p->mode);
    if (mode == PROXY_REFUSE) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int up = -1;
    if (mode != PROXY_FREEZE && (up = connect_upstream(p)) < 0) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < PROXY_PAIRS_MAX; i++) {
        if (p->pairs[i].client < 0) {
            p->pairs[i] = (pair){fd, up};
            pthread_mutex_unlock(&p->lock);
            return;
        }
    }
    pthread_mutex_unlock(&p->lock);
    close(fd);
    if (up >= 0)
        close(up);
}

/* Moves what `from` has to `to` (or drops it); false when the pair is done. */
static bool forward(int from, int to, bool drop)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN);
    if (drop)
        return true;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        off += w;
    }
    return true;
}

static void *proxy_main(void *arg)
{
    tcp_proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        unsigned requested = atomic_load(&p->cut_requests);
        if (requested != atomic_load(&p->cuts_done)) {
            pthread_mutex_lock(&p->lock);
            for (int i = 0; i < PROXY_PAIRS_MAX; i++)
                close_pair(&p->pairs[i]);
            pthread_mutex_unlock(&p->lock);
            atomic_store(&p->cuts_done, requested);
        }
        unsigned mode_request = atomic_load(&p->mode_requests);
        int mode = atomic_load(&p->mode);
        atomic_store(&p->modes_seen, mode_request);
        struct pollfd fds[2 + 2 * PROXY_PAIRS_MAX];
        int slot_of[2 + 2 * PROXY_PAIRS_MAX];
        nfds_t n = 0;
        fds[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        pthread_mutex_lock(&p->lock);
        if (mode != PROXY_FREEZE) {
            for (int i = 0; i < PROXY_PAIRS_MAX; i++) {
                if (p->pairs[i].client < 0 || p->pairs[i].upstream < 0)
                    continue;
                slot_of[n] = i;
                fds[n++] = (struct pollfd){.fd = p->pairs[i].client, .events = POLLIN};
                slot_of[n] = i;
                fds[n++] = (struct pollfd){.fd = p->pairs[i].upstream, .events = POLLIN};
            }
        }
        pthread_mutex_unlock(&p->lock);
        if (poll(fds, n, 100) <= 0)
            continue;
        if (fds[0].revents & POLLIN)
            accept_one(p);
        if (fds[1].revents & POLLIN) {
            char drain[64];
            ssize_t r = read(p->wake[0], drain, sizeof(drain));
            (void)r;
        }
        for (nfds_t k = 2; k < n; k++) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            pthread_mutex_lock(&p->lock);
            pair *pr = &p->pairs[slot_of[k]];
            if (pr->client == fds[k].fd || pr->upstream == fds[k].fd) {
                bool from_client = fds[k].fd == pr->client;
                bool ok = from_client
                              ? forward(pr->client, pr->upstream, false)
                              : forward(pr->upstream, pr->client,
                                        atomic_load(&p->mode) == PROXY_SWALLOW_REPLIES);
                if (!ok)
                    close_pair(pr);
            }
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

tcp_proxy *tcp_proxy_start(const char *upstream_host, int upstream_port)
{
    tcp_proxy *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    for (int i = 0; i < PROXY_PAIRS_MAX; i++)
        p->pairs[i] = (pair){-1, -1};
    p->upstream.sin_family = AF_INET;
    p->upstream.sin_port = htons((uint16_t)upstream_port);
    if (inet_pton(AF_INET, upstream_host, &p->upstream.sin_addr) != 1)
        goto fail;
    p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(p->listen_fd, 64) != 0 ||
        getsockname(p->listen_fd, (struct sockaddr *)&addr, &len) != 0 ||
        pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        goto fail;
    p->port = ntohs(addr.sin_port);
    pthread_mutex_init(&p->lock, NULL);
    if (pthread_create(&p->thread, NULL, proxy_main, p) != 0)
        goto fail;
    return p;
fail:
    fprintf(stderr, "tcp_proxy: cannot start: %s\n", strerror(errno));
    free(p);
    return NULL;
}

int tcp_proxy_port(const tcp_proxy *p)
{
    return p->port;
}

static void wait_for(_Atomic unsigned *seen, unsigned want)
{
    while (atomic_load(seen) != want) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

void tcp_proxy_set_mode(tcp_proxy *p, proxy_mode mode)
{
    atomic_store(&p->mode, (int)mode);
    unsigned want = atomic_fetch_add(&p->mode_requests, 1) + 1;
    wake(p);
    wait_for(&p->modes_seen, want); /* no poll with the old mode from now on */
}

void tcp_proxy_cut(tcp_proxy *p)
{
    unsigned want = atomic_fetch_add(&p->cut_requests, 1) + 1;
    wake(p);
    wait_for(&p->cuts_done, want);
}

size_t tcp_proxy_connections(tcp_proxy *p)
{
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < PROXY_PAIRS_MAX; i++)
        n += p->pairs[i].client >= 0;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void tcp_proxy_stop(tcp_proxy *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, true);
    wake(p);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < PROXY_PAIRS_MAX; i++)
        close_pair(&p->pairs[i]);
    close(p->listen_fd);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
