"""tests/launcher.py: a forked `mlops` answers as the fresh process does (streams, exit status,
working directory, environment), and what a fork would change still gets a fresh process."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from . import launcher
from .conftest import REPO_ROOT, VENV_BIN, execute, run, run_env

MLOPS = str(VENV_BIN / "mlops")


def fresh(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path) -> Path:
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    broken = (REPO_ROOT / "params.yaml").read_text().replace("type: logreg", "type: 3", 1)
    (tmp_path / "broken.yaml").write_text(broken)
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["check-params"],  # success, relative to the working directory
        ["--params", "broken.yaml", "check-params"],  # a clear error: exit 2
        ["--params", "missing.yaml", "check-params"],
        ["no-such-command"],  # argparse's usage error: exit 2
    ],
    ids=["valid", "invalid", "missing", "usage"],
)
def test_a_forked_command_answers_as_a_fresh_process(project, args):
    env = run_env()
    forked = launcher.launch([MLOPS, *args], project, env, env, timeout=120)
    plain = fresh([MLOPS, *args], project, env)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        plain.returncode,
        plain.stdout,
        plain.stderr,
    )
    assert forked.stdout or forked.stderr


def test_the_fork_gets_the_commands_environment_and_directory(project):
    """A variable set for the command only (the job summary's file, relative to the command's
    working directory): the forked command writes it where a fresh process would."""
    env = {**run_env(), "GITHUB_STEP_SUMMARY": "summary.md"}
    assert run_env().get("GITHUB_STEP_SUMMARY") != "summary.md"
    forked = execute([MLOPS, "no-comment", "--reason", "the API double is down"], project, env)
    assert forked.returncode == 0, forked.stderr
    assert "::warning title=No PR comment::" in forked.stdout
    assert "the API double is down" in (project / "summary.md").read_text()


def test_what_a_fork_would_change_gets_a_fresh_process(tmp_path):
    env = run_env()
    shim = str(launcher.server(env).shim)
    assert launcher.exec_target(["mlops", "check-params"], env, shim, env) is None  # forked
    assert launcher.exec_target([f"{shim}/mlops", "check-params"], env, shim, env) is None
    for key, value in (("PYTHONHASHSEED", "7"), ("OMP_NUM_THREADS", "1"),
                       ("MLFLOW_LOGGING_LEVEL", "DEBUG")):  # fmt: skip
        changed = {**env, key: value}
        assert launcher.exec_target(["mlops", "check-params"], changed, shim, env) == Path(MLOPS), (
            key
        )
    other = tmp_path / "bin"
    other.mkdir()
    (other / "mlops").write_text('#!/bin/sh\necho another mlops "$@"\n')
    (other / "mlops").chmod(0o755)
    shadowed = {**env, "PATH": f"{other}{os.pathsep}{env['PATH']}"}
    assert launcher.exec_target(["mlops"], shadowed, shim, env) == other / "mlops"
    assert execute(["mlops", "x"], tmp_path, shadowed).stdout == "another mlops x\n"
    assert launcher.exec_target([str(other / "mlops")], env, shim, env) == other / "mlops"


def test_dvc_stages_run_through_the_shim(tmp_path):
    """`dvc repro` under `execute` finds the shim first on PATH; a stage's output, its
    environment and a failing stage's exit status come through it."""
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    stage = ("command -v mlops > which.txt && mlops no-comment --reason 'a stage, forked' "
             "&& mlops --params missing.yaml check-params")  # fmt: skip
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"s": {"cmd": stage}}}))
    env = {**run_env(), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    proc = execute(["dvc", "repro"], tmp_path, env)
    assert proc.returncode != 0
    assert "mlops check-params: error: missing.yaml: file not found" in proc.stderr
    assert "::warning title=No PR comment::" in proc.stdout
    assert "a stage, forked" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "which.txt").read_text().strip() == str(launcher.server(env).shim / "mlops")


def test_a_fork_exits_past_an_idle_thread_pool(tmp_path):
    """A command that leaves a thread pool running (as an MLflow artifact repository does after
    a download) still exits, with its status and its atexit work done: the pool's workers stop
    on threading's exit hook, as in a fresh interpreter (joining them first waits forever)."""
    done = tmp_path / "atexit-ran"
    script = f"""
import atexit, concurrent.futures, pathlib, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
from tests import launcher
pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
assert pool.submit(sum, [1, 2]).result() == 3
atexit.register(pathlib.Path({str(done)!r}).touch)
launcher.finish(7)
"""
    proc = subprocess.run(
        [str(VENV_BIN / "python"), "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 7, proc.stderr
    assert done.exists()
