"""The MLflow model registry: register, promote and roll back, with aliases only.

* ``register`` adds the pipeline's model (the DVC output ``models/model.joblib``, checked against
  ``dvc.lock``) as a new version of ``mlflow.registered_model``, tagged with its provenance, and
  points alias ``challenger`` at it. Registering the same git commit and model hash again returns
  the existing version.
* ``promote`` moves alias ``champion`` to the challenger when it passes the gate's minimums and
  is not worse than the current champion on the gate's metrics (beyond ``gate.max_regression``)
  and, given ``mlops online-report``'s evidence (required with ``gate.online.required``), not
  worse on live traffic beyond ``gate.online.max_regression``; the version it replaced is
  recorded in the tag ``previous_champion``.
* ``rollback`` moves ``champion`` back to the previous champion, or to ``--to VERSION``.

Stages are never used (deprecated in MLflow). The tracking/registry URI is the one
``mlops.tracking.runs`` resolves; credentials come from MLflow's standard environment variables.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import (
    DVC_LOCK,
    METRICS,
    MODEL,
    VALIDATION,
    feature_frame,
    file_md5,
    git_commit,
    locked_md5,
    read_metrics,
    read_prepared,
)
from mlops.core.errors import ArtifactError, MlopsError
from mlops.tracking import provenance

if TYPE_CHECKING:
    from mlops.core.config import Params

CHALLENGER = "challenger"
CHAMPION = "champion"


class RegistryError(MlopsError):
    """The registry refused an operation (nothing was changed)."""


class NotPromotedError(RegistryError):
    """The challenger did not pass the gate against the champion (nothing was changed)."""


class AwaitingEvidenceError(NotPromotedError):
    """The challenger passed the gate, but ``gate.online.required`` asks for the comparison on
    live traffic before it is promoted (nothing was changed)."""


class NotRegisteredError(MlopsError):
    """The registry has no such version or alias (or no such registered model)."""


@dataclass
class Candidate:
    """Everything registered with a model version."""

    model_path: Path
    model_md5: str
    git_commit: str
    data_md5: str
    params_hash: str
    metrics: dict[str, float]
    validation: str
    model_type: str

    def tags(self) -> dict[str, str]:
        tags = {
            "git_commit": self.git_commit,
            "model_md5": self.model_md5,
            "data_md5": self.data_md5,
            "params_hash": self.params_hash,
            "validation": self.validation,
            "model_type": self.model_type,
        }
        tags.update({f"metric.{k}": repr(float(v)) for k, v in self.metrics.items()})
        return tags


@dataclass
class RegistryResult:
    action: str
    model: str
    version: str
    aliases: list[str] = field(default_factory=list)
    detail: str = ""
    previous: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def params_hash(params: Params) -> str:
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def collect_candidate(
    params: Params,
    *,
    model_path: Path = MODEL,
    metrics_path: Path = METRICS,
    validation_path: Path = VALIDATION,
    lock: Path = DVC_LOCK,
    commit: str | None = None,
) -> Candidate:
    """Read the pipeline's outputs and check they are the ones dvc.lock records."""
    if not model_path.exists():
        raise ArtifactError(f"{model_path} does not exist; run `dvc repro` (or `dvc pull`) first")
    flat = read_metrics(metrics_path)
    md5 = file_md5(model_path)
    locked = locked_md5(model_path, lock)
    if locked is None:
        raise ArtifactError(f"{lock} records no output {model_path}; run `dvc repro` first")
    if locked != md5:
        raise RegistryError(
            f"{model_path} (md5 {md5}) is not the model {lock} records (md5 {locked}); "
            "run `dvc repro` (or `dvc checkout`) so the registered model is the pipeline's"
        )
    validation = "not run"
    if validation_path.exists():
        report = json.loads(validation_path.read_text(encoding="utf-8"))
        if not report.get("success"):
            raise RegistryError(
                f"{validation_path} says the data failed validation; a model trained on it "
                "is not registered"
            )
        validation = "passed"
    commit = commit or git_commit()
    if not commit:
        raise RegistryError("no git commit found: register from a git checkout of the repository")
    return Candidate(
        model_path=model_path,
        model_md5=md5,
        git_commit=commit,
        data_md5=str(provenance.data_version().get("md5")),
        params_hash=params_hash(params),
        metrics=flat,
        validation=validation,
        model_type=params.model_type,
    )


