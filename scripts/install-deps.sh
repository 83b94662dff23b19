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
