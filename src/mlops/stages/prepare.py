"""The ``prepare`` stage: read the raw CSV, clean the types, split train/test.

``clean`` and ``split`` are pure functions (DataFrame in, DataFrame out); ``run`` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mlops.core.artifacts import (
    LABELS,
    PREPARED_DIR,
    PREPARED_SUMMARY,
    TARGET,
    TEST_SPLIT,
    TRAIN_SPLIT,
    read_raw,
    write_json,
)
from mlops.core.errors import DataError
from mlops.tasks import task_of

if TYPE_CHECKING:
    from mlops.core.config import Params


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame


def _numeric(column: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):  # parquet input (batch scoring): typed already
        return column.astype("float64")
    stripped = column.str.strip()
    stripped = stripped.mask(stripped == "")
    values = pd.to_numeric(stripped, errors="coerce")
    bad = stripped.notna() & values.isna()
    if bad.any():
        samples = ", ".join(repr(v) for v in stripped[bad].unique()[:3])
        raise DataError(
            f"column {name!r} is listed in features.numeric but has {int(bad.sum())} "
            f"non-numeric value(s), e.g. {samples}"
        )
    return values.astype("float64")


def clean(raw: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Check the columns against params.yaml and give each its type.

    Numeric features become float64 (blank cells become missing values), categorical ones
    strings, and the target a column named ``target`` as the task encodes it (binary: 1 for
    ``data.positive_label``, else 0; multiclass: the class's index among the sorted labels;
    regression: the number). The labels are in ``frame.attrs["labels"]``.
    """
    data, features = params.data, params.features
    expected = [data.target, *features.used]
    if data.id_column:
        expected.insert(0, data.id_column)
    missing = [c for c in expected if c not in raw.columns]
    if missing:
        raise DataError(
            f"column {missing[0]!r} is named in params.yaml but missing from {data.path}"
            + (f" (also missing: {', '.join(map(repr, missing[1:]))})" if missing[1:] else "")
        )
    known = set(expected) | set(features.dropped)
    unknown = [c for c in raw.columns if c not in known]
    if unknown:
        raise DataError(
            f"column {unknown[0]!r} in {data.path} is not listed in features.numeric, "
            "features.categorical or features.dropped; list it (or drop it) in params.yaml"
        )

    text = raw[data.target].astype("string").str.strip()
    encoded = task_of(params).encode(text.mask(text == ""), data.target, data.positive_label)

    if data.id_column:
        ids = raw[data.id_column]
        if ids.duplicated().any():
            dup = ids[ids.duplicated()].iloc[0]
            raise DataError(f"column {data.id_column!r} (data.id_column) has duplicate id {dup!r}")
    out = typed_features(raw, params)
    out[TARGET] = encoded.values
    out.attrs[LABELS] = encoded.labels
    return out.reset_index(drop=True)


def typed_features(raw: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The id column (text) and the features, typed as the model was trained on them: numeric
    ones float64, categorical ones stripped strings (blank cells missing in both). Batch scoring
    (``mlops predict``) types its input with this too, so it scores what training saw."""
    data, features = params.data, params.features
    out = pd.DataFrame(index=raw.index)
    if data.id_column:
        out[data.id_column] = raw[data.id_column].astype("string")
    for name in features.numeric:
        out[name] = _numeric(raw[name], name)
    for name in features.categorical:
        text = raw[name].astype("string").str.strip()
        out[name] = text.mask(text == "")  # a cell of blanks is a missing value too
    return out


def split(frame: pd.DataFrame, params: Params) -> Split:
    """Seeded train/test split, stratified by class for a classifier (same input and params
    give the same split)."""
    from sklearn.model_selection import train_test_split

    classification = task_of(params).classification
    counts = frame[TARGET].value_counts()
    if classification and counts.min() < 2:
        labels = list(frame.attrs.get(LABELS) or [])
        named = {labels[int(i)]: n for i, n in zip(counts.index, counts.tolist(), strict=True)}
        raise DataError(
            f"column {params.data.target!r} (data.target) has too few rows of one class to "
            f"stratify: {named}"
        )
    train, test = train_test_split(
        frame,
        test_size=params.data.test_size,
        random_state=params.data.seed,
        stratify=frame[TARGET] if classification else None,
    )
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    for part in (train, test):
        part.attrs[LABELS] = list(frame.attrs.get(LABELS, []))
    return Split(train=train, test=test)


def run(params: Params, out_dir: Path = PREPARED_DIR) -> Split:
    """CLI wrapper: raw CSV -> the train and test splits and their summary (core.artifacts)."""
    frame = clean(read_raw(params.data.path), params)
    result = split(frame, params)
    task, labels = task_of(params), frame.attrs[LABELS]
    out_dir.mkdir(parents=True, exist_ok=True)
    result.train.to_parquet(out_dir / TRAIN_SPLIT.name, index=False)
    result.test.to_parquet(out_dir / TEST_SPLIT.name, index=False)
    summary = {
        "rows": len(frame),
        "train_rows": len(result.train),
        "test_rows": len(result.test),
        "task": task.name,
        LABELS: labels,
        "target": task.summarise_target(frame[TARGET].to_numpy(), labels),
        "missing_values": {k: int(v) for k, v in frame.isna().sum().items() if v},
    }
    write_json(out_dir / PREPARED_SUMMARY.name, summary)
    print(
        f"prepare: {summary['rows']} rows -> train {summary['train_rows']}, "
        f"test {summary['test_rows']} ({task.target_summary_name} "
        f"{task.describe_summary(summary['target'])})"
    )
    return result
