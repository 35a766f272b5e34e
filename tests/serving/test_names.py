"""The serving names follow params.yaml's mlflow.registered_model into every bentoml call
(bentoml is replaced by a script that records its arguments: no Docker here)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from mlops.serving import bento
from mlops.serving.names import from_params

FAKE = """#!/bin/sh
printf '%s\\n' "$@" > "$0.$1.args"
[ "$1" = build ] && echo "__tag__:{bento}:v1"
exit 0
"""


def fake_bentoml(tmp_path: Path, bento_name: str) -> Path:
    path = tmp_path / "bentoml"
    path.write_text(FAKE.format(bento=bento_name))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def args(fake: Path, command: str) -> list[str]:
    return Path(f"{fake}.{command}.args").read_text().splitlines()


def test_build_export_and_containerize_use_the_registered_models_name(params, tmp_path):
    p = params.model_copy(
        update={"mlflow": params.mlflow.model_copy(update={"registered_model": "price-model"})}
    )
    names = from_params(p)
    assert (names.model_tag, names.bento, names.service) == (
        "price-model:latest", "price-model-service", "price_model_service"
    )  # fmt: skip
    fake = fake_bentoml(tmp_path, names.bento)
    archive = tmp_path / "export" / "service.bento"
    assert bento.build_bento(p, export=archive, bentoml=str(fake)) == "price-model-service:v1"
    built = args(fake, "build")
    assert built[built.index("--name") + 1] == "price-model-service"
    assert built[built.index("--arg") + 1] == "model=price-model"
    assert args(fake, "export") == ["export", "price-model-service:v1", str(archive.resolve())]
    bento.containerize(p, archive, "ghcr.io/o/r:sha", bentoml=str(fake))
    image = args(fake, "containerize")
    assert image[:4] == ["containerize", "price-model-service:latest", "--image-tag",
                         "ghcr.io/o/r:sha"]  # fmt: skip
    assert "--opt=label=registered_model=price-model" in image
    assert json.dumps(image).count("price-model-service") == 2
