# Shared by tests/e2e/*.sh that talk to `whale serve` (sourced, not a test).
# Every wait is bounded; servers listen on 127.0.0.1 only and are killed on exit.
set -euo pipefail
WHALE=${1:?usage: script WHALE_EXE SHARED_DIR BUILD_DIR}
SHARED=${2:?}
BUILD=${3:?}
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JS_DIR=$E2E_DIR/js
WORK=$(mktemp -d "${TMPDIR:-/tmp}/whale-e2e.XXXXXX")
SERVER_PIDS=()
cleanup() {
  for p in "${SERVER_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

skip() { echo "skipped: $*"; exit 0; }
fail() { echo "FAIL: $*" >&2; exit 1; }

need_node() {
  command -v node >/dev/null || skip "node is not installed (scripts/install-deps.sh installs it)"
  if [ ! -d "$JS_DIR/node_modules/openai" ] || [ ! -d "$JS_DIR/node_modules/playwright-core" ]; then
    (cd "$JS_DIR" && timeout 300 npm install --no-audit --no-fund >/dev/null) || fail "npm install in $JS_DIR failed"
  fi
}

# The test model: the v2-lite fixture's layers with the real DeepSeek-V3 tokenizer
# and R1's chat template (made once per build folder).
MODEL=$BUILD/e2e-model-r1
make_model() {
  [ -f "$MODEL/model.safetensors" ] && return 0
  # Built aside and renamed, so tests run in parallel (ctest -j) never see half a model.
  local tmp="$MODEL.tmp.$$"
  node "$JS_DIR/make-model.mjs" "$SHARED" "$tmp" >/dev/null
  mv -T "$tmp" "$MODEL" 2>/dev/null || rm -rf "$tmp"
  [ -f "$MODEL/model.safetensors" ] || fail "could not make the test model"
}

# start_server ARGS...: sets PID, BASE; waits (up to 60 s) for /health.
start_server() {
  local log=$WORK/server.$RANDOM.log
  "$WHALE" serve --model "$MODEL" --host 127.0.0.1 --port 0 "$@" 2>"$log" &
  PID=$!
  SERVER_PIDS+=("$PID")
  SERVER_LOG=$log
  local port=""
  for _ in $(seq 600); do
    port=$(sed -n 's|.* on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$PID" 2>/dev/null || { cat "$log" >&2; fail "whale serve exited early"; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$log" >&2; fail "whale serve did not start"; }
  BASE=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$BASE/health" >/dev/null && return 0; sleep 0.1; done
  fail "no /health answer from $BASE"
}

# stop_server: SIGTERM, and it must exit 0 within 20 s.
stop_server() {
  kill -TERM "$PID"
  for _ in $(seq 200); do
    if ! kill -0 "$PID" 2>/dev/null; then
      wait "$PID" || fail "whale serve exited with $? after SIGTERM"
      return 0
    fi
    sleep 0.1
  done
  fail "whale serve still running 20 s after SIGTERM"
}
