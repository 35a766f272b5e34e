"""``mlops report``: the PR report, the candidate (this checkout's model) against a baseline.

The baseline is the model on ``main`` reproduced from a ``git worktree`` of that revision
through DVC (restored from the shared DVC cache when it holds that model, trained with
``dvc repro train`` otherwise), or the registry's ``@champion`` when an MLflow tracking server
is configured. **Both models are scored on this checkout's test split**, so a data change does
not make the comparison meaningless.

Writes ``report.md`` (``--output``), its images and ``report.json`` (verdict, gate results, both
models' metrics) under ``reports/report/``, and appends the markdown to ``$GITHUB_STEP_SUMMARY``
when that is set. ``build`` is the pure part (both evaluations in, a report out); ``run`` does
the git / DVC / file work.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from mlops import ci, provenance
from mlops import data as data_mod
from mlops import gate as gate_mod
from mlops.errors import MlopsError

if TYPE_CHECKING:
    from mlops.config import Params
    from mlops.evaluate import Evaluation

REPORT_MD = Path("report.md")
REPORT_DIR = Path("reports/report")
REPORT_JSON = gate_mod.REPORT_JSON
VALIDATION_JSON = Path("reports/validation.json")
IMPORTANCE_JSON = Path("plots/importance.json")
METRIC_ORDER = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "log_loss", "brier")
SERVER_SCHEMES = ("http://", "https://", "databricks")


class BaselineError(MlopsError):
    """The baseline model could not be reproduced or loaded."""


@dataclass
class Baseline:
    kind: str  # "main" (a git revision through DVC) | "champion" (MLflow registry)
    label: str  # how the report names it: "main", "champion v3"
    commit: str | None
    model: Any  # ThresholdedModel
    features: list[str]  # the model's input columns
    model_type: str
    how: str  # how the model was obtained (restored from cache, retrained, registry)
    params: dict[str, Any] | None = None  # its params.yaml (None for the champion)
    raw: pd.DataFrame | None = None  # its raw data (None for the champion)
    data_md5: str | None = None


@dataclass
class Report:
    markdown: str
    summary: dict[str, Any]
    images: dict[str, Path] = field(default_factory=dict)


# --- baseline -----------------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def resolve_base_rev(base_rev: str | None) -> str:
    """``base_rev`` or, by default, ``main`` (``origin/main`` where there is no local main)."""
    candidates = [base_rev] if base_rev else ["main", "origin/main"]
    for rev in candidates:
        if _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode == 0:
            return rev
    raise BaselineError(
        f"--base-rev: git revision {candidates[0]!r} not found"
        + ("" if base_rev else " (nor 'origin/main'); fetch it or pass --base-rev")
    )


def _stage_env(worktree: Path) -> dict[str, str]:
    """The baseline's stages run its own code (src/ first on PYTHONPATH) and log nowhere shared."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(worktree / "src")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{worktree / 'mlflow.db'}"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def _dvc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        env=_stage_env(cwd),
        capture_output=True,
        text=True,
        check=False,
    )


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit code {proc.returncode}"


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``rev`` sharing this checkout's DVC cache; removed after."""
    parent = Path(tempfile.mkdtemp(prefix="mlops-baseline-"))
    path = parent / "repo"
    added = _git("worktree", "add", "--detach", "--quiet", str(path), rev)
    if added.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise BaselineError(f"git worktree add {rev}: {_last_line(added)}")
    try:
        cache = subprocess.run(
            [sys.executable, "-m", "dvc", "cache", "dir"],
            capture_output=True,
            text=True,
            check=False,
        )
        if cache.returncode == 0 and cache.stdout.strip():
            _dvc(["config", "--local", "cache.dir", cache.stdout.strip()], path)
        yield path
    finally:
        _git("worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        _git("worktree", "prune")


def _lock_md5(lock: Path, out: str) -> str | None:
    if not lock.exists():
        return None
    doc = yaml.safe_load(lock.read_text(encoding="utf-8")) or {}
    for stage in (doc.get("stages") or {}).values():
        for entry in stage.get("outs") or []:
            if entry.get("path") == out:
                return str(entry.get("md5"))
    return None


def reproduce_model(path: Path) -> str:
    """Bring ``models/model.joblib`` of the worktree at ``path`` to what its dvc.lock records.

    Order: the shared cache (``dvc checkout``), the DVC remote (``dvc pull``), then
    ``dvc repro train`` (the run-cache may still restore it). Returns how it was obtained.
    """
    from mlops.train import file_md5

    model = path / "models" / "model.joblib"
    pulled = _dvc(["pull", "--quiet", "data.dvc"], path)
    if pulled.returncode != 0:
        raise BaselineError(f"dvc pull data.dvc at the baseline: {_last_line(pulled)}")
    locked = _lock_md5(path / "dvc.lock", "models/model.joblib")
    if locked is not None:
        for command, how in (
            ("checkout", "restored from the DVC cache"),
            ("pull", "pulled from the DVC remote"),
        ):
            done = _dvc([command, "--quiet", "models/model.joblib"], path).returncode == 0
            if done and model.exists() and file_md5(model) == locked:
                return how
    repro = _dvc(["repro", "train"], path)
    if repro.returncode != 0:
        raise BaselineError(f"dvc repro train at the baseline: {_last_line(repro)}")
    if not model.exists():
        raise BaselineError("dvc repro train at the baseline produced no models/model.joblib")
    return "reproduced with `dvc repro train`"


def _load_model(path: Path) -> Any:
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling code from another revision fails in many ways
        raise BaselineError(f"{path.name}: cannot be loaded by this code: {exc}") from None


FULL_SHA = re.compile(r"[0-9a-f]{40}")


def rev_label(rev: str, name: str | None = None) -> str:
    """How the report names a git baseline: ``name`` (the PR's base branch, e.g. ``main``)
    when given, else the revision itself, a commit SHA shortened (the SHA is shown beside)."""
    if name:
        return name
    return rev[:12] if FULL_SHA.fullmatch(rev) else rev


def baseline_from_rev(rev: str, name: str | None = None) -> Baseline:
    with worktree(rev) as path:
        commit = _git("rev-parse", "HEAD", cwd=path).stdout.strip() or None
        try:
            base_params = yaml.safe_load((path / "params.yaml").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise BaselineError(f"params.yaml at {rev}: cannot be read: {exc}") from None
        how = reproduce_model(path)
        model = _load_model(path / "models" / "model.joblib")
        raw_path = path / str(base_params["data"]["path"])
        raw = data_mod.read_raw(raw_path) if raw_path.exists() else None
        features = base_params.get("features") or {}
        return Baseline(
            kind="main",
            label=rev_label(rev, name),
            commit=commit,
            model=model,
            features=[*features.get("numeric", []), *features.get("categorical", [])],
            model_type=str((base_params.get("model") or {}).get("type")),
            how=how,
            params=base_params,
            raw=raw,
            data_md5=provenance.data_version(path / "data.dvc").get("md5"),
        )


def server_configured(params: Params) -> bool:
    from mlops.tracking import tracking_uri

    return tracking_uri(params).startswith(SERVER_SCHEMES)


def baseline_from_champion(params: Params, *, required: bool) -> Baseline | None:
    """The registry's ``@champion`` (None when there is none and it is not ``required``)."""
    from mlops import registry

    mlclient = registry.client(params)
    name = params.mlflow.registered_model
    champion = registry._by_alias(mlclient, name, registry.CHAMPION)
    if champion is None:
        if required:
            raise BaselineError(f"model {name!r} has no {registry.CHAMPION!r} version")
        return None
    import mlflow

    target = Path(tempfile.mkdtemp(prefix="mlops-champion-"))
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}@{registry.CHAMPION}", dst_path=str(target)
            )
        )
        found = sorted(local.rglob("*.joblib"))
        if not found:
            raise BaselineError(f"champion v{champion.version}: no .joblib artifact in the model")
        model = _load_model(found[0])
    finally:
        shutil.rmtree(target, ignore_errors=True)
    tags = champion.tags or {}
    pipeline = getattr(model, "pipeline", model)
    features = [str(c) for c in getattr(pipeline, "feature_names_in_", params.features.used)]
    return Baseline(
        kind="champion",
        label=f"champion v{champion.version}",
        commit=tags.get("git_commit"),
        model=model,
        features=features,
        model_type=str(tags.get("model_type", "?")),
        how=f"MLflow registry {name}@{registry.CHAMPION}",
        data_md5=tags.get("data_md5"),
    )


