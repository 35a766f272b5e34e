"""The typed results passed from one step to the next: what ``train`` fitted
(:class:`TrainResult`, logged by ``tracking``) and what ``evaluate`` measured
(:class:`Evaluation`, drawn by ``plots`` and compared by the report). They live here, not in
the stage that makes them, so the modules that read them import no stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops.tasks.binary import THRESHOLD

if TYPE_CHECKING:
    from mlops.threshold import ThresholdedModel


@dataclass
class TrainResult:
    model: ThresholdedModel  # the fitted pipeline and its decision threshold
    device: str
    train_metrics: dict[str, float]
    validation_metrics: dict[str, float]
    curves: dict[str, list[float]] = field(default_factory=dict)  # per iteration / epoch
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pipeline(self) -> Any:
        return self.model.pipeline

    @property
    def threshold(self) -> float:
        return self.model.threshold_


@dataclass
class Evaluation:
    """A model scored on a test split at its threshold: metrics and the curves behind them."""

    metrics: dict[str, float]
    roc: list[dict[str, float]]
    precision_recall: list[dict[str, float]]
    confusion: list[dict[str, int]]
    calibration: list[dict[str, float]] = field(default_factory=list)
    threshold: float = THRESHOLD
