"""Which model batch scoring uses: ``--model champion`` (default), a version number, a file, or
``auto``: the champion when the registry has one, else the pipeline's ``models/model.joblib``
(what the batch workflow uses: with no tracking server, no registry outlives a run, and the
workflow reproduces the pipeline's model instead).

A registered version is downloaded from the MLflow registry and checked against its
``model_md5`` tag (:func:`mlops.tracking.registry.fetch_version`); a file (the pipeline's
``models/model.joblib``) is used as it is, unregistered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import MODEL, file_md5
from mlops.core.errors import ArtifactError, MlopsError

if TYPE_CHECKING:
    from mlops.core.config import Params

CHAMPION = "champion"
AUTO = "auto"
UNREGISTERED = "unregistered"


@dataclass(frozen=True)
class ScoringModel:
    path: Path  # the model.joblib to load
    version: str  # the registered version, or "unregistered" for a file
    md5: str
    source: str  # how it was chosen, for the summary: "champion (v3)", "v2", a path
    registered: bool

    def load(self) -> Any:
        """The fitted model (``mlops.models.fitted.FittedModel``)."""
        import joblib

        return joblib.load(self.path)


def resolve(params: Params, spec: str, workdir: Path) -> ScoringModel:
    """``spec``: ``champion``, a version number, ``auto``, or a path to a ``.joblib`` file."""
    if spec == AUTO:
        from mlops.tracking.registry import NotRegisteredError

        try:
            return resolve(params, CHAMPION, workdir)
        except NotRegisteredError as exc:
            if not MODEL.is_file():
                raise ArtifactError(
                    f"--model auto: {exc}; and {MODEL} does not exist (run `dvc repro`)"
                ) from None
            chosen = resolve(params, str(MODEL), workdir)
            return ScoringModel(
                path=chosen.path,
                version=chosen.version,
                md5=chosen.md5,
                source=f"{MODEL} (the registry has no {CHAMPION})",
                registered=False,
            )
    if spec == CHAMPION or spec.isdigit():
        from mlops.tracking.registry import fetch_version

        facts = fetch_version(params, None if spec == CHAMPION else spec, workdir)
        version = facts["version"]
        return ScoringModel(
            path=facts["path"],
            version=version,
            md5=file_md5(facts["path"]),
            source=f"{CHAMPION} (v{version})" if spec == CHAMPION else f"v{version}",
            registered=True,
        )
    path = Path(spec)
    if path.suffix != ".joblib":
        raise MlopsError(
            f"--model: {spec!r} is neither 'champion', 'auto', a version number nor a .joblib file"
        )
    if not path.is_file():
        raise ArtifactError(f"--model: {path} does not exist; run `dvc repro` (or `dvc pull`)")
    return ScoringModel(
        path=path, version=UNREGISTERED, md5=file_md5(path), source=str(path), registered=False
    )
