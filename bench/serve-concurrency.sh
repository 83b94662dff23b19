#!/usr/bin/env bash
# Total generation throughput of whale serve with 1 stream vs 8 concurrent
# streams (continuous batching: the 8 share every forward pass).
#   bench/serve-concurrency.sh WHALE_EXE MODEL_DIR [TOKENS_PER_STREAM] [STREAMS]
# The model needs tokenizer.json; tests/e2e/js/make-model.mjs makes a small one.
set -euo pipefail
WHALE=${1:?usage: $0 WHALE_EXE MODEL_DIR [TOKENS] [STREAMS]}
MODEL=${2:?}
TOKENS=${3:-128}
STREAMS=${4:-8}
LOG=$(mktemp)
"$WHALE" serve --model "$MODEL" --host 127.0.0.1 --port 0 --slots "$STREAMS" 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 600); do
  PORT=$(sed -n 's|.* on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$LOG" | head -1)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "${PORT:-}" ] || { cat "$LOG"; exit 1; }
URL=http://127.0.0.1:$PORT/v1/chat/completions
one() {  # prints completion_tokens of one request
  curl -s --max-time 600 -H 'Content-Type: application/json' "$URL" \
    -d "{\"messages\": [{\"role\": \"user\", \"content\": \"Stream $1: write a long essay.\"}], \"max_tokens\": $TOKENS, \"ignore_eos\": true, \"stream\": false}" |
    sed -n 's/.*"completion_tokens":\([0-9]*\).*/\1/p'
}
run() {  # run N: N concurrent requests; prints "N streams: T tokens in S s = R tok/s"
  local n=$1 t0 t1 total=0 out
  out=$(mktemp -d)
  t0=$(date +%s.%N)
  local pids=()
  for i in $(seq "$n"); do one "$i" > "$out/$i" & pids+=($!); done
  wait "${pids[@]}"  # not a bare wait: the server is a child too
  t1=$(date +%s.%N)
  for i in $(seq "$n"); do total=$((total + $(cat "$out/$i"))); done
  rm -rf "$out"
  awk -v n="$n" -v t="$total" -v t0="$t0" -v t1="$t1" \
    'BEGIN { s = t1 - t0; printf "%d stream(s): %d tokens in %.2f s = %.1f tok/s total, %.1f tok/s per stream\n", n, t, s, t / s, t / s / n }'
}
one 0 >/dev/null  # warm-up: page in the weights
echo "whale serve, $(nproc) cores, WHALE_THREADS=${WHALE_THREADS:-default}, $TOKENS tokens per stream, model $MODEL"
run 1
run "$STREAMS"