def choose_baseline(
    params: Params, mode: str, base_rev: str | None, base_name: str | None = None
) -> Baseline:
    if mode in ("auto", "champion") and (mode == "champion" or server_configured(params)):
        found = baseline_from_champion(params, required=mode == "champion")
        if found is not None:
            return found
    return baseline_from_rev(resolve_base_rev(base_rev), base_name)


# --- comparisons (pure) -------------------------------------------------------------------------


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def params_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """Changed leaves (dotted keys) of two params documents; lists compare as a whole."""
    if old is None:
        return []
    a, b = _flatten(old), _flatten(new)
    rows = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "(absent)") != b.get(key, "(absent)"):
            rows.append(
                {"param": key, "old": a.get(key, "(absent)"), "new": b.get(key, "(absent)")}
            )
    return rows


def _kind(column: pd.Series) -> str:
    values = column.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return "empty"
    numeric = pd.to_numeric(values, errors="coerce")
    return "numeric" if numeric.notna().all() else "text"


def data_diff(old: pd.DataFrame | None, new: pd.DataFrame, id_column: str | None) -> dict[str, Any]:
    """Rows added/removed (by the id column, else by whole-row content) and schema changes."""
    if old is None:
        return {"available": False, "rows": {"current": len(new)}}
    if id_column and id_column in old.columns and id_column in new.columns:
        old_keys, new_keys = set(old[id_column].astype(str)), set(new[id_column].astype(str))
        key = f"id column {id_column!r}"
    else:
        shared = [c for c in new.columns if c in old.columns]
        old_keys = set(old[shared].astype(str).agg("\x1f".join, axis=1))
        new_keys = set(new[shared].astype(str).agg("\x1f".join, axis=1))
        key = "row content"
    shared_columns = [c for c in new.columns if c in old.columns]
    changed_kind = [
        {"column": c, "old": _kind(old[c]), "new": _kind(new[c])}
        for c in shared_columns
        if _kind(old[c]) != _kind(new[c])
    ]
    return {
        "available": True,
        "matched_by": key,
        "rows": {
            "baseline": len(old),
            "current": len(new),
            "added": len(new_keys - old_keys),
            "removed": len(old_keys - new_keys),
        },
        "schema": {
            "added_columns": [c for c in new.columns if c not in old.columns],
            "removed_columns": [c for c in old.columns if c not in new.columns],
            "changed_types": changed_kind,
        },
    }


