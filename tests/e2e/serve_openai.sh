#!/usr/bin/env bash
# whale serve end to end: the official openai npm client (streaming and not),
# curl for every error case, a full queue, a dropped client, clean SIGTERM.
source "$(dirname "$0")/lib/common.bash"
need_node
make_model

# --- error cases, each a 4xx with OpenAI's error object
start_server --ctx 512 --max-body 65536
expect() {  # expect STATUS DESCRIPTION CURL_ARGS...
  local want=$1 what=$2
  shift 2
  local got
  got=$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 30 "$@")
  [ "$got" = "$want" ] || fail "$what: HTTP $got, want $want: $(head -c 300 "$WORK/body")"
  if [ "${want:0:1}" = 4 ]; then
    node -e 'const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).error;
             for (const k of ["message", "type", "param", "code"]) if (!(k in e)) throw new Error("no " + k);
             if (!e.message) throw new Error("empty message")' "$WORK/body" || fail "$what: not an OpenAI error body"
  fi
  echo "ok $got $what"
}
chat=(-H 'Content-Type: application/json' "$BASE/v1/chat/completions")
expect 400 "invalid JSON" -d '{"messages": [' "${chat[@]}"
expect 400 "body is not an object" -d '[1]' "${chat[@]}"
expect 400 "missing messages" -d '{"model": "x"}' "${chat[@]}"
expect 400 "empty messages" -d '{"messages": []}' "${chat[@]}"
expect 400 "messages not an array" -d '{"messages": "hi"}' "${chat[@]}"
expect 400 "unknown role" -d '{"messages": [{"role": "wizard", "content": "hi"}]}' "${chat[@]}"
expect 400 "content of a wrong type" -d '{"messages": [{"role": "user", "content": 42}]}' "${chat[@]}"
expect 400 "temperature of a wrong type" -d '{"messages": [{"role": "user", "content": "hi"}], "temperature": "warm"}' "${chat[@]}"
expect 400 "max_tokens of a wrong type" -d '{"messages": [{"role": "user", "content": "hi"}], "max_tokens": "many"}' "${chat[@]}"
expect 400 "stream of a wrong type" -d '{"messages": [{"role": "user", "content": "hi"}], "stream": 1}' "${chat[@]}"
expect 400 "stop of a wrong type" -d '{"messages": [{"role": "user", "content": "hi"}], "stop": 7}' "${chat[@]}"
expect 400 "n > 1" -d '{"messages": [{"role": "user", "content": "hi"}], "n": 3}' "${chat[@]}"
long=$(printf 'lorem ipsum dolor %.0s' $(seq 400))
expect 400 "prompt longer than the context" -d "{\"messages\": [{\"role\": \"user\", \"content\": \"$long\"}]}" "${chat[@]}"
grep -q context_length_exceeded "$WORK/body" || fail "context error lacks its code"
head -c 100000 /dev/zero | tr '\0' 'a' > "$WORK/big"
expect 413 "body over the size limit" --data-binary @"$WORK/big" "${chat[@]}"
expect 400 "completions without prompt" -H 'Content-Type: application/json' -d '{"max_tokens": 3}' "$BASE/v1/completions"
expect 404 "unknown path" "$BASE/v2/nothing"
expect 200 "health" "$BASE/health"
expect 200 "web page" "$BASE/"
grep -q '<title>whale</title>' "$WORK/body" || fail "/ is not the chat page"
expect 200 "plain curl chat" -d '{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}' "${chat[@]}"
# Streaming through curl: SSE lines and the [DONE] terminator.
curl -sN --max-time 30 -d '{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": true}' \
  "${chat[@]}" > "$WORK/sse"
grep -q '^data: {.*"chat.completion.chunk"' "$WORK/sse" || fail "no SSE chunks"
[ "$(tail -n 2 "$WORK/sse" | head -1)" = "data: [DONE]" ] || fail "stream does not end with data: [DONE]"
echo "ok SSE framing"
stop_server

# --- a full queue answers 429 at once; dropped clients free their slots
start_server --slots 1 --max-queue 1
body='{"messages": [{"role": "user", "content": "go"}], "max_tokens": 100000, "ignore_eos": true, "stream": true}'
curl -sN --max-time 60 -d "$body" "${chat[@]:0:2}" "$BASE/v1/chat/completions" >/dev/null & c1=$!
sleep 0.5
curl -sN --max-time 60 -d "$body" "${chat[@]:0:2}" "$BASE/v1/chat/completions" >/dev/null & c2=$!
sleep 0.5
code=$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 10 -d "$body" "${chat[@]:0:2}" "$BASE/v1/chat/completions")
[ "$code" = 429 ] || fail "full queue: HTTP $code, want 429"
echo "ok 429 when the queue is full"
kill "$c1" "$c2"; wait "$c1" "$c2" 2>/dev/null || true
for _ in $(seq 100); do
  h=$(curl -s "$BASE/health")
  case "$h" in *'"active":0'*'"queued":0'*) break ;; esac
  sleep 0.1
done
case "$h" in *'"active":0'*'"queued":0'*) echo "ok disconnected clients freed their slots" ;; *) fail "slots still busy: $h" ;; esac
# SIGTERM while a stream runs: the stream ends, the server exits 0.
curl -sN --max-time 60 -d "$body" "${chat[@]:0:2}" "$BASE/v1/chat/completions" > "$WORK/cut" & c3=$!
sleep 1
stop_server
wait "$c3" || true
grep -q 'data: \[DONE\]' "$WORK/cut" || fail "the in-flight stream was not ended cleanly on SIGTERM"
echo "ok SIGTERM ends in-flight streams and exits 0"

# --- the official client
start_server
timeout 300 node "$JS_DIR/openai.mjs" "$BASE"
stop_server
# --- reasoning_content and content apart, on the bundled model that thinks
TINY=$E2E_DIR/../../models/whale-tiny
if [ -f "$TINY/model.safetensors" ]; then
  MODEL=$TINY start_server
  timeout 120 node "$JS_DIR/reasoning.mjs" "$BASE"
  stop_server
else
  echo "note: models/whale-tiny absent, reasoning split checked by unit tests only"
fi
echo "serve_openai: all passed"
