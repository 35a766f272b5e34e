"""Fixtures of the act scenarios: a fresh origin repository (a copy of this checkout whose
origin is the GitHub API double) and a real `mlflow server`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..act_harness import make_origin


@pytest.fixture
def origin(tmp_path, github_api) -> Path:
    return make_origin(tmp_path / "repo", github_api)


@pytest.fixture
def mlflow_url(tmp_path) -> Iterator[str]:
    from ..servers import mlflow_server

    with mlflow_server(tmp_path / "mlflow") as url:
        yield url
