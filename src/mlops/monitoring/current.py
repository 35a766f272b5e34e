"""The production data ``mlops monitor --current`` judges: a table or the service's records.

A table is what batch scoring reads (a CSV file, a parquet file or a directory of parquet
files: ``mlops predict``'s inputs count as production data too); records are the service's
(:mod:`mlops.monitoring.records`). Either way the features are typed as training typed them
(``stages.prepare.typed_features``), and when the data carries the target column with values
(labelled production data, e.g. outcomes joined later), it is encoded as the task encodes it,
so the model's metrics can be measured on it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mlops.core.artifacts import LABELS, TARGET
from mlops.core.errors import DataError
from mlops.monitoring import records

if TYPE_CHECKING:
    from mlops.core.config import Params


@dataclass
class Current:
    frame: pd.DataFrame  # typed features (and ``target`` when labelled)
    source: str  # "table" or "records"
    labelled: bool
    versions: dict[str, int] = field(default_factory=dict)  # records: rows per model version


def read_table(path: Path) -> pd.DataFrame:
    """A CSV file (every cell as text, as the pipeline reads it), a parquet file or a
    directory of parquet files."""
    from mlops.batch.inputs import input_format
    from mlops.core.artifacts import read_raw

    try:
        kind = input_format(path)
    except DataError as exc:
        raise DataError(str(exc).replace("--input", "--current")) from None
    if kind == "csv":
        return read_raw(path)
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet").to_table().to_pandas()


def load(path: Path, params: Params, model_labels: list[str] | None = None) -> Current:
    """The current data at ``path``, typed for the model of ``params`` (its own params); a
    classifier's target is encoded as the model's classes (``model_labels``) are."""
    from mlops.stages.prepare import typed_features

    features = params.features.used
    if records.is_records(path):
        raw, source = records.read(path, features), "records"
    else:
        raw, source = read_table(path), "table"
    missing = [name for name in features if name not in raw.columns]
    if missing:
        raise DataError(
            f"--current {path}: no column {missing[0]!r} (a feature of the model's params)"
        )
    if params.data.id_column and params.data.id_column not in raw.columns:
        raw = raw.assign(**{params.data.id_column: pd.Series(range(len(raw))).astype(str)})
    try:
        frame = typed_features(raw, params)
    except DataError as exc:
        raise DataError(f"--current {path}: {exc}") from None
    target = params.data.target
    labelled = target in raw.columns and raw[target].notna().any()
    if labelled:
        text = raw[target].astype("string").str.strip()
        target_text = text.mask(text == "")
        frame[TARGET] = encode_target(target_text, params, model_labels or [], f"--current {path}")
        frame.attrs[LABELS] = list(model_labels or [])
    return Current(
        frame=frame.reset_index(drop=True),
        source=source,
        labelled=bool(labelled),
        versions=records.versions(raw),
    )


def encode_target(target: pd.Series, params: Params, labels: list[str], where: str) -> np.ndarray:
    """The target as the model's training encoded it (missing outcomes stay NaN): binary, 1
    for ``data.positive_label``; multiclass, the class's index among the model's classes;
    regression, the number. A class the model never saw, or a number that is not one, is
    refused with the column named (and ``where``, e.g. the option and file)."""
    from mlops.tasks import task_of

    column, known = params.data.target, target.notna().to_numpy()
    values = np.full(len(target), np.nan)
    if not task_of(params).classification:
        numbers = pd.to_numeric(target, errors="coerce")
        bad = target.notna() & numbers.isna()
        if bad.any():
            raise DataError(
                f"{where}: column {column!r} has non-numeric value "
                f"{target[bad].iloc[0]!r}, the target of a regression"
            )
        return numbers.to_numpy(dtype="float64")
    present = target[known].astype(str)
    unknown = sorted(set(present) - set(labels))
    if unknown:
        raise DataError(
            f"{where}: column {column!r} has class {unknown[0]!r}, which the model "
            f"never saw (its classes: {', '.join(map(repr, labels))})"
        )
    if params.data.task == "binary":
        values[known] = (present == str(params.data.positive_label)).to_numpy(dtype=float)
    else:
        index = {label: i for i, label in enumerate(labels)}
        values[known] = present.map(index).to_numpy(dtype=float)
    return values
