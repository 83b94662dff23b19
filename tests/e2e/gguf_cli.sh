#!/bin/bash
# A .gguf file works wherever a model folder does: tokenize, run (and so chat
# and serve, which load through the same ChatModel) give what the same
# weights and tokenizer give as a folder written by `whale quantize`.
# Usage: gguf_cli.sh WHALE_EXE SHARED_DIR BUILD_DIR
set -euo pipefail
WHALE=$1
GGUF=$2/fixtures/gguf/v3-f32.gguf
WORK=$3/e2e_gguf_cli
rm -rf "$WORK" && mkdir -p "$WORK"
fail=0
check() {  # name, got, want
  if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1"; echo "  got:  $2"; echo "  want: $3"; fail=1; fi
}
"$WHALE" quantize "$GGUF" "$WORK/folder" --type f32 > /dev/null
test -s "$WORK/folder/tokenizer.json"

text='Hello wörld 12345 <think>x</think>'
check "tokenize" "$(printf '%s' "$text" | "$WHALE" tokenize --model "$GGUF" --bos)" \
  "$(printf '%s' "$text" | "$WHALE" tokenize --model "$WORK/folder" --bos)"
run() { "$WHALE" run --model "$1" --template deepseek-r1 -p "hello there" -n 12 --temperature 0 2>&1; }
out=$(run "$GGUF")
check "run (greedy)" "$out" "$(run "$WORK/folder")"
[ -n "$out" ] || { echo "FAIL run printed nothing"; fail=1; }

# The fixture's template is not a DeepSeek one: without --template, a clear error.
set +e
err=$("$WHALE" run --model "$GGUF" -p hi -n 1 2>&1 >/dev/null)
rc=$?
set -e
check "unknown template" "$rc" "1"
case "$err" in *--template*) echo "ok   error names --template";; *) echo "FAIL error: $err"; fail=1;; esac

if [ $fail -ne 0 ]; then echo "gguf_cli: FAILED"; exit 1; fi
echo "gguf_cli: all passed"