def resample(xs: list[float], ys: list[float], grid: np.ndarray) -> list[float]:
    """``ys`` at the ``grid`` points (curves with repeated x keep their highest y there)."""
    frame = pd.DataFrame({"x": xs, "y": ys}).groupby("x", as_index=False)["y"].max()
    return [round(float(v), 3) for v in np.interp(grid, frame["x"], frame["y"])]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != 0 else "0"
    if isinstance(value, str):
        return value
    return json.dumps(value)  # true / false / null / lists, as in params.yaml


def _mermaid_list(values: list[float] | list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else f"{v:g}" for v in values) + "]"


def mermaid_curves(
    title: str,
    x_label: str,
    y_label: str,
    grid: np.ndarray,
    series: list[list[float]],
) -> str:
    """An ``xychart-beta`` line chart (GitHub renders Mermaid in comments)."""
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f'    x-axis "{x_label}" {_mermaid_list([f"{x:.2f}" for x in grid])}',
        f'    y-axis "{y_label}" 0 --> 1',
    ]
    lines += [f"    line {_mermaid_list(s)}" for s in series]
    lines.append("```")
    return "\n".join(lines)


def mermaid_bars(title: str, labels: list[str], values: list[float], y_label: str) -> str:
    top = max([*values, 0.0])
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f"    x-axis {_mermaid_list(labels)}",
        f'    y-axis "{y_label}" 0 --> {max(top * 1.1, 0.001):.3f}',
        f"    bar {_mermaid_list([round(max(v, 0.0), 4) for v in values])}",
        "```",
    ]
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def actions_links() -> dict[str, str]:
    """Links to the workflow run and its artifacts when running in GitHub Actions."""
    env = os.environ
    if env.get("GITHUB_ACTIONS") != "true":
        return {}
    server, repo, run_id = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if not (server and repo and run_id):
        return {}
    run = f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}"
    return {"run": run, "artifacts": f"{run}#artifacts"}


