#!/bin/sh
# Regenerates the App Mesh model tables into a temporary directory and fails
# if they differ from the committed core/model/appmesh_model.c or
# plugins/api-appmesh/appmesh_routes.c.
#   check_model_generated.sh <python3> <source dir> [service-2.json]
set -eu
python=$1
source_dir=$2
service_json=${3:-/usr/lib/python3/dist-packages/botocore/data/appmesh/2019-01-25/service-2.json}
if [ ! -f "$service_json" ]; then
    echo "cannot check: $service_json not found (install python3-botocore to check the generated model)"
    exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$python" "$source_dir/core/model/gen_appmesh_model.py" --output-dir "$out" "$service_json"
status=0
for file in core/model/appmesh_model.c plugins/api-appmesh/appmesh_routes.c; do
    if ! diff -u "$source_dir/$file" "$out/$file"; then
        echo "FAIL: $file is not what gen_appmesh_model.py generates; regenerate it with" \
             "python3 core/model/gen_appmesh_model.py" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "generated model files are up to date"
exit $status
