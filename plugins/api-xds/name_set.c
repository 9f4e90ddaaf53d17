#include "name_set.h"

#include <stdlib.h>
#include <string.h>

void name_set_init(name_set *s)
{
    s->names = NULL;
    s->count = 0;
    s->cap = 0;
}

void name_set_free(name_set *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->names[i]);
    free(s->names);
    name_set_init(s);
}

/* Index of `name`, or where it would go (with *found false). */
static size_t lower_bound(const name_set *s, const char *name, bool *found)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(s->names[mid], name);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

bool name_set_contains(const name_set *s, const char *name)
{
    bool found;
    lower_bound(s, name, &found);
    return found;
}

bool name_set_add(name_set *s, const char *name)
{
    bool found;
    size_t at = lower_bound(s, name, &found);
    if (found)
        return true;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        char **grown = realloc(s->names, cap * sizeof(*grown));
        if (grown == NULL)
            return false;
        s->names = grown;
        s->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return false;
    memmove(s->names + at + 1, s->names + at, (s->count - at) * sizeof(*s->names));
    s->names[at] = copy;
    s->count++;
    return true;
}

bool name_set_remove(name_set *s, const char *name)
{
    bool found;
    size_t at = lower_bound(s, name, &found);
    if (!found)
        return false;
    free(s->names[at]);
    memmove(s->names + at, s->names + at + 1, (s->count - at - 1) * sizeof(*s->names));
    s->count--;
    return true;
}

bool name_set_from(name_set *s, char *const *names, size_t count)
{
    name_set_init(s);
    for (size_t i = 0; i < count; i++) {
        if (!name_set_add(s, names[i])) {
            name_set_free(s);
            return false;
        }
    }
    return true;
}

bool name_set_equal(const name_set *a, const name_set *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->names[i], b->names[i]) != 0)
            return false;
    return true;
}

void name_set_move(name_set *dst, name_set *src)
{
    name_set_free(dst);
    *dst = *src;
    name_set_init(src);
}
