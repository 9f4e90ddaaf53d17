#!/usr/bin/env bash
# Installs what is missing, builds trellis and starts it on the shipped
# configuration (App Mesh API 127.0.0.1:7080, xDS 127.0.0.1:15010, admin
# 127.0.0.1:7081, data in ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/bin/trellis serve -c config/trellis.json
