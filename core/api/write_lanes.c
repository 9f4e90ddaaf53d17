#include "write_lanes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* Writes of one lane in flight at once: enough to fill the store's group
 * commits, small enough that a failure replans little. */
#define LANE_PIPELINE_MAX 64

/* After a conflict (another writer got in first) the lane plans one write at
 * a time, each against a caught-up catalog, until this long has passed
 * without another conflict: under steady contention from another replica a
 * batch planned ahead would be invalidated by its first loss. */
#define LANE_SERIAL_AFTER_CONFLICT_NS (1000ull * 1000 * 1000)

/* A write that lost a race (store conflict) is planned again. Conflicts only
 * happen with several writers (replicas sharing store.postgres), and there
 * the loser starts behind: it must catch up (a read) before its next try.
 * Ten attempts settle the contention of concurrent clients; a write still
 * losing after them is answered ServiceUnavailable (nothing applied; SDKs
 * retry it). */
#define WRITE_ATTEMPTS_MAX 10

typedef struct lane lane;

struct lane {
    lane *next;
    char *name;
    write_lanes *owner;
    api_call *waiting, *waiting_tail;     /* not planned yet, in arrival order */
    api_call *inflight, *inflight_tail;   /* planned, answered in this order */
    size_t inflight_count;
    size_t commits_pending;               /* in-flight writes whose commit is out */
    catalog_overlay *overlay;             /* what the writes in flight will change */
    uint64_t next_seq;
    uint64_t serial_until_ns;             /* plan one at a time until then (monotonic) */
    bool failed;                          /* a commit failed: replan once all are back */
    bool busy;                            /* lane_advance is on the stack */
    bool again;                           /* ...and something changed meanwhile */
};

struct write_lanes {
    lane *lanes;                          /* only lanes with work exist */
    lane_plan_fn plan;
};

write_lanes *write_lanes_new(lane_plan_fn plan)
{
    write_lanes *lanes = calloc(1, sizeof(*lanes));
    if (lanes != NULL)
        lanes->plan = plan;
    return lanes;
}

static void lane_free(lane *l)
{
    catalog_overlay_free(l->overlay);
    free(l->name);
    free(l);
}

void write_lanes_free(write_lanes *lanes)
{
    if (lanes == NULL)
        return;
    while (lanes->lanes != NULL) {
        lane *l = lanes->lanes;
        lanes->lanes = l->next;
        lane_free(l);
    }
    free(lanes);
}

static lane *find_lane(write_lanes *lanes, const char *name)
{
    for (lane *l = lanes->lanes; l != NULL; l = l->next) {
        if (strcmp(l->name, name) == 0)
            return l;
    }
    return NULL;
}

static void append(api_call **head, api_call **tail, api_call *call)
{
    call->lane_next = NULL;
    if (*tail != NULL)
        (*tail)->lane_next = call;
    else
        *head = call;
    *tail = call;
}

static api_call *pop(api_call **head, api_call **tail)
{
    api_call *call = *head;
    if (call != NULL) {
        *head = call->lane_next;
        if (*head == NULL)
            *tail = NULL;
        call->lane_next = NULL;
    }
    return call;
}

static void lane_advance(lane *l);

/* ---- planning ---- */

/* Records what a planned write will change, for the writes planned after it. */
static bool overlay_apply(lane *l, const api_call *call)
{
    char reason[256];
    for (size_t i = 0; i < call->op_count; i++) {
        const catalog_op *op = &call->ops[i];
        bool ok = true;
        if (op->type == TRELLIS_STORE_PUT)
            ok = catalog_overlay_put(l->overlay, op->key, op->expected_version + 1, op->record,
                                     op->raw_value, op->raw_len, call->seq, reason,
                                     sizeof(reason));
        else if (op->type == TRELLIS_STORE_DELETE)
            ok = catalog_overlay_delete(l->overlay, op->key, call->seq);
        if (!ok)
            return false;
    }
    return true;
}

