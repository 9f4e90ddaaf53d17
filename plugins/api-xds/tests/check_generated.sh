#!/bin/sh
# The committed .proto files and protoc-c output match what regenerate.sh makes
# from proto/manifest.txt and the upstream descriptor set today.
#   check_generated.sh ENVOY_DESCRIPTOR_SET
# Fails (exit 1, saying why) without the descriptor set, python3-protobuf or protoc-c.
set -eu
plugin="$(cd "$(dirname "$0")/.." && pwd)"
descriptors="$1"
[ -f "$descriptors" ] || { echo "no descriptor set at $descriptors: cannot check"; exit 1; }
command -v protoc-c >/dev/null 2>&1 || { echo "protoc-c missing: cannot check"; exit 1; }
/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || { echo "python3-protobuf missing: cannot check"; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$plugin/proto/regenerate.sh" "$descriptors" "$scratch" >/dev/null
status=0
for sub in proto generated; do
  # Only generated content is compared (the manifest and scripts live in proto/ too).
  if ! diff -r -q -x manifest.txt -x '*.py' -x '*.sh' -x README.md "$plugin/$sub" "$scratch/$sub"; then
    status=1
  fi
done
[ $status -eq 0 ] && echo "generated protobuf sources are up to date"
[ $status -eq 0 ] || echo "run plugins/api-xds/proto/regenerate.sh and commit the result"
exit $status
