"""Fixtures of the act scenarios: a fresh origin repository (a copy of the shared trained
repository whose origin is the GitHub API double, with the actions cache its run on main would
have left), and a real `mlflow server`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..act_harness import make_origin, seed_cache


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
