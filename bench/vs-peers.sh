#!/usr/bin/env bash
# Side by side, in one run: upstream llama.cpp, ik_llama.cpp (when IK_LLAMA_SRC
# names a source tree) and whale on the same V2-Lite-shaped GGUF files
# (random weights, written by `whale gen-random`), Q8_0 and Q4_K_M, 2 and 1
# threads, runs alternating. Prints one table.
#
#   bash bench/vs-peers.sh                 # everything
#   THREADS="2" TYPES="q8_0" bash bench/vs-peers.sh
#
# Builds and models are cached in bench/.peers/ (git-ignored). Needs ~30 GB
# of disk and the npm registry (for llama.cpp's source, shipped in the npm
# package node-llama-cpp@3.22.1 as a git bundle).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${PEERS_DIR:-$here/.peers}
whale=${WHALE:-$root/build/whale}
threads=${THREADS:-"2 1"}
types=${TYPES:-"q8_0 q4_k_m"}
P=${P:-512} N=${N:-128} R=${R:-3}
mkdir -p "$cache"
log() { echo "[vs-peers] $*" >&2; }

# AMX hosts: upstream built with -march=native aborts on deepseek2 (ANCHORS.md section 9).
noamx=""
grep -q amx_tile /proc/cpuinfo && noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"

build_llama() {
  local bin=$cache/llama.cpp/build/bin/llama-bench
  [ -x "$bin" ] && return
  log "fetching llama.cpp de3ff81 from node-llama-cpp@3.22.1"
  (cd "$cache" && npm pack node-llama-cpp@3.22.1 >/dev/null 2>&1 && tar xzf node-llama-cpp-3.22.1.tgz)
  rm -rf "$cache/llama.cpp"
  git clone -q "$cache/package/llama/gitRelease.bundle" "$cache/llama.cpp"
  log "building llama.cpp (a few minutes)"
  cmake -S "$cache/llama.cpp" -B "$cache/llama.cpp/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_NUMBER=0 -DLLAMA_BUILD_COMMIT=de3ff81 \
    -DCMAKE_C_FLAGS="$noamx" -DCMAKE_CXX_FLAGS="$noamx" >/dev/null
  cmake --build "$cache/llama.cpp/build" -j 2 --target llama-bench >/dev/null
}

build_ik() {
  [ -n "${IK_LLAMA_SRC:-}" ] || return 0
  local bin=$cache/ik_llama.cpp-build/bin/llama-bench
  [ -x "$bin" ] && return
  log "building ik_llama.cpp from $IK_LLAMA_SRC (a few minutes)"
  cmake -S "$IK_LLAMA_SRC" -B "$cache/ik_llama.cpp-build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF >/dev/null
  cmake --build "$cache/ik_llama.cpp-build" -j 2 --target llama-bench >/dev/null
}

make_model() {  # $1 = type
  local out=$cache/v2lite-$1.gguf
  [ -s "$out" ] && { echo "$out"; return; }
  log "writing $out"
  "$whale" gen-random --config "$here/deepseek-v2-lite-config.json" --out "$out.tmp.gguf" --dtype "$1" >&2
  mv "$out.tmp.gguf" "$out"
  echo "$out"
}

# llama-bench prints a markdown table; take the t/s column of pp and tg rows.
llama_run() {  # $1 = binary, $2 = model, $3 = threads, rest = extra flags
  local bin=$1 model=$2 t=$3
  shift 3
  local out rss
  out=$( { /usr/bin/time -f "RSS %M" "$bin" -m "$model" -p "$P" -n "$N" -t "$t" -r "$R" "$@" ; } 2>&1 )
  local pp tg
  pp=$(echo "$out" | awk -F'|' "/ pp$P /{gsub(/ /,\"\",\$(NF-1)); split(\$(NF-1),a,\"±\"); print a[1]}")
  tg=$(echo "$out" | awk -F'|' "/ tg$N /{gsub(/ /,\"\",\$(NF-1)); split(\$(NF-1),a,\"±\"); print a[1]}")
  rss=$(echo "$out" | awk '/^RSS/{print $2*1024}')
  echo "${pp:-nan} ${tg:-nan} ${rss:-0}"
}

