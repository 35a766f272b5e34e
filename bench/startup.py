"""Start-up: `mlops --help`, and each stage's fixed overhead (its time on a 100-row file).

    .venv/bin/python bench/startup.py            # 10 runs of --help, 3 of each stage
    .venv/bin/python bench/startup.py --quick    # 2 and 1 runs, RESULTS.md untouched
    .venv/bin/python bench/startup.py --baseline ../before   # and another checkout, interleaved

Every figure is a fresh process (what `dvc repro` pays per stage), timed from the outside, with
its peak resident memory. The interpreter's own start (`python -c pass`) is measured beside
`mlops --help`, interleaved. The stages run in order in a temporary directory whose params.yaml
points at 100 synthetic rows (src/mlops/core/synthetic.py); train and evaluate log to a local
MLflow SQLite store there, as `dvc repro` does. ``--baseline DIR`` runs the same stages with
another checkout's own virtualenv (e.g. `git worktree add ../before REV && make -C ../before
setup`), interleaved with this one's, for a before/after comparison on the same machine.

Targets (CPU time, user + system, medians): `mlops --help` <= 0.5 s; each stage <= 4 s; the
four stages as `dvc repro` runs them (validate, prepare, train and evaluate logged to MLflow)
<= 12 s together.
"""

from __future__ import annotations

import argparse
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

HELP_TARGET_S = 0.5
STAGE_TARGET_S = 4.0
PIPELINE_TARGET_S = 12.0
STAGES = [
    ("validate", ["validate"]),
    ("prepare", ["prepare"]),
    ("train, logreg, not tracked", ["train", "--no-track"]),
    ("evaluate, not logged to MLflow", ["evaluate"]),
    ("train, logreg, logged to MLflow", ["train"]),
    ("evaluate, logged to MLflow", ["evaluate"]),
]
# The stages `dvc repro` runs (train and evaluate log to MLflow there).
PIPELINE = ["validate", "prepare", "train, logreg, logged to MLflow", "evaluate, logged to MLflow"]


