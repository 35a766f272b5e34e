"""A monitored model and its training data, built in memory (no registry): the demo's and one
per task on the synthetic tables (tests/tables.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.core.config import parse_params
from mlops.monitoring.current import Current, load
from mlops.monitoring.reference import Reference
from mlops.stages.prepare import clean, split
from mlops.stages.train import fit

from ..tables import task_params, task_table


def reference_of(raw: pd.DataFrame, params) -> Reference:
    frame = clean(raw, params)
    parts = split(frame, params)
    model = fit(parts.train, params, device="cpu").model
    return Reference(
        model=model,
        params=params,
        label="test model",
        version="unregistered",
        commit=None,
        data_md5=None,
        data="in memory",
        frame=frame,
        test=parts.test,
        registered_metrics={},
    )


def current_of(raw: pd.DataFrame, params, labelled: bool = False) -> Current:
    """``raw`` rows written as a CSV (without the target unless ``labelled``) and read back by
    ``mlops.monitoring.current.load``, as ``mlops monitor --current`` reads them."""

    rows = raw if labelled else raw.drop(columns=[params.data.target])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "current.csv"
        rows.to_csv(path, index=False)
        return load(path, params, _labels(raw, params))


def _labels(raw: pd.DataFrame, params) -> list[str]:
    from mlops.tasks import task_of

    if not task_of(params).classification:
        return []
    if params.data.task == "binary":
        other = sorted(set(raw[params.data.target]) - {params.data.positive_label})
        return [*other, params.data.positive_label]
    return sorted(set(raw[params.data.target]))


def resample(raw: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return raw.iloc[rng.integers(0, len(raw), n)].reset_index(drop=True)


@pytest.fixture(scope="session")
def demo_reference(demo_raw, params) -> Reference:
    return reference_of(demo_raw, params)


@pytest.fixture(scope="session")
def task_references(tmp_path_factory) -> dict[str, tuple[pd.DataFrame, Reference]]:
    out = {}
    for task in ("binary", "multiclass", "regression"):
        tmp = tmp_path_factory.mktemp(f"monitor-{task}")
        params = parse_params(task_params(task, tmp / "table.csv", tmp))
        raw = task_table(task, 3000, seed=11)
        out[task] = (raw, reference_of(raw, params))
    return out
