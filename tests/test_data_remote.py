"""A team's own data reaches the repository: after `dvc add` and `dvc push`, the committed
repository holds its objects, and a fresh clone pulls them with no configuration."""

from __future__ import annotations

import pandas as pd

from .conftest import commit_and_clone, copy_repo, run
from .tables import binary_table


def test_new_data_is_pushed_into_the_committed_remote_and_a_clone_pulls_it(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    run(["dvc", "pull", "data.dvc"], repo)
    (repo / "data" / "raw" / "churn.csv").unlink()
    binary_table(200, seed=3).to_csv(repo / "data" / "raw" / "table.csv", index=False)
    run(["dvc", "add", "data/raw"], repo)
    run(["dvc", "push", "data.dvc"], repo)
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout
    assert "data-remote/files/md5/" in status  # the new objects are there for git to commit
    pulled = commit_and_clone(repo, "own data", tmp_path / "clone")  # the one file: not churn.csv
    pd.testing.assert_frame_equal(pulled, binary_table(200, seed=3))


def test_pipeline_outputs_are_pushed_outside_the_committed_remote(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    (repo / "notes.txt").write_text("an output of some stage\n")
    run(["dvc", "add", "notes.txt"], repo)
    run(["dvc", "push", "notes.txt.dvc"], repo)
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout
    assert "data-remote" not in status, status
    assert list((repo / ".dvc" / "outputs-remote").rglob("*"))
