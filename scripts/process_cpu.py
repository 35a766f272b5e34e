"""Where a test run's CPU went, process by process: a table from Linux process accounting.

    apt-get install -y acct && accton on        # as root: the kernel records every process
    make test ...
    accton off && dump-acct /var/log/account/pacct > acct.txt
    .venv/bin/python scripts/process_cpu.py acct.txt

Each record is one finished process: its command name, user and system CPU (clock ticks, 100 a
second), its pid and its parent's. A process is put in a kind by its ancestry: under `act` (the
workflow jobs), under `dvc` (a pipeline stage), uv, the JVM (Spark), the linters, and else the
largest single processes (the pytest workers, whose own tests run in them) and the rest (the
tests' own `mlops` commands and the servers they start). The kernel records the name of a
process's last thread: pyarrow's `jemalloc_bg_thd` or TensorFlow's `tf_*` stand for many Python
processes, so names alone cannot tell `mlops` subcommands apart.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = 100
JVM = {"java", "C1 CompilerThre", "C2 CompilerThre", "Reference Handl", "G1 Conc#0", "VM Thread"}
UV = {"uv", "tokio-rt-worker"}
LINT = {"mypy", "ruff", "zizmor", "hadolint", "shellcheck", "check-jsonschem", "node"}
LARGE_SHARE = 0.025  # a single process with this share of all CPU: the pytest workers


@dataclass(frozen=True)
class Process:
    command: str
    cpu: float  # user + system seconds
    pid: int
    ppid: int


def parse(text: str) -> dict[int, Process]:
    """`dump-acct` lines: command|version|utime|stime|etime|uid|gid|mem|io|pid|ppid|..."""
    found: dict[int, Process] = {}
    for line in text.splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) < 11 or not fields[9].isdigit():
            continue
        cpu = (float(fields[2]) + float(fields[3])) / TICKS_PER_SECOND
        found[int(fields[9])] = Process(fields[0], cpu, int(fields[9]), int(fields[10]))
    return found


def ancestors(pid: int, processes: dict[int, Process]) -> list[str]:
    """The commands of ``pid``'s recorded ancestors, nearest first."""
    names: list[str] = []
    seen = {pid}
    parent = processes[pid].ppid
    while parent in processes and parent not in seen:
        seen.add(parent)
        names.append(processes[parent].command)
        parent = processes[parent].ppid
    return names


def kind(process: Process, above: list[str], total: float) -> str:
    parent = above[0] if above else ""
    if process.command in JVM:
        return "Java (Spark's JVM)"
    if process.command in UV or parent in UV:
        return "uv (installs, and the bytecode it compiles)"
    if "act" in above or process.command == "act":
        if parent == "dvc":
            return "act jobs: pipeline stages (under dvc)"
        return "act jobs: dvc" if process.command == "dvc" else "act jobs: the other steps"
    if parent == "dvc":
        return "pipeline stages under dvc (outside act)"
    if process.command == "dvc":
        return "dvc itself (outside act)"
    if process.command in LINT:
        return "lint (mypy, ruff, the workflow linters)"
    if process.cpu >= LARGE_SHARE * total:
        return f"single processes of {LARGE_SHARE:.1%}+ of all CPU (the pytest workers)"
    return "the other processes (the tests' own commands, the servers they start)"


def table(processes: dict[int, Process]) -> str:
    total = sum(p.cpu for p in processes.values())
    seconds: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for process in processes.values():
        name = kind(process, ancestors(process.pid, processes), total)
        seconds[name] += process.cpu
        counts[name] += 1
    rows = ["| kind of process | processes | CPU seconds | share |", "| --- | ---: | ---: | ---: |"]
    for name, cpu in seconds.most_common():
        share = cpu / total if total else 0.0
        rows.append(f"| {name} | {counts[name]:,} | {cpu:,.0f} | {share:.0%} |")
    rows.append(f"| **every process** | {len(processes):,} | **{total:,.0f}** | |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path, help="the output of `dump-acct PACCT`")
    args = parser.parse_args()
    processes = parse(args.dump.read_text())
    if not processes:
        raise SystemExit(f"{args.dump}: no dump-acct records (command|v3|utime|stime|...)")
    print(table(processes))


if __name__ == "__main__":
    main()