def client(params: Params) -> Any:
    from mlops.tracking.runs import configure_mlflow

    mlflow = configure_mlflow(params)
    return mlflow.MlflowClient()


def _ensure_registered_model(mlclient: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlclient.get_registered_model(name)
    except MlflowException:
        try:
            mlclient.create_registered_model(
                name, description=f"{name}: registered by `mlops register` (see its data.task)"
            )
        except MlflowException as exc:  # created concurrently by another registration
            if "already exists" not in str(exc).lower() and "RESOURCE_ALREADY_EXISTS" not in str(
                exc
            ):
                raise


def find_version(mlclient: Any, name: str, commit: str, model_md5: str) -> Any | None:
    found = mlclient.search_model_versions(
        f"name = '{name}' and tags.git_commit = '{commit}' and tags.model_md5 = '{model_md5}'"
    )
    if not found:
        return None
    return min(found, key=lambda v: int(v.version))


def _aliases(mlclient: Any, name: str, version: str) -> list[str]:
    return sorted(mlclient.get_model_version(name, version).aliases or [])


def register(
    params: Params, candidate: Candidate, *, skip_unchanged: bool = False
) -> RegistryResult:
    """Register ``candidate`` (idempotent by git commit + model md5) and alias it challenger.

    ``skip_unchanged`` (a retrain): a model byte-identical to a registered version, whatever
    its commit, is not registered again (action ``unchanged``): nothing changed."""
    mlclient = client(params)
    name = params.mlflow.registered_model
    _ensure_registered_model(mlclient, name)
    existing = find_version(mlclient, name, candidate.git_commit, candidate.model_md5)
    if existing is not None:
        return RegistryResult(
            action="exists",
            model=name,
            version=str(existing.version),
            aliases=_aliases(mlclient, name, existing.version),
            detail=f"commit {candidate.git_commit[:12]} is already version {existing.version}",
        )
    same = mlclient.search_model_versions(
        f"name = '{name}' and tags.model_md5 = '{candidate.model_md5}'"
    )
    if skip_unchanged and same:
        first = min(same, key=lambda v: int(v.version))
        return RegistryResult(
            action="unchanged",
            model=name,
            version=str(first.version),
            aliases=_aliases(mlclient, name, first.version),
            detail=f"nothing changed: the retrained model is byte-identical to version "
            f"{first.version} (model md5 {candidate.model_md5}, data md5 {candidate.data_md5}); "
            "nothing registered",
        )
    version = _log_and_register(params, candidate)
    mlclient.set_registered_model_alias(name, CHALLENGER, version)
    return RegistryResult(
        action="registered",
        model=name,
        version=version,
        aliases=_aliases(mlclient, name, version),
        detail=f"commit {candidate.git_commit[:12]}, model md5 {candidate.model_md5}",
    )


def _log_and_register(params: Params, candidate: Candidate) -> str:
    import mlflow
    from mlflow.models import infer_signature

    from mlops.tracking import pyfunc

    mlflow.set_experiment(params.mlflow.experiment)
    example = feature_frame(read_prepared("test"), params).head(5)
    import joblib

    model = joblib.load(candidate.model_path)
    import pandas as pd

    output = pd.DataFrame(model.outputs(example))
    tags = candidate.tags()
    import warnings

    with (
        warnings.catch_warnings(),
        mlflow.start_run(run_name=f"register-{candidate.git_commit[:8]}"),
    ):
        # MLflow's advice about type hints and integer columns does not apply to this wrapper.
        warnings.simplefilter("ignore", UserWarning)
        mlflow.set_tags(tags)
        mlflow.log_metrics(candidate.metrics)
        with provenance.requirements_from_here():
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=Path(pyfunc.__file__),
                artifacts={pyfunc.ARTIFACT_KEY: str(candidate.model_path)},
                signature=infer_signature(example, output),
                input_example=example,
                pip_requirements=provenance.model_requirements(candidate.model_type),
            )
    registered = mlflow.register_model(info.model_uri, params.mlflow.registered_model, tags=tags)
    return str(registered.version)


