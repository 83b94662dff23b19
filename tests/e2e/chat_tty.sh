#!/usr/bin/env bash
# whale chat in a real pseudo-terminal (tmux) and through pipes; whale run.
source "$(dirname "$0")/lib/common.bash"
command -v node >/dev/null || skip "node is not installed (needed to build the test model)"
command -v tmux >/dev/null || skip "tmux is not installed"
make_model

# --- whale run: one answer, reproducible with a seed, clear error for a missing model
a=$(timeout 60 "$WHALE" run --model "$MODEL" -p "hi" -n 8 --seed 3 --hide-thinking --raw)
b=$(timeout 60 "$WHALE" run --model "$MODEL" -p "hi" -n 8 --seed 3 --hide-thinking --raw)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "whale run is not reproducible with --seed: '$a' vs '$b'"
if timeout 30 "$WHALE" run --model "$WORK/nope" -p hi 2>"$WORK/err"; then fail "missing model accepted"; fi
grep -q "whale: error: .*no such model folder" "$WORK/err" || fail "unclear error: $(cat "$WORK/err")"
echo "ok whale run"

# --- pipes: plain text, no escape codes; a continued line is one message
printf 'first line \\\nsecond line\n/help\n/exit\n' | timeout 60 "$WHALE" chat --model "$MODEL" -n 6 --seed 1 > "$WORK/plain"
if grep -q $'\x1b' "$WORK/plain"; then fail "escape codes in non-terminal output"; fi
[ "$(grep -c '^thinking$' "$WORK/plain")" = 1 ] || fail "expected one answer: $(cat "$WORK/plain")"
grep -q '^Commands:' "$WORK/plain" || fail "/help missing"
printf 'hi\n' | timeout 60 "$WHALE" chat --model "$MODEL" -n 4 --hide-thinking > "$WORK/hidden"
grep -qx 'thinking\.\.\. \[length limit\]' "$WORK/hidden" || fail "--hide-thinking still shows reasoning: $(cat "$WORK/hidden")"
echo "ok chat through pipes"

# --- a terminal: streamed answer with a dimmed "thinking" label, Ctrl-C, /reset, /system
S=whale-chat-$$
tmux kill-session -t "$S" 2>/dev/null || true
tmux new-session -d -s "$S" -x 160 -y 50 "'$WHALE' chat --model '$MODEL' -n 2000 --ctx 4096; echo CHAT-EXITED \$?; sleep 30"
trap 'tmux kill-session -t "$S" 2>/dev/null || true; cleanup' EXIT
screen() { tmux capture-pane -p -t "$S" -S -200; }
wait_for() {  # wait_for PATTERN SECONDS
  for _ in $(seq $(($2 * 10))); do screen | grep -q -- "$1" && return 0; sleep 0.1; done
  screen >&2
  fail "terminal never showed: $1"
}
wait_for "whale chat:" 60
tmux send-keys -t "$S" "Tell me a long story" Enter
wait_for "^thinking" 30
sleep 1
tmux send-keys -t "$S" C-c
wait_for "\[stopped\]" 10
tmux capture-pane -e -p -t "$S" | grep -q $'\x1b\[2mthinking' || fail "thinking label is not dimmed"
tmux send-keys -t "$S" "/reset" Enter
wait_for "(new conversation)" 10
tmux send-keys -t "$S" "/system Be brief." Enter
wait_for "(system prompt set" 10
tmux send-keys -t "$S" "/help" Enter
wait_for "Multi-line input" 10
tmux send-keys -t "$S" C-d
wait_for "CHAT-EXITED 0" 10
echo "chat_tty: all passed"
