"""What every model family's ``build`` receives besides its own hyper-parameters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildContext:
    seed: int
    device: str  # "cpu" or "cuda", already resolved from train.device
