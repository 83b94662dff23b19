#!/usr/bin/env python3
"""Validation bits per byte of several `whale train` runs in one SVG.

    plot.py RUN_A/train.csv RUN_B/train.csv ... OUT.svg

Left panel: validation bits/byte against training tokens for every run (points
joined), with each run's training loss (in bits/byte, moving average over 25
steps) drawn thin. Right panel: every other run's validation bits/byte minus the
first run's, so a curve above zero means the first run is ahead. Tokens per
step come from the CSV's tokens_per_s x elapsed_s at the last row, divided by
the steps. Standard library only.
"""
import csv
import math
import os
import sys

COLORS = ["#d0542c", "#2c6fd0", "#2ca05a", "#8a2cd0"]


def load(path):
    rows = list(csv.DictReader(open(path)))
    last = rows[-1]
    tokens_per_step = float(last["tokens_per_s"]) * float(last["elapsed_s"]) / float(last["step"])
    # train.csv's tokens_per_s is rounded to 0.1; tokens per step is a whole power-of-two product.
    tokens_per_step = round(tokens_per_step / 256) * 256
    bpt = None  # bits per token -> bits per byte factor, from the first row that has both
    val, train = [], []
    for r in rows:
        step = int(r["step"])
        if r["val_loss"] and r["val_bpb"]:
            v, b = float(r["val_loss"]), float(r["val_bpb"])
            val.append((step * tokens_per_step, b))
            bpt = b / v
        train.append((step * tokens_per_step, float(r["main_loss"])))
    if bpt is None:
        raise SystemExit(path + ": no validation rows with bits per byte")
    k, smooth = 25, []
    for i in range(len(train)):
        w = train[max(0, i - k + 1): i + 1]
        smooth.append((train[i][0], sum(y for _, y in w) / len(w) * bpt))
    return val, smooth[k - 1:] if len(smooth) >= k else smooth


def nice_ticks(lo, hi, n=5):
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / n))
    for m in (1, 2, 2.5, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    t = math.floor(lo / step) * step
    out = []
    while t <= hi + 1e-9:
        if t >= lo - 1e-9:
            out.append(round(t, 10))
        t += step
    return out


def fmt_tokens(x):
    return f"{x / 1e6:g}M" if x >= 1e6 else f"{x / 1e3:g}k" if x >= 1e3 else f"{x:g}"


def panel(o, x0, y0, w, h, series, title, ylabel, ymin=None, ymax=None, zero=False):
    xs = [x for s in series for x, _ in s["pts"]]
    ys = [y for s in series for _, y in s["pts"]]
    xmax = max(xs)
    lo = min(ys) if ymin is None else ymin
    hi = max(ys) if ymax is None else ymax
    if zero:
        lo, hi = min(lo, 0), max(hi, 0)
    pad = (hi - lo) * 0.05 or 0.1
    lo, hi = lo - pad, hi + pad
    px = lambda x: x0 + w * x / xmax
    py = lambda y: y0 + h * (1 - (y - lo) / (hi - lo))
    o.append(f"<text x='{x0}' y='{y0 - 12}' font-size='13'>{title}</text>")
    o.append(f"<rect x='{x0}' y='{y0}' width='{w}' height='{h}' fill='none' stroke='#999'/>")
    for t in nice_ticks(lo, hi):
        o.append(f"<line x1='{x0}' x2='{x0 + w}' y1='{py(t):.1f}' y2='{py(t):.1f}' stroke='#eee'/>")
        o.append(f"<text x='{x0 - 5}' y='{py(t) + 4:.1f}' text-anchor='end'>{t:g}</text>")
    for t in nice_ticks(0, xmax):
        o.append(f"<line x1='{px(t):.1f}' x2='{px(t):.1f}' y1='{y0}' y2='{y0 + h}' stroke='#f3f3f3'/>")
        o.append(f"<text x='{px(t):.1f}' y='{y0 + h + 16}' text-anchor='middle'>{fmt_tokens(t)}</text>")
    if zero:
        o.append(f"<line x1='{x0}' x2='{x0 + w}' y1='{py(0):.1f}' y2='{py(0):.1f}' stroke='#555'/>")
    o.append(f"<text x='{x0 + w / 2}' y='{y0 + h + 34}' text-anchor='middle'>training tokens</text>")
    o.append(f"<text x='{x0 - 42}' y='{y0 + h / 2}' transform='rotate(-90 {x0 - 42} {y0 + h / 2})' "
             f"text-anchor='middle'>{ylabel}</text>")
    for s in series:
        pts = [(x, y) for x, y in s["pts"] if lo <= y <= hi]
        pl = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        o.append(f"<polyline fill='none' stroke='{s['color']}' stroke-width='{s['width']}' "
                 f"stroke-opacity='{s.get('opacity', 1)}' points='{pl}'/>")
        if s.get("dots"):
            o.extend(f"<circle cx='{px(x):.1f}' cy='{py(y):.1f}' r='2.5' fill='{s['color']}'/>" for x, y in pts)


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    paths, out = sys.argv[1:-1], sys.argv[-1]
    runs = []
    for i, p in enumerate(paths):
        val, train = load(p)
        name = os.path.basename(os.path.dirname(os.path.abspath(p)))
        runs.append({"name": name, "val": val, "train": train, "color": COLORS[i % len(COLORS)]})
    W, H = 980, 430
    o = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}' font-family='sans-serif' font-size='11'>",
         "<rect width='100%' height='100%' fill='white'/>"]
    left = []
    for r in runs:
        left.append({"pts": r["train"], "color": r["color"], "width": 0.8, "opacity": 0.45})
        left.append({"pts": r["val"], "color": r["color"], "width": 2, "dots": True})
    # Start the y axis at the second evaluation, so the end of the curves is readable.
    vals = [y for r in runs for _, y in r["val"][1:]] or [y for r in runs for _, y in r["val"]]
    panel(o, 70, 50, 520, 310, left, "validation bits/byte (dots) and train loss (thin, 25-step mean)",
          "bits per byte", ymin=min(vals), ymax=max(vals))
    base = dict(runs[0]["val"])
    right = []
    for r in runs[1:]:
        d = [(x, y - base[x]) for x, y in r["val"] if x in base]
        right.append({"pts": d, "color": r["color"], "width": 2, "dots": True})
    if right:
        panel(o, 680, 50, 280, 310, right, " / ".join(r["name"] for r in runs[1:]) + f" − {runs[0]['name']}, val bpb (> 0: {runs[0]['name']} ahead)", "Δ bits per byte", zero=True)
    y = H - 22
    x = 70
    for r in runs:
        fin = r["val"][-1][1]
        o.append(f"<rect x='{x}' y='{y - 9}' width='14' height='4' fill='{r['color']}'/>")
        o.append(f"<text x='{x + 20}' y='{y - 3}'>{r['name']}: {fin:.4f} bits/byte at the last evaluation</text>")
        x += 320
    o.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(o) + "\n")


if __name__ == "__main__":
    main()
