"""``mlops data-pr``: labelled production data proposed as training data, in a pull request.

The rows of ``--current`` that carry the target are checked against data.path's columns,
appended to its rows (``monitor.data_mode: append``; a row whose id is already there replaces
it: its outcome is newer) or replacing them (``replace``), and the whole new table is
validated against the expectation suite before anything is written. Then data.path is
rewritten, ``dvc commit data.dvc`` records the new version and ``dvc push data.dvc`` sends only
the data's objects to its remote (never a pipeline output, never the run cache:
docs/hardening.md). A branch with data.dvc (and the embedded remote's new files, when the
remote is inside the repository) is pushed and one PR opened on it (:mod:`mlops.ci.
pull_request`), so the usual PR report shows the candidate trained on the new data against the
champion, with the drift, before anyone merges.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mlops.core.artifacts import DATA_DVC, read_raw, write_atomic
from mlops.core.errors import DataError, MlopsError

if TYPE_CHECKING:
    from mlops.core.config import Params

BRANCH = "monitor/data-refresh"


@dataclass
class Proposal:
    table: pd.DataFrame  # the new data.path, as text
    mode: str
    existing_rows: int
    added_rows: int
    replaced_rows: int  # existing rows whose id came again (append)
    unlabelled_rows: int  # current rows without the target, left out


def _cell(value: object) -> str:
    if isinstance(value, str):
        return value
    return repr(value) if isinstance(value, float) else str(value)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the CSV text the pipeline reads (blank for missing)."""
    return frame.astype(object).where(frame.notna(), "").map(_cell)


def propose(existing: pd.DataFrame, current: pd.DataFrame, params: Params) -> Proposal:
    """The new training table (pure: frames in, frame out); refuses rows that do not fit."""
    target, mode = params.data.target, params.monitor.data_mode
    missing = [c for c in existing.columns if c not in current.columns]
    if missing:
        raise DataError(f"--current: no column {missing[0]!r} (a column of {params.data.path})")
    extra = [c for c in current.columns if c not in existing.columns]
    if extra:
        raise DataError(
            f"--current: column {extra[0]!r} is not a column of {params.data.path}; drop it first"
        )
    rows = _as_text(current[list(existing.columns)])
    labelled = rows[target].str.strip() != ""
    if not labelled.any():
        raise DataError(
            f"--current: no row carries the target column {target!r}: there is no labelled "
            "data to propose"
        )
    new = rows[labelled]
    replaced = 0
    if mode == "replace":
        table = new
    else:
        kept = existing
        if params.data.id_column:
            again = existing[params.data.id_column].isin(set(new[params.data.id_column]))
            replaced, kept = int(again.sum()), existing[~again]
        table = pd.concat([kept, new], ignore_index=True)
    return Proposal(
        table=table.reset_index(drop=True),
        mode=mode,
        existing_rows=len(existing),
        added_rows=len(new),
        replaced_rows=replaced,
        unlabelled_rows=int((~labelled).sum()),
    )


def validate(table: pd.DataFrame, params: Params) -> int:
    """The expectation suite on the new table; the number of expectations met."""
    from mlops.stages.suite import load_suite
    from mlops.stages.validate import ValidationError, Validator

    suite = load_suite(params.validation.suite)
    report = Validator(suite, docs_dir=None, samples=params.validation.sample_values).validate(
        table
    )
    if not report.success:
        first = report.failures[0].sentence()
        raise ValidationError(
            f"the proposed data failed validation ({len(report.failures)} of "
            f"{len(report.outcomes)} expectations): {first}; nothing was written"
        )
    return len(report.outcomes)


def _dvc(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        raise MlopsError(f"dvc {' '.join(args)}: {last}")
    return proc.stdout


def _embedded_remote(root: Path) -> list[str]:
    """data.dvc's remote, when it is a folder inside the repository (the zero-configuration
    one): its path, to commit with data.dvc. Empty for a cloud remote."""
    import yaml

    name = (yaml.safe_load(DATA_DVC.read_text()) or {}).get("outs", [{}])[0].get("remote")
    if not name:  # the default remote
        name = _dvc("config", "core.remote").strip()
    url = _dvc("config", f"remote.{name}.url").strip()  # a local path comes out resolved
    if not url or "://" in url:
        return []
    path = Path(url) if Path(url).is_absolute() else (root / ".dvc" / url).resolve()
    try:
        return [str(path.relative_to(root.resolve()))]
    except ValueError:
        return []


def write(proposal: Proposal, params: Params) -> list[str]:
    """Write data.path, record and push the data version; the paths to commit."""
    path = params.data.path
    buffer = proposal.table.to_csv(index=False, lineterminator="\n")
    write_atomic(path, buffer)
    _dvc("commit", "-q", "-f", str(DATA_DVC))  # data.dvc records the new version
    _dvc("push", "-q", str(DATA_DVC))  # only the data's objects
    return [str(DATA_DVC), *_embedded_remote(Path.cwd())]


def body(proposal: Proposal, current: str, monitor_md: str | None, note: str) -> str:
    if proposal.mode == "replace":
        how = f"replacing the {proposal.existing_rows:,} rows there"
    else:
        how = f"appended to the {proposal.existing_rows:,} rows there"
        if proposal.replaced_rows:
            how += f" ({proposal.replaced_rows:,} of them replaced: same id)"
    lines = [
        "## New training data from production",
        "",
        f"{proposal.added_rows:,} labelled rows of `{current}`, {how}: "
        f"{len(proposal.table):,} rows in all (`monitor.data_mode: {proposal.mode}`).",
    ]
    if proposal.unlabelled_rows:
        lines.append(f"{proposal.unlabelled_rows:,} rows without the target were left out.")
    lines += [
        f"The table passed the expectation suite; `{DATA_DVC}` records its new version.",
        "",
        "The PR report below compares the model trained on it with the champion, on this "
        "branch's test split, with the data's drift.",
        "",
        f"**Checks:** {note}",
    ]
    if monitor_md:
        lines += ["", "<details><summary>The monitor report</summary>", "", monitor_md,
                  "</details>"]  # fmt: skip
    return "\n".join(lines) + "\n"


def run(params: Params, current_path: Path) -> Proposal:
    """Everything up to the data version (no git): the proposal, validated, written, pushed."""
    from mlops.monitoring.current import read_table

    existing = read_raw(params.data.path)
    proposal = propose(existing, read_table(current_path), params)
    validate(proposal.table, params)
    return proposal
