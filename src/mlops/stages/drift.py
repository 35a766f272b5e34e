"""``mlops drift``: how far the current data has moved from a reference, per feature.

Numeric features: population stability index (PSI) over the reference's quantile bins and the
two-sample Kolmogorov-Smirnov test. Categorical features: PSI over the categories and a
chi-square test of the two category counts. Plus the target, as fits the task
(:func:`target_drift`). A feature drifts when its PSI reaches ``drift.psi_threshold`` or its
test's p-value falls below ``drift.ks_pvalue`` / ``drift.chi2_pvalue``; a class's share (the
positive label's rate, for binary) drifts when it moves by ``drift.target_rate_delta`` or more.
``compare`` is the pure function; ``run`` reads the reference (a file, or ``data.path`` at a
git revision through DVC) and writes ``reports/drift.json``. With ``drift.fail_on_drift:
false`` drift is a warning (exit 0).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlops.core.artifacts import DRIFT, LABELS, TARGET, read_raw, read_raw_stream, write_json
from mlops.core.errors import ArtifactError, DataError, MlopsError

if TYPE_CHECKING:
    from mlops.core.config import Params

MISSING = "(missing)"
EPS = 1e-6  # floor of a bin's share in the PSI, so an empty bin does not give infinity


class DriftDetectedError(MlopsError):
    """Drift above the thresholds while ``drift.fail_on_drift`` is true."""


def psi(reference_share: np.ndarray, current_share: np.ndarray) -> float:
    """Population stability index of two distributions over the same bins."""
    ref = np.clip(reference_share, EPS, None)
    cur = np.clip(current_share, EPS, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def numeric_drift(reference: pd.Series, current: pd.Series, bins: int) -> dict[str, Any]:
    from scipy.stats import ks_2samp

    ref, cur = reference.dropna().to_numpy(float), current.dropna().to_numpy(float)
    if len(ref) == 0 or len(cur) == 0:
        raise DataError(f"column {reference.name!r} has no values to compare")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    # missing values are a bin of their own, so a jump in blanks shows up too
    ref_counts = np.append(ref_counts, reference.isna().sum())
    cur_counts = np.append(cur_counts, current.isna().sum())
    test = ks_2samp(ref, cur)
    return {
        "kind": "numeric",
        "psi": psi(_shares(ref_counts), _shares(cur_counts)),
        "ks_statistic": float(test.statistic),
        "ks_pvalue": float(test.pvalue),
        "reference_mean": float(ref.mean()),
        "current_mean": float(cur.mean()),
    }


def categorical_drift(reference: pd.Series, current: pd.Series) -> dict[str, Any]:
    from scipy.stats import chi2_contingency

    ref = reference.astype("object").fillna(MISSING).value_counts()
    cur = current.astype("object").fillna(MISSING).value_counts()
    categories = sorted(set(ref.index) | set(cur.index), key=str)
    ref_counts = ref.reindex(categories, fill_value=0).to_numpy()
    cur_counts = cur.reindex(categories, fill_value=0).to_numpy()
    if len(categories) > 1:
        table = np.vstack([ref_counts, cur_counts])
        stat, pvalue, _, _ = chi2_contingency(table)
        chi2, p = float(stat), float(pvalue)
    else:
        chi2, p = 0.0, 1.0
    return {
        "kind": "categorical",
        "psi": psi(_shares(ref_counts), _shares(cur_counts)),
        "chi2_statistic": chi2,
        "chi2_pvalue": p,
        "new_categories": [str(c) for c in categories if ref.get(c, 0) == 0],
    }


def numeric_reasons(result: dict[str, Any], params: Params) -> list[str]:
    """Why a numeric column (or a regression target) drifted: PSI and KS beyond the limits."""
    cfg = params.drift
    reasons = []
    if result["psi"] >= cfg.psi_threshold:
        reasons.append(f"PSI {result['psi']:.3f} >= {cfg.psi_threshold}")
    if result["ks_pvalue"] < cfg.ks_pvalue:
        reasons.append(f"KS p-value {result['ks_pvalue']:.2g} < {cfg.ks_pvalue}")
    return reasons


def compare(reference: pd.DataFrame, current: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Per-feature drift and the target rate; frames as ``stages.prepare.clean`` returns them."""
    cfg = params.drift
    columns: dict[str, dict[str, Any]] = {}
    for name in params.features.numeric:
        result = numeric_drift(reference[name], current[name], cfg.bins)
        reasons = numeric_reasons(result, params)
        columns[name] = {**result, "drifted": bool(reasons), "reasons": reasons}
    for name in params.features.categorical:
        result = categorical_drift(reference[name], current[name])
        reasons = []
        if result["psi"] >= cfg.psi_threshold:
            reasons.append(f"PSI {result['psi']:.3f} >= {cfg.psi_threshold}")
        if result["chi2_pvalue"] < cfg.chi2_pvalue:
            reasons.append(f"chi-square p-value {result['chi2_pvalue']:.2g} < {cfg.chi2_pvalue}")
        columns[name] = {**result, "drifted": bool(reasons), "reasons": reasons}
    target = {"column": params.data.target, **target_drift(reference, current, params)}
    drifted = [name for name, r in columns.items() if r["drifted"]]
    return {
        "drift": bool(drifted) or target["drifted"],
        "drifted_columns": drifted,
        "target": target,
        "rows": {"reference": len(reference), "current": len(current)},
        "thresholds": cfg.model_dump(),
        "columns": columns,
    }


