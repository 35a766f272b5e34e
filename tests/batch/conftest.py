"""A model trained in-process on the demo split, and inputs to score, for the batch tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def sqlite_mlflow(tmp_path, monkeypatch) -> Iterator[str]:
    """An MLflow SQLite store for one test, forgotten afterwards.

    ``mlflow.set_tracking_uri`` (which ``configure_mlflow`` calls) also exports
    MLFLOW_TRACKING_URI, and MLflow keeps the URI in a module global: both are put back, so
    no later test (nor the subprocesses it starts) reaches this store.
    """
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # restored by monkeypatch at teardown
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def batch_model(tmp_path_factory, demo_split, params) -> Path:
    """models/model.joblib as the pipeline writes it (logistic regression on the demo split)."""
    from mlops.stages import train

    directory = tmp_path_factory.mktemp("batch-model")
    return train.save(train.fit(demo_split.train, params, device="cpu"), directory)


@pytest.fixture(scope="session")
def expected_proba(batch_model, demo_raw, params):
    """The model's own predict_proba on the demo rows, typed as `mlops prepare` types them."""
    import joblib

    from mlops.stages.prepare import clean

    frame = clean(demo_raw, params)
    model = joblib.load(batch_model)
    return frame[params.data.id_column], model.predict_proba(frame[params.features.used])[:, 1]


def bad_inputs(demo_raw, directory: Path) -> dict[str, tuple[Path, str]]:
    """Inputs that must be refused, each with the words the error must contain."""
    rows = demo_raw.head(300).copy()
    cases: dict[str, tuple[Path, str]] = {}

    def write(name: str, frame, words: str) -> None:
        path = directory / f"{name}.csv"
        frame.to_csv(path, index=False)
        cases[name] = (path, words)

    write("missing_column", rows.drop(columns=["tenure"]), "missing ['tenure']")
    unknown = rows.copy()
    unknown.loc[7, "contract"] = "Three year"
    write("unknown_category", unknown, "column 'contract'")
    text = rows.copy()
    text.loc[3, "monthly_charges"] = "lots"
    write("text_in_numeric", text, "column 'monthly_charges'")
    empty = directory / "empty.csv"
    empty.write_bytes(b"")
    cases["empty_file"] = (empty, "empty (0 bytes)")
    write("header_only", rows.head(0), "no data rows")
    return cases
