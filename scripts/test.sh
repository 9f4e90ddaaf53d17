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
