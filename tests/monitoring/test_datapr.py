"""``mlops data-pr``: labelled production rows become a validated data version on a branch and
one PR on it (the API double; a bare repository as origin), updated on the next run; rows
that do not fit are refused with nothing written."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from mlops.core.errors import DataError
from mlops.monitoring import datapr

from ..conftest import GIT, VENV_BIN, copy_repo, run
from ..github_api_issues import git_push_to


def _existing_and_new(demo_raw: pd.DataFrame, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    existing = demo_raw.iloc[:-n].reset_index(drop=True)
    new = demo_raw.iloc[-n:].reset_index(drop=True)
    return existing, new


def test_append_replaces_a_row_whose_id_comes_again_and_leaves_unlabelled_out(demo_raw, params):
    existing, new = _existing_and_new(demo_raw)
    again = existing.iloc[:5].copy()
    again["churn"] = "Yes"  # a later outcome for five known customers
    new = pd.concat([new, again], ignore_index=True)
    new.loc[0, "churn"] = ""  # not known yet
    proposal = datapr.propose(existing, new, params)
    assert (proposal.added_rows, proposal.replaced_rows, proposal.unlabelled_rows) == (304, 5, 1)
    assert len(proposal.table) == len(existing) - 5 + 304
    assert proposal.table["customer_id"].is_unique
    replaced = proposal.table.set_index("customer_id").loc[again["customer_id"], "churn"]
    assert set(replaced) == {"Yes"}
    swap = params.model_copy(update={"monitor": params.monitor.model_copy(
        update={"data_mode": "replace"})})  # fmt: skip
    assert len(datapr.propose(existing, new, swap).table) == 304


def test_rows_that_do_not_fit_are_refused_by_name(demo_raw, params):
    existing, new = _existing_and_new(demo_raw)
    with pytest.raises(DataError, match="no column 'tenure'"):
        datapr.propose(existing, new.drop(columns=["tenure"]), params)
    with pytest.raises(DataError, match="column 'score' is not a column of"):
        datapr.propose(existing, new.assign(score="1"), params)
    with pytest.raises(DataError, match="no row carries the target column 'churn'"):
        datapr.propose(existing, new.assign(churn=""), params)


@pytest.mark.slow
def test_data_pr_pushes_a_branch_and_opens_then_updates_one_pr(demo_raw, github_api, tmp_path):
    repo = copy_repo(tmp_path / "repo")
    bare = tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", str(bare)], tmp_path)
    run(["git", "push", "-q", str(bare), "main"], repo)
    run(["dvc", "pull", "data.dvc"], repo)
    before = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"]
    _, new = _existing_and_new(demo_raw, 400)
    new["customer_id"] = [f"N{i:05d}" for i in range(len(new))]  # new customers
    current = tmp_path / "labelled.csv"
    new.to_csv(current, index=False)
    env = {**github_api.client_env(), "GITHUB_REPOSITORY": "acme/churn", "PR_TOKEN": ""}
    env.update(git_push_to(bare, github_api.url, "acme/churn"))
    env["GITHUB_OUTPUT"] = str(tmp_path / "output")
    cmd = [str(VENV_BIN / "mlops"), "data-pr", "--current", str(current)]
    first = run(cmd, repo, env=env)
    assert "400 labelled rows appended" in first.stdout and "opened PR #" in first.stdout
    (pull,) = github_api.pulls
    assert (pull.head_ref, pull.base_ref) == ("monitor/data-refresh", "main")
    assert "400 labelled rows" in pull.body and "Approve workflows to run" in pull.body
    # The branch holds the new data version and the embedded remote's new objects.
    shown = run(["git", "show", "--name-only", "--format=%an", "monitor/data-refresh"], bare).stdout
    assert shown.startswith("github-actions[bot]") and "data.dvc" in shown
    assert "data-remote/files/md5/" in shown
    after = yaml.safe_load(run(["git", "show", "monitor/data-refresh:data.dvc"], bare).stdout)
    assert after["outs"][0]["md5"] != before
    # A clone of the branch pulls exactly the proposed table.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "-b", "monitor/data-refresh", str(bare), str(clone)], tmp_path)
    run(["dvc", "pull", "data.dvc"], clone)
    pulled = pd.read_csv(clone / "data" / "raw" / "churn.csv", dtype=str, keep_default_na=False)
    assert len(pulled) == len(demo_raw) + 400
    # The next run, from main again: the same PR, updated; the branch force-pushed.
    run([*GIT, "checkout", "-q", "-f", "main"], repo)
    run(["dvc", "checkout", "data.dvc"], repo)
    second = run(cmd, repo, env={**env, "PR_TOKEN": github_api.token})
    assert f"updated PR #{pull.number}" in second.stdout
    assert len(github_api.pulls) == 1 and "`PR_TOKEN`" in github_api.pulls[0].body


def test_proposed_data_that_fails_validation_writes_nothing(demo_raw, params, tmp_path,
                                                           monkeypatch):  # fmt: skip
    from mlops.stages.validate import ValidationError

    existing, new = _existing_and_new(demo_raw)
    new.loc[:50, "contract"] = "Lifetime"  # a category the suite does not allow
    proposal = datapr.propose(existing, new, params)
    with pytest.raises(ValidationError, match="the proposed data failed validation"):
        datapr.validate(proposal.table, params)
