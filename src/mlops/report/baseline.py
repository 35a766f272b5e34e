"""The PR report's baseline: the model to compare this PR's with.

The model on ``main`` (``--base-rev``) is reproduced in a ``git worktree`` of that revision
through DVC: restored from the shared DVC cache when it holds that model, pulled from the DVC
remote, or trained with ``dvc repro train`` with that revision's own code. With an MLflow
tracking server configured, or the production registry store restored (``mlops registry
restore``, zero configuration), the registry's ``@champion`` is the baseline instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from mlops.core.artifacts import (
    DATA_DVC,
    DVC_LOCK,
    MODEL,
    PARAMS,
    file_md5,
    git_commit,
    locked_md5,
    read_raw,
)
from mlops.core.errors import MlopsError
from mlops.tracking import provenance

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params


class BaselineError(MlopsError):
    """The baseline model could not be reproduced or loaded."""


@dataclass
class Baseline:
    kind: Literal["main", "champion"]  # a git revision through DVC, or the MLflow registry
    label: str  # how the report names it: "main", "champion v3"
    commit: str | None
    model: Any  # ThresholdedModel
    features: list[str]  # the model's input columns
    model_type: str
    how: str  # how the model was obtained (restored from cache, retrained, registry)
    params: dict[str, Any] | None = None  # its params.yaml (None for the champion)
    raw: pd.DataFrame | None = None  # its raw data (None for the champion)
    data_md5: str | None = None


# --- baseline -----------------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def resolve_base_rev(base_rev: str | None) -> str:
    """``base_rev`` or, by default, ``main`` (``origin/main`` where there is no local main)."""
    candidates = [base_rev] if base_rev else ["main", "origin/main"]
    for rev in candidates:
        if _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode == 0:
            return rev
    raise BaselineError(
        f"--base-rev: git revision {candidates[0]!r} not found"
        + ("" if base_rev else " (nor 'origin/main'); fetch it or pass --base-rev")
    )


def _stage_env(worktree: Path) -> dict[str, str]:
    """The baseline's stages run its own code (src/ first on PYTHONPATH) and log nowhere shared."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(worktree / "src")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{worktree / 'mlflow.db'}"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def _dvc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        env=_stage_env(cwd),
        capture_output=True,
        text=True,
        check=False,
    )


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {proc.returncode}"


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``rev`` sharing this checkout's DVC cache; removed after."""
    parent = Path(tempfile.mkdtemp(prefix="mlops-baseline-"))
    path = parent / "repo"
    added = _git("worktree", "add", "--detach", "--quiet", str(path), rev)
    if added.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise BaselineError(f"git worktree add {rev}: {_last_line(added)}")
    try:
        cache = subprocess.run(
            [sys.executable, "-m", "dvc", "cache", "dir"],
            capture_output=True,
            text=True,
            check=False,
        )
        if cache.returncode == 0 and cache.stdout.strip():
            _dvc(["config", "--local", "cache.dir", cache.stdout.strip()], path)
        yield path
    finally:
        _git("worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        _git("worktree", "prune")


def reproduce_model(path: Path) -> str:
    """Bring the model file of the worktree at ``path`` to what its dvc.lock records.

    Order: this checkout's own DVC cache (``dvc checkout``), else ``dvc repro train`` (its
    run-cache may still restore it). Never the DVC remote: any job holding its credentials (a
    PR's included) can write an object there under main's model md5, and the model file is a
    pickle, loaded just after. Returns how it was obtained.
    """
    model = path / MODEL
    pulled = _dvc(["pull", "--quiet", str(DATA_DVC)], path)
    if pulled.returncode != 0:
        raise BaselineError(f"dvc pull {DATA_DVC} at the baseline: {_last_line(pulled)}")
    locked = locked_md5(MODEL, path / DVC_LOCK)
    if locked is not None:
        done = _dvc(["checkout", "--quiet", str(MODEL)], path).returncode == 0
        if done and model.exists() and file_md5(model) == locked:
            return "restored from the DVC cache"
    repro = _dvc(["repro", "train"], path)
    if repro.returncode != 0:
        raise BaselineError(f"dvc repro train at the baseline: {_last_line(repro)}")
    if not model.exists():
        raise BaselineError(f"dvc repro train at the baseline produced no {MODEL}")
    return "reproduced with `dvc repro train`"


def _load_model(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling code from another revision fails in many ways
        raise BaselineError(f"{path.name}: cannot be loaded by this code: {exc}") from None


FULL_SHA = re.compile(r"[0-9a-f]{40}")


def rev_label(rev: str, name: str | None = None) -> str:
    """How the report names a git baseline: ``name`` (the PR's base branch, e.g. ``main``)
    when given, else the revision itself, a commit SHA shortened (the SHA is shown beside)."""
    if name:
        return name
    return rev[:12] if FULL_SHA.fullmatch(rev) else rev


def baseline_from_rev(rev: str, name: str | None = None) -> Baseline:
    with worktree(rev) as path:
        commit = git_commit(path) or None
        try:
            base_params = yaml.safe_load((path / PARAMS).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise BaselineError(f"{PARAMS} at {rev}: cannot be read: {exc}") from None
        how = reproduce_model(path)
        model = _load_model(path / MODEL)
        raw_path = path / str(base_params["data"]["path"])
        raw = read_raw(raw_path) if raw_path.exists() else None
        features = base_params.get("features") or {}
        return Baseline(
            kind="main",
            label=rev_label(rev, name),
            commit=commit,
            model=model,
            features=[*features.get("numeric", []), *features.get("categorical", [])],
            model_type=str((base_params.get("model") or {}).get("type")),
            how=how,
            params=base_params,
            raw=raw,
            data_md5=provenance.data_version(path / DATA_DVC).get("md5"),
        )


def baseline_from_champion(params: Params, *, required: bool) -> Baseline | None:
    """The registry's ``@champion`` (None when there is none and it is not ``required``)."""
    from mlops.tracking import registry

    mlclient = registry.client(params)
    name = params.mlflow.registered_model
    champion = registry._by_alias(mlclient, name, registry.CHAMPION)
    if champion is None:
        if required:
            raise BaselineError(f"model {name!r} has no {registry.CHAMPION!r} version")
        return None
    import mlflow

    target = Path(tempfile.mkdtemp(prefix="mlops-champion-"))
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}@{registry.CHAMPION}", dst_path=str(target)
            )
        )
        found = sorted(local.rglob("*.joblib"))
        if not found:
            raise BaselineError(f"champion v{champion.version}: no .joblib artifact in the model")
        model = _load_model(found[0])
    finally:
        shutil.rmtree(target, ignore_errors=True)
    tags = champion.tags or {}
    pipeline = getattr(model, "pipeline", model)
    features = [str(c) for c in getattr(pipeline, "feature_names_in_", params.features.used)]
    return Baseline(
        kind="champion",
        label=f"champion v{champion.version}",
        commit=tags.get("git_commit"),
        model=model,
        features=features,
        model_type=str(tags.get("model_type", "?")),
        how=f"MLflow registry {name}@{registry.CHAMPION}",
        data_md5=tags.get("data_md5"),
    )


def restored_chain() -> dict[str, Any] | None:
    """The production run whose registry store `mlops registry restore` put in this checkout
    (None when none was restored, e.g. a fresh chain or a fork's PR)."""
    from mlops.tracking import store

    restored = store.read_restored()
    if not restored or restored.get("fresh"):
        return None
    found = restored.get("continued_from")
    return found if isinstance(found, dict) else None


def choose_baseline(
    params: Params, mode: str, base_rev: str | None, base_name: str | None = None
) -> Baseline:
    """``auto``: the registry's champion where there is a registry that outlives a run (a
    tracking server, or the production store restored by `mlops registry restore`), else the
    model of ``base_rev``; ``champion`` / ``main`` force one of them."""
    from mlops.tracking.runs import server_configured

    server = server_configured(params)
    chain = None if server else restored_chain()
    if mode == "champion" or (mode == "auto" and (server or chain)):
        found = baseline_from_champion(params, required=mode == "champion")
        if found is not None:
            if chain is not None:
                workflow = Path(str(chain.get("workflow"))).name
                found.how += (
                    f" (the production registry store of run {chain.get('run_id')}, {workflow})"
                )
            return found
    return baseline_from_rev(resolve_base_rev(base_rev), base_name)
