"""Shared by the benchmark scripts: the machine's description, child-process timing with peak
memory, medians, a throw-away working directory for the stages, and RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "src"))


def machine(*packages: str) -> str:
    """CPU, cores, memory, OS, Python and the given distributions' versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs visible{mem}; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
        + "".join(f", {v}" for v in versions)
    )


def load_average() -> str:
    """The 1/5/15-minute load averages (other jobs share the machine)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def stage_env(**extra: str) -> dict[str, str]:
    """Environment for the commands: the project's virtualenv first on PATH, no telemetry."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DVC_NO_ANALYTICS"] = "1"
    env.update(extra)
    return env


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float  # the command's peak resident set (its own waited-for children included)
    cpu_seconds: float = 0.0  # user + system CPU time: far less sensitive than wall time to load


# A small launcher between this process and the command: a child's peak RSS counts the memory
# of the process it was forked from (up to its exec), which for a benchmark that holds a large
# frame would be far more than the command's own. The launcher (`python -S`, a few MB) forks
# the command, waits for it and reports its wall time and peak RSS (wait4) on the last line.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stdout.flush()
cpu = usage.ru_utime + usage.ru_stime
print(f"\\n@@measured {time.perf_counter() - start} {usage.ru_maxrss} {cpu}", flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd`` in a fresh process; its wall time and peak RSS; an error if it fails."""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *cmd],
        cwd=cwd,
        env=env or stage_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    output = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode} in {cwd}:\n{output[-3000:]}")
    seconds, kib, cpu = output.rsplit("@@measured ", 1)[1].split()
    return Measured(float(seconds), int(kib) / 1024, float(cpu))  # ru_maxrss: KiB on Linux


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def stage_workdir(directory: Path, csv: Path, **overrides: object) -> Path:
    """A working directory where ``mlops <stage>`` runs on ``csv``: params.yaml pointing at it
    (plus ``overrides``, dotted keys) and the expectation suite without its row-count range."""
    directory.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["path"] = str(csv)
    suite = yaml.safe_load((ROOT / params["validation"]["suite"]).read_text())
    suite["rows"] = {"min": 1, "max": None}
    (directory / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    params["validation"]["suite"] = "suite.yaml"
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[leaf] = value
    (directory / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return directory


def write_section(title: str, section: str) -> None:
    """Replace (or append) the ``## title`` section of bench/RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"## {re.escape(title)}\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip() + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    RESULTS.write_text(text)
    print(f"wrote the {title!r} section of {RESULTS.relative_to(ROOT)}")


def command_line() -> str:
    """How this benchmark was run, for RESULTS.md."""
    script = Path(sys.argv[0]).resolve().relative_to(ROOT)
    args = list(sys.argv[1:])
    if "--note" in args:  # the note is printed under the figures, not in the command
        at = args.index("--note")
        args[at : at + 2] = ["--note", "..."]
    return " ".join([".venv/bin/python", str(script), *args])