def fetch_version(params: Params, version: str | None, dest: Path) -> dict[str, Any]:
    """Download a version's model.joblib (``champion``'s when ``version`` is None) into ``dest``,
    check it against its ``model_md5`` tag, and return its registry facts (``path`` the file)."""
    from mlflow.exceptions import MlflowException

    mlclient = client(params)
    name = params.mlflow.registered_model
    try:
        mv = (
            mlclient.get_model_version(name, version)
            if version
            else mlclient.get_model_version_by_alias(name, CHAMPION)
        )
    except MlflowException:
        what = f"version {version!r}" if version else f"alias {CHAMPION!r}"
        raise NotRegisteredError(
            f"model {name!r} has no {what} in the registry; run `mlops register` and "
            "`mlops promote` first"
        ) from None
    import mlflow.artifacts

    local = Path(
        mlflow.artifacts.download_artifacts(f"models:/{name}/{mv.version}", dst_path=str(dest))
    )
    found = sorted(local.rglob(MODEL.name))
    if not found:
        raise MlopsError(f"model {name!r} v{mv.version} holds no {MODEL.name}")
    tags = dict(mv.tags or {})
    if tags.get("model_md5") and file_md5(found[0]) != tags["model_md5"]:
        raise MlopsError(
            f"model {name!r} v{mv.version}: its {MODEL.name} does not match its model_md5 tag"
        )
    return {
        "path": found[0],
        "registered_model": name,
        "version": str(mv.version),
        "git_commit": tags.get("git_commit"),
        "data_md5": tags.get("data_md5"),
        "model_md5": tags.get("model_md5"),
        "model_type": tags.get("model_type"),
        "metrics": {
            k.removeprefix("metric."): float(v) for k, v in tags.items() if k.startswith("metric.")
        },
    }


def _metric(version: Any, name: str) -> float | None:
    value = (version.tags or {}).get(f"metric.{name}")
    return None if value is None else float(value)


def _gate_failures(params: Params, challenger: Any, champion: Any | None) -> list[str]:
    from mlops.report import gate

    metrics = set(params.gate.minimums) | set(params.gate.max_regression)
    results = gate.evaluate(
        params.gate,
        {m: _metric(challenger, m) for m in metrics},
        None if champion is None else {m: _metric(champion, m) for m in metrics},
        candidate_label=f"version {challenger.version}",
        baseline_label="champion" if champion is None else f"champion v{champion.version}",
    )
    return gate.failures(results)


