/*
 * Snapshots: the whole current state at one revision, in
 * snapshot-<revision, 20 digits>.snap. Written to a .tmp file, synced,
 * renamed into place and the directory synced, so a snapshot file either is
 * complete or does not exist under its final name.
 *
 * The file is a sequence of frames (frame.h):
 *   FRAME_SNAPSHOT_BEGIN    u64 revision, u64 record_count
 *   FRAME_SNAPSHOT_RECORDS  u32 count, per record: u64 version, u64 revision,
 *                           u32 key_len, u32 value_len, key, value   (repeated)
 *   FRAME_SNAPSHOT_END      u64 revision, u64 record_count; ends the file
 */
#ifndef STORE_FILE_SNAPSHOT_H
#define STORE_FILE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsutil.h"
#include "record.h"

#define SNAPSHOT_PREFIX "snapshot-"
#define SNAPSHOT_SUFFIX ".snap"
#define SNAPSHOT_TMP_SUFFIX ".tmp"

void snapshot_file_name(char out[STORE_NAME_MAX], uint64_t revision);
bool snapshot_parse_name(const char *name, uint64_t *revision);

/*
 * Writes `table` as the snapshot at `revision`. Only reads the table and its
 * records, so it may run on a worker while the loop thread reads them too.
 * Returns 0, or an errno with "<call> <file>" in `what`. *renamed tells the
 * caller whether the snapshot reached its final name before the failure:
 * after that point a failure leaves the directory in a state only a restart
 * may interpret.
 */
int snapshot_write(int dir_fd, uint64_t revision, const record_table *table, bool sync,
                   bool *renamed, char *what, size_t what_size);

/*
 * Reads and verifies the snapshot `name` (at `revision`) into `table` (empty).
 * false with "<dir>/<name>: byte offset N: <reason>" in errbuf on any damage.
 */
bool snapshot_load(int dir_fd, const char *dir_path, const char *name, uint64_t revision,
                   record_table *table, char *errbuf, size_t errbuf_size);

#endif
