#!/usr/bin/env bash
# Builds whale twice (Release, then AddressSanitizer + UBSan) and runs the
# whole ctest suite under each. This is the command CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
for type in Release Asan; do
  dir=build-$(echo "$type" | tr A-Z a-z)
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=$type -DWHALE_BENCH=$([ $type = Release ] && echo ON || echo OFF) >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== ctest ($type)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 900
done
