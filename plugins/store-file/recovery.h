/*
 * Recovery at start: rebuild the current state from the newest snapshot plus
 * the journal after it, decide what damage may be repaired, and leave one
 * journal segment open for appends.
 *
 *   - Leftover snapshot .tmp files (a crash while writing one) are removed.
 *   - The newest snapshot must be intact; any damage refuses the start.
 *   - Journal segments are replayed in order; frames the snapshot already
 *     covers are checked but not applied. Revisions must continue exactly.
 *   - Damage at the end of the last segment with no intact frame after it is
 *     a torn write: it is cut off with a warning naming file and offset.
 *   - Damage followed by any intact frame (or by a later segment) is
 *     corruption: the start is refused with file and byte offset, and
 *     nothing on disk is changed.
 *   - Segments and snapshots older than the newest snapshot are removed.
 */
#ifndef STORE_FILE_RECOVERY_H
#define STORE_FILE_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "history.h"
#include "journal.h"
#include "record.h"

typedef struct recovery_result {
    record_table current; /* the state at `revision` */
    history hist;         /* changes after `snapshot_revision` */
    uint64_t revision;    /* newest durable revision (0: empty store) */
    uint64_t snapshot_revision;
    journal_segment segment;  /* open; appends continue here */
    uint64_t journal_commits; /* commits replayed from the journal */
    uint64_t truncated_bytes; /* torn tail cut off, if any */
} recovery_result;

void recovery_result_init(recovery_result *r);
void recovery_result_free(recovery_result *r);

/* `host`/`ctx` receive the warnings (removed leftovers, torn tail). */
bool recovery_run(const trellis_host *host, trellis_host_ctx *ctx, int dir_fd, const char *dir_path,
                  bool sync, recovery_result *out, char *errbuf, size_t errbuf_size);

#endif
