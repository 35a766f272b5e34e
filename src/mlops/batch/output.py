"""The scores file: its columns, its summary, and how it is written (nothing half-written).

Both engines write the same columns: the id column (``data.id_column``), the task's outputs
(``mlops.tasks``: binary ``probability`` and ``label``, the class value at or above the saved
decision threshold; multiclass ``label`` and ``probability_<class>``; regression
``prediction``), ``model_version`` and ``model_md5``. They write to ``NAME.partial`` beside
the output, and :func:`finalize` renames it into place only when its row count equals the
input's, so a failure (bad input, a crash, a full disk) leaves no file that looks complete.

The summary's quantiles come from a fixed 10,000-bin histogram of the probabilities (binary) or
the predictions (regression, over the training target's range widened by half of it on each
side), which both engines fill the same way in memory that does not grow with the rows: each
quantile is the midpoint of its bin (for probabilities within 0.00005 of the exact value).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlops.tasks.base import LABEL, PREDICTION, PROBABILITY

MODEL_VERSION = "model_version"
MODEL_MD5 = "model_md5"
BINS = 10_000
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def partial_path(output: Path) -> Path:
    # Not hidden: Spark ignores a path whose name starts with "." or "_".
    return output.with_name(f"{output.name}.partial")


def summary_path(output: Path) -> Path:
    """``scores.parquet`` -> ``scores.summary.json`` (beside it)."""
    return output.with_name(f"{output.stem}.summary.json")


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def written_rows(path: Path) -> int:
    """Rows of the scores written to ``path``: a parquet file, or Spark's directory of them."""
    import pyarrow.dataset as ds

    return int(ds.dataset(path, format="parquet").count_rows())


def finalize(partial: Path, output: Path, input_rows: int, written_rows: int) -> None:
    """Rename the complete ``partial`` to ``output``, or remove it if rows went missing."""
    from mlops.core.errors import MlopsError

    if written_rows != input_rows:
        remove(partial)
        raise MlopsError(
            f"wrote {written_rows} scores for {input_rows} input rows; {output} not written"
        )
    if output.is_dir() and not output.is_symlink():  # a previous Spark output: swap it out
        old = output.with_name(f"{output.name}.old")
        remove(old)
        output.rename(old)
        partial.rename(output)
        remove(old)
    else:
        partial.replace(output)


def output_array(values: np.ndarray) -> Any:
    """An output column as arrow: labels as text, scores as float64."""
    import pyarrow as pa

    if values.dtype == object:
        return pa.array([str(v) for v in values], type=pa.string())
    return pa.array(np.asarray(values, dtype="float64"), type=pa.float64())


def bin_index(values: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Each value's histogram bin over [low, high] (values outside go to the end bins)."""
    scaled = (np.asarray(values, dtype="float64") - low) / (high - low) * BINS
    return np.clip(np.floor(scaled), 0, BINS - 1).astype(np.int64)


@dataclass
class Tally:
    """What the summary is made of, in memory that does not grow with the rows: the rows, the
    count of each label (a classifier), and the sum and histogram of the task's value column
    (binary ``probability``, regression ``prediction``; none for multiclass)."""

    value: str | None = PROBABILITY
    low: float = 0.0
    high: float = 1.0
    positive: str | None = None  # binary: the positive label
    rows: int = 0
    label_counts: dict[str, int] = field(default_factory=dict)
    value_sum: float = 0.0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(BINS, dtype=np.int64))

    @classmethod
    def of(cls, model: Any) -> Tally:
        """The tally of a model's outputs (``mlops.models.fitted.FittedModel``)."""
        fields = model.output_fields()
        if PROBABILITY in fields:
            return cls(PROBABILITY, 0.0, 1.0, positive=model.labels_[1])
        if PREDICTION in fields:
            low, high = getattr(model, "target_range_", (0.0, 1.0))
            margin = (high - low) / 2 or 1.0  # predictions may leave the training range
            return cls(PREDICTION, low - margin, high + margin)
        return cls(None)

    def add(self, outputs: dict[str, np.ndarray]) -> None:
        first = next(iter(outputs.values()))
        self.rows += len(first)
        if LABEL in outputs:
            labels, counts = np.unique(np.asarray(outputs[LABEL]).astype(str), return_counts=True)
            for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
                self.label_counts[label] = self.label_counts.get(label, 0) + int(count)
        if self.value is not None:
            values = np.asarray(outputs[self.value], dtype="float64")
            self.value_sum += float(values.sum())
            index = bin_index(values, self.low, self.high)
            self.histogram += np.bincount(index, minlength=BINS)

    def quantiles(self) -> dict[str, float]:
        if not self.rows:
            return {}
        cumulative = np.cumsum(self.histogram)
        width = (self.high - self.low) / BINS
        digits = max(5, int(np.ceil(-np.log10(width))) + 1) if width < 1 else 5
        out = {}
        for q in QUANTILES:
            index = int(np.searchsorted(cumulative, q * self.rows, side="left"))
            middle = self.low + (min(index, BINS - 1) + 0.5) * width
            out[f"p{round(q * 100):02d}"] = round(middle, digits)
        return out

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows}
        if self.label_counts:
            out["label_counts"] = dict(sorted(self.label_counts.items()))
        if self.positive is not None:
            positives = self.label_counts.get(self.positive, 0)
            out["positives"] = positives
            out["label_rate"] = round(positives / self.rows, 6) if self.rows else None
        if self.value is not None:
            mean = round(self.value_sum / self.rows, 6) if self.rows else None
            out[f"mean_{self.value}"] = mean
            out[f"{self.value}_quantiles"] = self.quantiles()
        return out
