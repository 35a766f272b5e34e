"""params.yaml validation: every problem is exit code 2 and a one-line message naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops.cli import main
from mlops.core.config import load_params

from ..conftest import REPO_ROOT, run_env


@pytest.fixture
def raw_params() -> dict:
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def write(tmp_path: Path, doc: dict | str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict | str) -> str:
    code = main(["--params", str(write(tmp_path, doc)), "check-params"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_shipped_params_are_valid():
    params = load_params(REPO_ROOT / "params.yaml")
    assert params.model_type in ("logreg", "rf", "xgboost", "keras")
    assert params.mlflow.tracking_uri.startswith("sqlite:///")


def test_unknown_key_names_path_and_allowed_keys(tmp_path, capsys, raw_params):
    raw_params["model"]["logreg"]["Cee"] = 2
    err = check(tmp_path, capsys, raw_params)
    assert "model.logreg.Cee" in err
    assert "unknown key" in err
    assert "C, max_iter, class_weight" in err


def test_unknown_section(tmp_path, capsys, raw_params):
    raw_params["trian"] = {"seed": 1}
    err = check(tmp_path, capsys, raw_params)
    assert "trian" in err
    assert "allowed keys: data, features, model, train, evaluate, gate, mlflow" in err


def test_wrong_type(tmp_path, capsys, raw_params):
    raw_params["train"]["seed"] = "forty-two"
    err = check(tmp_path, capsys, raw_params)
    assert "train.seed" in err
    assert "'forty-two'" in err
    assert "integer" in err


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("data", "test_size", 1.5, "less than 1"),
        ("data", "test_size", 0, "greater than 0"),
        ("data", "seed", -1, "greater than or equal to 0"),
    ],
)
def test_out_of_range(tmp_path, capsys, raw_params, section, key, value, expected):
    raw_params[section][key] = value
    err = check(tmp_path, capsys, raw_params)
    assert f"{section}.{key}" in err
    assert expected in err
    assert repr(value) in err


def test_nested_out_of_range(tmp_path, capsys, raw_params):
    raw_params["model"]["xgboost"]["max_depth"] = 0
    err = check(tmp_path, capsys, raw_params)
    assert "model.xgboost.max_depth" in err


def test_enum_lists_allowed_values(tmp_path, capsys, raw_params):
    raw_params["train"]["device"] = "tpu"
    err = check(tmp_path, capsys, raw_params)
    assert "train.device" in err
    assert "'auto', 'cpu' or 'cuda'" in err


def test_unknown_model_type(tmp_path, capsys, raw_params):
    raw_params["model"]["type"] = "svm"
    err = check(tmp_path, capsys, raw_params)
    assert "model.type" in err
    assert "'logreg'" in err and "'svm'" in err


def test_missing_required_key(tmp_path, capsys, raw_params):
    del raw_params["data"]["target"]
    err = check(tmp_path, capsys, raw_params)
    assert "data.target" in err
    assert "missing" in err


def test_gate_metric_name_checked(tmp_path, capsys, raw_params):
    raw_params["gate"]["minimums"]["auc"] = 0.8
    err = check(tmp_path, capsys, raw_params)
    assert "gate.minimums.auc" in err


def test_column_in_two_feature_lists(tmp_path, capsys, raw_params):
    raw_params["features"]["categorical"].append("tenure")
    err = check(tmp_path, capsys, raw_params)
    assert "features.categorical" in err and "'tenure'" in err


def test_target_cannot_be_a_feature(tmp_path, capsys, raw_params):
    raw_params["features"]["numeric"].append("churn")
    err = check(tmp_path, capsys, raw_params)
    assert "data.target" in err and "'churn'" in err


def test_missing_file(tmp_path, capsys):
    code = main(["--params", str(tmp_path / "nope.yaml"), "check-params"])
    err = capsys.readouterr().err
    assert code == 2
    assert "nope.yaml" in err and "not found" in err


def test_invalid_yaml(tmp_path, capsys):
    err = check(tmp_path, capsys, "data:\n  path: [unclosed\nmodel: {type: logreg}\n")
    assert "invalid YAML" in err
    assert "line" in err


def test_top_level_not_a_mapping(tmp_path, capsys):
    err = check(tmp_path, capsys, "- just\n- a list\n")
    assert "expected a mapping" in err


def test_every_stage_rejects_bad_params_before_doing_anything(tmp_path, capsys, raw_params):
    raw_params["data"]["test_size"] = 2
    path = write(tmp_path, raw_params)
    for stage in ("prepare", "train", "evaluate"):
        assert main(["--params", str(path), stage]) == 2
        assert "data.test_size" in capsys.readouterr().err


def test_exit_code_two_from_the_console_script(tmp_path, raw_params):
    raw_params["model"]["type"] = 3
    path = write(tmp_path, raw_params)
    proc = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "--params", str(path), "check-params"],
        capture_output=True,
        text=True,
        env=run_env(),
    )
    assert proc.returncode == 2
    assert "model.type" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("train.threshold.method", "precision", "train.threshold.method"),
        ("train.threshold.target_recall", 1.5, "train.threshold.target_recall"),
        ("train.validation_size", 0.9, "train.validation_size"),
        ("evaluate.importance_repeats", 0, "evaluate.importance_repeats"),
        ("evaluate.importance_max_rows", 10, "evaluate.importance_max_rows"),
        ("evaluate.calibration_bins", 1, "evaluate.calibration_bins"),
        ("model.rf.max_features", 1.5, "model.rf.max_features"),
        ("model.rf.class_weight", "heavy", "model.rf.class_weight"),
        ("model.keras.hidden_units", [], "model.keras.hidden_units"),
        ("model.keras.dropout", 1.0, "model.keras.dropout"),
        ("model.keras.max_epochs", 0, "model.keras.max_epochs"),
        # the BentoML model, bento and service are named after it: BentoML's rule for names
        ("mlflow.registered_model", "Churn Classifier", "mlflow.registered_model"),
        ("mlflow.registered_model", "-model", "mlflow.registered_model"),
    ],
)
def test_new_sections_are_validated(tmp_path, capsys, raw_params, dotted, value, expected):
    *parents, last = dotted.split(".")
    node = raw_params
    for key in parents:
        node = node[key]
    node[last] = value
    assert expected in check(tmp_path, capsys, raw_params)


def test_segment_column_must_be_categorical(tmp_path, capsys, raw_params):
    raw_params["evaluate"]["segment_column"] = "tenure"
    err = check(tmp_path, capsys, raw_params)
    assert "evaluate.segment_column" in err and "features.categorical" in err


def test_cuda_without_gpu_is_exit_two_without_traceback(tmp_path, raw_params):
    raw_params["train"]["device"] = "cuda"
    path = write(tmp_path, raw_params)
    env = run_env()
    env["CUDA_VISIBLE_DEVICES"] = ""  # no GPU visible, whatever the machine has
    proc = subprocess.run(
        [sys.executable, "-m", "mlops.cli", "--params", str(path), "train", "--no-track"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "train.device" in proc.stderr and "no CUDA GPU" in proc.stderr
    assert "Traceback" not in proc.stderr


def _with_task(raw_params: dict, task: str) -> dict:
    """The shipped params for another task, with the binary-only keys taken out."""
    raw_params["data"]["task"] = task
    raw_params["data"].pop("positive_label")
    raw_params["train"].pop("threshold")
    raw_params["gate"] = {"minimums": {}, "max_regression": {}}
    return raw_params


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["data"].pop("positive_label"), "data.positive_label: required key is missing"),
        (lambda d: d["data"].update(task="ordinal"), "data.task"),
        (lambda d: d["gate"]["minimums"].update(rmse=1.0), "gate.minimums.rmse: not a metric of"),
        (lambda d: _with_task(d, "regression")["data"].update(positive_label="Yes"),
         "data.positive_label: belongs to data.task binary only"),
        (lambda d: _with_task(d, "multiclass")["train"].update(threshold={"method": "f1"}),
         "train.threshold: a decision threshold belongs to data.task binary only"),
        (lambda d: _with_task(d, "regression")["gate"]["max_regression"].update(roc_auc=0.01),
         "gate.max_regression.roc_auc: not a metric of data.task regression; allowed: rmse"),
        (lambda d: _with_task(d, "regression"),
         "model.type: logreg does not support data.task regression (it supports binary, "
         "multiclass); families for regression: ridge, xgboost, rf, keras"),
        (lambda d: _with_task(d, "multiclass")["model"].update(type="ridge"),
         "model.type: ridge does not support data.task multiclass"),
        (lambda d: _with_task(d, "regression")["model"].update(type="rf") or
         d["model"]["rf"].update(class_weight="balanced"),
         "model.rf.class_weight: applies to data.task binary or multiclass only"),
        (lambda d: _with_task(d, "multiclass")["model"].update(type="xgboost") or
         d["model"]["xgboost"].update(scale_pos_weight=2.0),
         "model.xgboost.scale_pos_weight: applies to data.task binary only"),
    ],
)  # fmt: skip
def test_keys_that_must_agree_with_the_task(tmp_path, capsys, raw_params, change, expected):
    change(raw_params)
    assert expected in check(tmp_path, capsys, raw_params)
