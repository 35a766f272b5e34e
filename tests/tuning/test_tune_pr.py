"""``mlops tune-pr``: a better search result becomes the branch tune/<family>, holding only
params.yaml with the winning values, and one PR whose body is the search's report (the API
double; a bare repository as origin), updated on the next run; a result that is no better
opens nothing."""

from __future__ import annotations

import json

from mlops.core.artifacts import TUNE_JSON
from mlops.tuning import tune

from ..conftest import GIT, VENV_BIN, run
from ..github_api_issues import git_push_to


def test_a_better_result_pushes_params_yaml_and_opens_then_updates_one_pr(
    project, github_api, tmp_path
):
    params, path = project(
        "regression",
        model={"ridge": {"alpha": 10_000.0}},
        tune={"trials": 8, "space": {"ridge": {"alpha": {"low": 1e-3, "high": 1e4, "log": True}}}},
    )
    (tmp_path / ".gitignore").write_text("data/\nreports/\nmlflow.db\n*.csv\n")
    run([*GIT, "init", "-q", "-b", "main"], tmp_path)
    run([*GIT, "add", "params.yaml", ".gitignore"], tmp_path)
    run([*GIT, "commit", "-q", "-m", "the params as they are"], tmp_path)
    bare = tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", str(bare)], tmp_path)
    run(["git", "push", "-q", str(bare), "main"], tmp_path)
    doc = tune.run(params, path, track=False)
    assert doc.verdict == "better"
    run(["git", "checkout", "-q", "params.yaml"], tmp_path)  # tune-pr applies tune.json itself
    env = {**github_api.client_env(), "GITHUB_REPOSITORY": "acme/tables", "PR_TOKEN": ""}
    env.update(git_push_to(bare, github_api.url, "acme/tables"))
    env["GITHUB_OUTPUT"] = str(tmp_path / "output")
    cmd = [str(VENV_BIN / "mlops"), "tune-pr", "--report", str(TUNE_JSON)]
    first = run(cmd, tmp_path, env=env)
    assert "opened PR #" in first.stdout
    (pull,) = github_api.pulls
    assert (pull.head_ref, pull.base_ref) == ("tune/ridge", "main")
    assert pull.title.startswith("Tune ridge: rmse ")
    assert "**Better than the current params**" in pull.body and "| alpha |" in pull.body
    assert "Approve workflows to run" in pull.body
    assert "`mlops tune --family ridge --trials 8` repeats the search" in pull.body
    shown = run(["git", "show", "--name-only", "--format=%an", "tune/ridge"], bare).stdout
    assert shown.split() == ["github-actions[bot]", "params.yaml"]  # params.yaml, nothing else
    pushed = run(["git", "show", "tune/ridge:params.yaml"], bare).stdout
    assert f"alpha: {doc.changes['model.ridge.alpha']}" in pushed
    assert "# ridge regression: regression only" in pushed  # the comments kept
    # The next search's PR, from main again: the same PR, updated, the branch force-pushed.
    run([*GIT, "checkout", "-q", "-f", "main"], tmp_path)
    second = run(cmd, tmp_path, env={**env, "PR_TOKEN": github_api.token})
    assert f"updated PR #{pull.number}" in second.stdout
    assert len(github_api.pulls) == 1 and "`PR_TOKEN`" in github_api.pulls[0].body
    # A search that found nothing better: no push, no PR, no API call.
    result = json.loads(TUNE_JSON.read_text())
    TUNE_JSON.write_text(json.dumps({**result, "verdict": "no better", "changes": {}}))
    quiet = run(cmd, tmp_path, env={**env, "GITHUB_API_URL": "http://127.0.0.1:9"})
    assert "found nothing better than the current params: no PR" in quiet.stdout
    assert len(github_api.pulls) == 1
