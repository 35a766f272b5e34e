"""Pipeline: the demo `dvc repro` from a clean state, and a no-op `dvc repro` vs `dvc status`.

    .venv/bin/python bench/pipeline.py            # 2 clean runs, 5 interleaved no-op pairs
    .venv/bin/python bench/pipeline.py --quick    # 1 clean run, 2 pairs, RESULTS.md untouched

Each clean run is a fresh copy of this checkout (tracked and new files, as the tests copy it:
no DVC cache, no outputs, no MLflow store) where `dvc pull data.dvc` fetches the demo data
from the embedded remote (timed apart) and `dvc repro` runs every stage. Then, on that
up-to-date copy, a no-op `dvc repro` and `dvc status` are timed, interleaved.
Target: no-op `dvc repro` <= 1.5x `dvc status`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import (
    ROOT,
    VENV_BIN,
    command_line,
    load_average,
    machine,
    measure,
    median,
    write_section,
)

sys.path.insert(0, str(ROOT))
from tests.conftest import copy_repo

NOOP_TARGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--repeats", type=int, default=2, help="clean `dvc repro` runs")
    parser.add_argument("--noop-repeats", type=int, default=5, help="no-op repro/status pairs")
    parser.add_argument("--quick", action="store_true", help="fewest runs; RESULTS.md untouched")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.noop_repeats = 1, 2
    dvc = str(VENV_BIN / "dvc")
    load_before = load_average()
    pulls, repros, peaks = [], [], []
    noop, status = [], []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        repo = Path(tmp)
        for i in range(args.repeats):
            repo = copy_repo(Path(tmp) / f"run{i}")
            pulls.append(measure([dvc, "pull", "data.dvc"], repo).seconds)
            result = measure([dvc, "repro"], repo)
            repros.append(result.seconds)
            peaks.append(result.peak_rss_mb)
            print(f"clean dvc repro: {result.seconds:.1f} s, peak {result.peak_rss_mb:.0f} MB")
        for _ in range(args.noop_repeats):
            noop.append(measure([dvc, "repro"], repo).seconds)
            status.append(measure([dvc, "status"], repo).seconds)
        print(f"no-op dvc repro {noop}, dvc status {status}")
    ratio = median(noop) / median(status)
    verdict = "met" if ratio <= NOOP_TARGET else "MISSED"
    section = "\n".join(
        [
            "## Pipeline",
            "",
            f"`{command_line()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"load average {load_before} before the run).",
            "",
            f"Machine: {machine('dvc', 'scikit-learn', 'mlflow', 'great-expectations')}.",
            "",
            "| command (demo data, 7,043 rows) | median | runs | peak RSS |",
            "| --- | ---: | ---: | ---: |",
            f"| `dvc pull data.dvc` (embedded remote) | {median(pulls):.1f} s | {len(pulls)} | |",
            f"| `dvc repro` from clean (4 stages) | **{median(repros):.1f} s** | {len(repros)} "
            f"| {max(peaks):.0f} MB |",
            f"| `dvc status` (up to date) | {median(status):.2f} s | {len(status)} | |",
            f"| `dvc repro` (no-op, up to date) | {median(noop):.2f} s | {len(noop)} | |",
            "",
            f"No-op `dvc repro` / `dvc status`: **{ratio:.2f}x** (target <= {NOOP_TARGET}x: "
            f"**{verdict}**), interleaved on the same copy. A clean run is a fresh copy of the "
            "checkout (no DVC cache or run cache, no MLflow store), so every stage runs; "
            "the per-stage fixed overheads are in Start-up above.",
            "",
        ]
    )
    print("\n" + section)
    if not args.quick:
        write_section("Pipeline", section)


if __name__ == "__main__":
    main()
