"""The chain of MLflow stores that gives a zero-configuration repository a lasting registry.

Each production run (``deploy.yml``, ``retrain.yml``, ``rollback.yml``: one at a time, in the
concurrency group ``production``) restores the newest *trusted* store, continues it and, when
its registering job succeeds, uploads the new one as the ``mlflow-store`` artifact (step
:data:`STORE_STEP`). A store is code (the champion is a pickle that ``joblib.load`` runs), so an
artifact is restored only when the run that produced it is, according to GitHub's REST API:

* a run of this repository (not of a fork), of one of :data:`PRODUCTION_WORKFLOWS`,
* started by one of :data:`TRUSTED_EVENTS` on the production branch (``main``),
* whose registering job (the one with the step :data:`STORE_STEP`) succeeded, that step too,
* and whose artifact has not expired.

:func:`judge` applies these rules to one artifact (tested against recorded API payloads);
:func:`select` walks the artifacts newest first and says why it passed over each one.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mlops.ci.github import GitHub
from mlops.core.errors import MlopsError

if TYPE_CHECKING:
    from mlops.core.config import Params

ARTIFACT = "mlflow-store"  # the artifact's name (.github/actions/mlflow-store)
STORE_STEP = "Keep the MLflow registry store"  # the registering job's last step
PRODUCTION_WORKFLOWS = (
    ".github/workflows/deploy.yml",
    ".github/workflows/retrain.yml",
    ".github/workflows/rollback.yml",
)
TRUSTED_EVENTS = ("push", "workflow_dispatch", "schedule")
BRANCH = "main"
RETENTION_FILE = ".github/actions/mlflow-store/action.yml"  # where `retention-days` is set
MAX_CANDIDATES = 50  # artifacts examined before giving up (each costs two API calls)
START_OVER = (
    "To start over with an empty registry (the versions in the damaged store are lost), run "
    "Actions > Retrain > Run workflow with `fresh_registry` ticked."
)


@dataclass
class Choice:
    """The artifact a run continues from, and the run that produced it."""

    artifact_id: int
    run_id: int
    workflow: str
    event: str
    created_at: str
    head_sha: str
    html_url: str
    expires_at: str = ""

    def describe(self) -> str:
        name = PurePosixPath(self.workflow).name
        return f"run {self.run_id} ({name}, {self.event}, {self.head_sha[:12]}, {self.created_at})"

    def record(self) -> dict[str, Any]:
        return {
            "artifact_id": self.artifact_id,
            "run_id": self.run_id,
            "workflow": self.workflow,
            "event": self.event,
            "created_at": self.created_at,
            "head_sha": self.head_sha,
            "html_url": self.html_url,
        }


@dataclass
class Selection:
    choice: Choice | None
    passed_over: list[str] = field(default_factory=list)  # one line per ignored artifact


def _workflow_path(run: dict[str, Any]) -> str:
    # `path` is ".github/workflows/deploy.yml" (GitHub may add "@refs/heads/main").
    return str(run.get("path") or "").split("@", 1)[0]


def _full_name(obj: Any) -> str:
    return str((obj or {}).get("full_name") or "")


def registering_job(jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The job of a run that has the step :data:`STORE_STEP` (None if no job has it)."""
    for job in jobs:
        if any(step.get("name") == STORE_STEP for step in job.get("steps") or []):
            return job
    return None