static void on_committed(void *arg, trellis_status status, uint64_t revision, const char *message);

/* Plans `call` against the catalog plus the writes in flight and sends its
 * commit. A call that fails to plan, or changes nothing, is settled as is. */
static void plan_one(lane *l, api_call *call)
{
    control_plane *cp = call->cp;
    api_call_reset(call);
    call->seq = ++l->next_seq;
    call->commit_pending = false;
    call->commit_status = TRELLIS_OK;
    if (!cp->ready) {
        api_fail(call, API_UNAVAILABLE, "the App Mesh API is not ready: %s", cp->not_ready_reason);
        return;
    }
    catalog_use_overlay(cp->cat, l->overlay);
    bool planned = l->owner->plan(call);
    catalog_use_overlay(cp->cat, NULL);
    if (!planned || call->op_count == 0)
        return;
    if (!overlay_apply(l, call)) {
        catalog_overlay_forget(l->overlay, call->seq);
        api_call_reset(call);
        api_fail(call, API_INTERNAL, "out of memory planning the write");
        return;
    }
    call->commit_pending = true;
    l->commits_pending++;
    trellis_status st = catalog_store_commit(cp->link, call->ops, call->op_count, on_committed, call);
    if (st == TRELLIS_OK)
        return;
    /* Refused at once: nothing was sent and nothing is planned on it yet. */
    call->commit_pending = false;
    l->commits_pending--;
    catalog_overlay_forget(l->overlay, call->seq);
    api_call_reset(call);
    if (st == TRELLIS_ERR_LIMIT || st == TRELLIS_ERR_UNAVAILABLE)
        api_fail(call, API_UNAVAILABLE, "the store is unavailable: %s",
                 st == TRELLIS_ERR_LIMIT ? "too many writes are queued" : "it refused the write");
    else
        api_fail(call, API_INTERNAL, "the store refused the write (status %d)", (int)st);
}

/* Plans waiting writes while the pipeline has room; returns how many. */
static size_t plan_more(lane *l)
{
    size_t planned = 0;
    bool serial = l->serial_until_ns != 0 && host_services.monotonic_ns() < l->serial_until_ns;
    while (!l->failed && l->waiting != NULL) {
        if (l->inflight_count > 0 && (serial || l->inflight_count >= LANE_PIPELINE_MAX))
            break;
        api_call *call = pop(&l->waiting, &l->waiting_tail);
        append(&l->inflight, &l->inflight_tail, call);
        l->inflight_count++;
        plan_one(l, call);
        planned++;
    }
    return planned;
}

/* ---- settling ---- */

/* Answers, in order, the writes at the head that are settled: their commit
 * came back OK, or they needed none. Stops at a write still in flight or at
 * a failed one (replan_after_failure handles it). */
static void answer_settled(lane *l)
{
    while (l->inflight != NULL && !l->inflight->commit_pending &&
           l->inflight->commit_status == TRELLIS_OK) {
        api_call *call = pop(&l->inflight, &l->inflight_tail);
        l->inflight_count--;
        api_call_finish(call);
    }
}

/* The error a write gets when its commit failed for good. */
static void fail_for_good(api_call *call)
{
    trellis_status st = call->commit_status;
    char message[sizeof(call->commit_message)];
    snprintf(message, sizeof(message), "%s", call->commit_message);
    api_call_reset(call);
    if (st == TRELLIS_ERR_CONFLICT)
        api_fail(call, API_UNAVAILABLE, "the write kept conflicting with concurrent writes; retry");
    else if (st == TRELLIS_ERR_UNAVAILABLE || st == TRELLIS_ERR_LIMIT)
        api_fail(call, API_UNAVAILABLE, "the store is unavailable: %s", message);
    else
        api_fail(call, API_INTERNAL, "the store failed to commit the write: %s", message);
    call->commit_status = TRELLIS_OK; /* settled, with its error */
}

