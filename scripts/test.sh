#!/usr/bin/env bash
# Installs what is missing, then builds trellis twice (optimised, and with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test on both
# builds: C unit tests, ABI refusal tests, the out-of-tree plugin, and the
# integration tests with real clients (boto3, AWS CLI, @grpc/grpc-js-xds,
# PostgreSQL). ctest prints the summary of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
if [ -f tests/js/package-lock.json ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
# Two inputs no Debian package provides: the strict Envoy v3 checker next to
# the checkout and moto's server (the Cloud Map registry). Tests needing them
# would fail one by one; say it once, up front.
validator="${ENVOY_VALIDATE:-$(pwd)/../shared/tools/envoy-validate/validate.py}"
moto="${MOTO_SERVER:-/root/.pyenv/shims/moto_server}"
[ -f "$validator" ] || echo "warning: no Envoy checker at $validator (set ENVOY_VALIDATE): the schema tests will fail" >&2
[ -x "$moto" ] || echo "warning: no moto_server at $moto (set MOTO_SERVER): the Cloud Map tests will fail" >&2
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRELLIS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

status=0
echo "== tests: optimised build =="
(cd build && ctest --output-on-failure -j"$jobs") || status=1
echo "== tests: sanitizer build (ASan + UBSan + LeakSanitizer) =="
(cd build-asan && ctest --output-on-failure -j"$jobs") || status=1
exit $status
