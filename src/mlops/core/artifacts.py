"""Every file the pipeline reads or writes, named once, and the small I/O the stages share.

Paths are relative to the repository root, where ``dvc repro`` and ``mlops`` run; ``dvc.yaml``
names the same files as its stages' deps and outs. No other module spells one of these paths:
it imports it from here (``tests/core/test_artifacts.py`` checks that). Only the standard
library is imported at module level, so ``mlops --help`` can name these paths and stay fast.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlops.core.errors import ArtifactError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params

# --- the repository's own files ---------------------------------------------------------------
PARAMS = Path("params.yaml")
DATA_DVC = Path("data.dvc")  # the data's version (DVC)
DVC_LOCK = Path("dvc.lock")  # what each stage last ran on and produced
RAW_DIR = Path("data/raw")  # the raw data data.dvc tracks (`mlops init` puts a table there)
SUITES_DIR = Path("expectations")  # the expectation suites (validation.suite)

# --- validate -----------------------------------------------------------------------------------
VALIDATION = Path("reports/validation.json")
DATA_DOCS = Path("reports/data_docs")  # Great Expectations' site; not a DVC out
DRIFT = Path("reports/drift.json")  # `mlops drift`
MONITOR_DIR = Path("reports/monitor")  # `mlops monitor`: monitor.md and monitor.json
MONITOR_MD = MONITOR_DIR / "monitor.md"
MONITOR_JSON = MONITOR_DIR / "monitor.json"
ONLINE_DIR = Path("reports/online")  # `mlops online-report`: champion vs challenger, live
ONLINE_MD = ONLINE_DIR / "online-report.md"
ONLINE_JSON = ONLINE_DIR / "online-report.json"
TUNE_DIR = Path("reports/tune")  # `mlops tune`: the search's report (the tuning PR's body)
TUNE_MD = TUNE_DIR / "tune.md"
TUNE_JSON = TUNE_DIR / "tune.json"
TUNE_HISTORY = TUNE_DIR / "history.png"  # the optimisation history, drawn

# --- prepare ------------------------------------------------------------------------------------
PREPARED_DIR = Path("data/prepared")
TRAIN_SPLIT = PREPARED_DIR / "train.parquet"
TEST_SPLIT = PREPARED_DIR / "test.parquet"
PREPARED_SUMMARY = PREPARED_DIR / "summary.json"
TARGET = "target"  # the target column of the prepared splits, as the task encodes it
LABELS = "labels"  # the splits' labels (class values; index i is class i), in their metadata

# --- train --------------------------------------------------------------------------------------
MODEL_DIR = Path("models")
MODEL = MODEL_DIR / "model.joblib"
TRAIN_INFO = MODEL_DIR / "train.json"
# Where the MLflow run of the model in models/ was logged. Not a DVC output (a run id differs on
# every run, the model does not); it records the model's md5 so a stale file is never trusted.
MLFLOW_RUN = MODEL_DIR / "mlflow_run.json"

# --- evaluate -----------------------------------------------------------------------------------
METRICS = Path("metrics/evaluate.json")
SEGMENTS = Path("metrics/segments.json")
PLOTS_DIR = Path("plots")
IMPORTANCE = PLOTS_DIR / "importance.json"
PLOT_IMAGES = PLOTS_DIR / "images"

# --- report -------------------------------------------------------------------------------------
REPORT_MD = Path("report.md")
REPORT_DIR = Path("reports/report")
REPORT_JSON = REPORT_DIR / "report.json"

# --- MLflow's local store (no tracking server: params.yaml's mlflow.tracking_uri) ---------------
MLFLOW_ARTIFACT_DIRS = (Path("mlruns"), Path("mlartifacts"))  # MLflow's local artifact roots
MLFLOW_STORE_EXPORT = Path("build/mlflow-store")  # `mlops registry save`: the artifact's content
MLFLOW_STORE_RESTORED = Path("build/mlflow-store-restored.json")  # `mlops registry restore`


# --- reading the raw data -----------------------------------------------------------------------

# Every column as text, blank cells missing: the stages decide the types.
_CSV_OPTIONS: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}


def read_raw(path: Path) -> pd.DataFrame:
    """Read a raw CSV with every column as text; every way the file can be unreadable (missing,
    empty, header only, an unclosed quote, bytes that are not UTF-8, ragged rows) becomes a
    one-line :class:`DataError` (:class:`ArtifactError` when it does not exist)."""
    import pandas as pd

    if not path.exists():
        raise ArtifactError(
            f"data.path: {path} does not exist; run `dvc pull` (or `make pull`) to fetch the data"
        )
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a CSV file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes): no header, no rows")
    try:
        frame = pd.read_csv(path, **_CSV_OPTIONS)
    except UnicodeDecodeError as exc:
        raise DataError(_decode_error(path, exc)) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file has no header and no rows (only blank space)") from None
    except pd.errors.ParserError as exc:
        raise DataError(_parser_error(path, exc)) from None
    if len(frame) == 0:
        raise DataError(
            f"{path}: the file has a header ({len(frame.columns)} columns) but no data rows"
        )
    return frame


def read_raw_stream(handle: IO[str], label: str) -> pd.DataFrame:
    """:func:`read_raw` for an open text stream (e.g. ``dvc.api.open`` of another revision)."""
    import pandas as pd

    try:
        return pd.read_csv(handle, **_CSV_OPTIONS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{label}: not a readable CSV: {first}") from None


def _decode_error(path: Path, exc: UnicodeDecodeError) -> str:
    """Where the first byte that is not UTF-8 is: line and byte."""
    with path.open("rb") as handle:
        data = handle.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as found:
        exc = found
    line = data.count(b"\n", 0, exc.start) + 1
    byte = data[exc.start : exc.start + 1].hex()
    return (
        f"{path}: not valid UTF-8: byte 0x{byte} at line {line} (offset {exc.start}); "
        "save the file as UTF-8"
    )


def _parser_error(path: Path, exc: Exception) -> str:
    text = " ".join(str(exc).split())
    quote = re.search(r"EOF inside string starting at row (\d+)", text)
    if quote:
        return (
            f"{path}: truncated or malformed CSV: a quoted field opened in data row "
            f"{int(quote.group(1))} is never closed (unclosed quote before the end of the file)"
        )
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if fields:
        want, line, saw = fields.groups()
        return f"{path}: malformed CSV: line {line} has {saw} fields, the header has {want}"
    return f"{path}: not a readable CSV: {text}"


# --- the prepared splits ------------------------------------------------------------------------


def read_prepared(name: str, directory: Path = PREPARED_DIR) -> pd.DataFrame:
    """``train`` or ``test``: a split written by ``mlops prepare``."""
    import pandas as pd

    path = directory / f"{name}.parquet"
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; run `mlops prepare` (or `dvc repro`) first")
    return pd.read_parquet(path)


def labels_of(frame: pd.DataFrame) -> list[str]:
    """The labels a prepared split carries in its parquet metadata (``prepare.clean``)."""
    labels = frame.attrs.get(LABELS)
    if labels is None:
        raise ArtifactError(
            "the prepared split carries no labels (written by an earlier version of "
            "`mlops prepare`); run `dvc repro --force prepare`"
        )
    return [str(label) for label in labels]


def feature_frame(frame: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The model's input columns, in params.yaml order."""
    return frame[params.features.used]


