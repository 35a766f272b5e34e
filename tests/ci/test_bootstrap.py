"""The Makefile's uv bootstrap ($(UV), .tools/bin/uv): a `uv` on PATH of UV_VERSION is linked
and pip never runs; any other uv, or none, takes the pip route (GitHub's runners, a fresh
clone), which installs exactly UV_VERSION. Offline: the pip route's python3 is a stand-in that
records how it was called."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ..act_harness import uv_version
from ..conftest import REPO_ROOT, uv_binary

PYTHON_STANDIN = """#!/bin/sh
echo "$@" >> "{calls}"
"""


def make_uv(tmp_path: Path, path_dirs: list[Path]) -> tuple[subprocess.CompletedProcess, Path]:
    """`make .tools/bin/uv` in a directory holding only the Makefile, with ``path_dirs`` and the
    system's own directories on PATH and a python3 stand-in that records its arguments."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "Makefile", project / "Makefile")
    calls = tmp_path / "python-calls.txt"
    python = tmp_path / "python3"
    python.write_text(PYTHON_STANDIN.format(calls=calls))
    python.chmod(0o755)
    path = os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"])
    env = {"PATH": path, "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["make", "--no-print-directory", ".tools/bin/uv", f"PYTHON={python}"],
        cwd=project, env=env, capture_output=True, text=True,
    )  # fmt: skip
    return proc, calls


def test_a_uv_of_the_makefiles_release_on_path_is_linked_and_pip_never_runs(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").symlink_to(uv_binary())
    proc, calls = make_uv(tmp_path, [bin_dir])
    assert proc.returncode == 0, proc.stderr
    linked = tmp_path / "project" / ".tools" / "bin" / "uv"
    assert linked.resolve() == Path(uv_binary()).resolve()
    assert f"uv {uv_version()}: {bin_dir / 'uv'}" in proc.stdout
    assert not calls.exists()  # no virtualenv made, no pip


@pytest.mark.parametrize("other", ["0.0.1", None], ids=["another-release", "no-uv"])
def test_any_other_uv_or_none_takes_the_pip_route_to_the_makefiles_release(tmp_path, other):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if other is not None:
        (bin_dir / "uv").write_text(f"#!/bin/sh\necho 'uv {other}'\n")
        (bin_dir / "uv").chmod(0o755)
    proc, calls = make_uv(tmp_path, [bin_dir])
    assert proc.returncode == 0, proc.stderr
    lines = calls.read_text().splitlines()
    assert lines[0] == "-m venv --without-pip .tools"
    assert lines[-1].endswith(f"install --quiet --disable-pip-version-check uv=={uv_version()}")
    assert not (tmp_path / "project" / ".tools" / "bin" / "uv").is_symlink()