@dataclass
class Inputs:
    """Everything ``build`` needs, already read."""

    params: Params
    params_doc: dict[str, Any]
    baseline: Baseline
    candidate_eval: Evaluation
    baseline_eval: Evaluation
    test_rows: int
    commit: str | None
    data_version: dict[str, Any]
    raw: pd.DataFrame
    validation: dict[str, Any] | None
    drift: dict[str, Any] | None
    importance: list[dict[str, Any]]
    images: dict[str, Path]
    image_base: Path  # the directory the markdown lives in (image links are relative to it)


def build(inp: Inputs) -> Report:
    """The markdown and report.json of a comparison (no I/O)."""
    params, base = inp.params, inp.baseline
    cand_m, base_m = inp.candidate_eval.metrics, inp.baseline_eval.metrics
    results = gate_mod.evaluate(
        params.gate, dict(cand_m), dict(base_m), candidate_label="this PR",
        baseline_label=base.label,
    )  # fmt: skip
    failed = gate_mod.failures(results)
    passed = not failed
    short = (inp.commit or "uncommitted")[:12]
    base_short = (base.commit or "?")[:12]
    md: list[str] = []
    if passed:
        md.append(f"## ✅ Quality gate passed: this PR vs {base.label}")
    else:
        md.append(f"## ❌ Quality gate failed: this PR vs {base.label}")
        md += [f"- {reason}" for reason in failed]
        md.append("")
    data_md5 = inp.data_version.get("md5") or "?"
    md += [
        f"**Model:** `{params.model_type}` ({base.label}: `{base.model_type}`) · "
        f"**Data:** `{data_md5}` ({len(inp.raw):,} rows) · **Commit:** `{short}`",
        "",
        f"**Baseline:** {base.label} @ `{base_short}`, {base.how}. Both models are scored on "
        f"this PR's test split ({inp.test_rows:,} rows).",
        "",
        "### Metrics",
        "",
    ]
    rules: dict[str, list[gate_mod.RuleResult]] = {}
    for r in results:
        rules.setdefault(r.metric, []).append(r)
    rows = []
    for metric in [m for m in METRIC_ORDER if m in cand_m]:
        new, old = cand_m[metric], base_m.get(metric)
        delta = "" if old is None else f"{new - old:+.4f}"
        checks = rules.get(metric, [])
        rule = "; ".join(r.rule for r in checks) or "-"
        result = (" ".join("✅" if r.passed else "❌" for r in checks)) or "-"
        rows.append([metric, _fmt(old), _fmt(new), delta, rule, result])
    md += _table([
        "metric", base.label, "this PR", "Δ", "gate rule", "result",
    ], rows)  # fmt: skip
    md.append("")

    changes = params_diff(base.params, inp.params_doc)
    md += ["### Params changed", ""]
    if base.params is None:
        md += [f"Not compared: the baseline is {base.label} (registry), not a git revision.", ""]
    elif not changes:
        md += [f"No params changed versus {base.label}.", ""]
    else:
        md += _table(
            ["param", base.label, "this PR"],
            [[c["param"], f"`{_fmt(c['old'])}`", f"`{_fmt(c['new'])}`"] for c in changes],
        )
        md.append("")

    diff = data_diff(base.raw, inp.raw, params.data.id_column)
    md += ["### Data", ""]
    if diff["available"]:
        r = diff["rows"]
        same = base.data_md5 == inp.data_version.get("md5")
        md.append(
            f"- Rows: {r['baseline']:,} ({base.label}) → {r['current']:,} (this PR): "
            f"**+{r['added']:,} added, −{r['removed']:,} removed** "
            f"(matched by {diff['matched_by']})" + (" · same data version" if same else "")
        )
        s = diff["schema"]
        if s["added_columns"] or s["removed_columns"] or s["changed_types"]:
            parts = []
            if s["added_columns"]:
                parts.append("added " + ", ".join(f"`{c}`" for c in s["added_columns"]))
            if s["removed_columns"]:
                parts.append("removed " + ", ".join(f"`{c}`" for c in s["removed_columns"]))
            parts += [f"`{t['column']}` {t['old']} → {t['new']}" for t in s["changed_types"]]
            md.append("- Schema: " + "; ".join(parts))
        else:
            md.append("- Schema: no changes")
    else:
        md.append(f"- Rows: {len(inp.raw):,} (the baseline's data is not available to compare)")
    v = inp.validation
    if v is None:
        md.append("- Validation: not run (no reports/validation.json)")
    else:
        icon = "✅" if v.get("success") else "❌"
        md.append(
            f"- Validation: {icon} {v.get('evaluated', '?')} expectations evaluated, "
            f"{v.get('failed', '?')} failed (suite `{v.get('suite', '?')}`)"
        )
    md.append("")
    drift_rows: list[dict[str, Any]] = []
    if inp.drift is not None:
        d = inp.drift
        columns = d["columns"]
        top = sorted(columns, key=lambda c: -float(columns[c]["psi"]))
        top = top[: params.report.drift_features]
        target = d["target"]
        drift_table = _table(
            ["feature", "kind", "PSI", "test p-value", "drifted"],
            [
                [
                    f"`{name}`",
                    columns[name]["kind"],
                    f"{columns[name]['psi']:.4f}",
                    f"{columns[name].get('ks_pvalue', columns[name].get('chi2_pvalue')):.3g}",
                    "⚠️ " + "; ".join(columns[name]["reasons"])
                    if columns[name]["drifted"]
                    else "no",
                ]
                for name in top
            ],
        )
        drift_table += [
            "",
            f"Target rate ({target['column']} = {target['positive_label']!r}): "
            f"{target['reference_rate']:.3f} → {target['current_rate']:.3f} "
            f"({target['delta']:+.3f}){' ⚠️ drifted' if target['drifted'] else ''}",
        ]
        drift_rows = [{"feature": n, **columns[n]} for n in top]
        md += _details(
            f"Drift vs {base.label}: {len(d['drifted_columns'])} of {len(columns)} features "
            f"drifted (top {len(top)} by PSI)",
            drift_table,
        )

    md += ["### Plots", ""]
    n = params.report.mermaid_points
    grid = np.linspace(0.0, 1.0, n)
    curves = []
    for ev in (inp.baseline_eval, inp.candidate_eval):
        curves.append(
            (
                resample([p["fpr"] for p in ev.roc], [p["tpr"] for p in ev.roc], grid),
                resample(
                    [p["recall"] for p in ev.precision_recall],
                    [p["precision"] for p in ev.precision_recall],
                    grid,
                ),
            )
        )
    md.append(f"Lines: first {base.label}, second this PR.")
    md.append("")
    md.append(
        mermaid_curves(
            f"ROC: {base.label} AUC {base_m['roc_auc']:.3f}, this PR {cand_m['roc_auc']:.3f}",
            "False positive rate", "True positive rate", grid, [c[0] for c in curves],
        )
    )  # fmt: skip
    md.append("")
    md.append(
        mermaid_curves(
            f"Precision-recall: {base.label} AP {base_m['pr_auc']:.3f}, "
            f"this PR {cand_m['pr_auc']:.3f}",
            "Recall", "Precision", grid, [c[1] for c in curves],
        )
    )  # fmt: skip
    md.append("")

    def link(name: str, alt: str) -> str | None:
        path = inp.images.get(name)
        if path is None or not params.report.publish_images:
            return None
        return f"![{alt}]({os.path.relpath(path, inp.image_base)})"

    images = [
        link("roc", "ROC curves"),
        link("precision_recall", "Precision-recall curves"),
        link("confusion", "Confusion matrices"),
    ]
    shown = [i for i in images if i]
    confusion_rows = []
    for label, ev in ((base.label, inp.baseline_eval), ("this PR", inp.candidate_eval)):
        from mlops.plots import confusion_counts

        c = confusion_counts(ev)
        confusion_rows.append(
            [label, f"{ev.threshold:.3f}", str(c[0][0]), str(c[0][1]), str(c[1][0]), str(c[1][1])]
        )
    body = _table(
        ["model", "threshold", "TN", "FP", "FN", "TP"], confusion_rows
    )  # fmt: skip
    body.append("")
    if shown:
        # Each image a paragraph of its own: CML rewrites the links of a line that holds two.
        body += [line for image in shown for line in (image, "")]
    else:
        body.append(
            "_Images not published (`report.publish_images: false`); they are in the "
            "workflow's artifacts._"
        )
    md += _details("Confusion matrices and curve images", body)
    if inp.importance:
        top_imp = inp.importance[:10]
        imp_body = [
            mermaid_bars(
                "Permutation importance, this PR (drop in ROC-AUC)",
                [str(r["feature"]) for r in top_imp],
                [float(r["importance"]) for r in top_imp],
                "ROC-AUC decrease",
            ),
            "",
        ]
        imp_link = link("importance", "Permutation importance")
        if imp_link:
            imp_body.append(imp_link)
        md += _details("Feature importance (this PR)", imp_body)

    links = actions_links()
    if links:
        md += ["---", f"[Workflow run]({links['run']}) · [Artifacts]({links['artifacts']})", ""]
    markdown = "\n".join(md).rstrip("\n") + "\n"

    summary = {
        "verdict": "passed" if passed else "failed",
        "passed": passed,
        "failures": failed,
        "gate": [r.to_dict() for r in results],
        "candidate": {
            "commit": inp.commit,
            "model_type": params.model_type,
            "data_md5": inp.data_version.get("md5"),
            "rows": len(inp.raw),
            "threshold": inp.candidate_eval.threshold,
        },
        "baseline": {
            "kind": base.kind,
            "label": base.label,
            "commit": base.commit,
            "model_type": base.model_type,
            "how": base.how,
            "data_md5": base.data_md5,
            "threshold": inp.baseline_eval.threshold,
        },
        "test_rows": inp.test_rows,
        "metrics": {"candidate": cand_m, "baseline": base_m},
        "params_changed": changes,
        "data": diff,
        "drift": None
        if inp.drift is None
        else {
            "drifted_columns": inp.drift["drifted_columns"],
            "target": inp.drift["target"],
            "top": drift_rows,
        },
        "images": {k: str(p) for k, p in inp.images.items()}
        if params.report.publish_images
        else {},
        "links": links,
    }
    return Report(markdown=markdown, summary=summary, images=inp.images)


