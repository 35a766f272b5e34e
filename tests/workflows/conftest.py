"""Fixtures of the act scenarios: a fresh origin repository (a copy of the shared trained
repository whose origin is the GitHub API double, with the actions cache its run on main would
have left), a real `mlflow server`, and uv's wheel for the jobs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .. import act_harness
from ..act_harness import make_origin, seed_cache
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
def origin(tmp_path, github_api, trained) -> Path:
    """main: the demo's pipeline run (the shared trained copy), and the DVC cache its run on
    main left in the actions cache, which a pull request's job restores."""
    repo = make_origin(tmp_path / "repo", github_api, source=trained)
    seed_cache(repo)
    return repo


@pytest.fixture
def mlflow_url(tmp_path) -> Iterator[str]:
    from ..servers import mlflow_server

    with mlflow_server(tmp_path / "mlflow") as url:
        yield url