def judge(
    artifact: dict[str, Any],
    run: dict[str, Any] | None,
    jobs: list[dict[str, Any]] | None,
    repository: str,
    branch: str = BRANCH,
) -> str | None:
    """Why ``artifact`` must not be restored, or None when it may.

    ``run`` and ``jobs`` are the producing run and its jobs as the API returns them; None when
    an earlier rule already refused (they are fetched only as far as needed)."""
    if artifact.get("expired"):
        return "it has expired"
    if artifact.get("name") != ARTIFACT:
        return f"it is called {artifact.get('name')!r}, not {ARTIFACT!r}"
    origin = artifact.get("workflow_run") or {}
    if not origin.get("id"):
        return "the API does not say which run produced it"
    if origin.get("head_branch") not in (None, branch):
        return f"it was produced on branch {origin.get('head_branch')!r}, not {branch!r}"
    if run is None:
        return None if jobs is None else "its run could not be read"
    if _full_name(run.get("repository")) != repository:
        return f"its run belongs to {_full_name(run.get('repository'))!r}, not {repository!r}"
    if _full_name(run.get("head_repository")) != repository:
        head = _full_name(run.get("head_repository"))
        return f"its run's code came from {head!r} (a fork), not {repository!r}"
    workflow = _workflow_path(run)
    if workflow not in PRODUCTION_WORKFLOWS:
        return f"it was produced by {workflow or 'an unknown workflow'}, not a production workflow"
    if run.get("event") not in TRUSTED_EVENTS:
        return f"it was produced by a {run.get('event')!r} run, not {' / '.join(TRUSTED_EVENTS)}"
    if run.get("head_branch") != branch:
        return f"its run ran on branch {run.get('head_branch')!r}, not {branch!r}"
    if jobs is None:
        return None
    job = registering_job(jobs)
    if job is None:
        return f"no job of its run has the step {STORE_STEP!r}"
    if job.get("conclusion") != "success":
        state = job.get("conclusion") or job.get("status") or "unknown"
        return f"its registering job {job.get('name')!r} did not succeed ({state})"
    step = next(s for s in job.get("steps") or [] if s.get("name") == STORE_STEP)
    if step.get("conclusion") != "success":
        return f"its step {STORE_STEP!r} did not succeed ({step.get('conclusion')})"
    return None


def _choice(artifact: dict[str, Any], run: dict[str, Any]) -> Choice:
    return Choice(
        artifact_id=int(artifact["id"]),
        run_id=int(run["id"]),
        workflow=_workflow_path(run),
        event=str(run.get("event")),
        created_at=str(artifact.get("created_at") or ""),
        head_sha=str(run.get("head_sha") or ""),
        html_url=str(run.get("html_url") or ""),
        expires_at=str(artifact.get("expires_at") or ""),
    )


def select(github: GitHub, branch: str = BRANCH) -> Selection:
    """The newest trusted ``mlflow-store`` artifact of the repository (see :func:`judge`)."""
    artifacts = sorted(
        github.artifacts(ARTIFACT),
        key=lambda a: (str(a.get("created_at") or ""), int(a.get("id") or 0)),
        reverse=True,
    )
    selection = Selection(choice=None)
    for artifact in artifacts[:MAX_CANDIDATES]:
        label = f"artifact {artifact.get('id')} ({artifact.get('created_at')})"
        reason = judge(artifact, None, None, github.repository, branch)
        run: dict[str, Any] | None = None
        if reason is None:
            run = github.run(int(artifact["workflow_run"]["id"]))
            reason = judge(artifact, run, None, github.repository, branch)
        if reason is None and run is not None:
            jobs = github.jobs(int(run["id"]))
            reason = judge(artifact, run, jobs, github.repository, branch)
        if reason is None and run is not None:
            selection.choice = _choice(artifact, run)
            return selection
        selection.passed_over.append(f"ignored {label}: {reason}")
    return selection


def extract(archive: Path, dest: Path) -> None:
    """Unzip an artifact, refusing members that would land outside ``dest``."""
    root = dest.resolve()
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                target = (root / member).resolve()
                if target != root and root not in target.parents:
                    raise MlopsError(f"{archive.name}: member {member!r} points outside the store")
            zipped.extractall(root)
    except zipfile.BadZipFile as exc:
        raise MlopsError(f"{archive.name}: not a zip archive ({exc})") from None


def download(github: GitHub, choice: Choice, dest: Path) -> Path:
    """Download and unzip the chosen artifact into ``dest``; returns ``dest``."""
    with tempfile.TemporaryDirectory(prefix="mlops-store-zip-") as tmp:
        archive = Path(tmp) / f"{ARTIFACT}.zip"
        github.download_artifact(choice.artifact_id, archive)
        extract(archive, dest)
    return dest


