"""The typed results passed from one step to the next: what ``train`` fitted
(:class:`TrainResult`, logged by ``tracking``) and what ``evaluate`` measured
(:class:`Evaluation`, drawn by ``plots`` and compared by the report). They live here, not in
the stage that makes them, so the modules that read them import no stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops.tasks.binary import THRESHOLD

if TYPE_CHECKING:
    from mlops.models.fitted import FittedModel


@dataclass
class TrainResult:
    model: FittedModel  # the fitted pipeline, its labels and (binary) decision threshold
    device: str
    train_metrics: dict[str, float]
    validation_metrics: dict[str, float]
    curves: dict[str, list[float]] = field(default_factory=dict)  # per iteration / epoch
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pipeline(self) -> Any:
        return self.model.pipeline

    @property
    def threshold(self) -> float | None:
        return self.model.threshold_


@dataclass
class Evaluation:
    """A model scored on a test split (at its threshold, for binary): metrics and the task's
    plot data (``Task.plot_data``: binary roc, precision_recall, confusion, calibration)."""

    metrics: dict[str, float]
    plots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    threshold: float | None = THRESHOLD
    task: str = "binary"
    labels: list[str] = field(default_factory=list)

    @property
    def roc(self) -> list[dict[str, Any]]:
        return self.plots.get("roc", [])

    @property
    def precision_recall(self) -> list[dict[str, Any]]:
        return self.plots.get("precision_recall", [])

    @property
    def confusion(self) -> list[dict[str, Any]]:
        return self.plots.get("confusion", [])

    @property
    def calibration(self) -> list[dict[str, Any]]:
        return self.plots.get("calibration", [])
