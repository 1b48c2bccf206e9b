#!/usr/bin/env python3
"""SVG charts of the firing benchmark's samples (Python 3 standard library only).

    python3 bench/charts.py RESULTS_DIR OUT_DIR

Reads RESULTS_DIR/samples/run-<r>/<kind>_<scheduler>_<n>.csv (header `delay_ms`, one row per
notification received; kind is `burst` or `steady`, n the burst size or schedule count) and
writes, for each (kind, n):
  burst-<n>-drain.svg      cumulative % of the n notifications received against ms since the
                           common due instant, log x, one line per scheduler; the median run
                           (by drain time, the last delay) of each scheduler
  steady-<n>-lateness.svg  lateness CDF per scheduler, log x, p50 and p99 marked; all runs
                           pooled
Delays below 0.1 ms (a fire on time, or a negative delay from clock granularity) are drawn at
0.1 ms, which a log axis needs.
"""

import csv
import math
import os
import re
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 800, 450
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 62, 52
FLOOR_MS = 0.1
LEGEND_ROW = 20
# Known schedulers keep their colour from chart to chart; others take the rest in name order.
COLOURS = {
    "workflow_scheduler": "#1f77b4",
    "pg_cron": "#d62728",
    "apscheduler": "#2ca02c",
    "pgagent": "#9467bd",
    "sql_reference": "#7f7f7f",
}
SPARE_COLOURS = ["#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#000000"]
FILE_RE = re.compile(r"^(burst|steady)_(.+)_(\d+)\.csv$")


def read_delays(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != ["delay_ms"]:
        raise ValueError(f"{path}: the header must be delay_ms")
    return sorted(float(r[0]) for r in rows[1:] if r and r[0].strip())


def load(results_dir):
    """{(kind, n): {scheduler: [delays of run 1, delays of run 2, ...]}}"""
    samples = os.path.join(results_dir, "samples")
    if not os.path.isdir(samples):
        raise SystemExit(f"charts: no {samples} directory")
    data = {}
    for run in sorted(os.listdir(samples)):
        run_dir = os.path.join(samples, run)
        if not (run.startswith("run-") and os.path.isdir(run_dir)):
            continue
        for name in sorted(os.listdir(run_dir)):
            m = FILE_RE.match(name)
            if not m:
                continue
            kind, scheduler, n = m.group(1), m.group(2), int(m.group(3))
            delays = read_delays(os.path.join(run_dir, name))
            data.setdefault((kind, n), {}).setdefault(scheduler, []).append(delays)
    return data


def median_run(runs):
    """The run whose drain time (last delay; an empty run counts as infinite) is the median."""
    ranked = sorted(runs, key=lambda d: d[-1] if d else math.inf)
    return ranked[(len(ranked) - 1) // 2]


def percentile(sorted_values, p):
    """Nearest-rank percentile, p in 0..100."""
    if not sorted_values:
        return math.nan
    k = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(k, len(sorted_values)) - 1]


def colours_for(schedulers):
    spare = iter(SPARE_COLOURS * (1 + len(schedulers) // len(SPARE_COLOURS)))
    return {s: COLOURS.get(s) or next(spare) for s in schedulers}


def fmt_ms(ms):
    if ms >= 1000:
        s = ms / 1000
        return f"{s:.0f} s" if s >= 100 else f"{s:.3g} s"
    return f"{ms:.3g} ms"


class Chart:
    """A log-x, linear-y (0..100 %) line chart."""

    def __init__(self, title, subtitle, x_label, y_label, x_min, x_max, legend_rows):
        self.lo = math.floor(math.log10(max(x_min, FLOOR_MS)))
        self.hi = max(self.lo + 1, math.ceil(math.log10(max(x_max, FLOOR_MS))))
        # The legend goes under the plot, where it hides no line: the canvas grows by its rows.
        self.height = HEIGHT + LEGEND_ROW * legend_rows + 10
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{self.height}" '
            f'viewBox="0 0 {WIDTH} {self.height}" font-family="sans-serif" font-size="13">',
            f'<rect width="{WIDTH}" height="{self.height}" fill="#ffffff"/>',
            f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="16" '
            f'font-weight="bold">{escape(title)}</text>',
            f'<text x="{WIDTH / 2}" y="41" text-anchor="middle" fill="#444444">{escape(subtitle)}</text>',
        ]
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM
        self._axes(x_label, y_label)

    def x(self, ms):
        frac = (math.log10(max(ms, FLOOR_MS)) - self.lo) / (self.hi - self.lo)
        return LEFT + frac * self.plot_w

    def y(self, pct):
        return TOP + (1 - pct / 100) * self.plot_h

    def _axes(self, x_label, y_label):
        p = self.parts
        for pct in range(0, 101, 20):
            y = self.y(pct)
            p.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + self.plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>')
            p.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>')
        for e in range(self.lo, self.hi + 1):
            x = self.x(10**e)
            p.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + self.plot_h}" stroke="#e0e0e0"/>')
            p.append(f'<text x="{x:.1f}" y="{TOP + self.plot_h + 18}" text-anchor="middle">{fmt_ms(10**e)}</text>')
            for k in range(2, 10):
                if e < self.hi:
                    xm = self.x(k * 10**e)
                    p.append(f'<line x1="{xm:.1f}" y1="{TOP + self.plot_h}" x2="{xm:.1f}" '
                             f'y2="{TOP + self.plot_h + 4}" stroke="#999999"/>')
        p.append(f'<rect x="{LEFT}" y="{TOP}" width="{self.plot_w}" height="{self.plot_h}" '
                 f'fill="none" stroke="#333333"/>')
        p.append(f'<text x="{LEFT + self.plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">{escape(x_label)}</text>')
        p.append(f'<text transform="translate(18 {TOP + self.plot_h / 2}) rotate(-90)" '
                 f'text-anchor="middle">{escape(y_label)}</text>')

    def series(self, name, colour, points):
        """A step line through (ms, pct) points, ms ascending."""
        # Points that fall on the same half pixel of x make one vertical step, which keeps a
        # chart of 100,000 samples small.
        steps = []  # [x, y before, y after]
        prev_y = self.y(0)
        for ms, pct in points:
            x = round(self.x(ms) * 2) / 2
            y = self.y(pct)
            if steps and steps[-1][0] == x:
                steps[-1][2] = y
            else:
                steps.append([x, prev_y, y])
            prev_y = y
        coords = [f"{x:.1f},{a:.1f} {x:.1f},{b:.1f}" for x, a, b in steps]
        self.parts.append(
            f'<polyline class="series" data-scheduler="{escape(name)}" fill="none" stroke="{colour}" '
            f'stroke-width="2" points="{" ".join(coords)}"/>'
        )

    def marker(self, ms, pct, colour, shape, label):
        x, y = self.x(ms), self.y(pct)
        if shape == "circle":
            el = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="#ffffff" stroke="{colour}" stroke-width="2">'
            end = "</circle>"
        else:
            d = 5.5
            el = (f'<polygon points="{x:.1f},{y - d:.1f} {x + d:.1f},{y:.1f} {x:.1f},{y + d:.1f} '
                  f'{x - d:.1f},{y:.1f}" fill="{colour}">')
            end = "</polygon>"
        self.parts.append(f"{el}<title>{escape(label)}</title>{end}")

    def legend(self, entries):
        """entries: (colour, text), one row each under the x axis label."""
        x0 = LEFT
        for i, (colour, text) in enumerate(entries):
            y = HEIGHT + LEGEND_ROW * i + LEGEND_ROW / 2
            self.parts.append(f'<line x1="{x0 + 6:.1f}" y1="{y:.1f}" x2="{x0 + 22:.1f}" y2="{y:.1f}" '
                              f'stroke="{colour}" stroke-width="3"/>')
            self.parts.append(f'<text x="{x0 + 27:.1f}" y="{y + 4.5:.1f}">{escape(text)}</text>')

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.parts + ["</svg>"]) + "\n")


