#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed-size blocks (an oversized request gets one of its own): a compile of
 * a node with ten backends uses a few. */
#define ARENA_BLOCK_MIN (32 * 1024)

struct arena_block {
    arena_block *next;
    size_t used;
    size_t size;
    max_align_t data[];
};

void arena_init(arena *a)
{
    a->head = NULL;
    a->failed = false;
}

void arena_release(arena *a)
{
    arena_block *b = a->head;
    while (b != NULL) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void *arena_alloc(arena *a, size_t size)
{
    if (a->failed)
        return NULL;
    size_t align = sizeof(max_align_t);
    size_t need = (size + align - 1) / align * align;
    if (need == 0)
        need = align;
    arena_block *b = a->head;
    if (b == NULL || b->size - b->used < need) {
        size_t block = need > ARENA_BLOCK_MIN ? need : ARENA_BLOCK_MIN;
        arena_block *fresh = malloc(sizeof(arena_block) + block);
        if (fresh == NULL) {
            a->failed = true;
            return NULL;
        }
        fresh->used = 0;
        fresh->size = block;
        fresh->next = a->head;
        a->head = fresh;
        b = fresh;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    memset(p, 0, size);
    return p;
}

void *arena_grow(arena *a, const void *old, size_t count, size_t capacity, size_t size)
{
    if (capacity != 0 && size > SIZE_MAX / capacity) {
        a->failed = true;
        return NULL;
    }
    void *p = arena_alloc(a, capacity * size);
    if (p != NULL && old != NULL && count > 0)
        memcpy(p, old, count * size);
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = arena_alloc(a, n + 1);
    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->failed = true;
        return NULL;
    }
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
