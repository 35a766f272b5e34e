"""What ``mlops init`` infers from a table read as text: each column's role (with the reason
in words), the task, the positive label, the id column and the segment column.

Roles follow the expectation suite's profiler (:func:`mlops.stages.suite.profile`), so the
suite ``init`` writes agrees with the params it writes: numbers are ``numeric``; text with at
most :data:`~mlops.stages.suite.MAX_CATEGORIES` distinct values is ``categorical``; a column
with one value, no values, or free text (more distinct values) is ``dropped``; text (or whole
numbers) unique on every row is the ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from mlops.core.artifacts import TARGET
from mlops.core.errors import DataError
from mlops.stages.suite import MAX_CATEGORIES

Task = Literal["binary", "multiclass", "regression"]
MAX_CLASSES = 20  # a numeric target with at most this many whole values may be classes
AUTO = "auto"


@dataclass(frozen=True)
class Role:
    column: str
    role: Literal["target", "id", "numeric", "categorical", "dropped"]
    reason: str


@dataclass(frozen=True)
class Inferred:
    roles: list[Role]
    task: Task
    positive_label: str | None
    id_column: str | None
    segment_column: str | None
    rows: int

    def columns(self, role: str) -> list[str]:
        return [r.column for r in self.roles if r.role == role]


def _text(raw: pd.DataFrame, column: str) -> pd.Series:
    text = raw[column].astype("string").str.strip()
    return text.mask(text == "")


def _check_names(raw: pd.DataFrame) -> None:
    for column in raw.columns:
        name = str(column)
        if not name.strip() or name.startswith("Unnamed: "):
            raise DataError(f"column {name!r}: the header has a blank column name; name it")
        if name != name.strip():
            raise DataError(f"column {name!r}: the name starts or ends with blanks; remove them")
        if name == TARGET:
            raise DataError(
                f"column {name!r}: the pipeline's prepared splits use this name for the label; "
                "rename the column"
            )


def infer_task(values: pd.Series, column: str, task: str = AUTO) -> Task:
    """The task a target column's (non-missing, stripped) values call for, or refuse ``task``
    when they cannot serve it."""
    distinct = values.unique()
    numbers = pd.to_numeric(values, errors="coerce")
    numeric = bool(numbers.notna().all())
    whole = numeric and bool((numbers == numbers.round()).all())
    if len(distinct) < 2:
        raise DataError(
            f"column {column!r} (--target) has one value only ({distinct[0]!r}): nothing to learn"
        )
    if task == AUTO:
        if len(distinct) == 2:
            return "binary"
        if not numeric or (whole and len(distinct) <= MAX_CLASSES):
            return "multiclass"
        return "regression"
    if task == "binary" and len(distinct) != 2:
        raise DataError(
            f"column {column!r} (--target) has {len(distinct)} distinct values; --task binary "
            "needs exactly 2"
        )
    if task == "regression" and not numeric:
        sample = values[numbers.isna()].iloc[0]
        raise DataError(
            f"column {column!r} (--target): --task regression needs numbers; found {sample!r}"
        )
    return task  # type: ignore[return-value]


def _blanks(text: pd.Series) -> str:
    return f", {int(text.isna().sum())} blank" if text.isna().any() else ""


def _id_candidate(text: pd.Series) -> bool:
    if text.isna().any() or not text.is_unique:
        return False
    numbers = pd.to_numeric(text, errors="coerce")
    return bool(numbers.isna().all() or (numbers == numbers.round()).all())


def infer(
    raw: pd.DataFrame,
    target: str,
    *,
    task: str = AUTO,
    positive_label: str | None = None,
    id_column: str | None = AUTO,
) -> Inferred:
    """Every column's role; ``id_column`` AUTO (infer), None (none) or a column name."""
    _check_names(raw)
    if target not in raw.columns:
        raise DataError(f"--target: no column {target!r}; the columns are {list(raw.columns)}")
    labels = _text(raw, target)
    if labels.isna().any():
        raise DataError(
            f"column {target!r} (--target) has {int(labels.isna().sum())} missing value(s); "
            "drop those rows or fill them"
        )
    chosen = infer_task(labels, target, task)
    positive = None
    if chosen == "binary":
        counts = labels.value_counts()
        if positive_label is None:
            positive = str(counts.sort_values(kind="stable").index[0])  # the minority class
        elif positive_label not in counts.index:
            raise DataError(
                f"--positive-label {positive_label!r} does not occur in column {target!r}; "
                f"its values are {sorted(counts.index)}"
            )
        else:
            positive = positive_label
    elif positive_label is not None:
        raise DataError(f"--positive-label belongs to a binary target; {target!r} is {chosen}")
    if id_column not in (AUTO, None):
        if id_column not in raw.columns or id_column == target:
            raise DataError(f"--id-column: no column {id_column!r} besides the target")
        ids = _text(raw, str(id_column))
        if ids.isna().any() or not ids.is_unique:
            dup = ids[ids.duplicated()].iloc[0] if ids.duplicated().any() else None
            what = f"duplicate id {dup!r}" if dup is not None else "missing values"
            raise DataError(f"column {id_column!r} (--id-column) has {what}")

    roles = [
        Role(
            target,
            "target",
            f"{chosen} target" + (f", positive label {positive!r}" if positive else ""),
        )
    ]
    found_id = None if id_column == AUTO else id_column
    for column in (str(c) for c in raw.columns if c != target):
        text = _text(raw, column)
        values = text.dropna()
        numbers = pd.to_numeric(values, errors="coerce")
        if column == id_column or (id_column == AUTO and found_id is None and _id_candidate(text)):
            found_id = column
            roles.append(Role(column, "id", "unique on every row: the row id, never a feature"))
        elif values.empty:
            roles.append(Role(column, "dropped", "no values (every cell blank)"))
        elif values.nunique() == 1:
            roles.append(Role(column, "dropped", f"one value only ({values.iloc[0]!r})"))
        elif numbers.notna().all():
            roles.append(Role(column, "numeric", f"numbers{_blanks(text)}"))
        elif values.nunique() <= MAX_CATEGORIES:
            roles.append(
                Role(column, "categorical", f"{values.nunique()} distinct values{_blanks(text)}")
            )
        else:
            roles.append(
                Role(
                    column,
                    "dropped",
                    f"free text ({values.nunique()} distinct values, more than {MAX_CATEGORIES})",
                )
            )
    inferred = Inferred(roles, chosen, positive, found_id, None, len(raw))
    if not inferred.columns("numeric") and not inferred.columns("categorical"):
        raise DataError(f"no feature columns besides {target!r}: every other column was dropped")
    return Inferred(roles, chosen, positive, found_id, _segment(raw, inferred), len(raw))


def _segment(raw: pd.DataFrame, inferred: Inferred) -> str | None:
    """The categorical column with the fewest values (2 to 12) whose rarest value still has
    rows enough to measure a metric on (at least 5%)."""
    best: tuple[int, str] | None = None
    for column in inferred.columns("categorical"):
        shares = _text(raw, column).value_counts(normalize=True)
        usable = 2 <= len(shares) <= 12 and shares.min() >= 0.05
        if usable and (best is None or len(shares) < best[0]):
            best = (len(shares), column)
    return best[1] if best else None
