"""The scores file: its columns, its summary, and how it is written (nothing half-written).

Both engines write the same columns: the id column (``data.id_column``), ``probability``,
``label`` (1 at or above the model's saved decision threshold), ``model_version`` and
``model_md5``. They write to ``NAME.partial`` beside the output, and
:func:`finalize` renames it into place only when its row count equals the input's, so a
failure (bad input, a crash, a full disk) leaves no file that looks complete.

The summary's quantiles come from a fixed 10,000-bin histogram of the probabilities, which
both engines fill the same way in memory that does not grow with the rows: each quantile is
the midpoint of its bin, within 0.00005 of the exact value.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROBABILITY = "probability"
LABEL = "label"
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


def bin_index(proba: np.ndarray) -> np.ndarray:
    return np.minimum((proba * BINS).astype(np.int64), BINS - 1)


@dataclass
class Tally:
    """Rows, positive labels, the probability sum and histogram: what the summary is made of."""

    rows: int = 0
    positives: int = 0
    probability_sum: float = 0.0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(BINS, dtype=np.int64))

    def add(self, proba: np.ndarray, labels: np.ndarray) -> None:
        self.rows += len(proba)
        self.positives += int(labels.sum())
        self.probability_sum += float(proba.sum())
        self.histogram += np.bincount(bin_index(proba), minlength=BINS)

    def quantiles(self) -> dict[str, float]:
        if not self.rows:
            return {}
        cumulative = np.cumsum(self.histogram)
        out = {}
        for q in QUANTILES:
            index = int(np.searchsorted(cumulative, q * self.rows, side="left"))
            out[f"p{round(q * 100):02d}"] = round((min(index, BINS - 1) + 0.5) / BINS, 5)
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "label_rate": round(self.positives / self.rows, 6) if self.rows else None,
            "mean_probability": round(self.probability_sum / self.rows, 6) if self.rows else None,
            "probability_quantiles": self.quantiles(),
        }
