#include "write_lanes.h"

#include <stdlib.h>
#include <string.h>

typedef struct lane {
    struct lane *next;
    char *name;
    api_call *head;        /* waiting calls; the running one is not queued */
    api_call *tail;
    lane_run_fn run;
    bool in_run;           /* run() is on the stack */
    bool finished_in_run;  /* ...and the running call already left */
} lane;

struct write_lanes {
    lane *lanes;           /* only busy lanes exist */
    size_t pending;
};

write_lanes *write_lanes_new(void)
{
    return calloc(1, sizeof(write_lanes));
}

void write_lanes_free(write_lanes *lanes)
{
    if (lanes == NULL)
        return;
    while (lanes->lanes != NULL) {
        lane *l = lanes->lanes;
        lanes->lanes = l->next;
        free(l->name);
        free(l);
    }
    free(lanes);
}

static lane **find_lane(write_lanes *lanes, const char *name)
{
    lane **link = &lanes->lanes;
    while (*link != NULL && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    return link;
}

/*
 * Runs calls of lane `l` starting with `call` until one stays in flight
 * (finishes later) or the lane is empty. Iterative, so a long queue of calls
 * that finish at once never deepens the stack.
 */
static void lane_dispatch(write_lanes *lanes, lane *l, api_call *call)
{
    for (;;) {
        l->in_run = true;
        l->finished_in_run = false;
        l->run(call);
        l->in_run = false;
        if (!l->finished_in_run)
            return; /* in flight: write_lanes_leave continues the lane */
        call = l->head;
        if (call == NULL) {
            lane **link = find_lane(lanes, l->name);
            *link = l->next;
            free(l->name);
            free(l);
            return;
        }
        l->head = call->lane_next;
        if (l->head == NULL)
            l->tail = NULL;
        call->lane_next = NULL;
    }
}

bool write_lanes_enter(write_lanes *lanes, api_call *call, lane_run_fn run)
{
    call->lane_next = NULL;
    lane *l = *find_lane(lanes, call->lane);
    if (l != NULL) {
        if (l->tail != NULL)
            l->tail->lane_next = call;
        else
            l->head = call;
        l->tail = call;
        lanes->pending++;
        return true;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->name = strdup(call->lane)) == NULL) {
        free(l);
        return false;
    }
    l->run = run;
    l->next = lanes->lanes;
    lanes->lanes = l;
    lanes->pending++;
    lane_dispatch(lanes, l, call);
    return true;
}

void write_lanes_leave(write_lanes *lanes, const char *lane_name)
{
    lane *l = *find_lane(lanes, lane_name);
    if (l == NULL)
        return;
    lanes->pending--;
    if (l->in_run) {
        l->finished_in_run = true; /* lane_dispatch picks the next one */
        return;
    }
    api_call *next = l->head;
    if (next == NULL) {
        lane **link = find_lane(lanes, lane_name);
        *link = l->next;
        free(l->name);
        free(l);
        return;
    }
    l->head = next->lane_next;
    if (l->head == NULL)
        l->tail = NULL;
    next->lane_next = NULL;
    lane_dispatch(lanes, l, next);
}

size_t write_lanes_pending(const write_lanes *lanes)
{
    return lanes->pending;
}
