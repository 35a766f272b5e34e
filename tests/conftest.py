"""Shared fixtures: the repository, its params and the demo data (read from the embedded remote)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from . import launcher
from .github_api import github_api  # noqa: F401 - the fixture: a local GitHub REST API double

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = launcher.VENV_BIN

# pytest-xdist's workers run as `python -c`, whose __main__ has neither __spec__ nor __file__:
# pyspark.sql.connect (which Great Expectations imports when the spark extra is installed)
# then takes itself for a doctest run without its dependencies and calls sys.exit(0). An empty
# module of this package as __main__'s file tells it otherwise (and is harmless to
# multiprocessing, which runs __main__'s file in a spawned child).
_main = sys.modules.get("__main__")
if _main is not None and _main.__spec__ is None and not hasattr(_main, "__file__"):
    _main.__file__ = str(Path(__file__).with_name("__init__.py"))


def _remote_object(md5: str) -> Path:
    return REPO_ROOT / "data-remote" / "files" / "md5" / md5[:2] / md5[2:]


def demo_csv_path() -> Path:
    """The demo CSV as stored in the embedded DVC remote (no `dvc pull` needed)."""
    out = yaml.safe_load((REPO_ROOT / "data.dvc").read_text())["outs"][0]
    entries = json.loads(_remote_object(out["md5"]).read_text())
    (entry,) = [e for e in entries if e["relpath"] == "churn.csv"]
    return _remote_object(entry["md5"])


@pytest.fixture(scope="session")
def demo_csv() -> Path:
    return demo_csv_path()


@pytest.fixture(scope="session")
def params():
    from mlops.core.config import load_params

    return load_params(REPO_ROOT / "params.yaml")


@pytest.fixture(scope="session")
def demo_raw(demo_csv: Path) -> pd.DataFrame:
    from mlops.stages.prepare import read_raw

    return read_raw(demo_csv)


@pytest.fixture(scope="session")
def demo_split(demo_raw, params):
    from mlops.stages.prepare import clean, split

    return split(clean(demo_raw, params), params)


def run_env() -> dict[str, str]:
    """Environment for subprocesses: the project's virtualenv first on PATH, no telemetry."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_REGISTRY_URI", None)
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def uv_binary() -> str:
    """The uv `make setup` bootstrapped (.tools/bin/uv), else the one on PATH."""
    local = REPO_ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    assert found, "uv not found: run `make setup` first"
    return found


def execute(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)``, ``env`` the
    whole environment. `mlops` is forked from a warm process instead, and `dvc` and `make` get
    the shim that forks the `mlops` they start, a stage or a make target's
    (`tests/launcher.py`: the same commands without the imports)."""
    if launcher.enabled() and Path(cmd[0]).name == "mlops":
        return launcher.launch(cmd, cwd, env, run_env(), timeout)
    if launcher.enabled() and cmd[0] in ("dvc", "make"):
        env = {**env, "PATH": launcher.shim_path(env, run_env())}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def run(
    cmd: list[str],
    cwd: Path,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """``cmd`` in ``cwd`` with the subprocess environment and ``env`` over it; ``check``: fail
    the test, with both streams, on a non-zero exit."""
    proc = execute(cmd, cwd, {**run_env(), **(env or {})}, timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n"
            f"--- stderr\n{proc.stderr}"
        )
    return proc


GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]


def copy_repo(dest: Path) -> Path:
    """A fresh git repository holding this checkout's files (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, listed):
        src = REPO_ROOT / rel
        if not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run([*GIT, "commit", "-q", "-m", "copy"], dest)
    return dest


def commit_and_clone(repo: Path, message: str, clone: Path) -> pd.DataFrame:
    """Commit everything in ``repo``, clone it into ``clone`` and ``dvc pull`` the data there
    (as the PR job on GitHub does); returns the pulled raw data as text."""
    run(["git", "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", message], repo)
    run(["git", "clone", "-q", str(repo), str(clone)], clone.parent)
    run(["dvc", "pull", "data.dvc"], clone)
    (path,) = (clone / "data" / "raw").iterdir()
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def trained_repro_log(repo: Path) -> Path:
    """Beside the ``trained`` copy: the output of its one clean ``dvc repro``."""
    return repo.parent / "repro.log"


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """``build(directory)`` run once for all pytest-xdist workers: the first to need
    ``directory`` (in their common base directory) builds it under a file lock, the others
    wait for it; returns the directory."""
    from filelock import FileLock

    # Without xdist the base directory's parent is shared by every pytest run: stay inside.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker else base
    directory, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            build(directory)
            done.touch()
    return directory


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A repository copy whose pipeline has run and been committed (models/, dvc.lock current).

    Shared by several test modules, and built once for all pytest-xdist workers
    (:func:`built_once`): tests that change files work on a copy of it.
    """

    def build(directory: Path) -> None:
        repo = copy_repo(directory / "repo")
        run(["dvc", "pull", "data.dvc"], repo)
        repro = run(["dvc", "repro"], repo)
        trained_repro_log(repo).write_text(repro.stdout)  # the clean run (test_pipeline)
        run(["git", "add", "-A"], repo)
        run([*GIT, "commit", "-q", "--allow-empty", "-m", "trained"], repo)

    return built_once(tmp_path_factory, "trained", build) / "repo"


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first (stable otherwise): the act runs of tests/workflows, then the
    other modules with slow or Spark tests. pytest-xdist (`make test`: --dist loadfile) hands
    out whole modules in this order, so the last module to finish is a short one.

    The first two modules start together, one on each worker: when both need the shared
    ``trained`` copy, one worker sits idle while the other builds it (about a minute), so the
    second place goes to the first long module that does not need it."""
    heavy = {
        _module(item)
        for item in items
        if item.get_closest_marker("slow") or item.get_closest_marker("spark")
    }
    needs_trained = {_module(item) for item in items if "trained" in item.fixturenames}

    def weight(module: str) -> int:
        if module not in heavy:
            return 2
        return 0 if module.startswith("tests/workflows/") else 1

    order = sorted(dict.fromkeys(map(_module, items)), key=weight)
    if len(order) > 2 and {order[0], order[1]} <= needs_trained:
        free = next((m for m in order[2:] if m in heavy and m not in needs_trained), None)
        if free is not None:
            order.remove(free)
            order.insert(1, free)
    position = {module: index for index, module in enumerate(order)}
    items.sort(key=lambda item: position[_module(item)])
