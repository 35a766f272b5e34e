"""``mlops init``: a team's own table in place of the demo, in one command.

It reads a CSV or parquet file, infers what each column is (:mod:`mlops.onboard.infer`), and
only when everything checks out touches the repository: the table goes to ``data/raw/`` (the
demo's data and suite go), ``params.yaml`` is rewritten with its comments kept (ruamel.yaml),
a starting expectation suite is written, and ``dvc add`` records the data. A table up to
:data:`MAX_EMBEDDED_BYTES` is pushed into the embedded DVC remote (``data-remote/``, committed
with the repository, so the PR job pulls it on GitHub with no configuration); a larger one is
left for a remote of the team's own, and ``init`` says how.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import DATA_DVC, PARAMS, RAW_DIR, SUITES_DIR, read_raw
from mlops.core.errors import DataError, MlopsError
from mlops.onboard.infer import AUTO, Inferred, infer

if TYPE_CHECKING:
    import pandas as pd

MAX_EMBEDDED_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    data: Path
    target: str
    task: str = AUTO
    positive_label: str | None = None
    id_column: str | None = AUTO  # AUTO: infer; None: no id column
    name: str | None = None
    force: bool = False


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or parquet file as text columns, as the pipeline reads its raw CSV."""
    import pandas as pd

    if not path.is_file():
        raise DataError(f"--data: {path} is not a file")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a file it cannot read
            raise DataError(f"--data: {path} is not a readable parquet file: {exc}") from None
        text = frame.astype("string")
        return text.where(text.notna(), "").astype(str)
    frame = read_raw(path)
    return frame.where(frame.notna(), "")


def repo_name(name: str | None, root: Path) -> str:
    """``--name``, else the repository folder's name, as BentoML and MLflow accept it."""
    text = (name or root.resolve().name).lower()
    # 52: mlflow.registered_model's limit, so that "<name>-challenger" fits BentoML's 63
    text = re.sub(r"[^a-z0-9._-]+", "-", text).strip("-._")[:52].strip("-._")
    if not text:
        raise DataError(f"--name: {name!r} has no letter or digit to name the model with")
    return text


def _refuse_overwrite(request: Request, old_data: Path, old_suite: Path) -> None:
    """Without --force: nothing of the team's own may be overwritten."""
    if request.force:
        return
    keep = {old_data.resolve(), request.data.resolve()}
    others = [p for p in RAW_DIR.rglob("*") if p.is_file() and p.resolve() not in keep]
    if others:
        raise MlopsError(
            f"{RAW_DIR}/ holds {others[0]} besides {old_data}: init replaces everything there; "
            "move it away or pass --force"
        )
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", str(PARAMS), str(old_suite)],
        capture_output=True,
        text=True,
    )
    if status.returncode == 0 and status.stdout.strip():
        raise MlopsError(
            f"{PARAMS} or {old_suite} has changes that are not committed; commit them, or pass "
            "--force to overwrite them"
        )


def _params_text(inferred: Inferred, data_path: Path, suite: Path, name: str) -> str:
    """params.yaml with the inferred values in place, its comments kept."""
    from mlops.core import params_yaml

    doc: Any = params_yaml.load(PARAMS)
    data = doc["data"]
    data["path"] = str(data_path)
    data["target"] = inferred.columns("target")[0]
    data["task"] = inferred.task
    if inferred.task == "binary":
        data["positive_label"] = inferred.positive_label
    else:  # the keys of a binary target only (mlops.core.config refuses them elsewhere)
        data.pop("positive_label", None)
        doc["train"].pop("threshold", None)
    data["id_column"] = inferred.id_column
    from mlops.models import MODEL_FAMILIES

    if inferred.task not in MODEL_FAMILIES[str(doc["model"]["type"])].tasks:
        # the first family (in MODEL_FAMILIES' order) that builds this task
        doc["model"]["type"] = next(
            n for n, f in MODEL_FAMILIES.items() if inferred.task in f.tasks and n in doc["model"]
        )
    for role in ("numeric", "categorical", "dropped"):
        doc["features"][role] = inferred.columns(role)
    doc["evaluate"]["segment_column"] = inferred.segment_column
    from mlops.tasks import TASKS

    for key, value in TASKS[inferred.task].default_gate.items():
        doc["gate"][key] = value
    if "online" in doc["gate"]:  # live traffic: the same allowed drops as on the test split
        doc["gate"]["online"]["max_regression"] = dict(
            TASKS[inferred.task].default_gate["max_regression"]
        )
    doc["mlflow"]["experiment"] = name
    doc["mlflow"]["registered_model"] = name
    doc["validation"]["suite"] = str(suite)
    return params_yaml.dump(doc)


