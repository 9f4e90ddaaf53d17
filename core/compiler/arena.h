/*
 * A bump allocator for one compile: everything the compiler derives while it
 * works (resolved plans, names, sort arrays) lives here and is released at
 * once when the compile returns. Nothing in an arena outlives the compile;
 * JSON output is allocated by jansson and owned by compile_output.
 */
#ifndef TRELLIS_COMPILER_ARENA_H
#define TRELLIS_COMPILER_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head;
    bool failed;            /* an allocation failed; every later call returns NULL */
} arena;

void arena_init(arena *a);
void arena_release(arena *a);

/* Zeroed memory, aligned for any type; NULL (and a->failed) on failure. */
void *arena_alloc(arena *a, size_t size);
/* A copy of `count` elements of `size` bytes into room for `capacity`
 * elements (capacity >= count): how arena-backed arrays grow. */
void *arena_grow(arena *a, const void *old, size_t count, size_t capacity, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
