"""The workflows keep the line of docs/hardening.md ("What each workflow trusts"): no job reads
a pipeline output from the DVC remote (which any job with its credentials, a PR's included,
can write), none pushes to it, and only the data is pulled; the PR report's baseline is never
pulled from the remote either."""

from __future__ import annotations

import re
import shlex

import pytest

from ..conftest import GIT, REPO_ROOT, run
from .scenarios import forge_train_run_cache, set_param
from .test_workflow_lint import GITHUB, load, steps

WORKFLOW_FILES = sorted([*GITHUB.glob("workflows/*.yml"), *GITHUB.glob("actions/*/action.yml")])


def dvc_calls() -> list[tuple[str, list[str]]]:
    """Every `dvc ...` command line of every step: (file, its words)."""
    calls = []
    for path in WORKFLOW_FILES:
        for step in steps(load(path)):
            for line in str(step.get("run", "")).splitlines():
                for command in re.split(r"&&|;|\|\|", line):
                    words = shlex.split(command.strip(), comments=True)
                    if words[:1] == ["dvc"]:
                        calls.append((path.name, words[1:]))
    return calls


def test_the_workflows_run_dvc_at_all():
    assert {words[0] for _, words in dvc_calls()} >= {"pull", "repro"}


def test_only_the_data_is_pulled_and_nothing_is_pushed_or_restored_from_the_remote():
    for name, words in dvc_calls():
        command = words[0]
        assert command not in {"push", "fetch", "get", "import", "exp", "update"}, (name, words)
        assert "--run-cache" not in words and "--pull" not in words, (name, words)
        if command == "pull":
            assert words[1:] == ["data.dvc"], (name, words)


@pytest.mark.slow
def test_the_reports_baseline_never_restores_a_forged_run_cache_entry(trained, tmp_path):
    """main after a merge that changed a param (its dvc.lock not re-locked, as merges leave it),
    and a run-cache entry for exactly those train inputs pointing at a constant model, pushed to
    the outputs remote (as another PR's job could): the report's baseline trains main's model
    itself."""
    from mlops.core.artifacts import file_md5
    from mlops.report.baseline import reproduce_model

    main = tmp_path / "main"
    run(["git", "clone", "-q", str(trained), str(main)], tmp_path)
    set_param(main, "    C: 1.0\n", "    C: 0.5\n")
    run([*GIT, "commit", "-qam", "merged: C 0.5"], main)
    remote = tmp_path / "shared-remote"
    forgery = forge_train_run_cache(main, remote, tmp_path)
    assert forgery.forged_md5 != forgery.honest_md5 and list((remote / "runs").rglob("*"))

    job = tmp_path / "job"  # main as a PR's job checks it out: no outputs, an empty cache
    run(["git", "clone", "-q", str(main), str(job)], tmp_path)
    run(["dvc", "remote", "modify", "--local", "outputs", "url", str(remote)], job)
    assert reproduce_model(job) == "reproduced with `dvc repro train`"
    assert file_md5(job / "models" / "model.joblib") == forgery.honest_md5


def test_the_deploy_reproduces_without_the_remote():
    (reproduce,) = [
        s for s in steps(load(GITHUB / "workflows" / "deploy.yml"))
        if str(s.get("name", "")).startswith("Reproduce")
    ]  # fmt: skip
    assert reproduce["run"].strip() == "dvc repro"
    assert (REPO_ROOT / ".dvc" / "config").read_text().count("remote = outputs") == 1
