"""What every model family's ``build`` receives besides its own hyper-parameters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildContext:
    seed: int
    device: str  # "cpu" or "cuda", already resolved from train.device
    task: str = "binary"  # data.task: the estimator is a classifier unless it is "regression"

    @property
    def regression(self) -> bool:
        return self.task == "regression"
