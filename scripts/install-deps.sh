#!/usr/bin/env bash
# Installs everything whale builds and tests with, from Debian 12's packages
# (and npm for the end-to-end test clients). Run as root on a fresh machine.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config git ca-certificates \
  libgtest-dev libgmock-dev libbenchmark-dev libhwy-dev libcli11-dev nlohmann-json3-dev \
  libcpp-httplib-dev libpcre2-dev zlib1g-dev \
  clang libclang-rt-14-dev tmux curl >/dev/null
# End-to-end clients of whale serve: node + npm for the official openai package
# and playwright-core, Debian's chromium for the web page test.
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
# A node from elsewhere (nodesource) already brings npm and conflicts with Debian's.
command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
JS_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/js"
if [ -d "$JS_DIR" ] && [ ! -d "$JS_DIR/node_modules" ]; then
  (cd "$JS_DIR" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi)
fi
# English corpus for `whale train` (docs/TRAINING.md): the King James Bible as text.
$SUDO apt-get install -y -qq --no-install-recommends bible-kjv-text bible-kjv >/dev/null