def _by_alias(mlclient: Any, name: str, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return mlclient.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def challenger_version(params: Params, champion: str) -> str | None:
    """The ``challenger`` alias's version when it is a candidate beside ``champion`` (the
    champion's version): another version, and not the one the champion was rolled back from
    (that one has had its turn). None when there is none."""
    mlclient = client(params)
    found = _by_alias(mlclient, params.mlflow.registered_model, CHALLENGER)
    if found is None or str(found.version) == champion:
        return None
    current = mlclient.get_model_version(params.mlflow.registered_model, champion)
    if (current.tags or {}).get("rolled_back_from") == str(found.version):
        return None
    return str(found.version)


def _online_failures(
    params: Params, evidence: Path | None, challenger: Any, champion: Any | None
) -> tuple[list[str], str]:
    """The online rules (``gate.online``) over ``evidence`` (an ``online-report.json``): the
    failures, and a sentence naming the evidence for the promotion's summary."""
    from mlops.core.config import GateConfig
    from mlops.monitoring.online_report import NO_OUTCOMES, TOO_FEW, OnlineReportJson
    from mlops.report import gate

    rules = params.gate.online
    if evidence is None:
        return [], ""
    doc = OnlineReportJson.read(evidence)
    name = params.mlflow.registered_model
    wanted = (name, str(challenger.version), None if champion is None else str(champion.version))
    found = (doc.registered_model, doc.challenger_version, doc.champion_version)
    if found[:2] != wanted[:2] or (champion is not None and found[2] != wanted[2]):
        return [
            f"{evidence} compares {found[0]} v{found[1]} (challenger) with v{found[2]} "
            f"(champion), not the registry's {name} v{wanted[1]} with "
            f"v{wanted[2] or '-'}: it is not the evidence for this promotion"
        ], ""
    out = doc.outcomes
    if doc.verdict in (NO_OUTCOMES, TOO_FEW) or out is None:
        return [f"{evidence}: {doc.verdict}: {'; '.join(doc.reasons) or 'no --labels given'}"], ""
    online = GateConfig(max_regression=rules.max_regression, regression_rule=rules.regression_rule)
    results = gate.evaluate(
        online,
        {m: out.metrics[m].challenger for m in out.metrics},
        {m: out.metrics[m].champion for m in out.metrics},
        candidate_label=f"version {challenger.version} (live)",
        baseline_label=f"champion v{doc.champion_version} (live)",
        intervals={m: (d.difference.low, d.difference.high) for m, d in out.metrics.items()},
        confidence=out.confidence,
    )
    missing = [f"{m}: not in {evidence}" for m in rules.max_regression if m not in out.metrics]
    named = (
        f"on the evidence of {evidence}: {out.labelled:,} live rows with outcomes, "
        f"{doc.verdict} ({'; '.join(doc.reasons)})"
    )
    return gate.failures(results) + missing, named


def promote(params: Params, evidence: Path | None = None) -> RegistryResult:
    """Move ``champion`` to the challenger if it passes the gate and is not worse; with
    ``evidence`` (``mlops online-report``'s JSON), also if it passes ``gate.online``'s rules
    on live traffic (required when ``gate.online.required``)."""
    mlclient = client(params)
    name = params.mlflow.registered_model
    challenger = _by_alias(mlclient, name, CHALLENGER)
    if challenger is None:
        raise RegistryError(f"model {name!r} has no {CHALLENGER!r} version; run `mlops register`")
    champion = _by_alias(mlclient, name, CHAMPION)
    if champion is not None and champion.version == challenger.version:
        return RegistryResult(
            action="unchanged",
            model=name,
            version=str(challenger.version),
            aliases=_aliases(mlclient, name, challenger.version),
            detail=f"version {challenger.version} is already the champion",
        )
    failures = _gate_failures(params, challenger, champion)
    if failures:
        against = (
            "it misses the gate's minimums (there is no champion)"
            if champion is None
            else f"it lost to champion v{champion.version}, which stays the champion"
        )
        raise NotPromotedError(
            f"version {challenger.version} not promoted: {against}: " + "; ".join(failures)
        )
    if evidence is None and params.gate.online.required and champion is not None:
        raise AwaitingEvidenceError(
            f"version {challenger.version} passed the gate against champion v{champion.version} "
            "on the test split, and stays the challenger: gate.online.required asks for the "
            "comparison on live traffic first (serve both in shadow or canary mode, then "
            "`mlops online-report` and `mlops promote --evidence online-report.json`)"
        )
    online, named = _online_failures(params, evidence, challenger, champion)
    if online:
        against = "" if champion is None else f" against champion v{champion.version}"
        raise NotPromotedError(
            f"version {challenger.version} not promoted: on live traffic it does not pass "
            f"gate.online{against}, which stays as it is: " + "; ".join(online)
        )
    previous = None if champion is None else str(champion.version)
    if previous is not None:
        mlclient.set_model_version_tag(name, challenger.version, "previous_champion", previous)
    mlclient.set_registered_model_alias(name, CHAMPION, challenger.version)
    return RegistryResult(
        action="promoted",
        model=name,
        version=str(challenger.version),
        aliases=_aliases(mlclient, name, challenger.version),
        previous=previous,
        detail=f"champion: v{previous or '-'} -> v{challenger.version}"
        + (f", {named}" if named else ""),
    )


def rollback(params: Params, to: str | None = None) -> RegistryResult:
    """Move ``champion`` back to the previous champion (or to version ``to``)."""
    from mlflow.exceptions import MlflowException

    mlclient = client(params)
    name = params.mlflow.registered_model
    champion = _by_alias(mlclient, name, CHAMPION)
    if to is None:
        if champion is None:
            raise RegistryError(f"model {name!r} has no {CHAMPION!r} version to roll back")
        to = (champion.tags or {}).get("previous_champion")
        if not to:
            raise RegistryError(
                f"champion v{champion.version} has no previous champion; "
                "name the version with --to VERSION"
            )
    try:
        target = mlclient.get_model_version(name, str(to))
    except MlflowException:
        raise RegistryError(f"model {name!r} has no version {to!r}") from None
    if champion is not None and str(champion.version) == str(target.version):
        raise RegistryError(f"version {target.version} is already the champion")
    mlclient.set_registered_model_alias(name, CHAMPION, target.version)
    if champion is not None:
        mlclient.set_model_version_tag(name, target.version, "rolled_back_from", champion.version)
    return RegistryResult(
        action="rolled back",
        model=name,
        version=str(target.version),
        aliases=_aliases(mlclient, name, target.version),
        previous=None if champion is None else str(champion.version),
        detail=f"champion: v{champion.version if champion else '-'} -> v{target.version}",
    )
