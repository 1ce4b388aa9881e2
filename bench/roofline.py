"""bench/roofline.py: a roofline plot as a self-contained SVG, standard library only.

Log-log axes: arithmetic intensity (operations per byte moved) against throughput
(G operations per second). Compute ceilings are horizontal lines, bandwidth ceilings
diagonals (throughput = bandwidth x intensity, drawn up to the highest compute ceiling), and
the measured points are labelled. bench/write_kernels.py calls render() with the figures of
one bench/run_kernels.sh run; `python3 bench/roofline.py SPEC.json OUT.svg` renders a spec
saved as JSON (the same dict), for trying the layout by hand.

spec = {
  "title": str,
  "compute": [{"label": str, "gops": float}, ...],
  "bandwidth": [{"label": str, "gbytes_per_s": float}, ...],
  "points": [{"label": str, "intensity": float, "gops": float, "group": str}, ...],
}
Points of one group share a colour and marker; the legend lists the groups.
"""

import json
import math
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 900, 600
LEFT, RIGHT, TOP, BOTTOM = 80, 30, 50, 70
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
MARKERS = ["circle", "square", "triangle", "diamond"]
CHAR_W = 6.3  # px per character at font-size 11, roughly: for label collision checks


def _decade_floor(v):
    return 10 ** math.floor(math.log10(v))


def _decade_ceil(v):
    return 10 ** math.ceil(math.log10(v))


class _Axes:
    def __init__(self, xmin, xmax, ymin, ymax):
        self.lx0, self.lx1 = math.log10(xmin), math.log10(xmax)
        self.ly0, self.ly1 = math.log10(ymin), math.log10(ymax)
        self.xmin, self.xmax, self.ymin, self.ymax = xmin, xmax, ymin, ymax

    def x(self, v):
        return LEFT + (math.log10(v) - self.lx0) / (self.lx1 - self.lx0) * (WIDTH - LEFT - RIGHT)

    def y(self, v):
        return HEIGHT - BOTTOM - (math.log10(v) - self.ly0) / (self.ly1 - self.ly0) * (HEIGHT - TOP - BOTTOM)


def _fmt_tick(v):
    if v >= 1:
        return f"{v:g}"
    return f"{v:g}"


def _marker(kind, cx, cy, color, r=5):
    if kind == "circle":
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r}" fill="{color}"/>'
    if kind == "square":
        return f'<rect x="{cx - r:.1f}" y="{cy - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{color}"/>'
    if kind == "triangle":
        pts = f"{cx:.1f},{cy - r - 1:.1f} {cx - r - 1:.1f},{cy + r:.1f} {cx + r + 1:.1f},{cy + r:.1f}"
        return f'<polygon points="{pts}" fill="{color}"/>'
    pts = f"{cx:.1f},{cy - r - 1:.1f} {cx + r + 1:.1f},{cy:.1f} {cx:.1f},{cy + r + 1:.1f} {cx - r - 1:.1f},{cy:.1f}"
    return f'<polygon points="{pts}" fill="{color}"/>'


def _overlaps(a, b):
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


