/*
 * The store ops table: each op goes to the part of the instance that
 * serves it (writer.h, reader.h, listener.h), which checks its arguments.
 */
#include "listener.h"
#include "reader.h"
#include "store_postgres.h"
#include "writer.h"

static trellis_status pg_commit_op(void *instance, const trellis_store_op *ops, size_t op_count,
                                   trellis_store_commit_done_fn done, void *arg)
{
    store_pg *s = instance;
    if (!s->started)
        return TRELLIS_ERR_UNAVAILABLE;
    return writer_commit(s->writer, ops, op_count, done, arg);
}

static trellis_status pg_read_all(void *instance, trellis_store_visit_fn visit,
                                  trellis_store_read_done_fn done, void *arg)
{
    store_pg *s = instance;
    if (!s->started)
        return TRELLIS_ERR_UNAVAILABLE;
    return reader_read_all(s->readers, visit, done, arg);
}

static trellis_status pg_read_changes(void *instance, uint64_t since,
                                      trellis_store_visit_fn visit,
                                      trellis_store_read_done_fn done, void *arg)
{
    store_pg *s = instance;
    if (!s->started)
        return TRELLIS_ERR_UNAVAILABLE;
    return reader_read_changes(s->readers, since, visit, done, arg);
}

static void pg_watch(void *instance, trellis_store_notify_fn notify, void *arg)
{
    store_pg *s = instance;
    listener_watch(s->listener, notify, arg);
}

const trellis_store_ops store_postgres_ops = {
    TRELLIS_STORE_OPS_HEADER,
    .commit = pg_commit_op,
    .read_all = pg_read_all,
    .read_changes = pg_read_changes,
    .watch = pg_watch,
};
