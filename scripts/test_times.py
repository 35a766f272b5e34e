"""Where the test suite's time goes: pytest's ``--durations=0`` report summed by kind of test.

    make test PYTEST_ARGS="--durations=0" > test.log 2>&1
    .venv/bin/python scripts/test_times.py test.log

prints the markdown table of docs/testing.md#where-the-time-goes: seconds (setup, call and
teardown together) per kind, the share of the sum, and the largest single tests. The sum is the
suite's serial time; with pytest-xdist the wall time is lower (pytest's last line gives it).

``--act-logs DIR`` (pytest's base temporary directory, e.g. ``--basetemp=DIR`` or
``/tmp/pytest-of-$USER/pytest-N``) adds where the act runs' time goes: every ``act.log`` under
it, act's duration of each step summed by step name.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

DURATION = re.compile(r"^(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S+)")
LAST_LINE = re.compile(r"=+ (.*) in ([\d.]+)s")
# act's line for a finished step: "[workflow/job]   ✅  Success - Main NAME [1.234s]" (or 2m3.4s).
ACT_STEP = re.compile(
    r"^\[[^\]]+\]\s+[^\s|]+\s+(?:Success|Failure) - (?:Main|Post) (.+) \[([^\]]+)\]$"
)
ACT_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

# Kind of test, by where it lives (first match wins).
KINDS = [
    ("act workflow runs", ("tests/workflows/test_act_",)),
    (
        "end-to-end walks of a new table (init to a served model)",
        ("tests/test_tasks_end_to_end.py", "tests/test_own_data.py", "tests/test_data_remote.py"),
    ),
    ("the served bento (make bento, bentoml serve)", ("tests/serving/",)),
    ("Spark (mlops predict --engine spark)", ("tests/batch/test_spark.py",)),
    ("MLflow servers and the registry", ("tests/tracking/", "tests/ci/test_store_chain.py")),
    (
        "pipeline copies (dvc repro in a temporary repository)",
        (
            "tests/test_pipeline.py",
            "tests/report/test_report.py",
            "tests/ci/test_reproduction.py",
            "tests/stages/test_validate_pipeline.py",
            "tests/workflows/test_trust.py",
        ),
    ),
    ("benchmarks' quick runs", ("tests/test_bench.py",)),
    ("tuning searches (real trials)", ("tests/tuning/",)),
    ("monitoring (checks, alerts, data PRs)", ("tests/monitoring/",)),
    ("workflow lint (actionlint, zizmor, hadolint)", ("tests/workflows/",)),
]
OTHER = "unit and component tests"


def kind_of(nodeid: str) -> str:
    for kind, prefixes in KINDS:
        if nodeid.startswith(prefixes):
            return kind
    return OTHER


def parse(text: str) -> tuple[dict[str, float], list[tuple[float, str]], str]:
    per_test: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = DURATION.match(line.strip())
        if match:
            per_test[match.group(3)] += float(match.group(1))
    per_kind: dict[str, float] = defaultdict(float)
    for nodeid, seconds in per_test.items():
        per_kind[kind_of(nodeid)] += seconds
    largest = sorted(((s, n) for n, s in per_test.items()), reverse=True)
    last = [m for m in map(LAST_LINE.search, text.splitlines()) if m]
    wall = f"{last[-1].group(1)} in {float(last[-1].group(2)) / 60:.1f} min" if last else "?"
    return dict(per_kind), largest, wall


def table(per_kind: dict[str, float], largest: list[tuple[float, str]], top: int) -> str:
    total = sum(per_kind.values())
    rows = ["| kind of test | seconds | share |", "| --- | ---: | ---: |"]
    for kind, seconds in sorted(per_kind.items(), key=lambda kv: -kv[1]):
        rows.append(f"| {kind} | {seconds:,.0f} | {seconds / total:.0%} |")
    rows.append(f"| **sum (serial time)** | **{total:,.0f}** | |")
    rows += ["", "| largest tests | seconds |", "| --- | ---: |"]
    rows += [f"| `{nodeid.split('::', 1)[1]}` | {s:,.0f} |" for s, nodeid in largest[:top]]
    return "\n".join(rows)


def act_steps(logs: list[str]) -> tuple[dict[str, float], dict[str, int], int]:
    """Seconds and count per step name over act logs, and how many jobs ran (a job's first
    step is its checkout). A composite action's own line (``./.github/actions/...``) is left
    out: its steps are counted by name."""
    seconds: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    jobs = 0
    for text in logs:
        for line in text.splitlines():
            match = ACT_STEP.match(line)
            if not match or match.group(1).startswith("./"):
                continue
            step = match.group(1)
            units = re.findall(r"([\d.]+)(ms|h|m|s)", match.group(2))
            seconds[step] += sum(float(v) * ACT_UNIT[u] for v, u in units)
            count[step] += 1
            jobs += step.startswith("actions/checkout")
    return dict(seconds), dict(count), jobs


def act_table(seconds: dict[str, float], count: dict[str, int], jobs: int, top: int) -> str:
    total = sum(seconds.values())
    rows = [f"| act step ({jobs} jobs) | runs | seconds | share |", "| --- | ---: | ---: | ---: |"]
    for step, took in sorted(seconds.items(), key=lambda kv: -kv[1])[:top]:
        name = step.replace("|", "/")
        rows.append(f"| {name} | {count[step]} | {took:,.0f} | {took / total:.0%} |")
    rows.append(f"| **every step** | | **{total:,.0f}** | |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="pytest's output with --durations=0")
    parser.add_argument("--top", type=int, default=8, help="how many single tests to list")
    parser.add_argument("--act-logs", type=Path, help="also the act steps' time (act.log files)")
    args = parser.parse_args()
    per_kind, largest, wall = parse(args.log.read_text(encoding="utf-8", errors="replace"))
    if not per_kind:
        raise SystemExit(f"{args.log}: no --durations lines (run pytest with --durations=0)")
    print(table(per_kind, largest, args.top))
    print(f"\npytest: {wall}")
    if args.act_logs:
        found = [p.read_text(errors="replace") for p in sorted(args.act_logs.rglob("act.log"))]
        if not found:
            raise SystemExit(f"{args.act_logs}: no act.log under it")
        print("\n" + act_table(*act_steps(found), top=3 * args.top))


if __name__ == "__main__":
    main()
