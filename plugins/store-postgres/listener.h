/*
 * The listener: one connection LISTENing on the store's channel. Every
 * commit_batch() transaction ends with pg_notify(channel, "<tag> <revision>");
 * a notification carrying another instance's tag means another replica
 * committed, and the core is told (store.h watch: it then reads the change
 * feed from the revision it has). Notifications may coalesce or get lost
 * (a dropped connection); nothing depends on them one by one:
 *   - after the listener (re)connects, and whenever any connection of the
 *     store comes back, the core is told once: it catches up from its own
 *     revision;
 *   - every keepalive_ms the listener reads the newest revision; one beyond
 *     what it has heard of means a notification went missing (the core is
 *     told), no answer means the connection is dead (it is replaced).
 * Notifications of this instance's own commits are not passed on: the core
 * applies its own commits from their answers.
 */
#ifndef STORE_POSTGRES_LISTENER_H
#define STORE_POSTGRES_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include <trellis/store.h>

#include "store_postgres.h"

listener *listener_new(store_pg *s);
void listener_start(listener *l);
void listener_free(listener *l);
void listener_close(listener *l);

/* store.h watch(): from now on `notify` hears about other writers. */
void listener_watch(listener *l, trellis_store_notify_fn notify, void *arg);
/* A revision this instance committed itself (the keepalive will not call
 * it missing). */
void listener_own_revision(listener *l, uint64_t revision);
/* Tells the core to catch up, once, after the current callback. */
void listener_poke(listener *l);

bool listener_ready(const listener *l);
const char *listener_problem(const listener *l);

#endif
