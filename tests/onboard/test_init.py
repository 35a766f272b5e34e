"""`mlops init` in a copy of the repository: what it writes, and that bad input leaves
params.yaml, data/ and the suite exactly as they were."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from mlops.cli import main

from ..conftest import copy_repo, run
from ..tables import binary_table


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("template") / "repo")
    run(["dvc", "pull", "data.dvc"], repo)
    return repo


@pytest.fixture
def repo(template, tmp_path, monkeypatch) -> Path:
    copy = tmp_path / "repo"
    run(["cp", "-a", str(template), str(copy)], tmp_path)
    monkeypatch.chdir(copy)
    return copy


def snapshot(repo: Path) -> dict[str, str]:
    """Every file init may touch, by md5."""
    files = [repo / "params.yaml", repo / "data.dvc", *sorted((repo / "data").rglob("*")),
             *sorted((repo / "expectations").rglob("*"))]  # fmt: skip
    return {str(p.relative_to(repo)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in files if p.is_file()}  # fmt: skip


def test_init_writes_params_suite_and_data_and_keeps_the_comments(repo, tmp_path, capsys):
    source = tmp_path / "table.parquet"
    table = binary_table(300, seed=4)
    table.to_parquet(source)
    rarer = table["outcome"].value_counts().idxmin()
    assert (
        main(["init", "--data", str(source), "--target", "outcome", "--name", "Shop Orders"]) == 0
    )
    out = capsys.readouterr().out
    assert "row_id" in out and "unique on every row" in out and "next: dvc repro" in out
    text = (repo / "params.yaml").read_text()
    assert text.startswith("# Every knob of the pipeline.")
    assert "path: data/raw/table.csv      # raw CSV, tracked by data.dvc" in text
    params = yaml.safe_load(text)
    assert params["data"] | {"test_size": 0, "seed": 0} == {
        "path": "data/raw/table.csv", "target": "outcome", "task": "binary",
        "positive_label": rarer,
        "id_column": "row_id", "test_size": 0, "seed": 0,
    }  # fmt: skip
    assert params["features"] == {"numeric": ["amount", "visits", "flag"],
                                  "categorical": ["colour", "region"], "dropped": []}  # fmt: skip
    assert params["mlflow"]["registered_model"] == params["mlflow"]["experiment"] == "shop-orders"
    assert params["validation"]["suite"] == "expectations/shop-orders.yaml"
    assert params["model"]["logreg"]["class_weight"] is None
    assert main(["check-params"]) == 0
    assert sorted(p.name for p in (repo / "data" / "raw").iterdir()) == ["table.csv"]
    assert not (repo / "expectations" / "churn.yaml").exists()
    suite = yaml.safe_load((repo / "expectations" / "shop-orders.yaml").read_text())
    assert suite["columns"]["outcome"] == {"kind": "target", "values": ["neg", "pos"]}
    out = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]
    assert out["remote"] == "data" and out["path"] == "data/raw"
    # pushed into the committed remote: git sees the new objects
    assert "data-remote/files/md5/" in run(["git", "status", "--porcelain", "-uall"], repo).stdout
    assert main(["validate"]) == 0  # the suite it wrote accepts the data it wrote


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_the_gates_rules_follow_the_tables_task(repo, tmp_path, capsys, task):
    from mlops.tasks import TASKS

    from ..tables import task_table

    source = tmp_path / "table.csv"
    task_table(task, 300, seed=4).to_csv(source, index=False)
    assert main(["init", "--data", str(source), "--target", "outcome", "--task", task]) == 0
    gate = yaml.safe_load((repo / "params.yaml").read_text())["gate"]
    expected = TASKS[task].default_gate
    assert gate["max_regression"] == gate["online"]["max_regression"] == expected["max_regression"]
    assert main(["check-params"]) == 0  # not the demo's roc_auc rules, which these tasks lack
    capsys.readouterr()


def test_a_second_init_is_refused_without_force(repo, tmp_path, capsys):
    source = tmp_path / "table.csv"
    binary_table(200, seed=5).to_csv(source, index=False)
    assert main(["init", "--data", str(source), "--target", "outcome"]) == 0
    before = snapshot(repo)
    assert main(["init", "--data", str(source), "--target", "outcome"]) != 0
    assert "not committed" in capsys.readouterr().err and snapshot(repo) == before
    assert main(["init", "--data", str(source), "--target", "outcome", "--force"]) == 0


def test_other_files_in_data_raw_are_not_replaced_without_force(repo, tmp_path, capsys):
    (repo / "data" / "raw" / "mine.csv").write_text("a,b\n1,2\n")
    source = tmp_path / "table.csv"
    binary_table(200).to_csv(source, index=False)
    before = snapshot(repo)
    assert main(["init", "--data", str(source), "--target", "outcome"]) != 0
    assert "mine.csv" in capsys.readouterr().err and snapshot(repo) == before


def _missing_target(d):
    d.loc[7, "outcome"] = ""


def _one_class(d):
    d["outcome"] = "pos"


def _duplicate_id(d):
    d.loc[5, "row_id"] = d.loc[4, "row_id"]


def _bad_name(d):
    d.rename(columns={"visits": "target"}, inplace=True)


def _three_classes(d):
    d.loc[:30, "outcome"] = "maybe"


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        (_missing_target, [], "'outcome' (--target) has 1 missing value"),
        (_one_class, [], "'outcome' (--target) has one value only"),
        (_duplicate_id, ["--id-column", "row_id"], "'row_id' (--id-column) has duplicate id"),
        (_bad_name, [], "column 'target'"),
        (_three_classes, ["--task", "binary"], "'outcome' (--target) has 3 distinct values"),
        (None, [], "not valid UTF-8"),
    ],
)
def test_bad_input_changes_nothing_and_names_the_column(repo, tmp_path, capsys, change, args,
                                                        message):  # fmt: skip
    source = tmp_path / "table.csv"
    raw = binary_table(150, seed=6)
    if change is None:
        source.write_bytes(b"a,b\n1,\xff\n")
    else:
        change(raw)
        raw.to_csv(source, index=False)
    before = snapshot(repo)
    code = main(["init", "--data", str(source), "--target", "outcome", *args])
    assert code != 0
    assert message in capsys.readouterr().err
    assert snapshot(repo) == before
