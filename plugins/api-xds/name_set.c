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

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool name_set_add_all(name_set *s, char *const *names, size_t count)
{
    if (count == 0)
        return true;
    if (s->count + count > s->cap) {
        char **grown = realloc(s->names, (s->count + count) * sizeof(*grown));
        if (grown == NULL)
            return false;
        s->names = grown;
        s->cap = s->count + count;
    }
    size_t n = s->count;
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        s->names[n] = strdup(names[i]);
        ok = s->names[n] != NULL;
        n += ok;
    }
    qsort(s->names, n, sizeof(*s->names), compare_names);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && strcmp(s->names[kept - 1], s->names[i]) == 0)
            free(s->names[i]);
        else
            s->names[kept++] = s->names[i];
    }
    s->count = kept;
    return ok;
}

size_t name_set_remove_all(name_set *s, char *const *names, size_t count)
{
    char **gone = count > 0 ? malloc(count * sizeof(*gone)) : NULL;
    if (gone == NULL) { /* none given, or no memory: one at a time */
        size_t removed = 0;
        for (size_t i = 0; i < count; i++)
            removed += name_set_remove(s, names[i]);
        return removed;
    }
    memcpy(gone, names, count * sizeof(*gone));
    qsort(gone, count, sizeof(*gone), compare_names);
    /* both sorted: one merge walk */
    size_t kept = 0, j = 0;
    for (size_t i = 0; i < s->count; i++) {
        while (j < count && strcmp(gone[j], s->names[i]) < 0)
            j++;
        if (j < count && strcmp(gone[j], s->names[i]) == 0)
            free(s->names[i]);
        else
            s->names[kept++] = s->names[i];
    }
    free(gone);
    size_t removed = s->count - kept;
    s->count = kept;
    return removed;
}

bool name_set_from(name_set *s, char *const *names, size_t count)
{
    name_set_init(s);
    if (!name_set_add_all(s, names, count)) {
        name_set_free(s);
        return false;
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