# --- the command --------------------------------------------------------------------------------


def _score(model: Any, test: pd.DataFrame, columns: list[str], label: str, bins: int) -> Evaluation:
    from mlops.evaluate import evaluate

    missing = [c for c in columns if c not in test.columns]
    if missing:
        raise BaselineError(
            f"{label}'s model needs column(s) {', '.join(missing)} that this PR's test split "
            "does not have"
        )
    proba = model.predict_proba(test[columns])[:, 1]
    threshold = float(getattr(model, "threshold_", 0.5))
    return evaluate(test[data_mod.TARGET].to_numpy(), proba, threshold, bins)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run(
    params: Params,
    *,
    params_path: Path = Path("params.yaml"),
    baseline: str = "auto",
    base_rev: str | None = None,
    base_name: str | None = None,
    output: Path = REPORT_MD,
    out_dir: Path = REPORT_DIR,
) -> Report:
    """CLI wrapper: this checkout's model + test split, the baseline, then the files."""
    from mlops import drift as drift_mod
    from mlops import train as train_mod
    from mlops.evaluate import permutation_importance
    from mlops.plots import render_comparison

    validation = None
    if VALIDATION_JSON.exists():
        validation = json.loads(VALIDATION_JSON.read_text(encoding="utf-8"))
    if validation is not None and not validation.get("success", False):
        # No model was trained: the reviewer still gets a report saying which data is wrong.
        if out_dir.exists():
            shutil.rmtree(out_dir)
        return _publish(validation_failed(params, validation), output, out_dir)

    model = train_mod.load()  # fail early (exit 1) before touching git / DVC
    test = data_mod.read_prepared("test")
    raw = data_mod.read_raw(params.data.path)
    params_doc = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    base = choose_baseline(params, baseline, base_rev, base_name)
    print(f"report: baseline {base.label} @ {(base.commit or '?')[:12]}: {base.how}")

    bins = params.evaluate.calibration_bins
    candidate_eval = _score(model, test, params.features.used, "this PR", bins)
    baseline_eval = _score(base.model, test, base.features, base.label, bins)

    drift = None
    if base.raw is not None:
        try:
            drift = drift_mod.compare(
                data_mod.clean(base.raw, params), data_mod.clean(raw, params), params
            )
        except MlopsError as exc:
            print(f"report: drift not computed: {exc}")
    if IMPORTANCE_JSON.exists():  # the evaluate stage's, for this very model and test split
        importance = json.loads(IMPORTANCE_JSON.read_text(encoding="utf-8"))
    else:
        importance = permutation_importance(
            model,
            test[params.features.used],
            test[data_mod.TARGET].to_numpy(),
            repeats=params.evaluate.importance_repeats,
            seed=params.evaluate.seed,
        )

    if out_dir.exists():
        shutil.rmtree(out_dir)
    images = render_comparison(
        candidate_eval, baseline_eval, importance, out_dir, baseline_label=base.label
    )
    report = build(
        Inputs(
            params=params,
            params_doc=params_doc,
            baseline=base,
            candidate_eval=candidate_eval,
            baseline_eval=baseline_eval,
            test_rows=len(test),
            commit=provenance.git_commit(),
            data_version=provenance.data_version(),
            raw=raw,
            validation=validation,
            drift=drift,
            importance=importance,
            images=images,
            image_base=output.resolve().parent,
        )
    )
    _add_record(report)
    return _publish(report, output, out_dir)


