#!/usr/bin/python3
"""Generates trellis's App Mesh model tables from botocore's service-2.json.

    python3 core/model/gen_appmesh_model.py [SERVICE_JSON] [--output-dir DIR]

SERVICE_JSON defaults to Debian's python3-botocore copy (a .json.gz works too).
Writes, relative to DIR (default: the repository root):

    core/model/appmesh_model.c            every shape, operation and error
    plugins/api-appmesh/appmesh_routes.c  HTTP method + URI template -> operation

Both outputs are committed so the build needs no Python; the ctest
`model_generated_up_to_date` regenerates them and fails on any difference.
The output depends only on the input model: shapes, operations and routes are
sorted by name and nothing about the machine or the time is written.
"""

import argparse
import gzip
import hashlib
import json
import os
import sys

DEFAULT_SERVICE_JSON = (
    "/usr/lib/python3/dist-packages/botocore/data/appmesh/2019-01-25/service-2.json")
MODEL_OUT = "core/model/appmesh_model.c"
ROUTES_OUT = "plugins/api-appmesh/appmesh_routes.c"

TYPE_NAMES = {
    "structure": "MODEL_STRUCTURE",
    "list": "MODEL_LIST",
    "map": "MODEL_MAP",
    "string": "MODEL_STRING",
    "integer": "MODEL_INTEGER",
    "long": "MODEL_LONG",
    "boolean": "MODEL_BOOLEAN",
    "timestamp": "MODEL_TIMESTAMP",
    "double": "MODEL_DOUBLE",
    "float": "MODEL_DOUBLE",
}
LOCATIONS = {None: "BODY", "uri": "URI", "querystring": "QUERY", "header": "HEADER"}
ROUTE_LOCATIONS = {"uri": "APPMESH_IN_URI", "querystring": "APPMESH_IN_QUERY",
                   "header": "APPMESH_IN_HEADER"}


class ModelError(Exception):
    """The input uses a feature this generator does not translate."""


def c_string(value):
    """A C string literal for `value` (ASCII; anything else escaped in octal)."""
    out = ['"']
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7f and ch != "?":  # '?' escaped: no trigraphs
            out.append(ch)
        else:
            out.append("\\%03o" % byte)
    out.append('"')
    return "".join(out)


def c_opt_string(value):
    return "NULL" if value is None else c_string(value)


def posix_pattern(pattern):
    """The POSIX ERE equivalent of a model (Java) pattern.

    The App Mesh model's patterns use only bracket expressions with literal
    characters and ranges, anchors, groups and bounded repetition, which mean
    the same in Java and POSIX ERE. Anything else (escapes, lazy or possessive
    quantifiers, inline flags) would need a real translation: refuse it so a new
    model cannot silently change meaning.
    """
    if "\\" in pattern or "(?" in pattern or "*?" in pattern or "+?" in pattern \
            or "*+" in pattern or "++" in pattern:
        raise ModelError("pattern needs translation to POSIX ERE: %r" % pattern)
    return pattern


def check_identifier(name, what):
    if not name.isidentifier() or not name.isascii():
        raise ModelError("%s %r is not a C identifier" % (what, name))


# Model keys that do not affect the output: left out of the source digest.
IGNORED_KEYS = ("documentation", "documentationUrl", "box")


