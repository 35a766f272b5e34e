"""What a logged model records about where it came from and what it needs to load."""

from __future__ import annotations

from importlib import metadata

import pytest

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


def test_mlflows_requirement_checks_are_skipped_only_where_they_cannot_warn():
    """`requirements_from_here` skips MLflow's checks of a logged model's requirements against
    this environment while a model is logged, and puts them back after (an error included):
    the check, run for real on every family's `model_requirements`, finds no mismatch."""
    import mlflow.pyfunc
    from mlflow.utils import environment, requirements_utils

    real = requirements_utils.warn_dependency_requirement_mismatches
    callers = [environment, mlflow.pyfunc]  # what MLflow calls while it logs a model

    def each_is(check) -> bool:
        return all(m.warn_dependency_requirement_mismatches is check for m in callers)

    assert each_is(real)
    for model_type in MODEL_FAMILIES:
        for requirement in provenance.model_requirements(model_type):
            assert requirements_utils._check_requirement_satisfied(requirement) is None
    # and the check does find a requirement this environment does not meet
    assert requirements_utils._check_requirement_satisfied("pandas==0.0.1") is not None
    with provenance.requirements_from_here():
        assert each_is(provenance._no_check)
    assert each_is(real)
    with pytest.raises(RuntimeError), provenance.requirements_from_here():
        raise RuntimeError("log_model failed")
    assert each_is(real)
