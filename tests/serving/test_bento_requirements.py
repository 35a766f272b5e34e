"""The bento's requirements hold the champion's model family only: TensorFlow only for a
Keras champion, XGBoost only for an XGBoost one, Spark never (uv export of the real uv.lock,
offline)."""

from __future__ import annotations

import re

import pytest

from mlops.core.errors import MlopsError
from mlops.serving.bento import export_requirements

from ..conftest import uv_binary


def _packages(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", " ", "-")):
            names.add(re.split(r"[=<>;\[ ]", line, maxsplit=1)[0].lower())
    return names


@pytest.mark.parametrize(
    ("model_type", "present", "absent"),
    [
        ("logreg", set(), {"tensorflow", "keras", "xgboost", "pyspark"}),
        ("rf", set(), {"tensorflow", "keras", "xgboost", "pyspark"}),
        ("xgboost", {"xgboost"}, {"tensorflow", "keras", "pyspark"}),
        ("keras", {"tensorflow"}, {"xgboost", "pyspark"}),
        # a champion and a challenger of two families: both families' libraries
        ("logreg,xgboost", {"xgboost"}, {"tensorflow", "keras", "pyspark"}),
    ],
)
def test_requirements_follow_the_champions_model_family(tmp_path, model_type, present, absent):
    dest = tmp_path / "requirements.txt"
    export_requirements(model_type.split(","), dest, uv_binary())
    packages = _packages(dest)
    assert {"bentoml", "scikit-learn", "httptools", "uvloop"} <= packages
    assert present <= packages, present - packages
    assert not absent & packages, absent & packages


def test_an_unknown_model_type_is_named(tmp_path):
    with pytest.raises(MlopsError, match="'svm'"):
        export_requirements(["svm"], tmp_path / "requirements.txt", uv_binary())
