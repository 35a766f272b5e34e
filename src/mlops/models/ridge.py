"""Ridge regression (scikit-learn): the fast linear baseline of a regression target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from mlops.models.space import Dimension

if TYPE_CHECKING:
    from mlops.models.context import BuildContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=1.0, ge=0.0, description="L2 regularisation strength.")


# The default search space of `mlops tune` (tune.space.ridge in params.yaml replaces it).
SPACE = {"alpha": Dimension(low=1e-3, high=1000.0, log=True)}


def build(params: Params, context: BuildContext) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=params.alpha, random_state=context.seed)
