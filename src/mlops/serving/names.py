"""The serving names, all derived from ``params.yaml``'s ``mlflow.registered_model``.

One place for them: the BentoML models of the champion and of the challenger (``mlops
bento-import``), the bento and its service (``mlops bento-build``), the exported archive and
the image (the workflows). The bento carries the model's name as a bento argument, so the
service finds its model in a container where there is no ``params.yaml``; in a checkout
(``bentoml serve`` during development) it reads it from ``params.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops.core.config import Params

MODEL_ARGUMENT = "model"  # the bento argument holding the BentoML model's name
ARCHIVE = Path("build/export/service.bento")  # `mlops bento-build --export`, the publish job


@dataclass(frozen=True)
class ServingNames:
    model: str  # the BentoML model (= the registered model's name)

    @property
    def model_tag(self) -> str:
        return f"{self.model}:latest"

    @property
    def challenger(self) -> str:
        """The BentoML model holding the registry's challenger (``mlops bento-import``)."""
        return f"{self.model}-challenger"

    @property
    def bento(self) -> str:
        return f"{self.model}-service"

    @property
    def bento_tag(self) -> str:
        return f"{self.bento}:latest"

    @property
    def service(self) -> str:
        return self.bento.replace("-", "_").replace(".", "_")


def from_params(params: Params) -> ServingNames:
    return ServingNames(model=params.mlflow.registered_model)
