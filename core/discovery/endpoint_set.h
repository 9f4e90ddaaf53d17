/*
 * An endpoint set as the discovery manager keeps it: owned, validated (IP
 * literals in canonical text form, ports 0..65535), sorted by (zone,
 * address, port) and without repeats, so two answers from a registry that
 * differ only in order or spelling compare equal and never cause a push.
 */
#ifndef TRELLIS_CORE_DISCOVERY_ENDPOINT_SET_H
#define TRELLIS_CORE_DISCOVERY_ENDPOINT_SET_H

#include <stdbool.h>
#include <stddef.h>

#include <trellis/discovery.h>

#include "compiler/compiler.h"

typedef struct endpoint_set {
    compile_endpoint *items;    /* strings point into `text` */
    size_t count;
    char *text;                 /* every address and zone, NUL-separated */
    size_t dropped;             /* entries refused (not an IP literal, bad port) */
} endpoint_set;

/* A normalised copy of `count` endpoints. NULL on allocation failure. */
endpoint_set *endpoint_set_new(const trellis_endpoint *endpoints, size_t count);
bool endpoint_set_equal(const endpoint_set *a, const endpoint_set *b);
void endpoint_set_free(endpoint_set *set);

#endif