def target_drift(reference: pd.DataFrame, current: pd.DataFrame, params: Params) -> dict:
    """How the target moved, as fits the task: binary, the positive label's rate; multiclass,
    each class's share (the largest change): either drifts when it moves by at least
    ``drift.target_rate_delta`` and a chi-square test of the class counts says it is not chance
    (p below ``drift.chi2_pvalue``: a small sample's noise is no alarm); regression, the
    target's distribution as a numeric feature's (PSI, Kolmogorov-Smirnov). ``description``
    says it in one line."""
    cfg, task = params.drift, params.data.task
    if task == "regression":
        result = numeric_drift(reference[TARGET], current[TARGET], cfg.bins)
        reasons = numeric_reasons(result, params)
        return {
            **result,
            "description": f"mean {result['reference_mean']:.4g} → {result['current_mean']:.4g}"
            f", PSI {result['psi']:.3f}",
            "drifted": bool(reasons),
            "reasons": reasons,
        }
    if task == "multiclass":
        ref_labels, cur_labels = (_class_values(f) for f in (reference, current))
        result = categorical_drift(ref_labels, cur_labels)
        classes = sorted(set(ref_labels) | set(cur_labels))
        ref_share = ref_labels.value_counts(normalize=True).reindex(classes, fill_value=0.0)
        cur_share = cur_labels.value_counts(normalize=True).reindex(classes, fill_value=0.0)
        change = cur_share - ref_share
        largest = str(change.abs().idxmax())
        delta = float(change[largest])
        return {
            **result,
            "reference_shares": {k: round(float(v), 6) for k, v in ref_share.items()},
            "current_shares": {k: round(float(v), 6) for k, v in cur_share.items()},
            "largest_change": {"class": largest, "delta": delta},
            "description": f"class shares: largest change {largest!r} "
            f"{float(ref_share[largest]):.3f} → {float(cur_share[largest]):.3f} ({delta:+.3f})",
            "drifted": abs(delta) >= cfg.target_rate_delta
            and result["chi2_pvalue"] < cfg.chi2_pvalue,
        }
    ref_rate, cur_rate = float(reference[TARGET].mean()), float(current[TARGET].mean())
    test = categorical_drift(reference[TARGET], current[TARGET])
    material = abs(cur_rate - ref_rate) >= cfg.target_rate_delta
    return {
        "positive_label": params.data.positive_label,
        "reference_rate": ref_rate,
        "current_rate": cur_rate,
        "delta": cur_rate - ref_rate,
        "chi2_pvalue": test["chi2_pvalue"],
        "description": f"rate of {params.data.positive_label!r} {ref_rate:.3f} → {cur_rate:.3f} "
        f"({cur_rate - ref_rate:+.3f}, chi-square p {test['chi2_pvalue']:.2g})",
        "drifted": material and test["chi2_pvalue"] < cfg.chi2_pvalue,
    }


