#!/bin/sh
# MoE vs dense at equal activated parameters on the King James Bible, byte
# vocabulary (docs/TRAINING.md, "MoE vs dense"). Both runs train in parallel,
# one thread each, on the same batches (same seed), for the same 500 steps x
# 2048 tokens; then the two validation curves go into one SVG.
#   bench/moe-vs-dense/run.sh [WHALE] [WORKDIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
whale=$(realpath "${1:-$here/../../build-train/whale}")
work=${2:-$here/../../build-train/moe-vs-dense}
mkdir -p "$work" && cd "$work"
[ -s kjv.txt ] || bible -f "Gen1:1-Rev22:21" | sed 's/^[^ ]* //' > kjv.txt   # Debian bible-kjv
# 6 specials + 256 bytes, no merges: one token per byte, so bits/byte = nats/token / ln 2.
[ -s tok/tokenizer.json ] || "$whale" train-tokenizer --vocab-size 262 --out tok kjv.txt
[ -s data/train.bin ] || "$whale" prepare-data --tokenizer tok --out data kjv.txt
( /usr/bin/time -v "$whale" train --config "$here/moe.json" --out moe > moe.log 2>&1 ) &
( /usr/bin/time -v "$whale" train --config "$here/dense.json" --out dense > dense.log 2>&1 ) &
wait
# Final checkpoints on (nearly) the whole held-out split: 100 batches x 8 x 256 = 204,800 of its
# 206,848 tokens, through the trainer's own Evaluate (one step at lr 1e-30, bias frozen).
for m in moe dense; do
  python3 - "$here/$m.json" $m <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); m = sys.argv[2]
c.update(out=m + "-eval", init_from=m + "/checkpoint", steps=1, lr=1e-30, warmup=0, bias_update_speed=0,
         eval_batches=100, eval_every=1)
json.dump(c, open(m + "-eval.json", "w"), indent=1)
PY
  "$whale" train --config $m-eval.json > $m-eval.log 2>&1 &
done
wait
for m in moe dense; do echo "$m full validation (nats/token, bits/byte): $(tail -n 1 $m-eval/train.csv | cut -d, -f6,7)"; done
python3 "$here/plot.py" moe/train.csv dense/train.csv "$here/../../docs/moe-vs-dense.svg"
for m in moe dense; do "$whale" info $m/checkpoint; grep -E "Elapsed|Maximum resident" $m.log; done
