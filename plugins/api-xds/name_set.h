/*
 * A sorted set of resource names (owned copies): a stream's subscription to
 * one resource type. Sorted so equal subscriptions compare and key the
 * response cache the same way whatever order the client listed them in.
 */
#ifndef TRELLIS_XDS_NAME_SET_H
#define TRELLIS_XDS_NAME_SET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct name_set {
    char **names;   /* sorted by strcmp, unique, each owned */
    size_t count;
    size_t cap;
} name_set;

void name_set_init(name_set *s);
void name_set_free(name_set *s);
bool name_set_contains(const name_set *s, const char *name);
/* false only on allocation failure; adding a present name is a no-op. */
bool name_set_add(name_set *s, const char *name);
/* true if the name was there. */
bool name_set_remove(name_set *s, const char *name);
/* Adds every name of a list (duplicates collapse) in O((n + m) log(n + m)),
 * not one insertion each: a request may name hundreds of thousands. false on
 * allocation failure (the names that fit are added). */
bool name_set_add_all(name_set *s, char *const *names, size_t count);
/* Removes every name of a list that is there; returns how many were. */
size_t name_set_remove_all(name_set *s, char *const *names, size_t count);
/* Builds a set from a list (duplicates collapse). false on allocation failure. */
bool name_set_from(name_set *s, char *const *names, size_t count);
bool name_set_equal(const name_set *a, const name_set *b);
/* Moves src into dst (dst's old names are freed; src becomes empty). */
void name_set_move(name_set *dst, name_set *src);

#endif
