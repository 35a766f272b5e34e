"""The PR report's paired bootstrap: its cost on the demo test split, and how it grows.

    .venv/bin/python bench/bootstrap.py                # 1,409 / 14,090 / 140,900 rows
    .venv/bin/python bench/bootstrap.py 1409 -r 3      # other sizes / repeats
    .venv/bin/python bench/bootstrap.py --quick        # the demo size once, nothing written

What ``mlops report`` adds: ``report.compare.uncertainty`` with params.yaml's
``report.bootstrap`` (1000 paired resamples, stratified by the label) on the whole test split
and on each of the three contract segments (evaluate.segment_column), for every metric.
1,409 rows is the demo's test split. Scores are synthetic (binormal, 26.5% positives, every
score distinct: the most work the ranking metrics can need); the labels, scores and segments
are seeded. The results replace the "Report bootstrap" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from common import command_line, load_average, machine, write_section

TARGET_S = 2.0  # the bootstrap adds at most 2 s to `mlops report` on the demo data


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.265).astype(int)
    base = 1 / (1 + np.exp(-(1.4 * y - 1.2 + rng.normal(0, 1, n))))
    cand = np.clip(base + rng.normal(0, 0.03, n), 0, 1)
    segments = rng.choice(["Month-to-month", "One year", "Two year"], size=n, p=[0.55, 0.21, 0.24])
    return y, base, cand, segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1409, 14_090, 140_900])
    parser.add_argument("-r", "--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument(
        "--quick", action="store_true", help="the demo size once; RESULTS.md untouched"
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats, args.no_write = [1409], 1, True

    from mlops.core.config import load_params
    from mlops.report.compare import uncertainty

    settings = load_params().report.bootstrap
    load = load_average()
    rows = []
    for n in args.sizes:
        y, base, cand, segments = synthetic(n, seed=n)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            uncertainty(y, base, cand, thresholds=(0.5, 0.5), settings=settings, segments=segments)
            times.append(time.perf_counter() - start)
        rows.append((n, statistics.median(times), times))
        print(f"{n:>9,} rows: median {rows[-1][1]:.2f} s over {args.repeats} runs {times}")

    table = [
        "| test rows | whole + 3 segments, all 8 metrics (median) | per 1,000 rows | runs |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for n, median_s, times in rows:
        table.append(f"| {n:,} | {median_s:.2f} s | {median_s / n * 1000:.3f} s | {len(times)} |")
    growth = ""
    if len(rows) >= 2 and rows[0][1] > 0:
        (n0, t0, _), (n1, t1, _) = rows[0], rows[-1]
        exponent = math.log(t1 / t0) / math.log(n1 / n0)
        growth = f" Time grows as n^{exponent:.2f} from {n0:,} to {n1:,} rows."
    demo = [t for n, t, _ in rows if n == 1409]
    verdict = (
        f"Target: the bootstrap adds at most {TARGET_S:.0f} s to `mlops report` on the demo data: "
        + (
            f"**{'met' if demo[0] <= TARGET_S else 'missed'}** ({demo[0]:.2f} s at 1,409 rows)."
            if demo
            else "not measured (1,409 rows not among the sizes)."
        )
    )
    section = "\n".join(
        [
            "## Report bootstrap",
            "",
            f"`{command_line()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load "
            f"average {load} before the run).",
            "",
            f"Machine: {machine('numpy')}.",
            "",
            f"{settings.resamples:,} paired resamples stratified by the label, "
            f"{settings.confidence:.0%} intervals.",
            "",
            *table,
            "",
            verdict + growth,
            "",
            "Each resample is a vector of row counts; every metric is a weighted sum over the "
            "rows (the ranking metrics over the rows grouped by distinct score), computed for a "
            "block of resamples at once, so the work is resamples x rows and the memory is "
            "bounded by the block size.",
            "",
        ]
    )
    print("\n" + section)
    if not args.no_write:
        write_section("Report bootstrap", section)


if __name__ == "__main__":
    main()