def render(spec):
    compute = sorted(spec["compute"], key=lambda c: c["gops"])
    bandwidth = sorted(spec["bandwidth"], key=lambda b: b["gbytes_per_s"])
    points = spec["points"]
    top = max(c["gops"] for c in compute)
    low_bw = min(b["gbytes_per_s"] for b in bandwidth)
    xs = [p["intensity"] for p in points] + [top / low_bw]
    ys = [p["gops"] for p in points] + [top]
    # Lower ends on a decade, upper ends just past the data: no empty decade at the top.
    ax = _Axes(_decade_floor(min(xs) / 1.5), max(xs) * 4, _decade_floor(min(ys) / 1.5), top * 2)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="15">{escape(spec["title"])}</text>']
    x0, x1 = ax.x(ax.xmin), ax.x(ax.xmax)
    y0, y1 = ax.y(ax.ymin), ax.y(ax.ymax)
    out.append(f'<defs><clipPath id="plot"><rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}"/></clipPath></defs>')

    # Grid and ticks: decades labelled, 2..9 as faint lines.
    for lx in range(round(ax.lx0), math.floor(ax.lx1) + 1):
        v = 10 ** lx
        out.append(f'<line x1="{ax.x(v):.1f}" y1="{y1}" x2="{ax.x(v):.1f}" y2="{y0}" stroke="#ddd"/>')
        out.append(f'<text x="{ax.x(v):.1f}" y="{y0 + 16}" text-anchor="middle">{_fmt_tick(v)}</text>')
        for s in range(2, 10):
            if v * s < ax.xmax:
                out.append(f'<line x1="{ax.x(v * s):.1f}" y1="{y1}" x2="{ax.x(v * s):.1f}" y2="{y0}" stroke="#f3f3f3"/>')
    for ly in range(round(ax.ly0), math.floor(ax.ly1) + 1):
        v = 10 ** ly
        out.append(f'<line x1="{x0}" y1="{ax.y(v):.1f}" x2="{x1}" y2="{ax.y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 8}" y="{ax.y(v) + 4:.1f}" text-anchor="end">{_fmt_tick(v)}</text>')
        for s in range(2, 10):
            if v * s < ax.ymax:
                out.append(f'<line x1="{x0}" y1="{ax.y(v * s):.1f}" x2="{x1}" y2="{ax.y(v * s):.1f}" stroke="#f3f3f3"/>')
    out.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{(x0 + x1) / 2}" y="{HEIGHT - 25}" text-anchor="middle" font-size="13">'
               'arithmetic intensity (operations per byte of A, W and C at their stored types)</text>')
    out.append(f'<text transform="translate(22 {(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" '
               'font-size="13">GFLOP/s (GOP/s for int8)</text>')

    taken = []  # label boxes (x0, y0, x1, y1)
    # Compute ceilings: horizontal, from where the steepest diagonal meets them.
    hi_bw = max(b["gbytes_per_s"] for b in bandwidth)
    for c in compute:
        yv = ax.y(c["gops"])
        xs0 = max(x0, ax.x(max(ax.xmin, c["gops"] / hi_bw)))
        out.append(f'<line x1="{xs0:.1f}" y1="{yv:.1f}" x2="{x1}" y2="{yv:.1f}" stroke="#333" '
                   'stroke-width="1.6" clip-path="url(#plot)"/>')
        label = escape(c["label"])
        w = len(c["label"]) * CHAR_W
        out.append(f'<text x="{x1 - 6}" y="{yv - 5:.1f}" text-anchor="end" fill="#333">{label}</text>')
        taken.append((x1 - 6 - w, yv - 16, x1 - 6, yv - 2))
    # Bandwidth ceilings: diagonals up to the highest compute ceiling (labelled below, once
    # the points are down, where the label hides none of them).
    diagonals = []
    for b in bandwidth:
        bw = b["gbytes_per_s"]
        xa = ax.xmin
        xb = min(ax.xmax, top / bw)
        if bw * xa < ax.ymin:  # start where the line enters the plot
            xa = ax.ymin / bw
        out.append(f'<line x1="{ax.x(xa):.1f}" y1="{ax.y(bw * xa):.1f}" x2="{ax.x(xb):.1f}" '
                   f'y2="{ax.y(bw * xb):.1f}" stroke="#777" stroke-width="1.3" stroke-dasharray="6 4" '
                   'clip-path="url(#plot)"/>')
        diagonals.append((b, xa, xb))

    # Points, then labels placed greedily where they overlap nothing placed before.
    groups = []
    for p in points:
        if p["group"] not in groups:
            groups.append(p["group"])
    placed = []
    for p in points:
        gi = groups.index(p["group"])
        color, kind = PALETTE[gi % len(PALETTE)], MARKERS[gi % len(MARKERS)]
        cx, cy = ax.x(p["intensity"]), ax.y(p["gops"])
        out.append(_marker(kind, cx, cy, color))
        placed.append((cx - 6, cy - 6, cx + 6, cy + 6))
    taken += placed
    # Diagonal labels: along the line, above it, at the first spot from the top end down that
    # overlaps no point and no label (the box tested is the rotated text's bounding box).
    for b, xa, xb in diagonals:
        bw = b["gbytes_per_s"]
        angle = math.atan2(ax.y(bw * xb) - ax.y(bw * xa), ax.x(xb) - ax.x(xa))
        w = len(b["label"]) * CHAR_W
        choice = None
        for frac in (0.72, 0.6, 0.48, 0.84, 0.36, 0.24, 0.12):
            lxv = 10 ** (math.log10(xa) + frac * (math.log10(xb) - math.log10(xa)))
            px, py = ax.x(lxv), ax.y(bw * lxv)
            # Text runs from (px, py) along the line, lifted 5 px off it.
            ox, oy = 5 * math.sin(angle), -5 * math.cos(angle)
            ex, ey = px + ox + w * math.cos(angle), py + oy + w * math.sin(angle)
            box = (min(px + ox, ex) - 2, min(py + oy, ey) - 11, max(px + ox, ex) + 2, max(py + oy, ey) + 2)
            if box[0] < x0 or box[2] > x1 or box[1] < y1 or box[3] > y0:
                continue
            if not any(_overlaps(box, t) for t in taken):
                choice = (px + ox, py + oy, box)
                break
        if choice is None:
            lxv = 10 ** (math.log10(xa) + 0.72 * (math.log10(xb) - math.log10(xa)))
            choice = (ax.x(lxv), ax.y(bw * lxv) - 5, None)
        tx, ty, box = choice
        if box:
            taken.append(box)
        out.append(f'<text transform="translate({tx:.1f} {ty:.1f}) rotate({math.degrees(angle):.1f})" '
                   f'fill="#555">{escape(b["label"])}</text>')
    for p in points:
        gi = groups.index(p["group"])
        color = PALETTE[gi % len(PALETTE)]
        cx, cy = ax.x(p["intensity"]), ax.y(p["gops"])
        w = len(p["label"]) * CHAR_W
        candidates = []
        for dy in (0, -12, 12, -24, 24, -36, 36, -48, 48):
            candidates.append(("start", cx + 9, cy + 4 + dy))
            candidates.append(("end", cx - 9, cy + 4 + dy))
        best = None
        for anchor, tx, ty in candidates:
            bx0 = tx if anchor == "start" else tx - w
            box = (bx0, ty - 10, bx0 + w, ty + 2)
            if box[0] < x0 or box[2] > x1 or box[1] < y1 or box[3] > y0:
                continue
            if not any(_overlaps(box, t) for t in taken):
                best = (anchor, tx, ty, box)
                break
        if best is None:
            best = ("start", cx + 9, cy + 4, (cx + 9, cy - 6, cx + 9 + w, cy + 6))
        anchor, tx, ty, box = best
        taken.append(box)
        if abs(ty - 4 - cy) > 1:  # moved off its point: a leader line
            ex = box[0] if anchor == "start" else box[2]
            out.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{ex:.1f}" y2="{ty - 4:.1f}" stroke="{color}" stroke-width="0.6"/>')
        out.append(f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" fill="{color}">{escape(p["label"])}</text>')

    # Legend, bottom right inside the plot.
    lx, ly = x1 - 190, y0 - 16 - 18 * len(groups)
    out.append(f'<rect x="{lx - 8}" y="{ly - 14}" width="196" height="{18 * len(groups) + 10}" fill="white" '
               'stroke="#bbb"/>')
    for gi, g in enumerate(groups):
        color, kind = PALETTE[gi % len(PALETTE)], MARKERS[gi % len(MARKERS)]
        out.append(_marker(kind, lx + 4, ly + 18 * gi - 4, color, r=4))
        out.append(f'<text x="{lx + 16}" y="{ly + 18 * gi}" fill="{color}">{escape(g)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: roofline.py SPEC.json OUT.svg")
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(render(spec))


if __name__ == "__main__":
    main()
