/*
 * Lookups over the generated model tables (appmesh_model.c). The tables are
 * sorted by name with strcmp order, so every lookup is a binary search.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int compare_operation(const void *key, const void *element)
{
    return strcmp(key, ((const model_operation *)element)->name);
}

static int compare_shape(const void *key, const void *element)
{
    return strcmp(key, ((const model_shape *)element)->name);
}

static int compare_error(const void *key, const void *element)
{
    return strcmp(key, ((const model_error *)element)->name);
}

const model_operation *model_operation_find(const char *name)
{
    if (name == NULL)
        return NULL;
    return bsearch(name, model_operations, model_operation_count, sizeof(model_operations[0]),
                   compare_operation);
}

const model_shape *model_shape_find(const char *name)
{
    if (name == NULL)
        return NULL;
    return bsearch(name, model_shapes, model_shape_count, sizeof(model_shapes[0]),
                   compare_shape);
}

const model_member *model_member_find(const model_shape *structure, const char *name)
{
    if (structure == NULL || name == NULL || structure->type != MODEL_STRUCTURE)
        return NULL;
    /* Structures have at most a dozen members, in model (not name) order. */
    for (size_t i = 0; i < structure->member_count; i++) {
        if (strcmp(structure->members[i].name, name) == 0)
            return &structure->members[i];
    }
    return NULL;
}

int model_error_http_status(const char *error_type)
{
    if (error_type == NULL)
        return 500;
    const model_error *error = bsearch(error_type, model_errors, model_error_count,
                                       sizeof(model_errors[0]), compare_error);
    return error != NULL ? error->http_status : 500;
}
