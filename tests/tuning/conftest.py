"""A project to tune, in a temporary directory: a table (synthetic of a task, or a public one),
a params.yaml that keeps the shipped file's comments, and its prepared splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlops.core import params_yaml
from mlops.core.config import load_params

from ..conftest import REPO_ROOT
from ..tables import task_params, task_table


def _merge(target: Any, source: dict[str, Any]) -> None:
    """``source``'s values into the commented mapping ``target`` (keys it lacks removed)."""
    for key in [k for k in target if k not in source]:
        del target[key]
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and value:
            _merge(target[key], value)
        else:
            target[key] = value


def write_project(root: Path, raw: pd.DataFrame, doc: dict[str, Any]) -> Path:
    """data.csv and params.yaml under ``root`` (the shipped comments kept); the params path."""
    root.mkdir(parents=True, exist_ok=True)
    raw.to_csv(root / "data.csv", index=False)
    doc["data"]["path"] = str(root / "data.csv")
    shipped = params_yaml.load(REPO_ROOT / "params.yaml")
    _merge(shipped, doc)
    path = root / "params.yaml"
    path.write_text(params_yaml.dump(shipped), encoding="utf-8")
    return path


def deep(doc: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    for name, values in sections.items():
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(doc[name].get(key), dict):
                doc[name][key] = {**doc[name][key], **value}
            else:
                doc[name][key] = value
    return doc


@pytest.fixture
def project(tmp_path, monkeypatch):
    """``make(task, model=..., tune=..., n=...)``: the prepared project in the working
    directory; returns (params, params path)."""
    from mlops.stages import prepare

    def make(task: str, n: int = 400, **sections: dict[str, Any]):
        doc = deep(task_params(task, tmp_path / "data.csv", tmp_path), **sections)
        path = write_project(tmp_path, task_table(task, n=n), doc)
        monkeypatch.chdir(tmp_path)
        params = load_params(path)
        prepare.run(params)
        return params, path

    return make
