"""Small synthetic tables that are not the demo: mixed numeric and categorical columns with
missing values of every kind, a known relation between the features and the target, and the
params that describe them. Tests of the machinery run on these as well as on the demo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .conftest import REPO_ROOT

BINARY_COLUMNS = {
    "numeric": ["amount", "visits", "flag"],
    "categorical": ["colour", "region"],
}


def binary_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A binary table as a CSV holds it (text, blank cells for missing values).

    ``outcome`` is ``"pos"`` with a probability that rises with ``amount`` and with
    ``colour == "red"``; about a tenth of ``amount``, ``colour`` and ``region`` is blank.
    """
    rng = np.random.default_rng(seed)
    amount = rng.normal(50, 15, n).round(2)
    visits = rng.integers(0, 20, n)
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n)
    region = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), n)
    logit = -4.0 + 0.07 * amount + 1.5 * (colour == "red")
    outcome = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "pos", "neg")
    frame = pd.DataFrame(
        {
            "row_id": [f"r{i:05d}" for i in range(n)],
            "amount": amount.astype(str),
            "visits": visits.astype(str),
            "flag": rng.integers(0, 2, n).astype(str),
            "colour": colour,
            "region": region,
            "outcome": outcome,
        }
    )
    for column in ("amount", "colour", "region"):
        frame.loc[rng.random(n) < 0.1, column] = ""
    return frame


def task_table(task: str, n: int = 400, seed: int = 0) -> pd.DataFrame:
    """:func:`binary_table` with a target of ``task`` (the same features and blanks):

    * binary: ``outcome`` as there;
    * multiclass: ``outcome`` one of ``low``, ``mid``, ``high``, the most likely of three
      classes whose scores follow ``amount`` and ``colour``;
    * regression: ``outcome`` a number, ``2 * amount + 15`` for red, plus noise (sd 5).
    """
    frame = binary_table(n, seed)
    if task == "binary":
        return frame
    rng = np.random.default_rng(seed + 1000)
    amount = pd.to_numeric(frame["amount"].replace("", np.nan)).fillna(50).to_numpy()
    red = (frame["colour"] == "red").to_numpy()
    if task == "multiclass":
        centred = 0.15 * (amount - 50)
        scores = np.column_stack([-centred, 0 * amount + 2.0 * red - 0.5, centred])
        scores += rng.gumbel(size=scores.shape)  # a multinomial logit draw
        frame["outcome"] = np.array(["low", "mid", "high"], dtype=object)[scores.argmax(axis=1)]
    else:
        frame["outcome"] = (2 * amount + 15 * red + rng.normal(0, 5, n)).round(2).astype(str)
    return frame


def task_params(task: str, data_path: Path, tmp: Path) -> dict[str, Any]:
    """:func:`binary_params` for :func:`task_table` of ``task`` (its default gate and family)."""
    from mlops.tasks import TASKS

    doc = binary_params(data_path, tmp)
    if task == "binary":
        return doc
    doc["data"]["task"] = task
    doc["data"].pop("positive_label")
    doc["train"].pop("threshold")
    doc["gate"] = TASKS[task].default_gate
    if task == "regression":
        doc["model"]["type"] = "ridge"
    return doc


def params_document(**sections: dict[str, Any]) -> dict[str, Any]:
    """The shipped params.yaml as a mapping, with the given sections' keys replaced."""
    doc = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    for name, values in sections.items():
        doc[name] = {**doc.get(name, {}), **values}
    return doc


def binary_params(data_path: Path, tmp: Path) -> dict[str, Any]:
    """params.yaml for :func:`binary_table` written to ``data_path``, MLflow under ``tmp``."""
    return params_document(
        data={
            "path": str(data_path),
            "target": "outcome",
            "positive_label": "pos",
            "id_column": "row_id",
        },
        features={**BINARY_COLUMNS, "dropped": []},
        evaluate={"segment_column": "region"},
        mlflow={
            "tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}",
            "experiment": "synthetic",
            "registered_model": "synthetic-model",
        },
        validation={"suite": str(tmp / "suite.yaml")},
    )