def restore(params: Params, github: GitHub, *, branch: str = BRANCH) -> dict[str, Any]:
    """Restore the newest trusted store into this checkout.

    Returns the record written for ``mlops registry save`` and the report: ``{"fresh": True,
    "reason"}`` when there is nothing to continue, else the choice and what the store holds.
    Raises :class:`mlops.tracking.store.DamagedStoreError` for a damaged store."""
    from mlops.tracking import store

    selection = select(github, branch)
    for line in selection.passed_over:
        print(line)
    choice = selection.choice
    if choice is None:
        return {
            "fresh": True,
            "reason": f"no trusted {ARTIFACT} artifact found (the first production run, or "
            "the last store expired)",
            "passed_over": selection.passed_over,
        }
    with tempfile.TemporaryDirectory(prefix="mlops-store-") as tmp:
        source = download(github, choice, Path(tmp) / "store")
        try:
            restored = store.restore(params, source)
        except store.DamagedStoreError as exc:
            raise store.DamagedStoreError(
                f"the registry store of {choice.describe()} is damaged: {exc}"
            ) from None
    return {
        "fresh": False,
        "continued_from": choice.record(),
        "expires_at": choice.expires_at,
        "held": restored["checked"],
        "saved_from": restored.get("saved_by") or {},
        "passed_over": selection.passed_over,
    }


# --- what the job summary says ----------------------------------------------------------------


def _holding(held: dict[str, Any]) -> str:
    versions = held.get("versions") or []
    aliases = held.get("aliases") or {}
    champion = aliases.get("champion")
    return f"{len(versions)} version(s) of `{held.get('registered_model')}`, " + (
        f"champion v{champion}" if champion else "no champion"
    )


def restored_summary(record: dict[str, Any], *, read_only: bool = False) -> str:
    """The job summary's lines for what `mlops registry restore` did."""
    if record.get("fresh"):
        if read_only:
            return (
                f"**Registry store**: none restored ({record.get('reason')}); the report "
                "compares with main's model."
            )
        return (
            f"**Registry store**: started a fresh MLflow store: {record.get('reason')}. Versions "
            "are numbered from 1 again and nothing is compared with an earlier champion. "
            f"A store is kept for the `retention-days` of {RETENTION_FILE}, at most the "
            "repository's Settings > Actions > General > Artifact and log retention: raise "
            "both to keep it longer, or set the variable `MLFLOW_TRACKING_URI` to a tracking "
            "server for a registry that never expires."
        )
    chain = record.get("continued_from") or {}
    run = (
        f"[run {chain.get('run_id')}]({chain.get('html_url')})"
        if chain.get("html_url")
        else (f"run {chain.get('run_id')}")
    )
    text = (
        f"**Registry store**: restored the store of {run} "
        f"(`{PurePosixPath(str(chain.get('workflow'))).name}`, {chain.get('event')}, "
        f"`{str(chain.get('head_sha'))[:12]}`): {_holding(record.get('held') or {})}"
    )
    if read_only:
        text += " (read-only: a PR registers nothing)."
    else:
        text += f". It expires {record.get('expires_at') or 'with its retention'} unless a "
        text += "later run continues it."
    passed = record.get("passed_over") or []
    if passed:
        text += "\n\n" + "\n".join(f"- {line}" for line in passed)
    return text


def saved_summary(manifest: dict[str, Any]) -> str:
    chain = manifest.get("continued_from") or {}
    origin = f"continues run {chain.get('run_id')}" if chain else "a new chain"
    return (
        f"**Registry store**: saved as the `{ARTIFACT}` artifact ({origin}): {_holding(manifest)}."
    )


def failure_summary(exc: Exception, *, read_only: bool) -> str:
    from mlops.tracking.store import DamagedStoreError

    if read_only:
        return f"**Registry store**: not restored ({exc}); the report compares with main's model."
    text = f"**Registry store**: not restored, nothing was registered: {exc}."
    if isinstance(exc, DamagedStoreError):
        text += f" {START_OVER}"
    return text
