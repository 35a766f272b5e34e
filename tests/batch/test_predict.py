"""`mlops predict` on the pandas engine: scores equal to the model's, streaming, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.batch import output, predict
from mlops.core.errors import MlopsError

from ..conftest import REPO_ROOT, run
from .conftest import bad_inputs


def scores_of(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def test_scores_equal_the_models_own_predict_proba(
    tmp_path, params, demo_csv, batch_model, expected_proba
):
    target = tmp_path / "scores.parquet"
    # Small chunks, so the demo file streams through several of them.
    summary = predict.run(params, demo_csv, target, model_spec=str(batch_model), chunk_rows=1000)
    ids, proba = expected_proba
    scores = scores_of(target)
    assert list(scores.columns) == [
        "customer_id",
        "probability",
        "label",
        "model_version",
        "model_md5",
    ]
    assert scores["customer_id"].tolist() == ids.tolist()
    np.testing.assert_allclose(scores["probability"], proba, rtol=0, atol=1e-9)
    import joblib

    threshold = joblib.load(batch_model).threshold
    # the label is the class value as in the data: params.yaml's positive_label at or above
    assert (scores["label"] == np.where(proba >= threshold, "Yes", "No")).all()
    assert set(scores["model_version"]) == {"unregistered"}
    assert summary["rows"] == len(ids) == summary["positives"] + int((scores.label == "No").sum())
    assert summary["label_rate"] == pytest.approx((scores["label"] == "Yes").mean(), abs=1e-6)
    assert summary["label_counts"] == scores["label"].value_counts().sort_index().to_dict()
    on_disk = json.loads(output.summary_path(target).read_text())
    assert on_disk == summary
    for name, q in [("p05", 0.05), ("p50", 0.5), ("p95", 0.95)]:
        exact = float(np.quantile(proba, q))
        assert abs(summary["probability_quantiles"][name] - exact) <= 1.5 / output.BINS


def test_parquet_inputs_file_and_directory_score_the_same(
    tmp_path, params, demo_raw, batch_model, expected_proba
):
    from mlops.stages.prepare import typed_features

    typed = typed_features(demo_raw, params)
    single = tmp_path / "in.parquet"
    typed.to_parquet(single, index=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, len(typed), 2500)):
        typed.iloc[start : start + 2500].to_parquet(parts / f"part-{i}.parquet", index=False)
    _, proba = expected_proba
    for source in (single, parts):
        target = tmp_path / f"out-{source.stem}.parquet"
        predict.run(params, source, target, model_spec=str(batch_model), chunk_rows=3000)
        got = scores_of(target)
        np.testing.assert_allclose(got["probability"], proba, rtol=0, atol=1e-9)


def test_bad_input_names_the_column_and_writes_nothing(
    tmp_path, params, demo_raw, batch_model, capsys
):
    for name, (source, words) in bad_inputs(demo_raw, tmp_path).items():
        target = tmp_path / f"{name}.parquet"
        with pytest.raises(MlopsError) as failed:
            predict.run(params, source, target, model_spec=str(batch_model))
        assert words in str(failed.value), (name, str(failed.value))
        assert failed.value.exit_code == 1
        assert not target.exists() and not output.partial_path(target).exists(), name
        assert not output.summary_path(target).exists()


def test_a_failure_in_a_later_chunk_leaves_the_previous_output_untouched(
    tmp_path, params, demo_raw, batch_model
):
    target = tmp_path / "scores.parquet"
    good = tmp_path / "good.csv"
    demo_raw.to_csv(good, index=False)
    predict.run(params, good, target, model_spec=str(batch_model))
    before = target.read_bytes()
    bad = demo_raw.copy()
    bad.loc[len(bad) - 1, "tenure"] = "-5"  # in the last chunk: out of range
    source = tmp_path / "bad.csv"
    bad.to_csv(source, index=False)
    with pytest.raises(MlopsError, match=r"rows 6000-7042 failed validation.*column 'tenure'"):
        predict.run(params, source, target, model_spec=str(batch_model), chunk_rows=2000)
    assert target.read_bytes() == before
    assert not output.partial_path(target).exists()


def test_finalize_refuses_a_short_output(tmp_path):
    partial = output.partial_path(tmp_path / "x.parquet")
    partial.write_bytes(b"data")
    with pytest.raises(MlopsError, match="wrote 9 scores for 10 input rows"):
        output.finalize(partial, tmp_path / "x.parquet", input_rows=10, written_rows=9)
    assert not partial.exists() and not (tmp_path / "x.parquet").exists()


def test_quantiles_from_the_histogram_are_within_half_a_bin():
    rng = np.random.default_rng(3)
    proba = rng.beta(2, 5, 200_001)
    tally = output.Tally(positive="yes")
    for part in np.array_split(proba, 7):
        tally.add({"probability": part, "label": np.where(part >= 0.5, "yes", "no")})
    for name, value in tally.quantiles().items():
        exact = float(np.quantile(proba, int(name[1:]) / 100))
        assert abs(value - exact) <= 1 / output.BINS, name
    assert tally.summary()["positives"] == int((proba >= 0.5).sum())


def test_regression_quantiles_over_the_training_range_are_within_half_a_bin():
    """A regression model's predictions: the histogram spans the training target's range
    widened by half of it each side; values beyond it land in the end bins."""
    rng = np.random.default_rng(4)
    predictions = rng.normal(300.0, 40.0, 100_001)
    tally = output.Tally("prediction", 100.0, 500.0)
    for part in np.array_split(predictions, 5):
        tally.add({"prediction": part})
    width = (500.0 - 100.0) / output.BINS
    for name, value in tally.quantiles().items():
        exact = float(np.quantile(predictions, int(name[1:]) / 100))
        assert abs(value - exact) <= width, name
    summary = tally.summary()
    assert summary["mean_prediction"] == pytest.approx(predictions.mean(), abs=1e-6)
    assert "label_counts" not in summary and "positives" not in summary


def test_model_choice_is_checked(params, tmp_path):
    from mlops.batch.model import resolve

    with pytest.raises(MlopsError, match=r"neither 'champion', 'auto', a version number"):
        resolve(params, "latest", tmp_path)
    with pytest.raises(MlopsError, match="does not exist"):
        resolve(params, str(tmp_path / "none.joblib"), tmp_path)


def test_auto_falls_back_to_the_pipelines_model_without_a_champion(
    params, tmp_path, batch_model, monkeypatch, sqlite_mlflow
):
    import shutil

    from mlops.batch.model import resolve
    from mlops.core.artifacts import MODEL

    monkeypatch.chdir(tmp_path)
    with pytest.raises(MlopsError, match=r"no alias 'champion'.*models/model.joblib does not"):
        resolve(params, "auto", tmp_path / "work")
    MODEL.parent.mkdir()
    shutil.copyfile(batch_model, MODEL)
    chosen = resolve(params, "auto", tmp_path / "work")
    assert chosen.source == "models/model.joblib (the registry has no champion)"
    assert chosen.version == "unregistered" and not chosen.registered


def test_cli_predict_with_the_registered_champion(
    tmp_path, batch_model, demo_csv, expected_proba, sqlite_mlflow
):
    """The default --model champion, from a SQLite registry: version and md5 in every row."""
    import warnings

    import mlflow

    from mlops.core.artifacts import file_md5
    from mlops.tracking import pyfunc

    env_uri = sqlite_mlflow
    client = mlflow.MlflowClient(tracking_uri=env_uri, registry_uri=env_uri)
    client.create_registered_model("churn-classifier")
    with warnings.catch_warnings(), mlflow.start_run():
        warnings.simplefilter("ignore", UserWarning)  # MLflow's advice on type hints
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=Path(pyfunc.__file__),
            artifacts={pyfunc.ARTIFACT_KEY: str(batch_model)},
        )
    version = mlflow.register_model(
        info.model_uri, "churn-classifier", tags={"model_md5": file_md5(batch_model)}
    ).version
    client.set_registered_model_alias("churn-classifier", "champion", version)
    target = tmp_path / "scores.parquet"
    summary_file = tmp_path / "step-summary.md"
    proc = run(
        ["mlops", "predict", "--input", str(demo_csv), "--output", str(target)],
        REPO_ROOT,
        env={"MLFLOW_TRACKING_URI": env_uri, "GITHUB_STEP_SUMMARY": str(summary_file)},
    )
    assert f"scored with champion (v{version})" in proc.stdout
    scores = scores_of(target)
    assert set(scores["model_version"]) == {str(version)}
    assert set(scores["model_md5"]) == {file_md5(batch_model)}
    np.testing.assert_allclose(scores["probability"], expected_proba[1], atol=1e-9)
    assert "### Batch scoring" in summary_file.read_text()


def test_spark_without_java_is_one_line(monkeypatch, tmp_path):
    from mlops.batch import spark_engine

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(MlopsError, match=r"needs Java 17 .*openjdk-17-jre-headless"):
        spark_engine.check_java()


def test_fetch_input_downloads_a_url_and_refuses_an_unknown_path(tmp_path, demo_csv, monkeypatch):
    """A URL goes through `dvc get-url` (here from a local HTTP server on 127.0.0.1)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from mlops.batch.inputs import fetch

    served = tmp_path / "served"
    served.mkdir()
    (served / "customers.csv").write_bytes(demo_csv.read_bytes())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.chdir(REPO_ROOT)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/customers.csv"
        got = fetch(url, tmp_path / "in")
    finally:
        server.shutdown()
        server.server_close()
    assert got == tmp_path / "in" / "customers.csv"
    assert got.read_bytes() == demo_csv.read_bytes()
    with pytest.raises(MlopsError, match="neither tracked by DVC nor in the repository"):
        fetch("data/raw/no-such-table.csv", tmp_path / "in")


def test_cli_refuses_a_chunk_size_below_one(capsys):
    from mlops.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["predict", "--input", "x.csv", "--output", "y.parquet", "--chunk-rows", "0"])
    assert exited.value.code == 2
    assert "--chunk-rows: expected a whole number of at least 1, got '0'" in capsys.readouterr().err
