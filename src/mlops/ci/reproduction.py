"""Did the merge reproduce the model its pull request evaluated?

The PR workflow's report comment carries a hidden record (an HTML comment): the pipeline's
inputs as ``dvc.lock`` describes them after ``dvc repro`` (every dependency no stage produces,
every stage's params and command, plus ``uv.lock``) and the test metrics of
``metrics/evaluate.json``. The deploy workflow retrains (it restores nothing a PR's job could have
written: docs/hardening.md); ``mlops check-reproduction`` then finds the merged PR of the pushed
commit through the GitHub API, reads the record of its report comment and, when the inputs are
the same, fails unless every metric matches: the model about to be registered is then the one
the reviewers saw. When no comparison is possible (a direct push, no record, or main moved on so
the PR evaluated other inputs) it says so and does not fail.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from mlops.ci.github import GitHub
from mlops.core.artifacts import DVC_LOCK, METRICS, read_lock, read_metrics
from mlops.core.errors import ArtifactError, MlopsError

MARKER = "mlops-record"
RECORD_VERSION = 1
UV_LOCK = Path("uv.lock")
DEFAULT_AUTHOR = "github-actions[bot]"  # who posts the report with the workflow's GITHUB_TOKEN
_RECORD_RE = re.compile(r"<!--\s*" + MARKER + r"\s+(\{.*?\})\s*-->", re.DOTALL)


class Record(BaseModel):
    """The hidden record of a report comment, validated whenever one is read back."""

    model_config = ConfigDict(extra="forbid")

    version: int
    inputs: dict[str, str]
    metrics: dict[str, float]


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def pipeline_inputs(root: Path = Path()) -> dict[str, str]:
    """What the pipeline's outputs are a function of, from ``dvc.lock`` (after ``dvc repro``).

    Keys name the input (a dependency's path, ``params.yaml:<key>``, ``cmd <stage>``,
    ``uv.lock``); values are hashes, so two records can say *which* input differs.
    """
    lock_path = root / DVC_LOCK
    if not lock_path.is_file():
        raise ArtifactError(f"{lock_path} not found: run `dvc repro` first")
    stages = read_lock(lock_path).get("stages") or {}
    if not isinstance(stages, dict) or not stages:
        raise ArtifactError(f"{lock_path} records no stage: run `dvc repro` first")
    produced = {out.get("path") for stage in stages.values() for out in (stage.get("outs") or [])}
    inputs: dict[str, str] = {}
    for name, stage in sorted(stages.items()):
        inputs[f"cmd {name}"] = _digest(stage.get("cmd"))
        for dep in stage.get("deps") or []:
            path = dep.get("path")
            if path not in produced:
                inputs[str(path)] = str(dep.get("md5") or dep.get("hash") or "?")
        for file, values in (stage.get("params") or {}).items():
            for key, value in (values or {}).items():
                inputs[f"{file}:{key}"] = _digest(value)
    uv_lock = root / UV_LOCK
    if uv_lock.is_file():
        inputs[str(UV_LOCK)] = hashlib.sha256(uv_lock.read_bytes()).hexdigest()[:16]
    return inputs


def record(root: Path = Path()) -> dict[str, Any]:
    """This checkout's record: its pipeline inputs and its test metrics."""
    return {
        "version": RECORD_VERSION,
        "inputs": pipeline_inputs(root),
        "metrics": read_metrics(root / METRICS),
    }


def record_comment(rec: dict[str, Any]) -> str:
    """The record as a hidden HTML comment (``>`` escaped, so it can never close the comment)."""
    text = json.dumps(rec, sort_keys=True, separators=(",", ":")).replace(">", "\\u003e")
    return f"<!-- {MARKER} {text} -->\n"


def parse_records(body: str) -> list[dict[str, Any]]:
    """Every well-formed record in a comment body (malformed ones are skipped)."""
    found = []
    for match in _RECORD_RE.finditer(body or ""):
        try:
            rec = Record.model_validate_json(match.group(1))
        except ValidationError:
            continue
        if rec.version == RECORD_VERSION:
            found.append(rec.model_dump())
    return found


def differing_inputs(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """The names of the inputs that are not the same in both records (sorted)."""
    return sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))


def metric_mismatches(
    expected: dict[str, Any], actual: dict[str, float], tolerance: float
) -> list[str]:
    """One sentence per metric that differs by more than ``tolerance`` (or is missing)."""
    problems = []
    for name in sorted(expected.keys() | actual.keys()):
        if name not in actual:
            problems.append(
                f"{name}: the PR reported {expected[name]}, the retrained model has none"
            )
        elif name not in expected:
            problems.append(f"{name}: the retrained model has {actual[name]}, the PR reported none")
        elif not math.isclose(float(expected[name]), actual[name], rel_tol=0.0, abs_tol=tolerance):
            problems.append(
                f"{name}: retrained {actual[name]:.6f}, the PR reported {float(expected[name]):.6f}"
            )
    return problems


def pr_record(
    github: GitHub, sha: str, author: str = DEFAULT_AUTHOR
) -> tuple[int | None, dict[str, Any] | None]:
    """(PR number, the record of its latest report comment by ``author``), None where absent."""
    pull = github.pull_of_commit(sha)
    if pull is None:
        return None, None
    number = int(pull["number"])
    latest: tuple[str, dict[str, Any]] | None = None
    for comment in github.comments(number):
        if (comment.get("user") or {}).get("login") != author:
            continue
        records = parse_records(comment.get("body") or "")
        stamp = str(comment.get("updated_at") or comment.get("created_at") or "")
        if records and (latest is None or stamp >= latest[0]):
            latest = (stamp, records[-1])
    return number, None if latest is None else latest[1]


@dataclass
class Outcome:
    compared: bool
    message: str


def check(
    github: GitHub,
    sha: str,
    *,
    root: Path = Path(),
    tolerance: float = 1e-6,
    author: str = DEFAULT_AUTHOR,
) -> Outcome:
    """Compare this checkout's record with its PR's; raise MlopsError when the metrics differ."""
    mine = record(root)
    number, theirs = pr_record(github, sha, author)
    short = sha[:12]
    if number is None:
        reason = f"no pull request is associated with {short} (a direct push)"
        return Outcome(False, f"{reason}: nothing to compare the metrics with")
    if theirs is None:
        reason = f"PR #{number} has no report record by {author} (a fork PR, or no report posted)"
        return Outcome(False, f"{reason}: nothing to compare the metrics with")
    changed = differing_inputs(theirs["inputs"], mine["inputs"])
    if changed:
        names = ", ".join(changed[:8]) + (
            f" and {len(changed) - 8} more" if len(changed) > 8 else ""
        )
        reason = (
            f"PR #{number}'s last report evaluated other inputs than {short} (main moved on "
            f"after it ran; different: {names})"
        )
        return Outcome(False, f"{reason}: the metrics are not compared")
    problems = metric_mismatches(theirs["metrics"], mine["metrics"], tolerance)
    if problems:
        raise MlopsError(
            f"the model reproduced at {short} is not the one PR #{number} reported, with the "
            f"same inputs: {'; '.join(problems)}. Either training is not deterministic on this "
            "runner (see docs/pipeline.md, Reproducibility; raise --tolerance for such a model "
            "family) or the PR's job reported a model this pipeline does not train"
        )
    headline = ", ".join(
        f"{k} {mine['metrics'][k]:.4f}" for k in ("roc_auc", "f1") if k in mine["metrics"]
    )
    return Outcome(
        True, f"all {len(mine['metrics'])} metrics match PR #{number}'s report ({headline})"
    )
