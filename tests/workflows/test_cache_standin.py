"""The actions/cache stand-in (tests/standins/): it restores what GitHub's cache would, scoped
by branch: a run's own ref first, then a pull request's base, then the default branch; the
key itself before a restore-key prefix, the newest entry of a prefix; never another branch's
or another pull request's cache (what a pull request's job saved never reaches main)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from ..act_harness import STANDINS
from ..standins.artifacts import scope_directory


def entry(store: Path, ref: str, key: str, marker: str) -> None:
    path = scope_directory(store, ref) / key / ".dvc" / "cache" / "marker"
    path.parent.mkdir(parents=True)
    path.write_text(marker)
    time.sleep(0.01)  # the newest entry of a prefix wins: distinct mtimes


def restore(
    store: Path,
    tmp: Path,
    ref: str,
    key: str,
    base: str = "",
    prefix: str = "mlops-Linux-pipeline-",
) -> tuple[str, str]:
    """Run the stand-in's restore in a fresh workspace: (the restored marker, cache-hit)."""
    workspace = tmp / f"ws-{len(list(tmp.iterdir()))}"
    workspace.mkdir()
    output = workspace / "github-output"
    env = {
        **os.environ,
        "ACT_CACHES": str(store),
        "GITHUB_REF": ref,
        "GITHUB_BASE_REF": base,
        "GITHUB_OUTPUT": str(output),
        "KEY": key,
        "RESTORE_KEYS": f"{prefix}\n",
    }
    subprocess.run(
        [sys.executable, str(STANDINS / "artifacts.py"), "cache-restore"],
        cwd=workspace, env=env, check=True, capture_output=True,
    )  # fmt: skip
    marker = workspace / ".dvc" / "cache" / "marker"
    hit = output.read_text().strip().removeprefix("cache-hit=")
    return (marker.read_text() if marker.exists() else ""), hit


def test_scopes_keys_and_prefixes_as_on_github(tmp_path):
    store = tmp_path / "store"
    entry(store, "refs/heads/main", "mlops-Linux-pipeline-old", "main old")
    entry(store, "refs/heads/main", "mlops-Linux-pipeline-new", "main new")
    entry(store, "refs/pull/8/merge", "mlops-Linux-pipeline-pr8", "another PR")
    entry(store, "refs/heads/other", "mlops-Linux-pipeline-zzz", "another branch")
    runs = tmp_path / "runs"
    runs.mkdir()
    # a pull request into main: main's newest entry by prefix, never PR 8's or a branch's
    assert restore(store, runs, "refs/pull/7/merge", "mlops-Linux-pipeline-x", "main") == (
        "main new",
        "false",
    )
    # the key itself wins over a newer prefix match
    assert restore(store, runs, "refs/pull/7/merge", "mlops-Linux-pipeline-old", "main") == (
        "main old",
        "true",
    )
    # the run's own scope first
    entry(store, "refs/pull/7/merge", "mlops-Linux-pipeline-mine", "PR 7's own")
    assert restore(store, runs, "refs/pull/7/merge", "mlops-Linux-pipeline-x", "main")[0] == (
        "PR 7's own"
    )
    # a run on main never restores a pull request's cache
    assert restore(store, runs, "refs/heads/main", "mlops-Linux-pipeline-pr8")[0] == "main new"
    # no entry of this key or prefix where it may look: nothing restored
    assert restore(store, runs, "refs/heads/main", "lint-x", prefix="lint-") == ("", "false")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert restore(empty, runs, "refs/heads/main", "mlops-Linux-pipeline-x") == ("", "false")
