#!/bin/bash
# whale tokenize / detokenize end to end on DeepSeek-V3's tokenizer:
# stdin, --jsonl, --chat and detokenize, compared with the reference ids
# (shared/tokenizer). Usage: tokenize_cli.sh WHALE_EXE SHARED_DIR BUILD_DIR
set -euo pipefail
WHALE=$1
SHARED=$2/tokenizer
WORK=$3/e2e_tokenize_cli
mkdir -p "$WORK/model"
gunzip -c "$SHARED/deepseek-v3/tokenizer.json.gz" > "$WORK/model/tokenizer.json"
cp "$SHARED/deepseek-v3/tokenizer_config.json" "$WORK/model/tokenizer_config.json"
fail=0
check() {  # name, got, want
  if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1"; echo "  got:  $2"; echo "  want: $3"; fail=1; fi
}

check "stdin --bos" "$(printf 'Hello!' | "$WHALE" tokenize --model "$WORK/model" --bos)" "[0,19923,3]"
check "stdin" "$(printf 'Hello world' | "$WHALE" tokenize --model "$WORK/model")" "[19923,2058]"

printf '%s\n' '{"text": "Hello world", "add_special_tokens": true}' \
  '{"text": "Hello, world!", "add_special_tokens": false}' \
  '{"text": "Äpfel", "add_special_tokens": false}' \
  '{"text": "x<｜end▁of▁sentence｜>y", "add_special_tokens": false}' > "$WORK/in.jsonl"
check "--jsonl" "$("$WHALE" tokenize --model "$WORK/model" --jsonl "$WORK/in.jsonl" | tr '\n' ' ')" \
  '{"ids":[0,19923,2058]} {"ids":[19923,14,2058,3]} {"ids":[38857,33015,317]} {"ids":[90,1,91]} '

# The first chat case of each template (chat_cases.jsonl).
printf '%s\n' '{"messages": [{"role": "user", "content": "Hello!"}], "add_generation_prompt": true}' \
  '{"messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "What is 2+2?"}], "add_generation_prompt": false}' > "$WORK/chat.jsonl"
check "--chat v3" "$("$WHALE" tokenize --model "$WORK/model" --chat "$WORK/chat.jsonl" | tr '\n' ' ')" \
  '{"text":"<｜begin▁of▁sentence｜><｜User｜>Hello!<｜Assistant｜>","ids":[0,128803,19923,3,128804]} {"text":"<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>What is 2+2?","ids":[0,3476,477,260,11502,22896,16,128803,3085,344,223,20,13,20,33]} '
check "--chat r1" "$(head -1 "$WORK/chat.jsonl" | "$WHALE" tokenize --model "$WORK/model" --template deepseek-r1 --chat -)" \
  '{"text":"<｜begin▁of▁sentence｜><｜User｜>Hello!<｜Assistant｜><think>\n","ids":[0,128803,19923,3,128804,30,37947,1018]}'

check "detokenize" "$(echo '[0,19923,2058]' | "$WHALE" detokenize --model "$WORK/model")" "<｜begin▁of▁sentence｜>Hello world"
check "detokenize --jsonl" "$(echo '{"ids": [0, 19923, 2058], "skip_special_tokens": true}' | "$WHALE" detokenize --model "$WORK/model" --jsonl -)" '{"text":"Hello world"}'

# bench-mixed.txt: 85,114 ids whose sha256 (joined by ',') the README gives.
ids=$("$WHALE" tokenize --model "$WORK/model" < "$SHARED/bench-mixed.txt")
check "bench-mixed sha256" "$(printf '%s' "$ids" | tr -d '[]\n' | sha256sum | cut -d' ' -f1)" \
  "2b55dcf079c65859f3a515de456a4abce44f600dfee93f82c190fe2fdb03bec4"

# Bad input: a clear error and exit status 1.
set +e
err=$(echo '{"messages": [{"role": "user"}]}' | "$WHALE" tokenize --model "$WORK/model" --chat - 2>&1 >/dev/null)
rc=$?
set -e
check "bad chat message" "$rc: $err" '1: whale: error: -:1: chat message 0: "content" is missing'

if [ $fail -ne 0 ]; then echo "tokenize_cli: FAILED"; exit 1; fi
echo "tokenize_cli: all passed"
