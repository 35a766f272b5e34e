"""What the monitored model learned from: the model, its params and its own training data.

For the registry's champion (or a registered version), everything comes from its tags: the
model file (checked against ``model_md5``), params.yaml and the data at its ``git_commit``
(the data through DVC, and data.dvc there must record the tag's ``data_md5``), so the
comparison is with what that model was trained on, never with whatever main holds now. For an
unregistered model file (no registry: a local run, or the zero-configuration workflows before
the first deploy), it is this checkout's params.yaml and data.path, and the report says so.

The test split is the one the model was evaluated on: the same ``prepare`` split, with that
revision's seed and test size.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from mlops.core.artifacts import DATA_DVC, MODEL, PARAMS, read_raw
from mlops.core.errors import ArtifactError, ConfigError, DataError

if TYPE_CHECKING:
    from mlops.core.config import Params


@dataclass
class Reference:
    """The monitored model and the data it was trained and tested on."""

    model: Any  # mlops.models.fitted.FittedModel
    params: Params  # the model's own params.yaml (features, task, split)
    label: str  # how the report names the model: "champion v3", "models/model.joblib"
    version: str
    commit: str | None
    data_md5: str | None
    data: str  # where its training data came from, in words
    frame: pd.DataFrame  # the cleaned training data (all rows, as prepare.clean gives them)
    test: pd.DataFrame  # its test split
    registered_metrics: dict[str, float]


def _git_show(rev: str, path: Path) -> str:
    proc = subprocess.run(
        ["git", "show", f"{rev}:{path.as_posix()}"], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["git show failed"])[-1]
        raise ArtifactError(
            f"{path} at the model's commit {rev[:12]} cannot be read ({last}); the monitor "
            "needs the repository's history (actions/checkout with fetch-depth: 0)"
        )
    return proc.stdout


def params_at(rev: str) -> Params:
    """params.yaml as it was at ``rev``, validated."""
    from mlops.core.config import parse_params

    try:
        return parse_params(yaml.safe_load(_git_show(rev, PARAMS)), Path(f"{PARAMS}@{rev[:12]}"))
    except ConfigError as exc:
        raise ConfigError(f"the model's own params: {exc}") from None


def recorded_data_md5(rev: str) -> str | None:
    doc = yaml.safe_load(_git_show(rev, DATA_DVC)) or {}
    outs = doc.get("outs") or [{}]
    md5 = outs[0].get("md5")
    return str(md5) if md5 else None


def _split(raw: pd.DataFrame, params: Params, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from mlops.stages.prepare import clean, split

    try:
        frame = clean(raw, params)
    except DataError as exc:
        raise DataError(f"the model's training data {label}: {exc}") from None
    return frame, split(frame, params).test


def from_registry(params: Params, spec: str, workdir: Path) -> Reference:
    """The champion (``spec`` ``champion``) or a version number, with its training data."""
    import joblib

    from mlops.stages.drift import read_at_revision
    from mlops.tracking.registry import fetch_version

    facts = fetch_version(params, None if spec == "champion" else spec, workdir)
    version, commit = str(facts["version"]), facts.get("git_commit")
    label = f"champion v{version}" if spec == "champion" else f"v{version}"
    if not commit:
        raise ArtifactError(f"{label} has no git_commit tag: its training data cannot be found")
    own = params_at(commit)
    recorded, tagged = recorded_data_md5(commit), facts.get("data_md5")
    if tagged and recorded != tagged:
        raise ArtifactError(
            f"{label}: {DATA_DVC} at {commit[:12]} records data md5 {recorded}, but the model's "
            f"data_md5 tag says {tagged}: its training data cannot be told apart"
        )
    raw = read_at_revision(own.data.path, commit)
    where = f"{own.data.path}@{commit[:12]}"
    frame, test = _split(raw, own, where)
    return Reference(
        model=joblib.load(facts["path"]),
        params=own,
        label=label,
        version=version,
        commit=commit,
        data_md5=tagged,
        data=f"{where} (data md5 {tagged}, through DVC)",
        frame=frame,
        test=test,
        registered_metrics=dict(facts.get("metrics") or {}),
    )


def from_file(params: Params, model_path: Path, reference: Path | None = None) -> Reference:
    """An unregistered model file, trained on this checkout's data (or ``reference``)."""
    import joblib

    from mlops.tracking.provenance import data_version

    if not model_path.is_file():
        raise ArtifactError(f"--model: {model_path} does not exist; run `dvc repro` first")
    source = reference or params.data.path
    frame, test = _split(read_raw(source), params, str(source))
    md5 = data_version().get("md5") if reference is None else None
    return Reference(
        model=joblib.load(model_path),
        params=params,
        label=str(model_path),
        version="unregistered",
        commit=None,
        data_md5=md5,
        data=f"{source} (this checkout{', data md5 ' + str(md5) if md5 else ''})",
        frame=frame,
        test=test,
        registered_metrics={},
    )


def resolve(params: Params, spec: str, workdir: Path, reference: Path | None = None) -> Reference:
    """``spec``: ``champion``, a version number, ``auto`` (the champion, else the pipeline's
    model file) or a ``.joblib`` path; ``reference`` replaces a file model's training data."""
    from mlops.tracking.registry import NotRegisteredError

    if spec == "champion" or spec.isdigit():
        if reference is not None:
            raise DataError(
                "--reference is for a model file: a registered model is compared with its own "
                "training data"
            )
        return from_registry(params, spec, workdir)
    if spec == "auto":
        if reference is None:
            try:
                return from_registry(params, "champion", workdir)
            except NotRegisteredError:
                pass
        return from_file(params, MODEL, reference)
    if not spec.endswith(".joblib"):
        raise DataError(
            f"--model: {spec!r} is neither 'champion', 'auto', a version number nor a .joblib file"
        )
    return from_file(params, Path(spec), reference)
