#include "compiler_fixture.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_key.h"

const compile_options fixture_appmesh_defaults = {.default_retry_policy = true,
                                                  .default_circuit_breakers = true};

bool fixture_put(catalog *cat, resource_kind kind, const char *mesh, const char *parent,
                 const char *name, const json_t *spec)
{
    const resource_kind_info *info = resource_kind_get(kind);
    char key[CATALOG_KEY_MAX];
    if (info == NULL || !catalog_key_resource(key, sizeof(key), kind, mesh, parent, name))
        return false;
    json_t *data = json_object();
    if (kind != RESOURCE_MESH)
        json_object_set_new(data, "meshName", json_string(mesh));
    if (info->parent_member != NULL)
        json_object_set_new(data, info->parent_member, json_string(parent));
    json_object_set_new(data, info->name_member, json_string(name));
    json_object_set_new(data, "spec", spec != NULL ? json_deep_copy(spec) : json_object());
    json_object_set_new(data, "metadata",
                        json_pack("{s:i, s:s, s:s}", "version", 1, "meshOwner", "111122223333",
                                  "resourceOwner", "111122223333"));
    json_object_set_new(data, "status", json_pack("{s:s}", "status", "ACTIVE"));
    json_t *record = json_pack("{s:o, s:[]}", "data", data, "tags");
    char err[256];
    if (!catalog_put(cat, key, 1, catalog_revision(cat) + 1, record, NULL, 0, err, sizeof(err))) {
        fprintf(stderr, "fixture: %s: %s\n", key, err);
        return false;
    }
    catalog_set_revision(cat, catalog_revision(cat) + 1);
    return true;
}

static bool put_children(catalog *cat, resource_kind kind, const char *mesh, const json_t *map)
{
    const char *name;
    json_t *spec;
    json_object_foreach((json_t *)map, name, spec) {
        if (!fixture_put(cat, kind, mesh, "", name, spec))
            return false;
    }
    return true;
}

static bool put_nested(catalog *cat, resource_kind kind, const char *mesh, const json_t *map)
{
    const char *parent;
    json_t *routes;
    json_object_foreach((json_t *)map, parent, routes) {
        const char *name;
        json_t *spec;
        json_object_foreach(routes, name, spec) {
            if (!fixture_put(cat, kind, mesh, parent, name, spec))
                return false;
        }
    }
    return true;
}

bool fixture_add(catalog *cat, const json_t *description)
{
    const char *mesh;
    json_t *m;
    json_object_foreach(json_object_get(description, "meshes"), mesh, m) {
        if (!fixture_put(cat, RESOURCE_MESH, NULL, "", mesh, json_object_get(m, "spec")) ||
            !put_children(cat, RESOURCE_VIRTUAL_NODE, mesh, json_object_get(m, "virtualNodes")) ||
            !put_children(cat, RESOURCE_VIRTUAL_SERVICE, mesh, json_object_get(m, "virtualServices")) ||
            !put_children(cat, RESOURCE_VIRTUAL_ROUTER, mesh, json_object_get(m, "virtualRouters")) ||
            !put_children(cat, RESOURCE_VIRTUAL_GATEWAY, mesh, json_object_get(m, "virtualGateways")) ||
            !put_nested(cat, RESOURCE_ROUTE, mesh, json_object_get(m, "routes")) ||
            !put_nested(cat, RESOURCE_GATEWAY_ROUTE, mesh, json_object_get(m, "gatewayRoutes")))
            return false;
    }
    return true;
}

static catalog *from_json(json_t *description)
{
    catalog *cat = description != NULL ? catalog_new() : NULL;
    if (cat != NULL && !fixture_add(cat, description)) {
        catalog_free(cat);
        cat = NULL;
    }
    json_decref(description);
    return cat;
}

catalog *fixture_catalog_from_text(const char *json_text)
{
    return from_json(fixture_json(json_text));
}

catalog *fixture_catalog_from_file(const char *path)
{
    json_error_t error;
    json_t *description = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (description == NULL)
        fprintf(stderr, "fixture: %s:%d: %s\n", path, error.line, error.text);
    return from_json(description);
}

json_t *fixture_json(const char *single_quoted)
{
    char *text = strdup(single_quoted);
    if (text == NULL)
        return NULL;
    for (char *p = text; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    json_error_t error;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
    if (doc == NULL)
        fprintf(stderr, "fixture: bad JSON (%s at %d:%d): %s\n", error.text, error.line,
                error.column, text);
    free(text);
    return doc;
}

bool fixture_compile(const catalog *cat, resource_kind kind, const char *mesh, const char *name,
                     trellis_xds_flavor flavor, const compile_options *options,
                     compile_output *out, compile_deps *deps)
{
    compile_source src = {.cat = cat, .options = *options};
    compile_identity id = {.kind = kind, .mesh = mesh, .name = name, .flavor = flavor};
    char message[256] = "";
    compile_status status = compiler_compile(&src, &id, out, deps, message, sizeof(message));
    if (status != COMPILE_OK) {
        fprintf(stderr, "fixture: compiling %s/%s: status %d %s\n", mesh, name, status, message);
        compile_deps_free(deps);
        return false;
    }
    return true;
}

json_t *fixture_resource(const compile_output *out, trellis_xds_type type, const char *name)
{
    return json_object_get(out->resources[type], name);
}

json_t *fixture_at(json_t *root, const char *path)
{
    json_t *at = root;
    const char *p = path;
    while (at != NULL && *p != '\0') {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end;
            long index = strtol(p + 1, &end, 10);
            at = json_array_get(at, (size_t)index);
            p = *end == ']' ? end + 1 : end;
            continue;
        }
        size_t len = strcspn(p, ".[");
        char key[256];
        if (len >= sizeof(key))
            return NULL;
        memcpy(key, p, len);
        key[len] = '\0';
        at = json_object_get(at, key);
        p += len;
    }
    return at;
}

bool fixture_json_equals(const json_t *actual, const char *expected_single_quoted,
                         const char *where, int line)
{
    json_t *expected = fixture_json(expected_single_quoted);
    bool equal = expected != NULL && actual != NULL && json_equal(actual, expected);
    if (!equal) {
        char *a = actual ? json_dumps(actual, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        char *e = expected ? json_dumps(expected, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        fprintf(stderr, "%s:%d: JSON differs\n  expected: %s\n  actual:   %s\n", where, line,
                e ? e : "(invalid)", a ? a : "(null)");
        free(a);
        free(e);
    }
    json_decref(expected);
    return equal;
}
