"""What a logged model records about where it came from and what it needs to load."""

from __future__ import annotations

from importlib import metadata

from mlops.models import MODEL_FAMILIES
from mlops.tracking import provenance


def test_model_requirements_pin_the_runtime_and_only_the_familys_own_library():
    for model_type, family in MODEL_FAMILIES.items():
        pinned = provenance.model_requirements(model_type)
        names = [line.split("==")[0] for line in pinned]
        assert all(line.count("==") == 1 for line in pinned), pinned
        assert {"mlflow", "scikit-learn", "numpy", "pandas", "skops"} <= set(names)
        for line in pinned:
            name, version = line.split("==")
            assert metadata.version(name) == version  # this environment's (uv.lock's) version
        libraries = provenance.extra_libraries(family.extra)
        assert set(libraries) <= set(names), model_type
        others = {"tensorflow", "xgboost", "pyspark"} - set(libraries)
        assert not others & set(names), (model_type, names)
    assert provenance.extra_libraries("xgboost") == ["xgboost"]
    assert provenance.extra_libraries("keras") == ["tensorflow"]
    assert provenance.extra_libraries(None) == []
