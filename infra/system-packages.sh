#!/usr/bin/env bash
# Installs the Debian packages the tests use, only when missing, so a second run costs nothing.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
# The benchmarks' load generator, only when asked: `system-packages.sh bench`.
[ "${1:-}" = bench ] && { command -v wrk >/dev/null 2>&1 || missing+=(wrk); }
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