def burst_chart(n, by_scheduler, path):
    schedulers = sorted(by_scheduler)
    colours = colours_for(schedulers)
    chosen = {s: median_run(runs) for s, runs in by_scheduler.items()}
    values = [d for delays in chosen.values() for d in delays]
    runs = max(len(r) for r in by_scheduler.values())
    chart = Chart(
        f"Burst of {n:,} schedules due at one instant: drain",
        (f"median of {runs} runs per scheduler (by drain time)" if runs > 1 else "one run")
        + f"; n = {n:,}",
        "ms since the due instant (log scale)",
        f"notifications received (% of {n:,})",
        min(values, default=1.0),
        max(values, default=10.0),
        len(schedulers),
    )
    entries = []
    for s in schedulers:
        delays = chosen[s]
        if delays:
            chart.series(s, colours[s], [(d, 100 * (i + 1) / n) for i, d in enumerate(delays)])
        got = len(delays)
        if got >= n:
            entries.append((colours[s], f"{s}: all by {fmt_ms(delays[-1])}"))
        else:
            last = f", last at {fmt_ms(delays[-1])}" if delays else ""
            entries.append((colours[s], f"{s}: {100 * got / n:.3g}% received{last}"))
    chart.legend(entries)
    chart.write(path)


def steady_chart(n, by_scheduler, path):
    schedulers = sorted(by_scheduler)
    colours = colours_for(schedulers)
    pooled = {s: sorted(d for run in runs for d in run) for s, runs in by_scheduler.items()}
    values = [d for delays in pooled.values() for d in delays]
    runs = max(len(r) for r in by_scheduler.values())
    chart = Chart(
        f"Steady state, {n:,} active schedules: lateness of each fire",
        (f"all {runs} runs pooled" if runs > 1 else "one run") + "; circle = p50, diamond = p99",
        "lateness, ms after the fire's due instant (log scale)",
        "fires at most this late (%)",
        min(values, default=1.0),
        max(values, default=10.0),
        len(schedulers),
    )
    entries = []
    for s in schedulers:
        delays = pooled[s]
        if not delays:
            entries.append((colours[s], f"{s}: no fires"))
            continue
        total = len(delays)
        chart.series(s, colours[s], [(d, 100 * (i + 1) / total) for i, d in enumerate(delays)])
        p50, p99, p999 = (percentile(delays, p) for p in (50, 99, 99.9))
        chart.marker(p50, 50, colours[s], "circle", f"{s} p50 {fmt_ms(p50)}")
        chart.marker(p99, 99, colours[s], "diamond", f"{s} p99 {fmt_ms(p99)}")
        entries.append((colours[s], f"{s}: p50 {fmt_ms(p50)}, p99 {fmt_ms(p99)}, p99.9 {fmt_ms(p999)}"))
    chart.legend(entries)
    chart.write(path)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results_dir, out_dir = argv
    data = load(results_dir)
    if not data:
        print(f"charts: no samples under {results_dir}/samples/run-*/", file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    for (kind, n), by_scheduler in sorted(data.items()):
        if kind == "burst":
            path = os.path.join(out_dir, f"burst-{n}-drain.svg")
            burst_chart(n, by_scheduler, path)
        else:
            path = os.path.join(out_dir, f"steady-{n}-lateness.svg")
            steady_chart(n, by_scheduler, path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
