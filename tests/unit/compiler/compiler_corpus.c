/*
 * compiler_corpus FIXTURE.json OUTDIR
 *
 * Compiles every identity of a fixture catalog (each virtual node as a
 * sidecar with and without App Mesh's defaults and as a proxyless client,
 * each virtual gateway) and writes one file per identity, OUTDIR/<mesh>.<kind>.<name>.<variant>.json,
 * holding {"resources": [...]} with each resource's "@type": the form
 * envoy-validate's `dump` mode reads. test_compiler_schema.py runs it and
 * checks every file with the strict Envoy schema and for dangling references.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler_fixture.h"

typedef struct variant {
    const char *name;
    trellis_xds_flavor flavor;
    compile_options options;
} variant;

static const variant node_variants[] = {
    {"sidecar", TRELLIS_XDS_SIDECAR, {true, true}},
    {"sidecar-no-defaults", TRELLIS_XDS_SIDECAR, {false, false}},
    {"proxyless", TRELLIS_XDS_PROXYLESS, {true, true}},
};
static const variant gateway_variants[] = {
    {"sidecar", TRELLIS_XDS_SIDECAR, {true, true}},
    {"sidecar-no-defaults", TRELLIS_XDS_SIDECAR, {false, false}},
};

/* Endpoints for every node: two zones, a repeat and a port override, so EDS
 * output has several localities. */
static bool corpus_endpoints(void *arg, const char *mesh, const char *node,
                             const compile_endpoint **endpoints, size_t *count)
{
    (void)arg;
    (void)mesh;
    static const compile_endpoint list[] = {
        {"10.0.1.10", 0, "us-west-2a"}, {"10.0.2.10", 0, "us-west-2b"},
        {"10.0.1.11", 8081, "us-west-2a"}, {"10.0.1.10", 0, "us-west-2a"},
        {"fd00::10", 0, NULL},
    };
    if (strcmp(node, "db-replica") == 0)
        return false; /* a node the source does not manage: empty assignment */
    *endpoints = list;
    *count = sizeof(list) / sizeof(list[0]);
    return true;
}

static int write_identity(const catalog *cat, const char *outdir, resource_kind kind,
                          const char *mesh, const char *name, const variant *v)
{
    compile_source src = {.cat = cat, .endpoints = corpus_endpoints, .options = v->options};
    compile_identity id = {.kind = kind, .mesh = mesh, .name = name, .flavor = v->flavor};
    compile_output out;
    compile_deps deps;
    char message[256] = "";
    compile_status status = compiler_compile(&src, &id, &out, &deps, message, sizeof(message));
    compile_deps_free(&deps);
    if (status != COMPILE_OK) {
        fprintf(stderr, "compiler_corpus: %s/%s: status %d %s\n", mesh, name, status, message);
        return 1;
    }
    json_t *list = json_array();
    size_t total = 0;
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        const char *resource_name;
        json_t *resource;
        json_object_foreach(out.resources[t], resource_name, resource) {
            json_t *typed = json_pack("{s:s}", "@type", compiler_type_url((trellis_xds_type)t));
            json_object_update(typed, resource);
            json_array_append_new(list, typed);
            total++;
        }
    }
    compile_output_free(&out);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.%s.%s.%s.json", outdir, mesh,
             kind == RESOURCE_VIRTUAL_GATEWAY ? "virtualGateway" : "virtualNode", name, v->name);
    json_t *doc = json_pack("{s:o}", "resources", list);
    int rc = json_dump_file(doc, path, JSON_INDENT(1)) == 0 ? 0 : 1;
    json_decref(doc);
    if (rc != 0)
        fprintf(stderr, "compiler_corpus: cannot write %s\n", path);
    else
        printf("%s: %zu resources\n", path, total);
    return rc;
}

typedef struct walk {
    const catalog *cat;
    const char *outdir;
    int failures;
} walk;

static bool visit(const catalog_entry *e, void *arg)
{
    walk *w = arg;
    if (e->kind == RESOURCE_VIRTUAL_NODE) {
        for (size_t i = 0; i < sizeof(node_variants) / sizeof(node_variants[0]); i++)
            w->failures += write_identity(w->cat, w->outdir, e->kind, e->mesh, e->name, &node_variants[i]);
    } else if (e->kind == RESOURCE_VIRTUAL_GATEWAY) {
        for (size_t i = 0; i < sizeof(gateway_variants) / sizeof(gateway_variants[0]); i++)
            w->failures += write_identity(w->cat, w->outdir, e->kind, e->mesh, e->name,
                                          &gateway_variants[i]);
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: compiler_corpus FIXTURE.json OUTDIR\n");
        return 2;
    }
    catalog *cat = fixture_catalog_from_file(argv[1]);
    if (cat == NULL)
        return 2;
    walk w = {cat, argv[2], 0};
    catalog_scan_prefix(cat, "virtualNode/", visit, &w);
    catalog_scan_prefix(cat, "virtualGateway/", visit, &w);
    catalog_free(cat);
    return w.failures == 0 ? 0 : 1;
}
