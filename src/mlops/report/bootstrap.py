"""How sure a difference between two models is: a paired, stratified bootstrap, for the
metrics of any task (:mod:`mlops.tasks`).

Both models are scored on the same test rows. Each resample draws the rows of each stratum
(a classifier's classes; all rows for a regression) with replacement, so every resample keeps
the test split's class balance, and every metric is recomputed for both models on it; the
percentile interval of the candidate's minus the baseline's value is the difference's
confidence interval. Pairing (the same resampled rows for both models) removes the variation
the two models share, which is most of it.

It is vectorized: a resample is a vector of row counts (a multinomial draw per stratum), and
each task computes its metrics as weighted sums over the rows (or over the rows grouped by
distinct score for the ranking metrics) for a block of resamples at once. Time and memory grow
linearly with the test rows; the block size bounds the memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mlops.report.schema import IntervalDoc
from mlops.tasks import HIGHER_IS_BETTER, Task
from mlops.tasks.base import resample_counts

BETTER, WORSE, SAME = "better", "worse", "no detectable difference"
BLOCK_CELLS = 4_000_000  # resamples x rows per block (32 MB of float64 counts)


def verdict(metric: str, low: float, high: float) -> str:
    """``better`` / ``worse`` when the whole interval is on one side of 0, else ``SAME``."""
    if low > 0 or high < 0:
        improved = (low > 0) == HIGHER_IS_BETTER[metric]
        return BETTER if improved else WORSE
    return SAME


def paired(
    task: Task,
    y: Any,
    baseline: Any,
    candidate: Any,
    *,
    thresholds: tuple[float | None, float | None],
    resamples: int,
    confidence: float,
    seed: int,
    metrics: Mapping[str, float] | None = None,
) -> dict[str, IntervalDoc]:
    """The paired bootstrap interval of every metric's difference (candidate minus baseline).

    ``thresholds`` are the two models' own saved thresholds (baseline, candidate; None where
    the task has none). ``metrics`` optionally gives the full-split differences to report as
    ``delta`` (else recomputed). A metric undefined on a split (one class only) is left out.
    """
    y = np.asarray(y)
    y = y.astype(int) if task.classification else y.astype("float64")
    base_s = np.asarray(baseline, dtype="float64")
    cand_s = np.asarray(candidate, dtype="float64")
    full = np.ones((1, len(y)))
    cand_full = task.samples(y, cand_s, thresholds[1], full)
    base_full = task.samples(y, base_s, thresholds[0], full)
    point = {m: float(cand_full[m][0] - base_full[m][0]) for m in cand_full}
    if metrics is not None:
        point.update({k: float(v) for k, v in metrics.items() if k in point})
    strata = task.strata(y)
    block = max(1, BLOCK_CELLS // max(len(y), 1))
    differences: dict[str, list[np.ndarray]] = {m: [] for m in point}
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        counts = resample_counts(strata, len(y), size, seed + start)
        cand = task.samples(y, cand_s, thresholds[1], counts)
        base = task.samples(y, base_s, thresholds[0], counts)
        for m in differences:
            differences[m].append(cand[m] - base[m])
    alpha = (1 - confidence) / 2
    out: dict[str, IntervalDoc] = {}
    for m, parts in differences.items():
        values = np.concatenate(parts)
        if not np.isfinite(point[m]) or not np.isfinite(values).all():
            continue
        low, high = (float(q) for q in np.quantile(values, [alpha, 1 - alpha]))
        out[m] = IntervalDoc(delta=point[m], low=low, high=high, verdict=verdict(m, low, high))
    return out
