"""Scaling: each stage's time and peak memory at 100k, 300k and 1M synthetic rows.

    .venv/bin/python bench/scaling.py                       # 100k, 300k, 1M rows, 1 run each
    .venv/bin/python bench/scaling.py 100000 1000000 -r 3   # other sizes / repeats
    .venv/bin/python bench/scaling.py --quick               # 2,000 rows, RESULTS.md untouched

For each size, synthetic rows with the demo schema (src/mlops/synthetic.py, seeded) are written
to a CSV in a temporary directory whose params.yaml points at it (the suite's row-count range
lifted), and the stages run there as `dvc repro` runs them, each a fresh `mlops` process timed
from the outside with its peak resident memory (``wait4``): validate, prepare, train and
evaluate with logistic regression, then train and evaluate with XGBoost (CPU). Train and
evaluate log to a local MLflow store, as in the pipeline (one store for all sizes, created
before the first timed stage).
Targets: time grows no faster than linearly with the rows; peak memory <= 4 GB at 1M rows.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from common import (
    VENV_BIN,
    command_line,
    load_average,
    machine,
    measure,
    median,
    stage_env,
    stage_workdir,
    write_section,
)

PEAK_TARGET_MB = 4000.0
STAGES = [
    ("validate", "params.yaml", "validate"),
    ("prepare", "params.yaml", "prepare"),
    ("train logreg", "params.yaml", "train"),
    ("evaluate logreg", "params.yaml", "evaluate"),
    ("train xgboost", "xgboost.yaml", "train"),
    ("evaluate xgboost", "xgboost.yaml", "evaluate"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 300_000, 1_000_000])
    parser.add_argument("-r", "--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 rows; RESULTS.md untouched")
    parser.add_argument("--note", default="", help="a line added under the table")
    parser.add_argument(
        "--stages",
        nargs="+",
        choices=[name for name, _, _ in STAGES],
        help="only these (their own RESULTS.md section)",
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats = [2_000], 1
    stages = [s for s in STAGES if args.stages is None or s[0] in args.stages]
    title = "Scaling" if args.stages is None else f"Scaling ({', '.join(args.stages)})"
    from mlops.core.synthetic import write_csv

    mlops = str(VENV_BIN / "mlops")
    load_before = load_average()
    seconds: dict[tuple[int, str], list[float]] = {}
    peaks: dict[tuple[int, str], list[float]] = {}
    cpus: dict[tuple[int, str], list[float]] = {}

    def report(sizes: list[int]) -> None:
        header = "| stage | " + " | ".join(f"{n:,} rows" for n in sizes) + " | time growth |"
        table = [header, "| --- |" + " ---: |" * (len(sizes) + 1)]
        worst_growth, worst_peak = 0.0, 0.0
        for name, _, _ in stages:
            cells = []
            for n in sizes:
                t, peak = median(seconds[(n, name)]), max(peaks[(n, name)])
                cells.append(f"{t:.1f} s (CPU {median(cpus[(n, name)]):.1f} s), {peak:,.0f} MB")
            growth = ""
            if len(sizes) > 1:
                lo, hi = sizes[0], sizes[-1]

                wall, cpu = (
                    math.log(median(v[(hi, name)]) / median(v[(lo, name)])) / math.log(hi / lo)
                    for v in (seconds, cpus)
                )
                worst_growth = max(worst_growth, wall)
                growth = f"n^{wall:.2f} (CPU n^{cpu:.2f})"
            worst_peak = max(worst_peak, max(peaks[(sizes[-1], name)]))
            table.append(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
        totals = [sum(median(seconds[(n, name)]) for name, _, _ in stages) for n in sizes]
        table.append("| **total** | " + " | ".join(f"**{t:.0f} s**" for t in totals) + " | |")
        linear = "met" if worst_growth <= 1.0 else "MISSED"
        memory = "met" if worst_peak <= PEAK_TARGET_MB else "MISSED"
        section = "\n".join(
            [
                f"## {title}",
                "",
                f"`{command_line()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                f"load average {load_before} before the run; "
                f"{'median of ' + str(args.repeats) + ' runs' if args.repeats > 1 else 'one run'} "
                "per cell).",
                "",
                f"Machine: {machine('pandas', 'scikit-learn', 'xgboost', 'great-expectations')}.",
                "",
                "Each cell: wall time of the fresh `mlops` process and its peak RSS. Time growth "
                f"is the exponent b in t ~ n^b between {sizes[0]:,} and {sizes[-1]:,} rows (1.0 is "
                "linear; below 1 the fixed start-up cost still weighs).",
                "",
                *table,
                "",
                f"Target time no faster than linear: **{linear}** (largest exponent "
                f"{worst_growth:.2f}). Target peak <= 4 GB at {sizes[-1]:,} rows: **{memory}** "
                f"(largest {worst_peak:,.0f} MB).",
                *([f"\n{args.note}"] if args.note else []),
                "",
            ]
        )
        print("\n" + section)
        if not args.quick:
            write_section(title, section)

    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        # one MLflow store for every size, created before the clock starts, so that no size
        # pays for creating it
        env = stage_env(MLFLOW_TRACKING_URI=f"sqlite:///{tmp}/mlflow.db")
        warm = "import mlflow; mlflow.search_experiments()"
        measure([str(VENV_BIN / "python"), "-c", warm], Path(tmp), env)
        for n in args.sizes:
            work = Path(tmp) / str(n)
            csv = write_csv(n, work / "data" / "churn.csv", seed=n)
            stage_workdir(work, csv)
            xgb = stage_workdir(Path(tmp) / "xgb-params", csv, **{"model.type": "xgboost"})
            (work / "xgboost.yaml").write_text((xgb / "params.yaml").read_text())
            for _ in range(args.repeats):
                for name, params, stage in stages:
                    result = measure([mlops, "--params", params, stage], work, env)
                    seconds.setdefault((n, name), []).append(result.seconds)
                    peaks.setdefault((n, name), []).append(result.peak_rss_mb)
                    cpus.setdefault((n, name), []).append(result.cpu_seconds)
                    print(
                        f"{n:>9,} rows  {name:<17} {result.seconds:7.1f} s  "
                        f"peak {result.peak_rss_mb:6.0f} MB",
                        flush=True,
                    )
            report(args.sizes[: args.sizes.index(n) + 1])  # written after every size


if __name__ == "__main__":
    main()
