#!/usr/bin/python3
"""Cross-checks api.xds's JSON -> protobuf encoder against the upstream Envoy
protos: every resource of the corpus (tests/corpus/*.json, {"type", "resource"})
is encoded by `xds_encode_tool`, decoded by python3-protobuf with the upstream
descriptor set, and compared with what google.protobuf.json_format makes of
the same JSON. Equal messages mean every field went to the right number with
the right wire type and value; no unknown fields may remain anywhere.

  check_pb_json.py XDS_ENCODE_TOOL ENVOY_DESCRIPTOR_SET CORPUS_DIR [EXTRA_JSON...]
EXTRA_JSON may also be config dumps, {"resources": [{"@type": ..., ...}]}, as
the compiler's corpus tool writes them: each resource is checked.
Exit 0 when all match, 1 listing each difference or saying why it cannot check (no
descriptor set or python3-protobuf).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
except ImportError:
    print('python3-protobuf is not installed: cannot check')
    sys.exit(1)


def load_pool(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, 'rb') as fh:
        fds.ParseFromString(fh.read())
    pool = descriptor_pool.DescriptorPool()
    pending = list(fds.file)
    added = set()
    while pending:  # add in dependency order
        rest = []
        for f in pending:
            if all(d in added for d in f.dependency):
                pool.Add(f)
                added.add(f.name)
            else:
                rest.append(f)
        if len(rest) == len(pending):
            raise SystemExit('descriptor set has unresolvable dependencies')
        pending = rest
    return pool


def message_class(pool, name):
    desc = pool.FindMessageTypeByName(name)
    try:
        return message_factory.GetMessageClass(desc)
    except AttributeError:
        return message_factory.MessageFactory(pool).GetPrototype(desc)


def canonicalize(pool, msg, path, unknown):
    """Re-packs every Any payload deterministically (recursively) so byte
    comparisons ignore field order inside Any values, and collects the paths
    of messages holding unknown fields."""
    if len(msg.UnknownFields()) > 0:
        unknown.append(path)
    if msg.DESCRIPTOR.full_name == 'google.protobuf.Any' and msg.type_url:
        inner = message_class(pool, msg.type_url.split('/')[-1])()
        inner.ParseFromString(msg.value)
        canonicalize(pool, inner, path + '<' + inner.DESCRIPTOR.full_name + '>', unknown)
        msg.value = inner.SerializeToString(deterministic=True)
        return
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name['value'].message_type is None:
                continue
            items = [(f'[{k!r}]', value[k]) for k in value]
        elif field.label == field.LABEL_REPEATED:
            items = [(f'[{i}]', v) for i, v in enumerate(value)]
        else:
            items = [('', value)]
        for suffix, item in items:
            canonicalize(pool, item, f'{path}.{field.name}{suffix}', unknown)


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    tool, descriptor_set, corpus = sys.argv[1:4]
    if not os.path.exists(descriptor_set):
        print(f'no upstream descriptor set at {descriptor_set}: cannot check')
        return 1
    pool = load_pool(descriptor_set)
    files = sorted(glob.glob(os.path.join(corpus, '*.json'))) + sys.argv[4:]
    docs = []
    for path in files:
        with open(path) as fh:
            doc = json.load(fh)
        if 'resources' in doc:
            for i, r in enumerate(doc['resources']):
                r = dict(r)
                type_name = r.pop('@type').split('/')[-1]
                docs.append((f'{os.path.basename(path)}[{i}] {type_name}', type_name, r))
        else:
            docs.append((os.path.basename(path), doc['type'], doc['resource']))
    failures = 0
    for name, type_name, resource in docs:
        cls = message_class(pool, type_name)
        expected = cls()
        json_format.Parse(json.dumps(resource), expected, descriptor_pool=pool)
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as tmp:
            json.dump(resource, tmp)
        try:
            run = subprocess.run([tool, type_name, tmp.name], capture_output=True)
        finally:
            os.unlink(tmp.name)
        if run.returncode != 0:
            print(f'{name}: the encoder refused it: {run.stderr.decode().strip()}')
            failures += 1
            continue
        actual = cls()
        actual.ParseFromString(run.stdout)
        unknown = []
        canonicalize(pool, actual, '$', unknown)
        canonicalize(pool, expected, '$', [])
        if unknown:
            print(f'{name}: unknown fields after decoding at {unknown}')
            failures += 1
        if actual != expected:
            want = json_format.MessageToJson(expected, descriptor_pool=pool, preserving_proto_field_name=True)
            got = json_format.MessageToJson(actual, descriptor_pool=pool, preserving_proto_field_name=True)
            print(f'{name}: decoded message differs\n--- expected\n{want}\n--- encoded\n{got}')
            failures += 1
        # Field order aside, the bytes are the same as upstream's.
        elif actual.SerializeToString(deterministic=True) != expected.SerializeToString(deterministic=True):
            print(f'{name}: re-serialized bytes differ')
            failures += 1
    print(f'{len(docs)} resources checked against {descriptor_set}: {failures} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
