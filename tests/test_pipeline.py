"""The whole pipeline with the real DVC and MLflow, in a temporary copy of the repository.

The copy is one of the shared ``trained`` repository (conftest.py), whose clean ``dvc repro``
these tests check first instead of training the demo model once more."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import run, trained_repro_log

pytestmark = pytest.mark.slow


def metrics(repo: Path) -> dict[str, float]:
    return json.loads((repo / "metrics" / "evaluate.json").read_text())


def set_param(repo: Path, dotted: str, value: object) -> None:
    path = repo / "params.yaml"
    doc = yaml.safe_load(path.read_text())
    *parents, last = dotted.split(".")
    node = doc
    for key in parents:
        node = node[key]
    node[last] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def ran(stdout: str) -> set[str]:
    return {line.split("'")[1] for line in stdout.splitlines() if line.startswith("Running stage")}


@pytest.fixture(scope="module")
def repo(trained, tmp_path_factory) -> Path:
    """A copy of the shared trained repository (its clean `dvc repro` has run, committed)."""
    repo = tmp_path_factory.mktemp("pipeline") / "repo"
    shutil.copytree(trained, repo, symlinks=True)
    shutil.copy(trained_repro_log(trained), trained_repro_log(repo))
    return repo


def test_repro_from_clean_state(repo):
    assert ran(trained_repro_log(repo).read_text()) == {"validate", "prepare", "train", "evaluate"}
    assert json.loads((repo / "reports" / "validation.json").read_text())["success"] is True
    m = metrics(repo)
    assert 0.80 <= m["roc_auc"] <= 0.88, m
    for name in ("pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier"):
        assert name in m
    for plot in ("roc", "precision_recall", "confusion", "calibration", "importance"):
        assert (repo / "plots" / f"{plot}.json").exists()
        png = repo / "plots" / "images" / f"{plot}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    segments = json.loads((repo / "metrics" / "segments.json").read_text())
    assert set(segments["contract"]) == {"Month-to-month", "One year", "Two year"}
    # Evaluation used the threshold saved in the model, not 0.5.
    info = json.loads((repo / "models" / "train.json").read_text())
    confusion = json.loads((repo / "plots" / "confusion.json").read_text())
    assert info["threshold"] != 0.5
    predicted = sum(row["predicted"] for row in confusion) / len(confusion)
    assert predicted > 0.2  # F1-optimal threshold flags more customers than 0.5 would
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], repo).stdout)
    assert shown  # DVC reads the metrics file declared in dvc.yaml


def test_mlflow_run_has_model_and_provenance(repo):
    from mlflow.tracking import MlflowClient

    info = json.loads((repo / "models" / "mlflow_run.json").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    mlrun = client.get_run(info["run_id"])
    # The commit it was trained at: the trained copy committed its outputs on top of it.
    head = run(["git", "rev-parse", "HEAD~1"], repo).stdout.strip()
    data_md5 = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"]
    assert mlrun.data.tags["git_commit"] == head
    assert mlrun.data.tags["data_md5"] == data_md5
    assert "version.scikit-learn" in mlrun.data.tags
    assert mlrun.data.params["model.type"] == "logreg"
    assert mlrun.data.params["model.logreg.C"] == "1.0"
    assert mlrun.data.metrics["test_roc_auc"] == pytest.approx(metrics(repo)["roc_auc"])
    assert "train_roc_auc" in mlrun.data.metrics
    logged = client.search_logged_models(experiment_ids=[mlrun.info.experiment_id])
    assert any(m.source_run_id == mlrun.info.run_id for m in logged)
    model = logged[0]
    assert model.name == "model"
    # Its requirements are the runtime pinned from this environment, not inferred (seconds).
    from mlflow.artifacts import download_artifacts

    from mlops.tracking.provenance import model_requirements

    requirements = download_artifacts(
        artifact_uri=f"{model.artifact_location}/requirements.txt",
        dst_path=str(repo / "build" / "requirements-check"),
    )
    assert Path(requirements).read_text().split() == model_requirements("logreg")


def test_second_repro_does_nothing(repo):
    proc = run(["dvc", "repro"], repo)
    assert ran(proc.stdout) == set()


def test_unrelated_param_does_not_retrain(repo):
    set_param(repo, "model.xgboost.max_depth", 6)
    set_param(repo, "mlflow.experiment", "elsewhere")
    set_param(repo, "gate.minimums.roc_auc", 0.7)
    status = run(["dvc", "status", "--json"], repo).stdout
    assert json.loads(status) == {}
    assert ran(run(["dvc", "repro"], repo).stdout) == set()


def test_forced_rerun_gives_identical_metrics(repo):
    before = metrics(repo)
    run(["dvc", "repro", "--force"], repo)
    assert metrics(repo) == before


def test_switching_model_type_retrains_only_what_depends_on_it(repo):
    logreg = metrics(repo)
    set_param(repo, "model.type", "xgboost")
    proc = run(["dvc", "repro"], repo)
    assert ran(proc.stdout) == {"train", "evaluate"}
    m = metrics(repo)
    assert 0.80 <= m["roc_auc"] <= 0.88, m
    assert m != logreg
    info = json.loads((repo / "models" / "train.json").read_text())
    assert info["model_type"] == "xgboost" and info["device"] == "cpu"


def test_mlflow_run_has_learning_curves_plots_and_device(repo):
    from mlflow.tracking import MlflowClient

    info = json.loads((repo / "models" / "mlflow_run.json").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    mlrun = client.get_run(info["run_id"])
    assert mlrun.data.tags["model_type"] == "xgboost"
    assert mlrun.data.tags["device"] == "cpu"
    curve = client.get_metric_history(info["run_id"], "curve_val_logloss")
    assert [m.step for m in curve] == list(range(1, 301))
    assert "threshold" in mlrun.data.metrics and "test_brier" in mlrun.data.metrics
    plots = {a.path for a in client.list_artifacts(info["run_id"], "plots")}
    assert {f"plots/{n}.png" for n in ("roc", "precision_recall", "confusion")} <= plots
    assert {f"plots/{n}.png" for n in ("calibration", "importance")} <= plots


@pytest.mark.parametrize("model_type", ["rf", "keras"])
def test_every_other_family_trains_through_dvc_repro(repo, model_type):
    set_param(repo, "model.type", model_type)
    proc = run(["dvc", "repro"], repo)
    assert ran(proc.stdout) == {"train", "evaluate"}
    m = metrics(repo)
    assert 0.80 <= m["roc_auc"] <= 0.88, m
    info = json.loads((repo / "models" / "train.json").read_text())
    assert info["model_type"] == model_type and info["device"] == "cpu"


def test_keras_rerun_is_within_tolerance(repo):
    """A second TensorFlow training run (a new process) gives metrics within 0.005."""
    assert json.loads((repo / "models" / "train.json").read_text())["model_type"] == "keras"
    before = metrics(repo)
    run(["dvc", "repro", "--force", "--single-item", "train"], repo)
    run(["dvc", "repro", "evaluate"], repo)
    after = metrics(repo)
    for name in ("roc_auc", "pr_auc", "log_loss", "brier"):
        assert abs(after[name] - before[name]) <= 0.005, (name, before, after)
