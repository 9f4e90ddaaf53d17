#include "make_before_break.h"

#include <string.h>

#include "xds_proxy.h"

static bool tracked(const xds_proxy *p)
{
    return p->flavor == TRELLIS_XDS_SIDECAR;
}

/* The role of a type that names clusters (its index in acked/in_flight), or -1. */
static int role_of(trellis_xds_type type)
{
    return type == TRELLIS_XDS_LISTENER ? 0 : type == TRELLIS_XDS_ROUTE ? 1 : -1;
}

static trellis_xds_type type_of_role(int role)
{
    return role == 0 ? TRELLIS_XDS_LISTENER : TRELLIS_XDS_ROUTE;
}

static void unpin(const trellis_host *h, mbb_pin *pin)
{
    if (pin->snapshot != NULL)
        h->xds_snapshot_unref(pin->snapshot);
    pin->snapshot = NULL;
    pin->seq = 0;
}

/* Pins the stream's current snapshot. */
static void pin_current(xds_proxy *p, mbb_pin *pin)
{
    const trellis_host *h = p->server->host;
    if (pin->snapshot == p->snapshot) {
        pin->seq = p->mbb.seq;
        return;
    }
    unpin(h, pin);
    pin->snapshot = h->xds_snapshot_ref(p->snapshot);
    pin->seq = p->mbb.seq;
}

static bool same_version(const trellis_host *h, trellis_xds_snapshot *a, trellis_xds_snapshot *b,
                         trellis_xds_type type)
{
    const char *va = h->xds_snapshot_version(a, type);
    const char *vb = h->xds_snapshot_version(b, type);
    return va != NULL && vb != NULL && strcmp(va, vb) == 0;
}

static void drop_retention(xds_proxy *p)
{
    retention_release(p->mbb.retention);
    p->mbb.retention = NULL;
    p->mbb.retention_current = NULL;
    p->mbb.retention_source_count = 0;
}

void mbb_on_snapshot(xds_proxy *p)
{
    if (!tracked(p) || p->snapshot == NULL)
        return;
    const trellis_host *h = p->server->host;
    p->mbb.seq++;
    drop_retention(p); /* computed for the previous snapshot */
    /* Equal versions are equal resources: the proxy holds the new
     * snapshot's, and the old snapshot need not be kept for it. */
    for (int role = 0; role < MBB_ROLES; role++) {
        trellis_xds_type t = type_of_role(role);
        mbb_pin *pins[] = {&p->mbb.acked[role], &p->mbb.in_flight[role]};
        for (size_t i = 0; i < 2; i++)
            if (pins[i]->snapshot != NULL && same_version(h, pins[i]->snapshot, p->snapshot, t))
                pin_current(p, pins[i]);
    }
}

void mbb_on_sent(xds_proxy *p, trellis_xds_type type)
{
    int role = role_of(type);
    if (!tracked(p) || role < 0)
        return;
    pin_current(p, &p->mbb.in_flight[role]);
}

void mbb_on_answered(xds_proxy *p, trellis_xds_type type, bool taken)
{
    int role = role_of(type);
    if (!tracked(p) || role < 0 || p->mbb.in_flight[role].snapshot == NULL)
        return;
    const trellis_host *h = p->server->host;
    if (taken) {
        unpin(h, &p->mbb.acked[role]);
        p->mbb.acked[role] = p->mbb.in_flight[role];
        p->mbb.in_flight[role].snapshot = NULL;
        p->mbb.in_flight[role].seq = 0;
    } else {
        unpin(h, &p->mbb.in_flight[role]); /* the proxy keeps what it accepted before */
    }
}

void mbb_on_current(xds_proxy *p, trellis_xds_type type)
{
    int role = role_of(type);
    if (!tracked(p) || role < 0 || p->snapshot == NULL)
        return;
    pin_current(p, &p->mbb.acked[role]);
}

bool mbb_waits(const xds_proxy *p, trellis_xds_type type)
{
    return tracked(p) && role_of(type) >= 0 && xds_type_unanswered(&p->types[type]);
}

/* The pinned snapshots other than the current one, newest first, each once
 * with the types held from it. */
static size_t gather_sources(const xds_proxy *p, retention_source *out)
{
    const mbb_pin *pins[RETENTION_MAX_SOURCES];
    unsigned types[RETENTION_MAX_SOURCES];
    size_t n = 0;
    for (int role = 0; role < MBB_ROLES; role++) {
        const mbb_pin *candidates[] = {&p->mbb.acked[role], &p->mbb.in_flight[role]};
        for (size_t i = 0; i < 2; i++) {
            const mbb_pin *pin = candidates[i];
            if (pin->snapshot == NULL || pin->snapshot == p->snapshot)
                continue;
            size_t j = 0;
            while (j < n && pins[j]->snapshot != pin->snapshot)
                j++;
            if (j == n) {
                pins[n] = pin;
                types[n++] = 0;
            } else if (pin->seq > pins[j]->seq) {
                pins[j] = pin;
            }
            types[j] |= 1u << type_of_role(role);
        }
    }
    /* newest first: a resource in two sources is taken from the newer */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && pins[j]->seq > pins[j - 1]->seq; j--) {
            const mbb_pin *pin = pins[j];
            pins[j] = pins[j - 1];
            pins[j - 1] = pin;
            unsigned t = types[j];
            types[j] = types[j - 1];
            types[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        out[i].snapshot = pins[i]->snapshot;
        out[i].types = types[i];
    }
    return n;
}

const retained_list *mbb_retained(xds_proxy *p, trellis_xds_type type, bool *failed)
{
    *failed = false;
    if (!tracked(p) || p->snapshot == NULL ||
        (type != TRELLIS_XDS_CLUSTER && type != TRELLIS_XDS_ENDPOINT))
        return NULL;
    retention_source sources[RETENTION_MAX_SOURCES];
    size_t count = gather_sources(p, sources);
    if (count == 0) {
        /* the proxy holds the current snapshot's listeners and routes */
        drop_retention(p);
        return NULL;
    }
    bool same = p->mbb.retention != NULL && p->mbb.retention_current == p->snapshot &&
                p->mbb.retention_source_count == count;
    for (size_t i = 0; same && i < count; i++)
        same = p->mbb.retention_sources[i].snapshot == sources[i].snapshot &&
               p->mbb.retention_sources[i].types == sources[i].types;
    if (!same) {
        drop_retention(p);
        p->mbb.retention = retention_get(&p->server->retentions, p->snapshot, sources, count);
        if (p->mbb.retention == NULL) {
            *failed = true;
            return NULL;
        }
        p->mbb.retention_current = p->snapshot;
        memcpy(p->mbb.retention_sources, sources, count * sizeof(sources[0]));
        p->mbb.retention_source_count = count;
    }
    return retention_list(p->mbb.retention, type);
}

void mbb_free(xds_proxy *p)
{
    const trellis_host *h = p->server->host;
    drop_retention(p);
    for (int role = 0; role < MBB_ROLES; role++) {
        unpin(h, &p->mbb.acked[role]);
        unpin(h, &p->mbb.in_flight[role]);
    }
}
