"""Install profiles: each one's virtualenv size and cold install time, side by side.

    .venv/bin/python bench/install.py                 # every profile, 1 run each
    .venv/bin/python bench/install.py -r 3 pipeline   # some profiles, more runs

Each profile (the Makefile's setup targets, which .github/actions/setup runs per job) is
installed from uv.lock into a fresh virtualenv with an empty uv cache, so every package comes
from the registry as on a GitHub-hosted runner whose cache missed; `full` is `make setup`, what
every job installed before the profiles. The results replace the "Install profiles" section of
bench/RESULTS.md. It downloads several GB in all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import ROOT, command_line, load_average, machine, median, write_section

# profile -> (make target, options): the demo's params.yaml (logreg) and a keras one. "before"
# is what every job installed before the profiles: `make setup`, bytecode compiled; the
# profiles run as the setup action runs them (UV_COMPILE_BYTECODE=0).
PROFILES = {
    "before (every job)": ("setup", {"compile": "1"}),
    "full": ("setup", {}),
    "pipeline": ("setup-pipeline", {}),
    "pipeline-keras": ("setup-pipeline", {"params": "keras"}),
    "image": ("setup-image", {}),
    "lint": ("setup-lint", {}),
}
TARGET_GB = 1.2  # the logistic-regression pipeline profile on disk


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install(target: str, keras: bool, compile_: str, workdir: Path) -> tuple[float, int]:
    """A fresh copy of the project files, an empty uv cache: (seconds, venv bytes)."""
    project = workdir / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for name in ("pyproject.toml", "uv.lock", "README.md", "Makefile", "params.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src")
    shutil.copytree(ROOT / ".tools", project / ".tools", symlinks=True)
    if keras:
        params = project / "params.yaml"
        params.write_text(params.read_text().replace("type: logreg", "type: keras", 1))
    cache = workdir / "uv-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "UV_CACHE_DIR": str(cache), "UV_COMPILE_BYTECODE": compile_}
    env.pop("VIRTUAL_ENV", None)
    start = time.perf_counter()
    subprocess.run(
        ["make", "--no-print-directory", target], cwd=project, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    return seconds, size(project / ".venv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="*", default=list(PROFILES), help=", ".join(PROFILES))
    parser.add_argument("-r", "--repeats", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    unknown = [p for p in args.profiles if p not in PROFILES]
    if unknown:
        parser.error(f"unknown profile {unknown[0]!r}; choose from {', '.join(PROFILES)}")
    if not (ROOT / ".tools" / "bin" / "uv").exists():
        raise SystemExit("run `make setup` first (it installs uv into .tools/)")
    load = load_average()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):  # interleaved: load on the machine hits every profile
            for name in args.profiles:
                target, options = PROFILES[name]
                seconds, nbytes = install(
                    target, options.get("params") == "keras", options.get("compile", "0"), Path(tmp)
                )
                rows.setdefault(name, []).append((seconds, nbytes))
                print(f"{name}: {seconds:.0f} s, {nbytes / 1e9:.2f} GB", flush=True)
    before = "before (every job)"
    full = median([s for s, _ in rows[before]]) if before in rows else None
    table = [
        "| profile | make target | virtualenv | cold install (median) | vs before |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, runs in rows.items():
        seconds = median([s for s, _ in runs])
        gb = runs[-1][1] / 1e9
        ratio = f"{seconds / full:.2f}x" if full else "-"
        table.append(
            f"| {name} | `make {PROFILES[name][0]}` | {gb:.2f} GB | {seconds:.0f} s | {ratio} |"
        )
    notes = []
    if "pipeline" in rows:
        gb = rows["pipeline"][-1][1] / 1e9
        seconds = median([s for s, _ in rows["pipeline"]])
        notes.append(
            f"Target: the logistic-regression pipeline profile <= {TARGET_GB} GB on disk: "
            f"**{'met' if gb <= TARGET_GB else 'missed'}** ({gb:.2f} GB)"
            + (
                f"; <= 1/3 of the cold install every job ran before: "
                f"**{'met' if seconds <= full / 3 else 'missed'}** ({seconds / full:.2f}x)."
                if full
                else "."
            )
        )
    section = "\n".join(
        [
            "## Install profiles",
            "",
            f"`{command_line()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load "
            f"average {load} before the run).",
            "",
            f"Machine: {machine()}.",
            "",
            *table,
            "",
            *notes,
            "",
            "Each run: a fresh virtualenv and an empty uv cache, every wheel from the registry "
            '(as a GitHub-hosted job whose cache missed). "before" is `make setup` with '
            "bytecode compiled, what every job ran before the profiles; the profiles run as the "
            "setup action runs them, without compiling every file up front "
            "(`UV_COMPILE_BYTECODE=0`: Python compiles the modules a job imports). The registry "
            "is fast from this machine, so the times are mostly unpacking and compiling; on a "
            "slower network the download sizes weigh more. Sizes count the files in `.venv`.",
            "",
        ]
    )
    print("\n" + section)
    if not args.no_write:
        write_section("Install profiles", section)


if __name__ == "__main__":
    main()