def _add_record(report: Report) -> None:
    """Append the hidden record the deploy workflow checks a retrained model against."""
    from mlops import reproduction

    try:
        rec = reproduction.record()
    except MlopsError as exc:
        print(f"report: no reproduction record in the comment: {exc}")
        return
    report.markdown = report.markdown.rstrip("\n") + "\n\n" + reproduction.record_comment(rec)
    report.summary["record"] = rec


def validation_failed(params: Params, validation: dict[str, Any]) -> Report:
    """The report of a PR whose data failed validation: the failures, no model comparison."""
    from mlops.validate import failure_sentences

    failures = failure_sentences(validation) or ["see reports/validation.json"]
    data_version = provenance.data_version()
    commit = provenance.git_commit()
    rows = validation.get("rows")
    md = [
        "## ❌ Quality gate failed: the data did not pass validation",
        f"**Model:** `{params.model_type}` (not trained) · "
        f"**Data:** `{data_version.get('md5') or '?'}`"
        + (f" ({rows:,} rows)" if isinstance(rows, int) else "")
        + f" · **Commit:** `{(commit or '?')[:12]}`",
        "",
        f"Validation of `{validation.get('data', params.data.path)}` against the suite "
        f"`{validation.get('suite', params.validation.suite)}` failed "
        f"({validation.get('failed', len(failures))} of {validation.get('evaluated', '?')} "
        "expectations), so nothing was trained and there is no model to compare with main. "
        "Fix the data, or the suite if the change is intended, and push again.",
        "",
        "### Failed expectations",
        "",
        *[f"- {sentence}" for sentence in failures],
        "",
    ]
    links = actions_links()
    if links:
        md += [f"[Workflow run]({links['run']}) · [Data Docs]({links['artifacts']})", ""]
    summary = {
        "verdict": "failed",
        "failures": [f"data validation failed: {sentence}" for sentence in failures],
        "validation": {k: validation.get(k) for k in ("success", "evaluated", "failed", "suite")},
        "validation_failed": True,
        "commit": commit,
        "data_version": data_version,
        "model_type": params.model_type,
    }
    return Report(markdown="\n".join(md), summary=summary)


def _publish(report: Report, output: Path, out_dir: Path) -> Report:
    """Write report.json and the markdown (and the job summary in GitHub Actions)."""
    _write_atomic(out_dir / "report.json", json.dumps(report.summary, indent=2, default=str) + "\n")
    _write_atomic(output, report.markdown)
    ci.write_summary(report.markdown)
    verdict = report.summary["verdict"]
    print(f"report: {output} and {out_dir}/ written; gate {verdict}")
    for reason in report.summary["failures"]:
        print(f"  - {reason}")
    return report
