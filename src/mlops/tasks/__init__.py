"""The task a team's target calls for, as one concept: ``data.task`` in params.yaml.

Each task (``binary``, ``multiclass``, ``regression``) is one module here and says, in one
place, what differs between them so far: its metrics (names, direction, the headline one), the
metrics on a test split and, vectorized, on bootstrap resamples of it (the PR report's
intervals), how the resamples are stratified, and the gate's defaults. The stages ask the task,
never ``if task == ...``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops.tasks.base import Task
from mlops.tasks.binary import BINARY
from mlops.tasks.multiclass import MULTICLASS
from mlops.tasks.regression import REGRESSION

if TYPE_CHECKING:
    from mlops.core.config import Params

TASKS: dict[str, Task] = {t.name: t for t in (BINARY, MULTICLASS, REGRESSION)}
# Every task's metrics: True when higher is better (a name means the same in every task).
HIGHER_IS_BETTER: dict[str, bool] = {
    name: better for task in TASKS.values() for name, better in task.higher_is_better.items()
}

__all__ = ["HIGHER_IS_BETTER", "TASKS", "Task", "task_of"]


def task_of(params: Params) -> Task:
    return TASKS[params.data.task]