def _dvc(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines() or ["(no output)"]
        raise MlopsError(f"dvc {' '.join(args)}: {lines[-1]}")
    return proc.stdout


def describe(inferred: Inferred) -> str:
    width = max(len(r.column) for r in inferred.roles)
    lines = [f"{'column':<{width}}  {'role':<11}  why", f"{'-' * width}  {'-' * 11}  ---"]
    lines += [f"{r.column:<{width}}  {r.role:<11}  {r.reason}" for r in inferred.roles]
    lines.append("")
    lines.append(f"task: {inferred.task}; {inferred.rows} rows")
    lines.append(f"segment column (metrics per value in the report): {inferred.segment_column}")
    return "\n".join(lines)


def run(request: Request) -> Inferred:
    """Check everything, then write; on bad input nothing is changed."""
    from mlops.core.config import load_params, parse_params
    from mlops.stages.suite import dump_suite, profile

    current = load_params(PARAMS)
    raw = read_table(request.data)
    inferred = infer(
        raw,
        request.target,
        task=request.task,
        positive_label=request.positive_label,
        id_column=request.id_column,
    )
    from mlops.models import MODEL_FAMILIES

    supported = sorted({task for family in MODEL_FAMILIES.values() for task in family.tasks})
    if inferred.task not in supported:
        raise DataError(
            f"column {request.target!r} (--target) is a {inferred.task} target: this version of "
            f"the template trains {' and '.join(supported)} models only (pass --task to "
            "override what was inferred)"
        )
    name = repo_name(request.name, Path.cwd())
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", request.data.stem).strip("-.") or "data"
    data_path = RAW_DIR / f"{stem}.csv"
    suite_path = SUITES_DIR / f"{name}.yaml"
    old_suite = current.validation.suite
    _refuse_overwrite(request, current.data.path, old_suite)

    import yaml

    params_text = _params_text(inferred, data_path, suite_path, name)
    parse_params(yaml.safe_load(params_text))  # what we write must load back
    suite_doc = profile(
        raw,
        name=name,
        target=request.target,
        id_column=inferred.id_column,
        numeric_target=inferred.task == "regression",
    )
    suite_text = dump_suite(suite_doc, str(data_path))

    with tempfile.TemporaryDirectory(dir=".") as tmp:
        staged = Path(tmp)
        raw.to_csv(staged / "data.csv", index=False)
        (staged / "params.yaml").write_text(params_text, encoding="utf-8")
        (staged / "suite.yaml").write_text(suite_text, encoding="utf-8")
        # From here on the repository changes: the old data and suite go, the new ones come.
        if RAW_DIR.exists():
            shutil.rmtree(RAW_DIR)
        RAW_DIR.mkdir(parents=True)
        if old_suite.exists() and old_suite != suite_path:
            old_suite.unlink()
        suite_path.parent.mkdir(parents=True, exist_ok=True)
        (staged / "data.csv").replace(data_path)
        (staged / "suite.yaml").replace(suite_path)
        (staged / "params.yaml").replace(PARAMS)
    _dvc("add", "--quiet", str(RAW_DIR))
    size = data_path.stat().st_size
    print(describe(inferred))
    print(f"\nwrote {PARAMS}, {suite_path} and {DATA_DVC} ({data_path}, {size:,} bytes)")
    if size <= MAX_EMBEDDED_BYTES:
        _dvc("push", "--quiet", str(DATA_DVC))
        print(
            "pushed the data into the embedded DVC remote (data-remote/): commit it with the rest"
        )
    else:
        print(
            f"the table is larger than {MAX_EMBEDDED_BYTES // 2**20} MB: keep it out of git in a "
            "DVC remote of your own, e.g.\n"
            "  dvc remote modify data url s3://BUCKET/dvc   (or gs://, azure://)\n"
            f"  dvc push {DATA_DVC}\n"
            "and give the workflows its credentials (docs/own-data.md)"
        )
    print("\nnext: dvc repro   (then git add -A; git commit; push a branch and open a PR)")
    return inferred
