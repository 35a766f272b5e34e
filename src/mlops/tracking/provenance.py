"""Where a model came from: git commit, data version (from data.dvc), package versions."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from mlops.core.artifacts import DATA_DVC

# This project's distribution (pyproject.toml's name), whose extras hold the model families'
# libraries.
DISTRIBUTION = "mlops-template"
# The packages whose versions decide what a model is and how it loads.
TRACKED_PACKAGES = (
    DISTRIBUTION,
    "scikit-learn",
    "xgboost",
    "pandas",
    "numpy",
    "pyarrow",
    "mlflow",
    "dvc",
    "tensorflow",
)


def git_dirty(cwd: Path | None = None) -> bool | None:
    """Whether tracked files differ from HEAD (None outside a git repository)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.strip())


def data_version(dvc_file: Path = DATA_DVC) -> dict[str, Any]:
    """The md5 and path recorded in data.dvc (empty if the file does not exist)."""
    if not dvc_file.exists():
        return {}
    doc = yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
    outs = doc.get("outs") or []
    if not outs:
        return {}
    out = outs[0]
    return {
        "md5": out.get("md5"),
        "path": out.get("path"),
        "size": out.get("size"),
        "nfiles": out.get("nfiles"),
    }


def package_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


# What loading a logged model needs besides its family's own library (its extra). MLflow is
# given these, pinned to this environment's versions (installed from uv.lock), instead of
# inferring them: inference imports the model in a subprocess (seconds per logged model) and
# then lists whatever that process happened to import (pytest, rich, ...).
MODEL_RUNTIME = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "joblib", "skops")


def extra_libraries(extra: str | None) -> list[str]:
    """The distributions a pyproject extra of this project installs (none for ``None``)."""
    if extra is None:
        return []
    from packaging.requirements import Requirement

    found = []
    for line in metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None:
            continue
        # Installed with this extra and not without it (a core dependency is not the family's).
        if marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
            found.append(requirement.name)
    return found


def model_requirements(model_type: str) -> list[str]:
    """``name==version`` of every package a logged ``model_type`` model needs to load."""
    from mlops.models import MODEL_FAMILIES

    names = [*MODEL_RUNTIME, *extra_libraries(MODEL_FAMILIES[model_type].extra)]
    pinned = []
    for name in names:
        try:
            pinned.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pinned


# Where MLflow checks a model's requirements against the running environment while it logs one:
# when it writes them, and when it loads the saved model back to check its input example.
_REQUIREMENT_CHECKS = ("mlflow.utils.environment", "mlflow.pyfunc")


def _no_check(model_requirements: list[str]) -> None:
    return None


@contextlib.contextmanager
def requirements_from_here() -> Iterator[None]:
    """While a model is logged with :func:`model_requirements` as its ``pip_requirements``:
    MLflow's checks of them against this environment are skipped.

    They are this environment's own versions, so the checks cannot find a mismatch; the first
    maps every installed distribution's files to its modules (``packages_distributions``, about
    0.5 s of CPU per logged model) only to warn of one. Loading a model elsewhere (a bento, a
    batch job) still checks its requirements against that environment."""
    import importlib

    name = "warn_dependency_requirement_mismatches"
    modules = [importlib.import_module(module) for module in _REQUIREMENT_CHECKS]
    checks = [getattr(module, name) for module in modules]
    for module in modules:
        setattr(module, name, _no_check)
    try:
        yield
    finally:
        for module, check in zip(modules, checks, strict=True):
            setattr(module, name, check)
