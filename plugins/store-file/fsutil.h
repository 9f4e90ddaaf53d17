/*
 * Small POSIX file helpers with errno-style results (0 or an errno value),
 * so callers can report exactly which call failed on which file.
 */
#ifndef STORE_FILE_FSUTIL_H
#define STORE_FILE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Room for any file name the store makes ("snapshot-<20 digits>.snap.tmp"). */
#define STORE_NAME_MAX 64

/* pwrite() all of buf at offset, retrying short writes and EINTR. */
int fs_pwrite_all(int fd, const void *buf, size_t len, off_t offset);
/* write() all of buf, retrying short writes and EINTR. */
int fs_write_all(int fd, const void *buf, size_t len);
/* fdatasync / fsync, retrying EINTR. */
int fs_datasync(int fd);
int fs_fsync(int fd);

/* fsync()s the directory holding `path` (so a new entry in it is durable). */
int fs_fsync_parent(const char *path);

/* A whole file mapped read-only (data NULL when the file is empty). */
typedef struct fs_map {
    const unsigned char *data;
    size_t size;
} fs_map;
int fs_map_file(int dir_fd, const char *name, fs_map *out);
void fs_unmap(fs_map *m);

/* Parses "<prefix><20 decimal digits><suffix>" exactly; false otherwise. */
bool fs_parse_numbered_name(const char *name, const char *prefix, const char *suffix,
                            uint64_t *number);

#endif