/*
 * The first write in flight failed and every commit has come back. The
 * writes planned after it may have relied on it: forget what they planned
 * and plan them again, with the failed one first if it lost a race and has
 * attempts left; otherwise it is answered with its failure.
 */
static void replan_after_failure(lane *l)
{
    api_call *failed = l->inflight;
    l->failed = false;
    if (failed == NULL)
        return;
    catalog_overlay_forget_from(l->overlay, failed->seq);
    bool conflict = failed->commit_status == TRELLIS_ERR_CONFLICT;
    api_call *requeue = NULL, *requeue_tail = NULL;
    api_call *first = pop(&l->inflight, &l->inflight_tail);
    l->inflight_count--;
    if (conflict && ++first->attempts < WRITE_ATTEMPTS_MAX) {
        append(&requeue, &requeue_tail, first);
    } else {
        fail_for_good(first);
        api_call_finish(first);
    }
    /* Later writes: a commit the store accepted after all is durable and
     * stands (its conditions held); the rest are planned again. */
    while (l->inflight != NULL) {
        api_call *call = pop(&l->inflight, &l->inflight_tail);
        l->inflight_count--;
        if (call->op_count > 0 && call->commit_status == TRELLIS_OK)
            api_call_finish(call);
        else
            append(&requeue, &requeue_tail, call);
    }
    if (requeue != NULL) {
        requeue_tail->lane_next = l->waiting;
        if (l->waiting == NULL)
            l->waiting_tail = requeue_tail;
        l->waiting = requeue;
    }
    if (conflict)
        l->serial_until_ns = host_services.monotonic_ns() + LANE_SERIAL_AFTER_CONFLICT_NS;
}

static void on_committed(void *arg, trellis_status status, uint64_t revision, const char *message)
{
    api_call *call = arg;
    (void)revision;
    lane *l = call->write_lane; /* a lane lives while it has writes in flight */
    call->commit_pending = false;
    l->commits_pending--;
    call->commit_status = status;
    snprintf(call->commit_message, sizeof(call->commit_message), "%s", message ? message : "");
    if (status == TRELLIS_OK)
        catalog_overlay_forget(l->overlay, call->seq); /* the catalog has it now */
    else
        l->failed = true;
    lane_advance(l);
}

/* Answers what is settled, replans after a failure, plans what waits, and
 * frees the lane when it has nothing left. Re-entrant calls (an answer
 * leading to a new write) only mark the lane for another round. */
static void lane_advance(lane *l)
{
    if (l->busy) {
        l->again = true;
        return;
    }
    l->busy = true;
    do {
        l->again = false;
        answer_settled(l);
        if (l->failed && l->commits_pending == 0)
            replan_after_failure(l);
        /* Writes that need no commit settle as soon as they are planned;
         * answering them may make room for more: go round until nothing
         * new was planned. */
        if (plan_more(l) > 0)
            l->again = true;
    } while (l->again);
    l->busy = false;
    /* An idle lane goes, unless it is still careful after a conflict: the
     * next writes to its mesh must not start with a full batch. */
    if (l->waiting == NULL && l->inflight == NULL && host_services.monotonic_ns() >= l->serial_until_ns) {
        lane **link = &l->owner->lanes;
        while (*link != l)
            link = &(*link)->next;
        *link = l->next;
        lane_free(l);
    }
}

bool write_lanes_submit(write_lanes *lanes, api_call *call)
{
    lane *l = find_lane(lanes, call->lane);
    if (l == NULL) {
        l = calloc(1, sizeof(*l));
        if (l == NULL || (l->name = strdup(call->lane)) == NULL ||
            (l->overlay = catalog_overlay_new()) == NULL) {
            if (l != NULL)
                lane_free(l);
            return false;
        }
        l->owner = lanes;
        l->next = lanes->lanes;
        lanes->lanes = l;
    }
    call->write_lane = l;
    append(&l->waiting, &l->waiting_tail, call);
    lane_advance(l);
    return true;
}
