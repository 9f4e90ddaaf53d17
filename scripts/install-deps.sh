#!/usr/bin/env bash
# Installs the Debian 12 packages trellis needs, if any is missing.
#   scripts/install-deps.sh run    build and run trellis
#   scripts/install-deps.sh test   build and run the whole test suite
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

build_packages=(build-essential cmake pkg-config libevent-dev libjansson-dev libssl-dev
                libnghttp2-dev libprotobuf-c-dev libpq-dev curl)
# protobuf-c-compiler: only the check that the committed generated code is current
test_packages=(python3 python3-pytest python3-boto3 python3-protobuf python3-yaml protobuf-compiler
               protobuf-c-compiler awscli postgresql wrk)

want=("${build_packages[@]}")
case "${1:-run}" in
  run) ;;
  test) want+=("${test_packages[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
# Node.js and npm: any installed version >= 18 will do; otherwise Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  [ "${1:-run}" = test ] && want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
