"""Logistic regression (scikit-learn): the fast, well-calibrated baseline of a classifier
(binary, or multinomial for multiclass)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlops.models.space import Dimension

if TYPE_CHECKING:
    from mlops.models.context import BuildContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    C: float = Field(default=1.0, gt=0.0, description="Inverse regularisation strength.")
    max_iter: int = Field(default=1000, ge=10, le=100_000)
    class_weight: Literal["balanced"] | None = None


# The default search space of `mlops tune` (tune.space.logreg in params.yaml replaces it).
SPACE = {
    "C": Dimension(low=1e-3, high=100.0, log=True),
    "class_weight": Dimension(choices=[None, "balanced"]),
}


def build(params: Params, context: BuildContext) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=params.C,
        max_iter=params.max_iter,
        class_weight=params.class_weight,
        solver="lbfgs",
        random_state=context.seed,
    )
