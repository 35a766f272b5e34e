"""The zero-configuration MLflow store: save it, restore it elsewhere, and check it.

Without a tracking server (``MLFLOW_TRACKING_URI`` unset), MLflow keeps the runs and the model
registry in a SQLite file (params.yaml's ``mlflow.tracking_uri``, ``sqlite:///mlflow.db``) and
the artifacts in local folders (``mlruns/``, ``mlartifacts/``). The production workflows keep
that store alive as a chain of Actions artifacts (:mod:`mlops.ci.store_chain` picks the link):

* :func:`save` copies the store into one folder (the SQLite file through SQLite's backup API, so
  the copy is consistent) with a manifest: where it was saved from, by which run, and which run
  it continued;
* :func:`restore` puts a saved store back on a runner whose workspace may be another path: the
  SQLite file holds *absolute* artifact locations, which are moved into this checkout, then
  the store is checked and, when it is damaged, removed again (nothing half-restored);
* :func:`check` is that integrity check: the file is a sound SQLite database, the registered
  model exists, and every alias points at an existing version whose model file is present and
  matches its ``model_md5`` tag.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import MLFLOW_ARTIFACT_DIRS, MLFLOW_STORE_RESTORED
from mlops.core.errors import MlopsError, first_line

if TYPE_CHECKING:
    from mlops.core.config import Params

FORMAT = 1
MANIFEST = "mlflow-store.json"  # inside a saved store
DB_NAME = "mlflow.db"  # the SQLite file's name inside a saved store
# The columns where MLflow writes absolute artifact locations (those that exist are rewritten).
LOCATION_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "source"),
    ("model_versions", "storage_location"),
)


class DamagedStoreError(MlopsError):
    """A saved MLflow store cannot be used (nothing was restored)."""


def local_db(params: Params) -> Path | None:
    """The SQLite file of the configured tracking URI; None for a server (or another backend)."""
    from mlops.tracking.runs import tracking_uri

    uri = tracking_uri(params)
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


def _run_facts() -> dict[str, str]:
    """The GitHub Actions run this process belongs to (empty outside Actions)."""
    keys = {
        "repository": "GITHUB_REPOSITORY",
        "workflow_ref": "GITHUB_WORKFLOW_REF",
        "event": "GITHUB_EVENT_NAME",
        "run_id": "GITHUB_RUN_ID",
        "run_attempt": "GITHUB_RUN_ATTEMPT",
        "sha": "GITHUB_SHA",
    }
    return {key: os.environ[var] for key, var in keys.items() if os.environ.get(var)}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- integrity ------------------------------------------------------------------------------


def _sqlite_sound(db: Path) -> None:
    """Raise DamagedStoreError unless ``db`` is a SQLite database that passes its own check."""
    if not db.is_file():
        raise DamagedStoreError(f"{db.name} is missing")
    try:
        with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
            verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise DamagedStoreError(f"{db.name} is not a sound SQLite database: {exc}") from None
    if verdict != ["ok"]:
        raise DamagedStoreError(f"{db.name} fails SQLite's integrity check: {verdict[0]}")
    missing = {"registered_models", "model_versions", "runs"} - tables
    if missing:
        tables_missing = ", ".join(sorted(missing))
        raise DamagedStoreError(f"{db.name} is not an MLflow store (no {tables_missing})")


def check(params: Params) -> dict[str, Any]:
    """Check the configured local store; return what it holds.

    ``{"registered_model", "versions": [...], "aliases": {alias: version}}``.
    """
    from mlflow.exceptions import MlflowException

    from mlops.tracking import registry

    db = local_db(params)
    if db is None:
        raise MlopsError("the tracking URI is not a local SQLite store: nothing to check")
    _sqlite_sound(db)
    name = params.mlflow.registered_model
    try:
        mlclient = registry.client(params)
        model = mlclient.get_registered_model(name)
        versions = sorted(
            (str(v.version) for v in mlclient.search_model_versions(f"name = '{name}'")), key=int
        )
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc) or "not found" in str(exc).lower():
            raise DamagedStoreError(f"the store has no registered model {name!r}") from None
        raise DamagedStoreError(f"MLflow cannot read the store: {first_line(exc)}") from None
    except Exception as exc:  # SQLAlchemy errors on a damaged file, failed migrations
        raise DamagedStoreError(f"MLflow cannot open the store: {first_line(exc)}") from None
    aliases = {str(k): str(v) for k, v in (model.aliases or {}).items()}
    checked: set[str] = set()  # champion and challenger are often one version: read it once
    with tempfile.TemporaryDirectory(prefix="mlops-store-check-") as tmp:
        # The champion first: what serves, and what a damaged store most needs to name.
        for alias, version in sorted(aliases.items(), key=lambda kv: kv[0] != "champion"):
            if version not in versions:
                raise DamagedStoreError(
                    f"alias {alias!r} points at version {version}, which {name!r} does not have"
                )
            if version in checked:
                continue
            checked.add(version)
            try:
                registry.fetch_version(params, version, Path(tmp) / version)
            except MlopsError as exc:
                raise DamagedStoreError(f"alias {alias!r} (v{version}): {exc}") from None
            except Exception as exc:  # a missing artifact folder, an unreadable file
                raise DamagedStoreError(
                    f"alias {alias!r} (v{version}): its model artifact cannot be read: "
                    f"{first_line(exc)}"
                ) from None
    return {"registered_model": name, "versions": versions, "aliases": aliases}


# --- save -----------------------------------------------------------------------------------


def save(params: Params, output: Path, continued_from: dict[str, Any] | None) -> dict[str, Any]:
    """Check the local store and copy it into ``output`` (replaced) with its manifest."""
    db = local_db(params)
    if db is None:
        raise MlopsError("the tracking URI is not a local SQLite store: nothing to save")
    if not db.is_file():
        raise MlopsError(f"{db} does not exist: nothing was tracked or registered to save")
    held = check(params)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mlflow-store-", dir=output.parent.resolve()))
    try:
        with sqlite3.connect(db) as source, sqlite3.connect(staging / DB_NAME) as copy:
            source.backup(copy)
        for folder in MLFLOW_ARTIFACT_DIRS:
            if folder.is_dir():
                shutil.copytree(folder, staging / folder.name)
        manifest = {
            "format": FORMAT,
            "root": str(Path.cwd().resolve()),
            "saved_at": _now(),
            "saved_by": _run_facts(),
            "continued_from": continued_from,
            **held,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(output, ignore_errors=True)
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


# --- restore --------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedStoreError(
            f"no {MANIFEST}: not a store saved by `mlops registry save`"
        ) from None
    except (OSError, ValueError) as exc:
        raise DamagedStoreError(f"{MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict):
        raise DamagedStoreError(f"{MANIFEST}: not a JSON object")
    if manifest.get("format") != FORMAT:
        raise DamagedStoreError(f"{MANIFEST}: format {manifest.get('format')!r}, not {FORMAT}")
    if not isinstance(manifest.get("root"), str) or not manifest["root"].startswith("/"):
        raise DamagedStoreError(f"{MANIFEST}: no absolute 'root' (where the store was saved)")
    return manifest


def relocate(location: str, new_root: str) -> str | None:
    """``location`` moved under ``new_root``, or None when it is not in a local artifact folder.

    A local location is an absolute path or ``file://`` URI whose last ``/mlruns/`` (or
    ``/mlartifacts/``) segment is the artifact folder: whatever checkout wrote it (the saving
    run's, or an older link's of the chain), it moves to the same folder of ``new_root``."""
    prefix = "file://" if location.startswith("file://") else ""
    path = location.removeprefix(prefix)
    if not path.startswith("/"):
        return None
    for folder in MLFLOW_ARTIFACT_DIRS:
        marker = f"/{folder.name}"
        at = max(path.rfind(marker + "/"), path.rfind(marker) if path.endswith(marker) else -1)
        if at >= 0:
            moved = f"{prefix}{new_root.rstrip('/')}{path[at:]}"
            return None if moved == location else moved
    return None


def rewrite_locations(db: Path, new_root: str) -> int:
    """Point every local artifact location of the store at ``new_root``; returns the rows."""
    changed = 0
    with sqlite3.connect(db) as conn:
        for table, column in LOCATION_COLUMNS:
            names = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                continue
            rows = conn.execute(f"SELECT rowid, {column} FROM {table}").fetchall()
            for rowid, value in rows:
                moved = relocate(value, new_root) if isinstance(value, str) else None
                if moved is not None:
                    conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (moved, rowid))
                    changed += 1
    return changed


def _present(params: Params) -> list[Path]:
    db = local_db(params)
    return [p for p in [db, *MLFLOW_ARTIFACT_DIRS] if p is not None and p.exists()]


def restore(params: Params, source: Path) -> dict[str, Any]:
    """Put the store saved in ``source`` in place of the local store, rewrite its artifact
    locations to this checkout, check it; return its manifest plus what :func:`check` found.

    The local store must not exist yet. On any failure every file put in place is removed again
    and :class:`DamagedStoreError` names the problem."""
    db = local_db(params)
    if db is None:
        raise MlopsError("the tracking URI is not a local SQLite store: nothing to restore")
    manifest = read_manifest(source)
    _sqlite_sound(source / DB_NAME)
    present = _present(params)
    if present:
        names = ", ".join(str(p) for p in present)
        raise MlopsError(f"a local MLflow store exists ({names}): move it away first")
    rewritten = rewrite_locations(source / DB_NAME, str(Path.cwd().resolve()))
    placed: list[Path] = []
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source / DB_NAME, db)
        placed.append(db)
        for folder in MLFLOW_ARTIFACT_DIRS:
            if (source / folder.name).is_dir():
                shutil.move(source / folder.name, folder)
                placed.append(folder)
        held = check(params)
    except BaseException:
        for path in placed:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(True)
        raise
    return {**manifest, "checked": held, "locations_rewritten": rewritten}


# --- what was restored (read by `mlops registry save` and the PR report) ----------------------


def write_restored(record: dict[str, Any], path: Path = MLFLOW_STORE_RESTORED) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_restored(path: Path = MLFLOW_STORE_RESTORED) -> dict[str, Any] | None:
    """What `mlops registry restore` did in this checkout (None when it did not run)."""
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