# --- versions: files, DVC, git ------------------------------------------------------------------


def file_md5(path: Path) -> str:
    """The md5 DVC records for a file."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_lock(lock: Path = DVC_LOCK) -> dict[str, Any]:
    """``dvc.lock`` as a document (empty when there is none)."""
    import yaml

    if not lock.exists():
        return {}
    doc = yaml.safe_load(lock.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise ArtifactError(f"{lock}: not a dvc.lock document")
    return doc


def locked_md5(out: Path, lock: Path = DVC_LOCK) -> str | None:
    """The md5 ``dvc.lock`` records for the stage output ``out`` (None when it records none)."""
    for stage in (read_lock(lock).get("stages") or {}).values():
        for entry in stage.get("outs") or []:
            if entry.get("path") == out.as_posix():
                return str(entry.get("md5"))
    return None


def git_commit(cwd: Path | None = None) -> str | None:
    """The commit of HEAD, or None outside a git repository."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


# --- writing ------------------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_json(path: Path, payload: Any) -> None:
    """Indented JSON with a final newline (the form DVC metrics and plots are kept in)."""
    import json

    write_atomic(path, json.dumps(payload, indent=2) + "\n")


def read_metrics(path: Path = METRICS) -> dict[str, float]:
    """The numeric metrics of a metrics file written by ``mlops evaluate``."""
    import json

    if not path.is_file():
        raise ArtifactError(f"{path} not found: run `dvc repro` (the evaluate stage) first")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ArtifactError(f"{path}: not a metrics object")
    return {k: float(v) for k, v in doc.items() if isinstance(v, int | float)}
