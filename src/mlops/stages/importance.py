"""Permutation importance, as ``evaluate`` records it and the PR report shows it.

The figures are scikit-learn's ``permutation_importance`` (its seeds, its shuffles: one seed
drawn from ``seed``, every column shuffled ``repeats`` times from a fresh generator of that
seed, each shuffle applied to the previous one) with the task's headline metric on the model's
scores (``Task.importance_score``). What differs is the cost: scikit-learn predicts once per
column and repeat (a pipeline's fixed per-call cost, 95 calls on the demo's 19 columns), here
the shuffled copies are stacked and predicted in a few calls of at most ``BATCH_ROWS`` rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mlops.core.artifacts import TARGET, feature_frame

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from mlops.core.config import Params
    from mlops.tasks.base import Task

# Rows predicted per call: the stacked copies are cut into batches of whole copies under this.
BATCH_ROWS = 200_000


def recorded_importance(model: Any, test: Any, params: Params) -> list[dict[str, float | str]]:
    """The permutation importance ``evaluate`` records for ``model`` on a prepared test split,
    with params.yaml's ``evaluate`` settings (the PR report uses the same)."""
    from mlops.tasks import task_of

    settings = params.evaluate
    return permutation_importance(
        model,
        feature_frame(test, params),
        test[TARGET].to_numpy(),
        repeats=settings.importance_repeats,
        seed=settings.seed,
        max_rows=settings.importance_max_rows,
        task=task_of(params),
    )


def permutation_importance(
    model: Any,
    x: pd.DataFrame,
    y: Any,
    *,
    repeats: int,
    seed: int,
    max_rows: int | None = None,
    task: Task | None = None,
    batch_rows: int = BATCH_ROWS,
) -> list[dict[str, float | str]]:
    """Drop in the task's headline metric (binary: test ROC-AUC) when one raw input column is
    shuffled (mean and std over repeats), for a fitted model (or pipeline) ``model``.

    With ``max_rows``, on a seeded random sample of that many rows (stratified by ``y`` for a
    classifier), so its cost (repeats x columns predictions) stops growing with the test split.
    """
    from mlops.tasks.binary import BINARY

    task = task or BINARY
    pipeline = getattr(model, "pipeline", model)  # a FittedModel: its scikit-learn pipeline
    y = np.asarray(y)
    if max_rows is not None and len(x) > max_rows:
        from sklearn.model_selection import train_test_split

        stratify = y if task.classification else None
        x, _, y, _ = train_test_split(
            x, y, train_size=max_rows, random_state=seed, stratify=stratify
        )
        y = np.asarray(y)
    baseline = task.importance_score(y, task.scores(pipeline, x))
    drops = np.empty((x.shape[1], repeats))
    copies = [(column, repeat) for column in range(x.shape[1]) for repeat in range(repeats)]
    orders = _shuffles(len(x), x.shape[1], repeats, seed)
    per_call = max(1, batch_rows // max(len(x), 1))
    for start in range(0, len(copies), per_call):
        chunk = copies[start : start + per_call]
        stacked = _stacked(x, [(column, orders[column][repeat]) for column, repeat in chunk])
        scores = task.scores(pipeline, stacked)
        for at, (column, repeat) in enumerate(chunk):
            part = scores[at * len(x) : (at + 1) * len(x)]
            drops[column, repeat] = baseline - task.importance_score(y, part)
    rows: list[dict[str, float | str]] = [
        {
            "feature": str(name),
            "importance": round(float(mean), 6),
            "std": round(float(std), 6),
        }
        for name, mean, std in zip(x.columns, drops.mean(axis=1), drops.std(axis=1), strict=True)
    ]
    return sorted(rows, key=lambda r: (-float(r["importance"]), str(r["feature"])))


def _shuffles(rows: int, columns: int, repeats: int, seed: int) -> list[list[np.ndarray]]:
    """Per column, per repeat, the row order of the shuffled column: scikit-learn's draws (one
    seed from ``seed``; per column a generator of that seed shuffling one index array in
    place, each repeat shuffling the column as the previous repeat left it)."""
    from sklearn.utils import check_random_state

    column_seed = check_random_state(seed).randint(np.iinfo(np.int32).max + 1)
    out = []
    for _ in range(columns):
        state = check_random_state(column_seed)
        index = np.arange(rows)
        order = np.arange(rows)
        mine = []
        for _ in range(repeats):
            state.shuffle(index)
            order = order[index]
            mine.append(order)
        out.append(mine)
    return out


def _stacked(x: pd.DataFrame, shuffled: list[tuple[int, np.ndarray]]) -> pd.DataFrame:
    """Copies of ``x`` one under another, in copy k column ``c_k`` in row order ``o_k``."""
    import pandas as pd

    def copies() -> Iterator[pd.DataFrame]:
        for column, order in shuffled:
            copy = x.copy()
            name = x.columns[column]
            values = x[name].iloc[order]  # its dtype kept (a category stays one)
            values.index = x.index
            copy[name] = values
            yield copy

    return pd.concat(list(copies()), ignore_index=True)