def _class_values(frame: pd.DataFrame) -> pd.Series:
    """A prepared frame's target as its class values (the index means a class of its own)."""
    labels = np.asarray(frame.attrs.get(LABELS, []), dtype=object)
    return pd.Series(labels[frame[TARGET].to_numpy(dtype=int)], name=TARGET)


def _data_remote(rev: str, repo: str) -> dict[str, Any]:
    """``dvc.api.read`` arguments naming data.dvc's remote with its URL as this checkout
    resolves it: DVC resolves a remote's relative path (the embedded ``../data-remote``)
    against a temporary directory when it reads at a git revision, and then finds nothing."""
    import subprocess

    import yaml
    from dvc.repo import Repo

    from mlops.core.artifacts import DATA_DVC

    shown = subprocess.run(["git", "show", f"{rev}:{DATA_DVC.as_posix()}"], cwd=repo,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    doc = (yaml.safe_load(shown.stdout) or {}) if shown.returncode == 0 else {}
    out = (doc.get("outs") or [{}])[0]
    with Repo(repo) as dvc_repo:
        name = out.get("remote") or dvc_repo.config["core"].get("remote")
        url = (dvc_repo.config["remote"].get(name) or {}).get("url") if name else None
    if not name or not url:
        return {}
    return {"remote": name, "remote_config": {"url": str(url)}}


def read_at_revision(path: Path, rev: str, repo: str = ".") -> pd.DataFrame:
    """``path`` as it was at git revision ``rev`` (its .dvc file there, data via DVC)."""
    import dvc.api

    label = f"{path}@{rev}"
    try:
        text = dvc.api.read(str(path), repo=repo, rev=rev, mode="r", encoding="utf-8",
                            **_data_remote(rev, repo))  # fmt: skip
    except Exception as exc:  # DVC raises many types (revision, path, remote); one line each
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArtifactError(f"{label}: cannot be read through DVC: {first}") from None
    return read_raw_stream(io.StringIO(text), label)


def run(
    params: Params,
    reference: Path | None = None,
    rev: str | None = None,
    current: Path | None = None,
    report_path: Path = DRIFT,
) -> dict[str, Any]:
    """CLI wrapper: read both data sets, compare, write the drift report, warn or fail."""
    from mlops.stages.prepare import clean

    if (reference is None) == (rev is None):
        raise DataError("give exactly one reference: --reference PATH or --rev REVISION")
    current_path = current or params.data.path
    if reference is not None:
        ref_raw, ref_label = read_raw(reference), str(reference)
    else:
        assert rev is not None
        ref_raw, ref_label = read_at_revision(params.data.path, rev), f"{params.data.path}@{rev}"
    cur_raw = read_raw(current_path)
    try:
        ref_frame = clean(ref_raw, params)
    except DataError as exc:
        raise DataError(f"reference {ref_label}: {exc}") from None
    try:
        cur_frame = clean(cur_raw, params)
    except DataError as exc:
        raise DataError(f"current {current_path}: {exc}") from None
    report: dict[str, Any] = {"reference": ref_label, "current": str(current_path)}
    report.update(compare(ref_frame, cur_frame, params))
    write_json(report_path, report)

    target = report["target"]
    print(
        f"drift: {current_path} vs {ref_label}: {len(report['drifted_columns'])} of "
        f"{len(report['columns'])} features drifted; target {target['description']}"
    )
    for name in report["drifted_columns"]:
        print(f"  - {name}: {'; '.join(report['columns'][name]['reasons'])}")
    if target["drifted"]:
        print(f"  - target {target['column']!r}: {target['description']}")
    if report["drift"]:
        message = (
            f"drift detected in {', '.join(report['drifted_columns']) or 'no feature'}"
            f"{' and the target' if target['drifted'] else ''}; details in {report_path}"
        )
        if params.drift.fail_on_drift:
            raise DriftDetectedError(message)
        print(f"drift: warning: {message} (drift.fail_on_drift is false)")
    return report
