#include "endpoint_set.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* Canonical text of an IPv4 or IPv6 literal ("FD00::0001" -> "fd00::1");
 * false if it is not one. */
static bool canonical_address(const char *in, char *out, size_t size)
{
    unsigned char bytes[16];
    if (in == NULL)
        return false;
    if (inet_pton(AF_INET, in, bytes) == 1)
        return inet_ntop(AF_INET, bytes, out, (socklen_t)size) != NULL;
    if (inet_pton(AF_INET6, in, bytes) == 1)
        return inet_ntop(AF_INET6, bytes, out, (socklen_t)size) != NULL;
    return false;
}

static const char *zone_text(const compile_endpoint *e)
{
    return e->zone != NULL ? e->zone : "";
}

static int compare(const void *pa, const void *pb)
{
    const compile_endpoint *a = pa, *b = pb;
    int c = strcmp(zone_text(a), zone_text(b));
    if (c == 0)
        c = strcmp(a->address, b->address);
    if (c == 0)
        c = a->port < b->port ? -1 : a->port > b->port;
    return c;
}

endpoint_set *endpoint_set_new(const trellis_endpoint *endpoints, size_t count)
{
    endpoint_set *set = calloc(1, sizeof(*set));
    if (set == NULL)
        return NULL;
    size_t text_size = 1;
    for (size_t i = 0; i < count; i++)
        text_size += INET6_ADDRSTRLEN + 1 + (endpoints[i].zone ? strlen(endpoints[i].zone) + 1 : 0);
    set->items = calloc(count ? count : 1, sizeof(*set->items));
    set->text = malloc(text_size);
    if (set->items == NULL || set->text == NULL) {
        endpoint_set_free(set);
        return NULL;
    }
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        char address[INET6_ADDRSTRLEN];
        if (endpoints[i].port > 65535 ||
            !canonical_address(endpoints[i].address, address, sizeof(address))) {
            set->dropped++;
            continue;
        }
        compile_endpoint *e = &set->items[set->count++];
        size_t len = strlen(address) + 1;
        memcpy(set->text + used, address, len);
        e->address = set->text + used;
        used += len;
        e->port = endpoints[i].port;
        e->zone = NULL;
        if (endpoints[i].zone != NULL && endpoints[i].zone[0] != '\0') {
            len = strlen(endpoints[i].zone) + 1;
            memcpy(set->text + used, endpoints[i].zone, len);
            e->zone = set->text + used;
            used += len;
        }
    }
    qsort(set->items, set->count, sizeof(*set->items), compare);
    size_t unique = 0;
    for (size_t i = 0; i < set->count; i++) {
        if (unique == 0 || compare(&set->items[unique - 1], &set->items[i]) != 0)
            set->items[unique++] = set->items[i];
    }
    set->count = unique;
    return set;
}

bool endpoint_set_equal(const endpoint_set *a, const endpoint_set *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        if (compare(&a->items[i], &b->items[i]) != 0)
            return false;
    }
    return true;
}

void endpoint_set_free(endpoint_set *set)
{
    if (set == NULL)
        return;
    free(set->items);
    free(set->text);
    free(set);
}
