#!/usr/bin/env bash
# Regenerates api.xds's protobuf sources from manifest.txt:
#   1. extract.py writes the .proto subset of the upstream Envoy API into proto/;
#   2. protoc-c compiles them into generated/ (committed, so a build needs
#      neither protoc nor Python);
#   3. gen_registry.py writes generated/xds_descriptors.c, the name -> descriptor
#      table the JSON encoder resolves "@type" and message names through.
#
#   plugins/api-xds/proto/regenerate.sh [ENVOY_DESCRIPTOR_SET [OUTPUT_ROOT]]
# The descriptor set defaults to envoy-validate's envoy.pb next to the checkout;
# OUTPUT_ROOT (default: the plugin directory) receives proto/ and generated/
# (tests/check_generated.sh regenerates into a scratch directory and diffs).
# Needs python3-protobuf and protobuf-c-compiler.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plugin="$(dirname "$here")"
repo="$(cd "$plugin/../.." && pwd)"
descriptors="${1:-$repo/../shared/tools/envoy-validate/envoy.pb}"
root="${2:-$plugin}"
[ -f "$descriptors" ] || { echo "regenerate.sh: no descriptor set at $descriptors" >&2; exit 2; }

# Start from nothing so a message dropped from the manifest leaves no stale file.
mkdir -p "$root/proto"
for top in envoy google; do rm -rf "${root:?}/proto/$top"; done
/usr/bin/python3 "$here/extract.py" --descriptor-set "$descriptors" \
    --manifest "$here/manifest.txt" --out "$root/proto"

rm -rf "${root:?}/generated"
mkdir -p "$root/generated"
(cd "$root/proto" && protoc-c -I. -I/usr/include --c_out="$root/generated" $(cat files.txt))
/usr/bin/python3 "$here/gen_registry.py" "$root/generated"
echo "regenerated $(wc -l < "$root/proto/files.txt") proto files into $root/generated"
