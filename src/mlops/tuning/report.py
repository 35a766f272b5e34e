"""What ``mlops tune`` found: ``tune.json`` (typed) and ``tune.md`` (the tuning PR's body),
with the optimisation history drawn (``history.png``) and as a Mermaid chart."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from mlops.core.documents import Document, JsonFile
from mlops.tasks.base import DISPLAY

if TYPE_CHECKING:
    from mlops.tuning.compare import Difference
    from mlops.tuning.search import Search

TOP_TRIALS = 5


class ScoredDoc(Document):
    values: dict[str, Any]
    folds: list[float]
    mean: float
    sd: float


class TrialDoc(Document):
    number: int
    state: Literal["COMPLETE", "PRUNED", "FAIL"]
    values: dict[str, Any]
    folds: list[float]
    seconds: float


class DifferenceDoc(Document):
    gain: float  # best minus current, positive when better (whatever the metric's direction)
    low: float
    high: float
    confidence: float
    folds: int


class TuneJson(JsonFile):
    kind: ClassVar[str] = "tune report"
    written_by: ClassVar[str] = "mlops tune"

    verdict: Literal["better", "no better"]
    created: str
    family: str
    current_type: str  # model.type before the search
    metric: str
    higher_is_better: bool
    cv_folds: int
    trials_asked: int
    timeout_minutes: float
    stopped_by: Literal["trials", "timeout"]
    seconds: float
    current: ScoredDoc
    best: ScoredDoc | None
    best_trial: int | None
    difference: DifferenceDoc | None
    min_gain: float
    changes: dict[str, Any]  # what params.yaml gets (dotted key -> value); empty: no better
    importances: dict[str, float]
    trials: list[TrialDoc]


def document(
    search: Search,
    difference: Difference | None,
    verdict: bool,
    params: Any,
    trials: int,
    timeout_minutes: float,
) -> TuneJson:
    def scored(s: Any) -> ScoredDoc:
        return ScoredDoc(values=s.values, folds=s.folds, mean=s.mean, sd=s.sd)

    changes: dict[str, Any] = {}
    if verdict and search.best is not None:
        if search.family != params.model_type:
            changes["model.type"] = search.family
        current = getattr(params.model, search.family).model_dump(mode="json")
        changes.update(
            {
                f"model.{search.family}.{k}": v
                for k, v in search.best.values.items()
                if current.get(k) != v
            }
        )
    return TuneJson(
        verdict="better" if verdict else "no better",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        family=search.family,
        current_type=params.model_type,
        metric=search.metric,
        higher_is_better=search.higher_is_better,
        cv_folds=params.tune.cv_folds,
        trials_asked=trials,
        timeout_minutes=timeout_minutes,
        stopped_by=search.stopped_by,  # type: ignore[arg-type]
        seconds=round(search.seconds, 1),
        current=scored(search.current),
        best=scored(search.best) if search.best is not None else None,
        best_trial=search.best_number,
        difference=None if difference is None else DifferenceDoc(**vars(difference)),
        min_gain=params.tune.min_gain,
        changes=changes,
        importances=search.importances,
        trials=[TrialDoc(**vars(t)) for t in search.trials],
    )


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "null" if value is None else str(value)


def _signed(value: float) -> str:
    return f"{value:+.4f}"


def _headline(doc: TuneJson) -> list[str]:
    name = DISPLAY.get(doc.metric, doc.metric)
    where = f"{doc.cv_folds}-fold cross-validation on the training split"
    lines = [f"## Hyper-parameter search: {doc.family}, {name} ({where})", ""]
    current = f"{doc.current.mean:.4f} ± {doc.current.sd:.4f}"
    if doc.best is None or doc.difference is None:
        return [*lines, f"**No trial completed**: the current params stay ({name} {current}).", ""]
    diff = doc.difference
    best = f"{doc.best.mean:.4f} ± {doc.best.sd:.4f}"
    interval = (
        f"gain {_signed(diff.gain)}, {diff.confidence:.0%} interval "
        f"[{_signed(diff.low)}, {_signed(diff.high)}] (paired over the {diff.folds} folds, "
        f"corrected resampled t)"
    )
    if doc.verdict == "better":
        lines.append(
            f"**Better than the current params**: {name} {best} (mean ± sd over the folds) "
            f"against {current}; {interval}. params.yaml gets the values below."
        )
    else:
        why = (
            "its interval includes no gain"
            if diff.low <= 0
            else f"its gain is below tune.min_gain ({doc.min_gain:g} of the current score)"
        )
        lines.append(
            f"**No better than the current params**: the best trial scored {name} {best} "
            f"against {current}; {interval}: {why}. params.yaml is unchanged."
        )
    return [*lines, ""]


def _changes(doc: TuneJson) -> list[str]:
    if doc.best is None:
        return []
    rows = ["| hyper-parameter | current | best trial |", "| --- | ---: | ---: |"]
    if doc.family != doc.current_type:
        rows.append(f"| model.type | {doc.current_type} | {doc.family} |")
    current = doc.current.values if doc.family == doc.current_type else {}
    for key, value in doc.best.values.items():
        before = _value(current[key]) if key in current else "(as params.yaml sets it)"
        rows.append(f"| {key} | {before} | {_value(value)} |")
    return [*rows, ""]


def _trials(doc: TuneJson) -> list[str]:
    complete = [t for t in doc.trials if t.state == "COMPLETE"]
    pruned = sum(t.state == "PRUNED" for t in doc.trials)
    ranked = sorted(
        complete, key=lambda t: float(sum(t.folds) / len(t.folds)), reverse=doc.higher_is_better
    )[:TOP_TRIALS]
    stop = "the trial budget" if doc.stopped_by == "trials" else "the timeout"
    lines = [
        f"### Top trials ({len(complete)} complete, {pruned} stopped early by the pruner, of "
        f"{len(doc.trials)} run in {doc.seconds / 60:.1f} min; stopped by {stop})",
        "",
    ]
    if not ranked:
        return [*lines, "No trial completed.", ""]
    keys = list(ranked[0].values)
    lines.append("| trial | mean | sd | " + " | ".join(keys) + " |")
    lines.append("| ---: | ---: | ---: | " + " | ".join("---:" for _ in keys) + " |")
    for t in ranked:
        mean = sum(t.folds) / len(t.folds)
        sd = math.sqrt(sum((f - mean) ** 2 for f in t.folds) / max(len(t.folds) - 1, 1))
        cells = " | ".join(_value(t.values.get(k)) for k in keys)
        lines.append(f"| {t.number} | {mean:.4f} | {sd:.4f} | {cells} |")
    return [*lines, ""]


def _importances(doc: TuneJson) -> list[str]:
    from mlops.report.sections import mermaid_bars

    if not doc.importances:
        return []
    names, values = list(doc.importances), list(doc.importances.values())
    return [
        "### Parameter importances (fANOVA over the completed trials)",
        "",
        mermaid_bars("Share of the score's variance", names, values, "importance"),
        "",
    ]


def _history(doc: TuneJson) -> list[str]:
    from mlops.report.sections import mermaid_curves

    complete = [t for t in doc.trials if t.state == "COMPLETE"]
    if len(complete) < 2:
        return []
    values = [sum(t.folds) / len(t.folds) for t in complete]
    pick = max if doc.higher_is_better else min
    best = [pick(values[: i + 1]) for i in range(len(values))]
    low, high = min([*values, doc.current.mean]), max([*values, doc.current.mean])
    pad = (high - low) * 0.1 or 0.01
    chart = mermaid_curves(
        "Each completed trial, the best so far and the current params",
        "trial",
        DISPLAY.get(doc.metric, doc.metric),
        [float(t.number) for t in complete],
        [
            [round(v, 4) for v in values],
            [round(v, 4) for v in best],
            [round(doc.current.mean, 4)] * len(values),
        ],
        y_range=(low - pad, high + pad),
        x_format="{:.0f}",
    )
    lines = "each completed trial's mean over the folds, the best so far, the current params"
    return ["### Optimisation history", "", chart, "", f"The lines: {lines}.", ""]


def markdown(doc: TuneJson) -> str:
    lines = [*_headline(doc), *_changes(doc), *_trials(doc), *_importances(doc), *_history(doc)]
    lines += [
        "The winner was picked for its score on these folds, so its gain here is optimistic; "
        "the PR report compares the model it trains with the champion on the test split, "
        "which the search never saw.",
        "",
    ]
    return "\n".join(lines)


def draw_history(search: Search, path: Path) -> None:
    """Optuna's optimisation-history plot (matplotlib), as a PNG beside tune.md."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        axes = optuna.visualization.matplotlib.plot_optimization_history(
            search.study, target_name=DISPLAY.get(search.metric, search.metric)
        )
    axes.axhline(search.current.mean, color="grey", linestyle="--", label="current params")
    axes.legend(loc="best")
    figure: Any = axes.get_figure()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(figure)
    tmp.replace(path)
