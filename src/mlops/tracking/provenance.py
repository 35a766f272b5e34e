"""Where a model came from: git commit, data version (from data.dvc), package versions."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from mlops.core.artifacts import DATA_DVC

# The packages whose versions decide what a model is and how it loads.
TRACKED_PACKAGES = (
    "mlops-churn",
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
