"""scripts/process_cpu.py: a test run's CPU by kind of process, from `dump-acct` records."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO_ROOT


def record(command: str, ticks: int, pid: int, ppid: int) -> str:
    """A `dump-acct` line: command|version|utime|stime|etime|uid|gid|mem|io|pid|ppid|..."""
    utime, stime = ticks * 3 // 4, ticks - ticks * 3 // 4
    times = f"{utime:9.2f}|{stime:9.2f}|     0.00"
    ids = f"{pid:8d}|{ppid:8d}"
    return f"{command:<16}|v3|{times}|     0|     0|  1000.00|     0.00|{ids}|     |       0|"


# make (1) -> pytest (2) -> a worker (3); the worker runs act (4) -> a job's bash (5) -> dvc (6)
# -> a stage (7, named by pyarrow's last thread); the worker also runs dvc (8) -> a stage (9),
# an mlops command (10), uv (11) and a JVM (12); make runs mypy (13).
RECORDS = [
    record("make", 100, 1, 0),
    record("python", 1_000, 2, 1),
    record("python", 60_000, 3, 2),
    record("act", 2_000, 4, 3),
    record("bash", 100, 5, 4),
    record("dvc", 1_000, 6, 5),
    record("jemalloc_bg_thd", 5_000, 7, 6),
    record("dvc", 2_000, 8, 3),
    record("jemalloc_bg_thd", 9_000, 9, 8),
    record("mlops", 1_000, 10, 3),
    record("uv", 3_000, 11, 3),
    record("C2 CompilerThre", 6_000, 12, 3),
    record("mypy", 6_200, 13, 1),
]


def cpu_table(tmp_path, lines: list[str]) -> subprocess.CompletedProcess:
    dump = tmp_path / "acct.txt"
    dump.write_text("\n".join(lines) + "\n")
    script = REPO_ROOT / "scripts" / "process_cpu.py"
    return subprocess.run([sys.executable, str(script), str(dump)], capture_output=True, text=True)


def test_each_process_is_put_in_a_kind_by_its_ancestry(tmp_path):
    done = cpu_table(tmp_path, RECORDS)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "| single processes of 2.5%+ of all CPU (the pytest workers) | 1 | 600 | 62% |" in out
    assert "| pipeline stages under dvc (outside act) | 1 | 90 | 9% |" in out
    assert "| act jobs: pipeline stages (under dvc) | 1 | 50 | 5% |" in out
    assert "| act jobs: dvc | 1 | 10 | 1% |" in out
    assert "| act jobs: the other steps | 2 | 21 | 2% |" in out  # act and the job's bash
    assert "| dvc itself (outside act) | 1 | 20 | 2% |" in out
    assert "| uv (installs, and the bytecode it compiles) | 1 | 30 | 3% |" in out
    assert "| Java (Spark's JVM) | 1 | 60 | 6% |" in out
    assert "| lint (mypy, ruff, the workflow linters) | 1 | 62 | 6% |" in out
    # The mlops command, make and pytest's own process: the rest.
    rest = "the other processes (the tests' own commands, the servers they start)"
    assert f"| {rest} | 3 | 21 | 2% |" in out
    assert "| **every process** | 13 | **964** | |" in out


def test_a_file_without_records_is_refused_naming_it(tmp_path):
    done = cpu_table(tmp_path, ["not a dump-acct line"])
    assert done.returncode != 0
    assert "acct.txt: no dump-acct records" in done.stderr
