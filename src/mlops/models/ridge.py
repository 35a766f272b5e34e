"""Ridge regression (scikit-learn): the fast linear baseline of a regression target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from mlops.models.context import BuildContext


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=1.0, ge=0.0, description="L2 regularisation strength.")


def build(params: Params, context: BuildContext) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=params.alpha, random_state=context.seed)
