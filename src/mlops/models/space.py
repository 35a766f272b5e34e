"""Search spaces of the hyper-parameters (``mlops tune``, ``tune.space`` in params.yaml).

A :class:`Dimension` is one hyper-parameter's range: ``low``/``high`` (``log`` for a scale
that spans orders of magnitude, ``step`` for a grid) or a list of ``choices``. Whether a
range is searched as integers or as real numbers follows from the family's ``Params`` field
(``max_depth: int`` is searched as integers). Each family module's ``SPACE`` is its default
search space; ``tune.space.<family>`` in params.yaml replaces it.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

PRIMITIVE = (type(None), bool, int, float, str)


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Dimension:
        ranged = self.low is not None or self.high is not None
        if self.choices is not None:
            if ranged or self.log or self.step is not None:
                raise ValueError("give either choices or low/high (log, step), not both")
            if not self.choices:
                raise ValueError("choices is empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high (or choices)")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"log needs a positive low (found {self.low:g})")
        if self.log and self.step is not None:
            raise ValueError("log and step cannot be combined")
        if self.step is not None and self.step <= 0:
            raise ValueError("step must be positive")
        return self

    def bounds(self) -> list[Any]:
        """The values whose validity stands for the whole dimension (ends, or every choice)."""
        if self.choices is not None:
            return list(self.choices)
        return [self.low, self.high]


def is_integer(field: Any) -> bool:
    """Whether a pydantic field holds integers (``int`` or ``int | None``)."""
    annotation = field.annotation
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else ()
    kinds = set(args or (annotation,)) - {type(None)}
    return kinds == {int}


def _encoded(choices: list[Any]) -> list[Any]:
    """Optuna's categorical values are None, bool, int, float or str: other choices (e.g. the
    layer sizes of a network, a list) are searched as their JSON text."""
    if all(isinstance(c, PRIMITIVE) for c in choices):
        return list(choices)
    return [json.dumps(c) for c in choices]


def rounded(value: float) -> float:
    """A searched real number to 4 significant digits: what params.yaml gets, and what the
    trial trains (so the score is the written value's)."""
    return float(f"{value:.4g}")


def suggest(trial: Any, name: str, dimension: Dimension, integer: bool) -> Any:
    """The trial's value of one hyper-parameter (optuna.Trial's suggest_*)."""
    if dimension.choices is not None:
        encoded = _encoded(dimension.choices)
        value = trial.suggest_categorical(name, encoded)
        return value if encoded == dimension.choices else json.loads(value)
    assert dimension.low is not None and dimension.high is not None
    if integer:
        return trial.suggest_int(
            name,
            int(dimension.low),
            int(dimension.high),
            step=int(dimension.step or 1),
            log=dimension.log,
        )
    value = trial.suggest_float(
        name, dimension.low, dimension.high, step=dimension.step, log=dimension.log
    )
    return value if dimension.step is not None else rounded(value)


def decoded(value: Any, dimension: Dimension) -> Any:
    """A trial's stored value as params.yaml holds it (JSON text back to the choice)."""
    if dimension.choices is not None:
        return value if _encoded(dimension.choices) == dimension.choices else json.loads(value)
    if isinstance(value, float) and dimension.step is None:
        return rounded(value)
    return value
