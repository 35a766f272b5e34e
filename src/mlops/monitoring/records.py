"""The service's traffic records, as BentoML's monitoring writes them, read back as a table.

``bentoml.monitor`` (BentoML's inference data collection) keeps, per monitor name, a schema
file and JSON-lines data files under its log directory::

    <log_path>/<monitor name>/schema/schema.<worker>.log   {"meta_data": ..., "columns": [...]}
    <log_path>/<monitor name>/data/data.<worker>.log       one row per line, plus timestamp,
                                                          request_id and trace_id

(rotated files keep the same name with a date suffix). The service writes its inputs with the
role ``feature`` (the id column too, when requests carry it), its outputs and the model
version with the role ``prediction`` (``mlops.serving.records``). Any of these paths is
accepted: the log directory, a monitor's directory, its ``data`` directory or one data file.
Shippers (Fluent Bit, Vector, Filebeat) forward exactly these files; ``mlops monitor
--current`` reads them as it reads a table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from mlops.core.errors import DataError

# The roles and types of bentoml.monitor's schema (BENTOML_MONITOR_ROLES / _TYPES).
FEATURE, PREDICTION = "feature", "prediction"
NUMERICAL, CATEGORICAL = "numerical", "categorical"
# What the service logs beside its outputs: the version that answered.
MODEL_VERSION = "model_version"
# ...and with a challenger (MLOPS_CHALLENGER_MODE shadow or canary, mlops.serving.challenger):
# which model answered (champion | challenger), the answer's latency, and the other model's
# outputs (SHADOW_PREFIX + each output), version and latency, scored off the response path
# (null when it failed or was shed).
ROUTE = "route"
LATENCY_MS = "latency_ms"
SHADOW_PREFIX = "shadow_"
SHADOW_VERSION = f"{SHADOW_PREFIX}{MODEL_VERSION}"
SHADOW_LATENCY_MS = f"{SHADOW_PREFIX}{LATENCY_MS}"
# The columns BentoML's default monitor adds to every row.
TIMESTAMP, REQUEST_ID, TRACE_ID = "timestamp", "request_id", "trace_id"
RESERVED = (TIMESTAMP, REQUEST_ID, TRACE_ID)
DATA_GLOB = "data.*.log*"


def data_files(path: Path) -> list[Path]:
    """The data files of the records at ``path`` (none when it holds no records)."""
    if path.is_file():
        return [path] if path.name.startswith("data.") and ".log" in path.name else []
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob(DATA_GLOB) if p.is_file() and p.parent.name == "data")


def is_records(path: Path) -> bool:
    """Whether ``path`` holds the service's traffic records (else it is a table)."""
    return bool(data_files(path))


def _rows(files: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)  # NaN is read too (the default monitor writes it)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{file}:{number}: not a JSON record: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise DataError(f"{file}:{number}: a record is a JSON object, not {row!r}")
                rows.append(row)
    return rows


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def read(path: Path, features: list[str]) -> pd.DataFrame:
    """The records at ``path`` as one frame: the ``features`` (strings and numbers as logged,
    missing values as None), the outputs, the model version and the timestamp.

    A record without one of the features is refused, naming the feature and the file: records
    of another model's service are not this model's traffic.
    """
    files = data_files(path)
    if not files:
        raise DataError(f"{path}: no traffic records (data/data.*.log files) found there")
    rows = _rows(files)
    if not rows:
        raise DataError(f"{path}: the traffic records hold no rows yet")
    frame = pd.DataFrame.from_records(rows)
    absent = [name for name in features if name not in frame.columns]
    if absent:
        raise DataError(
            f"{path}: the traffic records have no column {absent[0]!r} (a feature of "
            "params.yaml): are they another model's?"
        )
    for name in features:
        column = frame[name]
        numbers = column.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
        if (numbers | column.map(_missing)).all():  # logged as JSON numbers: a numeric feature
            frame[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:  # text (a category), missing values as None
            frame[name] = column.astype(object).where(~column.map(_missing), None)
    return frame


def versions(frame: pd.DataFrame) -> dict[str, int]:
    """How many recorded rows each model version answered (empty for a table)."""
    if MODEL_VERSION not in frame.columns:
        return {}
    counts = frame[MODEL_VERSION].astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.items()}
