"""Fixtures of the act scenarios: a fresh origin repository (a copy of this checkout whose
origin is the GitHub API double), a real `mlflow server`, and uv's wheel for the jobs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .. import act_harness
from ..act_harness import make_origin
from ..conftest import built_once, run


@pytest.fixture(scope="session")
def uv_wheel(tmp_path_factory) -> Path:
    """uv's wheel, fetched once for the session (every worker; the act modules use it): each
    job's `make` installs it from this directory (act_harness.PIP_WHEELS) instead of
    downloading it again."""

    def fetch(directory: Path) -> None:
        python = Path(sys.base_prefix) / "bin" / "python3"  # the virtualenv's has no pip
        run(
            [str(python), "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--dest", str(directory), f"uv=={act_harness.uv_version()}"],
            directory,
        )  # fmt: skip

    act_harness.PIP_WHEELS = built_once(tmp_path_factory, "uv-wheel", fetch)
    return act_harness.PIP_WHEELS


@pytest.fixture
def origin(tmp_path, github_api) -> Path:
    return make_origin(tmp_path / "repo", github_api)


@pytest.fixture
def mlflow_url(tmp_path) -> Iterator[str]:
    from ..servers import mlflow_server

    with mlflow_server(tmp_path / "mlflow") as url:
        yield url