whale_run() {  # $1 = model, $2 = threads
  local j
  j=$("$whale" bench --model "$1" -p "$P" -n "$N" -t "$2" -r "$R" --json)
  echo "$j" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["prefill_tok_s"], j["decode_tok_s"], j["peak_rss_bytes"], j["bandwidth_gbs"], j["bytes_per_token"], j["load_s"])'
}

build_llama
build_ik
declare -A res
for ty in $types; do
  model=$(make_model "$ty")
  for t in $threads; do
    # Alternate engines so drift in the machine's load hits all of them alike.
    res[llama,$ty,$t]=$(llama_run "$cache/llama.cpp/build/bin/llama-bench" "$model" "$t")
    # whale reads the weights into anonymous memory by default (--mmap auto);
    # llama.cpp's -lm none (load mode: no mmap) does the same, so both of its modes are shown.
    res[llama_ram,$ty,$t]=$(llama_run "$cache/llama.cpp/build/bin/llama-bench" "$model" "$t" -lm none)
    if [ -n "${IK_LLAMA_SRC:-}" ]; then
      res[ik,$ty,$t]=$(llama_run "$cache/ik_llama.cpp-build/bin/llama-bench" "$model" "$t" -mla 3 -fa 1 -fmoe 1 -rtr 1)
    fi
    res[whale,$ty,$t]=$(whale_run "$model" "$t")
  done
done

# Roofline of every engine: the bytes whale counts per generated token over
# the read bandwidth whale bench measured in the same run.
printf '\n| model | threads | engine | pp%s tok/s | tg%s tok/s | tg %% of roofline | peak RSS GiB | whale / engine (pp, tg) |\n' "$P" "$N"
printf '|---|---|---|---|---|---|---|---|\n'
for ty in $types; do
  size=$(stat -c %s "$cache/v2lite-$ty.gguf")
  for t in $threads; do
    read -r wpp wtg wrss wbw wbytes wload <<<"${res[whale,$ty,$t]}"
    for e in llama llama_ram ik whale; do
      [ -n "${res[$e,$ty,$t]:-}" ] || { [ "$e" = ik ] && printf '| %s | %s | ik_llama.cpp | skipped: IK_LLAMA_SRC unset | | | | |\n' "$ty" "$t"; continue; }
      read -r pp tg rss _ <<<"${res[$e,$ty,$t]}"
      name=$e; [ $e = llama ] && name=llama.cpp; [ $e = llama_ram ] && name="llama.cpp -lm none"; [ $e = ik ] && name=ik_llama.cpp
      python3 - "$ty" "$t" "$name" "$pp" "$tg" "$rss" "$wpp" "$wtg" "$wbw" "$wbytes" <<'PY'
import sys
ty, t, name = sys.argv[1:4]
pp, tg, rss, wpp, wtg, bw, nbytes = map(float, sys.argv[4:11])
roof = tg / (bw * 1e9 / nbytes) * 100
ratio = "%.2fx, %.2fx" % (wpp / pp, wtg / tg) if name != "whale" else ""
print("| %s | %s | %s | %.2f | %.2f | %.1f %% | %.2f | %s |" % (ty, t, name, pp, tg, roof, rss / 2**30, ratio))
PY
    done
    printf '| %s | %s | roofline (%.1f GB/s measured by whale bench, %.2f GB per token) | | %.2f | 100 %% | | |\n' "$ty" "$t" \
      "$wbw" "$(python3 -c "print($wbytes/1e9)")" "$(python3 -c "print($wbw*1e9/$wbytes)")"
  done
  printf '| %s | | file size | | | | %.2f | |\n' "$ty" "$(python3 -c "print($size/2**30)")"
done