def without_ignored_keys(value):
    if isinstance(value, dict):
        return {k: without_ignored_keys(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [without_ignored_keys(v) for v in value]
    return value


def load_model(path):
    """The parsed model and a digest of its content without IGNORED_KEYS
    (canonical JSON), so that copies differing only in formatting,
    compression, doc strings or boxing generate the same files."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        model = json.loads(f.read().decode("utf-8"))
    canonical = json.dumps(without_ignored_keys(model), sort_keys=True,
                           separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest(), model


def generate_model(digest, model):
    shapes = model["shapes"]
    operations = model["operations"]
    names = sorted(shapes)
    index = {name: i for i, name in enumerate(names)}
    for name in names:
        check_identifier(name, "shape name")
        if shapes[name]["type"] not in TYPE_NAMES:
            raise ModelError("shape %s has unknown type %s" % (name, shapes[name]["type"]))

    out = []
    w = out.append
    w("/*")
    w(" * GENERATED FILE - DO NOT EDIT.")
    w(" * The App Mesh %s model: %d shapes, %d operations, every constraint."
      % (model["metadata"]["apiVersion"], len(shapes), len(operations)))
    w(" * Source: botocore data/appmesh/%s/service-2.json (model sha256 %s)."
      % (model["metadata"]["apiVersion"], digest))
    w(" * Regenerate: python3 core/model/gen_appmesh_model.py [path/to/service-2.json]")
    w(" */")
    w('#include "model.h"')
    w("")
    w("/* Shape indexes into model_shapes[] (name order). */")
    w("enum {")
    for name in names:
        w("    S_%s," % name)
    w("};")
    w("")
    w("#define SHAPE(s) (&model_shapes[S_##s])")
    w("#define BODY MODEL_IN_BODY")
    w("#define URI MODEL_IN_URI")
    w("#define QUERY MODEL_IN_QUERY")
    w("#define HEADER MODEL_IN_HEADER")
    w("/* MEMBER(name, shape, location, location name, required, idempotency token) */")
    w("#define MEMBER(n, s, loc, loc_name, req, token) {n, SHAPE(s), loc, loc_name, req, token}")
    w("")

    # Enum value lists.
    for name in names:
        values = shapes[name].get("enum")
        if values:
            w("static const char *const enum_%s[] = {%s, NULL};"
              % (name, ", ".join(c_string(v) for v in values)))
    w("")

    # All structure members in one array; each structure points at its slice.
    member_start = {}
    w("static const model_member members[] = {")
    position = 0
    for name in names:
        shape = shapes[name]
        if shape["type"] != "structure":
            continue
        required = set(shape.get("required", []))
        unknown = required - set(shape["members"])
        if unknown:
            raise ModelError("shape %s requires unknown members %s" % (name, sorted(unknown)))
        member_start[name] = position
        w("    /* %s */" % name)
        for member_name, member in shape["members"].items():
            if member["shape"] not in index:
                raise ModelError("%s.%s: unknown shape %s" % (name, member_name, member["shape"]))
            location = member.get("location")
            if location not in LOCATIONS:
                raise ModelError("%s.%s: unsupported location %s" % (name, member_name, location))
            location_name = member.get("locationName") if location else None
            w("    MEMBER(%s, %s, %s, %s, %d, %d),"
              % (c_string(member_name), member["shape"], LOCATIONS[location],
                 c_opt_string(location_name), member_name in required,
                 bool(member.get("idempotencyToken"))))
            position += 1
    w("};")
    w("")

    w("const model_shape model_shapes[] = {")
    for name in names:
        shape = shapes[name]
        fields = [c_string(name), TYPE_NAMES[shape["type"]]]
        if shape.get("union"):
            fields.append(".is_union = true")
        if "min" in shape:
            fields.append(".has_min = true, .min = %d" % int(shape["min"]))
        if "max" in shape:
            fields.append(".has_max = true, .max = %d" % int(shape["max"]))
        if shape.get("enum"):
            fields.append(".enum_values = enum_%s" % name)
        if "pattern" in shape:
            fields.append(".pattern = %s" % c_string(posix_pattern(shape["pattern"])))
        if shape["type"] == "list":
            fields.append(".element = SHAPE(%s)" % shape["member"]["shape"])
        if shape["type"] == "map":
            fields.append(".key = SHAPE(%s)" % shape["key"]["shape"])
            fields.append(".element = SHAPE(%s)" % shape["value"]["shape"])
        if shape["type"] == "structure":
            count = len(shape["members"])
            if count:
                fields.append(".members = &members[%d]" % member_start[name])
            fields.append(".member_count = %d" % count)
        w("    [S_%s] = {%s}," % (name, ", ".join(fields)))
    w("};")
    w("const size_t model_shape_count = %d;" % len(names))
    w("")

    # Error lists, shared between operations with the same list.
    error_lists = {}
    for op_name in sorted(operations):
        errors = tuple(e["shape"] for e in operations[op_name].get("errors", []))
        if errors not in error_lists:
            error_lists[errors] = "errors_%d" % len(error_lists)
            w("static const char *const %s[] = {%s, NULL};"
              % (error_lists[errors], ", ".join(c_string(e) for e in errors)))
    w("")

    w("const model_operation model_operations[] = {")
    for op_name in sorted(operations):
        op = operations[op_name]
        http = op["http"]
        output_shape = op.get("output", {}).get("shape")
        payload = shapes[output_shape].get("payload") if output_shape else None
        errors = tuple(e["shape"] for e in op.get("errors", []))
        w("    {%s, %s, %s, SHAPE(%s), %s, %s, %s},"
          % (c_string(op_name), c_string(http["method"]), c_string(http["requestUri"]),
             op["input"]["shape"], "SHAPE(%s)" % output_shape if output_shape else "NULL",
             c_opt_string(payload), error_lists[errors]))
    w("};")
    w("const size_t model_operation_count = %d;" % len(operations))
    w("")

    error_names = sorted(n for n in names if shapes[n].get("exception"))
    w("const model_error model_errors[] = {")
    for name in error_names:
        error = shapes[name].get("error", {})
        if "httpStatusCode" not in error:
            raise ModelError("error shape %s has no httpStatusCode" % name)
        w("    {%s, %d, %s}," % (c_string(name), error["httpStatusCode"],
                                "true" if error.get("senderFault") else "false"))
    w("};")
    w("const size_t model_error_count = %d;" % len(error_names))
    return "\n".join(out) + "\n"


def parse_uri_template(op_name, request_uri):
    """The path segments of a request URI; {label} segments become bindings."""
    if "?" in request_uri:
        raise ModelError("%s: request URIs with a query part are not supported" % op_name)
    if not request_uri.startswith("/"):
        raise ModelError("%s: request URI must start with '/'" % op_name)
    labels = []
    for segment in request_uri[1:].split("/"):
        if "{" in segment or "}" in segment:
            if not (segment.startswith("{") and segment.endswith("}")) or "+" in segment:
                raise ModelError("%s: unsupported URI segment %r" % (op_name, segment))
            labels.append(segment[1:-1])
    return labels


def generate_routes(digest, model):
    shapes = model["shapes"]
    operations = model["operations"]
    out = []
    w = out.append
    w("/*")
    w(" * GENERATED FILE - DO NOT EDIT.")
    w(" * The App Mesh %s REST routes: HTTP method + URI template -> operation, and"
      % model["metadata"]["apiVersion"])
    w(" * where each bound input member comes from (URI label, query key, header).")
    w(" * Source: botocore data/appmesh/%s/service-2.json (model sha256 %s)."
      % (model["metadata"]["apiVersion"], digest))
    w(" * Regenerate: python3 core/model/gen_appmesh_model.py [path/to/service-2.json]")
    w(" */")
    w('#include "appmesh_routes.h"')
    w("")
    w("/* BIND(location, location name, member name) */")
    w("#define BIND(loc, loc_name, member) {loc, loc_name, member}")
    w("")
    seen = {}
    for op_name in sorted(operations):
        op = operations[op_name]
        http = op["http"]
        key = (http["method"], http["requestUri"])
        if key in seen:
            raise ModelError("%s and %s share %s %s" % (seen[key], op_name, *key))
        seen[key] = op_name
        input_shape = shapes[op["input"]["shape"]]
        labels = parse_uri_template(op_name, http["requestUri"])
        bindings = []
        for member_name, member in input_shape["members"].items():
            location = member.get("location")
            if location is None:
                continue
            if location not in ROUTE_LOCATIONS:
                raise ModelError("%s.%s: unsupported location %s" % (op_name, member_name, location))
            if location == "uri":
                if member["locationName"] not in labels:
                    raise ModelError("%s: URI has no {%s}" % (op_name, member["locationName"]))
                labels.remove(member["locationName"])
            bindings.append((ROUTE_LOCATIONS[location], member["locationName"], member_name))
        if labels:
            raise ModelError("%s: URI labels %s bind no member" % (op_name, labels))
        if bindings:
            w("static const appmesh_binding bind_%s[] = {" % op_name)
            for location, location_name, member_name in bindings:
                w("    BIND(%s, %s, %s)," % (location, c_string(location_name),
                                            c_string(member_name)))
            w("};")
    w("")
    w("const appmesh_route appmesh_routes[] = {")
    for op_name in sorted(operations):
        http = operations[op_name]["http"]
        input_shape = shapes[operations[op_name]["input"]["shape"]]
        count = sum(1 for m in input_shape["members"].values() if m.get("location"))
        w("    {%s, %s, %s, %s, %d}," % (
            c_string(http["method"]), c_string(http["requestUri"]), c_string(op_name),
            "bind_%s" % op_name if count else "NULL", count))
    w("};")
    w("const size_t appmesh_route_count = %d;" % len(operations))
    return "\n".join(out) + "\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    repo_root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service_json", nargs="?", default=DEFAULT_SERVICE_JSON,
                        help="botocore's appmesh service-2.json (default: %(default)s)")
    parser.add_argument("--output-dir", default=repo_root,
                        help="root the outputs are written under (default: the repository)")
    args = parser.parse_args(argv)
    try:
        digest, model = load_model(args.service_json)
        model_c = generate_model(digest, model)
        routes_c = generate_routes(digest, model)
    except FileNotFoundError as e:
        print("gen_appmesh_model: %s" % e, file=sys.stderr)
        return 2
    except (ModelError, KeyError, ValueError) as e:
        print("gen_appmesh_model: %s: %s" % (args.service_json, e), file=sys.stderr)
        return 1
    write(os.path.join(args.output_dir, MODEL_OUT), model_c)
    write(os.path.join(args.output_dir, ROUTES_OUT), routes_c)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
