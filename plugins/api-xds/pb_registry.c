#include "pb_registry.h"

#include <string.h>

#include "xds_descriptors.h"

const ProtobufCMessageDescriptor *pb_registry_find(const char *full_name, size_t len)
{
    /* The generated table is sorted by strcmp order of the full name. */
    size_t lo = 0, hi = xds_descriptor_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *candidate = xds_descriptor_table[mid].full_name;
        int cmp = strncmp(candidate, full_name, len);
        if (cmp == 0 && candidate[len] != '\0')
            cmp = 1; /* candidate is longer: it sorts after the key */
        if (cmp == 0)
            return xds_descriptor_table[mid].descriptor;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const ProtobufCMessageDescriptor *pb_registry_find_type_url(const char *type_url)
{
    const char *slash = strrchr(type_url, '/');
    const char *name = slash ? slash + 1 : type_url;
    if (*name == '\0')
        return NULL;
    return pb_registry_find(name, strlen(name));
}

size_t pb_registry_count(void)
{
    return xds_descriptor_count;
}

const ProtobufCMessageDescriptor *pb_registry_at(size_t index)
{
    return index < xds_descriptor_count ? xds_descriptor_table[index].descriptor : NULL;
}
