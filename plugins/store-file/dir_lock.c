#include "dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"

/* The pid the current holder wrote, or 0 if unreadable (it may be between
 * taking the lock and writing its pid). */
static long read_holder_pid(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    char *end;
    long pid = strtol(text, &end, 10);
    return pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

int dir_lock_acquire(int dir_fd, const char *dir_path, char *errbuf, size_t errbuf_size)
{
    int fd = openat(dir_fd, DIR_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(errbuf, errbuf_size, "cannot open the lock file %s/%s: %s", dir_path,
                 DIR_LOCK_NAME, strerror(errno));
        return -1;
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
        int err = errno;
        if (err == EWOULDBLOCK) {
            long pid = read_holder_pid(fd);
            char holder[64] = "another process";
            if (pid > 0)
                snprintf(holder, sizeof(holder), "another process (pid %ld)", pid);
            snprintf(errbuf, errbuf_size,
                     "data directory %s is locked by %s; two trellis servers must never share "
                     "a data directory (the lock is %s/%s)",
                     dir_path, holder, dir_path, DIR_LOCK_NAME);
        } else {
            snprintf(errbuf, errbuf_size, "cannot lock %s/%s: %s", dir_path, DIR_LOCK_NAME,
                     strerror(err));
        }
        close(fd);
        return -1;
    }
    char pid_text[32];
    int len = snprintf(pid_text, sizeof(pid_text), "%ld\n", (long)getpid());
    /* The pid is only for messages; failing to record it is not fatal. */
    if (ftruncate(fd, 0) == 0)
        (void)fs_pwrite_all(fd, pid_text, (size_t)len, 0);
    return fd;
}
