/*
 * The data directory's lock: an exclusive, non-blocking flock() on
 * <dir>/LOCK, held for the instance's lifetime, so two servers never write
 * one directory. The holder writes its pid into the file so a refusal can say
 * who holds it. The kernel drops the lock when the holder exits, however it
 * dies, so a stale LOCK file never blocks a restart.
 */
#ifndef STORE_FILE_DIR_LOCK_H
#define STORE_FILE_DIR_LOCK_H

#include <stddef.h>

#define DIR_LOCK_NAME "LOCK"

/* Takes the lock. Returns the lock file's descriptor (close it to release),
 * or -1 with one sentence in errbuf naming the directory and, when known,
 * the pid holding it. */
int dir_lock_acquire(int dir_fd, const char *dir_path, char *errbuf, size_t errbuf_size);

#endif
