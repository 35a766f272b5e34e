"""PNG renderings of the evaluation plots (matplotlib, Agg backend) for reports and MLflow.

The same data as the DVC plots in ``plots/*.json``; ``dvc plots show`` renders those
interactively, these files are for places that only show images (a PR comment, MLflow).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops.core.results import Evaluation

# No timestamps or version strings in the files: the same data gives the same bytes.
_PNG_METADATA = {"Software": None}


def figure(title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.set_title(title)
    return fig, ax


def save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, format="png", metadata=_PNG_METADATA)
    plt.close(fig)


def render_images(evaluation: Evaluation, importance: list[dict[str, Any]], out_dir: Path) -> Path:
    """Write the task's plots (``evaluation.plots``) and the importance as PNGs to ``out_dir``."""
    from mlops.stages import plots_tasks

    out_dir.mkdir(parents=True, exist_ok=True)
    render = plots_tasks.IMAGES.get(evaluation.task, _binary_images)
    render(evaluation, out_dir)
    importance_image(importance, evaluation.task, out_dir / "importance.png", "test")
    return out_dir


def importance_image(
    importance: list[dict[str, Any]], task: str, path: Path, whose: str, *, errors: bool = True
) -> None:
    """Permutation importance as horizontal bars (``whose``: "test", "this PR")."""
    from mlops.tasks import TASKS

    meaning = TASKS[task].importance_meaning
    fig, ax = figure(f"Permutation importance, {whose} ({meaning})")
    rows = list(reversed(importance))
    ax.barh(
        [r["feature"] for r in rows],
        [r["importance"] for r in rows],
        xerr=[r.get("std", 0.0) for r in rows] if errors else None,
    )
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel(f"Mean {meaning}")
    fig.set_size_inches(6, 5)
    save(fig, path)


def _binary_images(evaluation: Evaluation, out_dir: Path) -> None:
    auc, ap = evaluation.metrics["roc_auc"], evaluation.metrics["pr_auc"]

    fig, ax = figure(f"ROC curve (test), AUC {auc:.3f}")
    ax.plot([p["fpr"] for p in evaluation.roc], [p["tpr"] for p in evaluation.roc])
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    save(fig, out_dir / "roc.png")

    fig, ax = figure(f"Precision-recall (test), AP {ap:.3f}")
    pr = evaluation.precision_recall
    ax.plot([p["recall"] for p in pr], [p["precision"] for p in pr])
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_ylim(0, 1.02)
    save(fig, out_dir / "precision_recall.png")

    fig, ax = figure(f"Confusion matrix (threshold {evaluation.threshold:.3f})")
    counts = confusion_counts(evaluation)
    ax.imshow(counts, cmap="Blues")
    for a in (0, 1):
        for p in (0, 1):
            ax.text(p, a, str(counts[a][p]), ha="center", va="center", fontsize=14)
    ax.set_xticks([0, 1], ["0", "1"])
    ax.set_yticks([0, 1], ["0", "1"])
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    save(fig, out_dir / "confusion.png")

    fig, ax = figure(f"Calibration (test), Brier {evaluation.metrics['brier']:.3f}")
    cal = evaluation.calibration
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.plot([c["mean_predicted"] for c in cal], [c["fraction_positive"] for c in cal], marker="o")
    ax.set_xlabel("Mean predicted probability")
    ax.set_ylabel("Fraction positive")
    save(fig, out_dir / "calibration.png")


def render_comparison(
    candidate: Evaluation,
    baseline: Evaluation,
    importance: list[dict[str, Any]],
    out_dir: Path,
    *,
    baseline_label: str,
) -> dict[str, Path]:
    """The PR report's images: both models on the task's charts (binary: one ROC and one PR
    chart, both confusion matrices), the candidate's permutation importance. Returns name ->
    path."""
    from mlops.stages import plots_tasks

    out_dir.mkdir(parents=True, exist_ok=True)
    render = plots_tasks.COMPARISONS.get(candidate.task, _binary_comparison)
    paths = render(candidate, baseline, out_dir, baseline_label)
    if importance:
        paths["importance"] = out_dir / "importance.png"
        importance_image(importance, candidate.task, paths["importance"], "this PR", errors=False)
    return paths


def _binary_comparison(
    candidate: Evaluation, baseline: Evaluation, out_dir: Path, baseline_label: str
) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = ((baseline_label, baseline, "tab:grey"), ("this PR", candidate, "tab:blue"))
    paths = {name: out_dir / f"{name}.png" for name in ("roc", "precision_recall", "confusion")}

    fig, ax = figure("ROC curve (this PR's test split)")
    for label, ev, color in models:
        xs, ys = [p["fpr"] for p in ev.roc], [p["tpr"] for p in ev.roc]
        ax.plot(xs, ys, color=color, label=f"{label} (AUC {ev.metrics['roc_auc']:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="lightgrey", linewidth=1)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.legend(loc="lower right")
    save(fig, paths["roc"])

    fig, ax = figure("Precision-recall (this PR's test split)")
    for label, ev, color in models:
        xs = [p["recall"] for p in ev.precision_recall]
        ys = [p["precision"] for p in ev.precision_recall]
        ax.plot(xs, ys, color=color, label=f"{label} (AP {ev.metrics['pr_auc']:.3f})")
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper right")
    save(fig, paths["precision_recall"])

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), dpi=100)
    for axis, (label, ev, _) in zip(axes, models, strict=True):
        counts = confusion_counts(ev)
        axis.imshow(counts, cmap="Blues")
        for a in (0, 1):
            for p in (0, 1):
                dark = counts[a][p] > max(max(row) for row in counts) / 2
                axis.text(
                    p, a, str(counts[a][p]), ha="center", va="center", fontsize=13,
                    color="white" if dark else "black",
                )  # fmt: skip
        axis.set_xticks([0, 1], ["0", "1"])
        axis.set_yticks([0, 1], ["0", "1"])
        axis.set_xlabel("Predicted")
        axis.set_ylabel("Actual")
        axis.set_title(f"{label} (threshold {ev.threshold:.3f})", fontsize=10)
    save(fig, paths["confusion"])

    return paths


def confusion_counts(evaluation: Evaluation) -> list[list[int]]:
    """``counts[actual][predicted]`` from an evaluation's confusion rows."""
    counts = [[0, 0], [0, 0]]
    for row in evaluation.confusion:
        counts[row["actual"]][row["predicted"]] += 1
    return counts
