"""Random forest (scikit-learn): a robust non-linear baseline that needs no feature scaling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlops.models.space import Dimension

if TYPE_CHECKING:
    from mlops.models.context import BuildContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_estimators: int = Field(default=300, ge=1, le=10_000)
    max_depth: int | None = Field(default=10, ge=1, le=100)
    min_samples_leaf: int = Field(default=5, ge=1)
    # Features tried per split: "sqrt", "log2" or a fraction in (0, 1].
    max_features: Literal["sqrt", "log2"] | Annotated[float, Field(gt=0.0, le=1.0)] = "sqrt"
    class_weight: Literal["balanced", "balanced_subsample"] | None = None


# The default search space of `mlops tune` (tune.space.rf in params.yaml replaces it).
SPACE = {
    "n_estimators": Dimension(low=100, high=600, step=50),
    "max_depth": Dimension(low=3, high=30),
    "min_samples_leaf": Dimension(low=1, high=50, log=True),
    "max_features": Dimension(choices=["sqrt", "log2", 0.3, 0.6]),
    "class_weight": Dimension(choices=[None, "balanced"]),
}


def build(params: Params, context: BuildContext) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    common: dict[str, Any] = {
        "n_estimators": params.n_estimators,
        "max_depth": params.max_depth,
        "min_samples_leaf": params.min_samples_leaf,
        "max_features": params.max_features,
        "random_state": context.seed,
        "n_jobs": 1,  # deterministic and polite on a shared runner; trees are small
    }
    if context.regression:
        return RandomForestRegressor(**common)
    return RandomForestClassifier(class_weight=params.class_weight, **common)
