#!/bin/sh
# Every resource the compiler emits for its feature corpus (compiler_corpus
# over tests/unit/compiler/corpus.json) goes through api.xds's encoder and
# decodes, with the upstream Envoy protos, to exactly what json_format makes
# of the JSON: no field of the compiler's output is missing from the proto
# subset, none is mis-encoded.
#   check_compiler_output.sh COMPILER_CORPUS CORPUS_JSON XDS_ENCODE_TOOL DESCRIPTOR_SET
set -eu
corpus_bin="$1"; corpus_json="$2"; tool="$3"; descriptors="$4"
[ -f "$descriptors" ] || { echo "no descriptor set at $descriptors: cannot check"; exit 1; }
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/dumps" "$scratch/empty"
"$corpus_bin" "$corpus_json" "$scratch/dumps" >/dev/null
exec /usr/bin/python3 "$here/check_pb_json.py" "$tool" "$descriptors" "$scratch/empty" "$scratch"/dumps/*.json