def verdict(value: float, target: float) -> str:
    return f"**{'met' if value <= target else 'MISSED'}** ({value:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--repeats", type=int, default=3, help="runs of each stage")
    parser.add_argument("--help-repeats", type=int, default=10, help="runs of `mlops --help`")
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="fewest runs; RESULTS.md untouched")
    parser.add_argument("--note", default="", help="a paragraph added under the figures")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout with its own .venv (the code before a change): its stages run "
        "interleaved with this checkout's",
    )
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.help_repeats = 1, 2
    from mlops.core.synthetic import write_csv

    benches = {"this checkout": VENV_BIN}
    if args.baseline is not None:
        benches["baseline"] = args.baseline.resolve() / ".venv" / "bin"
    # Python writes the bytecode of the project's own (editable) modules once, as on a
    # developer's machine, even where the machine's environment turns bytecode writes off.
    env = stage_env(PYTHONDONTWRITEBYTECODE="")
    mlops, python = str(VENV_BIN / "mlops"), str(VENV_BIN / "python")
    load_before = load_average()
    times: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    peaks: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        helps, bare = [], []
        for _ in range(args.help_repeats):  # interleaved
            helps.append(measure([mlops, "--help"], work, env))
            bare.append(measure([python, "-c", "pass"], work, env))
        help_s, bare_s = median([m.seconds for m in helps]), median([m.seconds for m in bare])
        help_cpu, bare_cpu = (median([m.cpu_seconds for m in x]) for x in (helps, bare))
        print(f"mlops --help: {help_s:.3f} s, CPU {help_cpu:.3f} s")
        print(f"python -c pass: {bare_s:.3f} s, CPU {bare_cpu:.3f} s")

        workdirs = {}
        for label in benches:
            directory = work / label.replace(" ", "-")
            csv = write_csv(args.rows, directory / "data" / "churn.csv", seed=1)
            workdirs[label] = stage_workdir(directory, csv)
        for _ in range(args.repeats):
            for name, cmd in STAGES:
                for label, bin_dir in benches.items():  # interleaved, stage by stage
                    result = measure([str(bin_dir / "mlops"), *cmd], workdirs[label], env)
                    key = (label, name)
                    times.setdefault(key, []).append(result.seconds)
                    cpus.setdefault(key, []).append(result.cpu_seconds)
                    peaks.setdefault(key, []).append(result.peak_rss_mb)
                    print(
                        f"{label}: {name}: {result.seconds:.2f} s, CPU {result.cpu_seconds:.2f} s"
                        f", peak {result.peak_rss_mb:.0f} MB"
                    )
    here = "this checkout"
    before = "baseline" if args.baseline is not None else None
    head = "| command | wall (median) | CPU user+sys (median) | runs | peak RSS |"
    rule = "| --- | ---: | ---: | ---: | ---: |"
    if before:
        head += " CPU before (median) | CPU after / before |"
        rule += " ---: | ---: |"
    rows = [
        head,
        rule,
        f"| `python -c pass` (the interpreter alone) | {bare_s:.2f} s | {bare_cpu:.2f} s "
        f"| {len(bare)} | |" + (" | |" if before else ""),
        f"| `mlops --help` | **{help_s:.2f} s** | {help_cpu:.2f} s | {len(helps)} | |"
        + (" | |" if before else ""),
    ]
    for name, cmd in STAGES:
        key = (here, name)
        row = (
            f"| `mlops {' '.join(cmd)}` ({name}, {args.rows} rows) | {median(times[key]):.2f} s "
            f"| {median(cpus[key]):.2f} s | {len(times[key])} | {max(peaks[key]):.0f} MB |"
        )
        if before:
            old = median(cpus[(before, name)])
            row += f" {old:.2f} s | {median(cpus[key]) / old:.2f}x |"
        rows.append(row)
    stage_cpu = {name: median(cpus[(here, name)]) for name, _ in STAGES}
    slowest = max(stage_cpu, key=lambda n: stage_cpu[n])
    pipeline_cpu = sum(stage_cpu[name] for name in PIPELINE)
    targets = [
        f"- `mlops --help` <= {HELP_TARGET_S} s (wall): {verdict(help_s, HELP_TARGET_S)}; the "
        f"interpreter alone takes {bare_s:.2f} s.",
        f"- each stage <= {STAGE_TARGET_S:.0f} s CPU: {verdict(stage_cpu[slowest], STAGE_TARGET_S)}"
        f" for the slowest, `{slowest}`.",
        f"- the four stages of `dvc repro` (validate, prepare, train and evaluate logged to "
        f"MLflow) <= {PIPELINE_TARGET_S:.0f} s CPU together: "
        f"{verdict(pipeline_cpu, PIPELINE_TARGET_S)}"
        + (
            f"; before: {sum(median(cpus[(before, n)]) for n in PIPELINE):.2f} s."
            if before
            else "."
        ),
    ]
    section = "\n".join(
        [
            "## Start-up",
            "",
            f"`{command_line()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"load average {load_before} before the run).",
            "",
            f"Machine: {machine('scikit-learn', 'mlflow', 'great-expectations')}.",
            "",
            *rows,
            "",
            "Targets (CPU time: what the process itself used; wall time also counts waiting for "
            "a core on this shared machine):",
            "",
            *targets,
            "",
            "A stage's time on a 100-row file is its fixed overhead: what it pays whatever the "
            "data size, mostly imports (Great Expectations for validate; MLflow for train and "
            "evaluate, which log to the run as `dvc repro` does: the untracked rows show "
            "MLflow's share) and, for validate, building the checkpoint and the Data Docs. "
            "Each is a fresh process, as under `dvc repro`; the MLflow store is created by the "
            "first tracked run, which the median leaves out."
            + (
                " The baseline column is another checkout's code and virtualenv, run "
                "interleaved with this one's, stage by stage."
                if before
                else ""
            ),
            *(["", args.note] if args.note else []),
            "",
        ]
    )
    print("\n" + section)
    if not args.quick:
        write_section("Start-up", section)


if __name__ == "__main__":
    main()
