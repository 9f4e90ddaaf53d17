#!/usr/bin/python3
"""Every message, field and enum value compiled into api.xds matches the
upstream Envoy API: same full names, field names, numbers, types, labels,
message/enum type references and oneof membership (the wire facts), checked
from the protobuf-c descriptors actually linked into the plugin (dumped by
`xds_encode_tool --fields`) against the upstream descriptor set.

  check_proto_fields.py XDS_ENCODE_TOOL ENVOY_DESCRIPTOR_SET
Exit 0 when everything matches, 1 listing every mismatch or saying why it cannot
check (the descriptor set or python3-protobuf is missing).
"""
import subprocess
import sys

try:
    from google.protobuf import descriptor_pb2
except ImportError:
    print('python3-protobuf is not installed: cannot check')
    sys.exit(1)

FD = descriptor_pb2.FieldDescriptorProto
TYPES = {
    FD.TYPE_DOUBLE: 'double', FD.TYPE_FLOAT: 'float', FD.TYPE_INT64: 'int64',
    FD.TYPE_UINT64: 'uint64', FD.TYPE_INT32: 'int32', FD.TYPE_FIXED64: 'fixed64',
    FD.TYPE_FIXED32: 'fixed32', FD.TYPE_BOOL: 'bool', FD.TYPE_STRING: 'string',
    FD.TYPE_MESSAGE: 'message', FD.TYPE_BYTES: 'bytes', FD.TYPE_UINT32: 'uint32',
    FD.TYPE_ENUM: 'enum', FD.TYPE_SFIXED32: 'sfixed32', FD.TYPE_SFIXED64: 'sfixed64',
    FD.TYPE_SINT32: 'sint32', FD.TYPE_SINT64: 'sint64',
}


def upstream(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, 'rb') as fh:
        fds.ParseFromString(fh.read())
    messages, enums = {}, {}

    def walk(scope, m, syntax):
        full = f'{scope}.{m.name}'
        messages[full] = (m, syntax)
        for n in m.nested_type:
            walk(full, n, syntax)
        for e in m.enum_type:
            enums[f'{full}.{e.name}'] = e

    for f in fds.file:
        for m in f.message_type:
            walk(f.package, m, f.syntax or 'proto2')
        for e in f.enum_type:
            enums[f'{f.package}.{e.name}'] = e
    return messages, enums


def expected_label(field, syntax):
    # protobuf-c: proto3 fields without presence are LABEL_NONE; proto3
    # `optional` and proto2 optional are LABEL_OPTIONAL.
    if field.label == FD.LABEL_REPEATED:
        return 'repeated'
    if field.label == FD.LABEL_REQUIRED:
        return 'required'
    if syntax == 'proto3' and not field.proto3_optional:
        return 'none'
    return 'optional'


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    tool, descriptor_set = sys.argv[1], sys.argv[2]
    try:
        messages, enums = upstream(descriptor_set)
    except OSError as e:
        print(f'no upstream descriptor set ({e}): cannot check')
        return 1
    dump = subprocess.run([tool, '--fields'], check=True, capture_output=True, text=True).stdout
    errors = []
    counts = {'message': 0, 'field': 0, 'enumvalue': 0}
    for line in dump.splitlines():
        kind, *rest = line.split(' ')
        counts[kind] += 1
        if kind == 'message':
            if rest[0] not in messages:
                errors.append(f'message {rest[0]} does not exist upstream')
        elif kind == 'field':
            msg, name, number, ftype, label, ref, oneof = rest
            if msg not in messages:
                continue
            m, syntax = messages[msg]
            up = {f.name: f for f in m.field}.get(name)
            if up is None:
                errors.append(f'{msg}.{name}: no such field upstream')
                continue
            want = (up.number, TYPES[up.type], expected_label(up, syntax),
                    up.type_name.lstrip('.') if up.type_name else '-',
                    'oneof' if up.HasField('oneof_index') and not up.proto3_optional else '-')
            have = (int(number), ftype, label, ref, oneof)
            if want != have:
                errors.append(f'{msg}.{name}: upstream (number, type, label, type name, oneof) '
                              f'{want}, compiled {have}')
        elif kind == 'enumvalue':
            enum, name, number = rest
            up = enums.get(enum)
            if up is None:
                errors.append(f'enum {enum} does not exist upstream')
                continue
            values = {v.name: v.number for v in up.value}
            if values.get(name) != int(number):
                errors.append(f'{enum}.{name} = {number}: upstream has {values.get(name)}')
    for e in sorted(set(errors)):
        print(e)
    print(f'{counts["message"]} messages, {counts["field"]} fields, {counts["enumvalue"]} enum '
          f'values checked against {descriptor_set}: {len(set(errors))} mismatches')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
