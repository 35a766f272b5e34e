"""``mlops tune`` end to end: score the current params, search, judge the winner, write
``tune.json``, ``tune.md`` and the history picture, and, only when the winner is surely better,
its values into params.yaml (comments kept)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core import params_yaml
from mlops.core.artifacts import TUNE_HISTORY, TUNE_JSON, TUNE_MD, read_prepared, write_atomic
from mlops.core.config import parse_params
from mlops.core.device import resolve_device
from mlops.core.errors import ConfigError
from mlops.models import MODEL_FAMILIES
from mlops.tuning import compare, report, search

if TYPE_CHECKING:
    from mlops.core.config import Params
    from mlops.tuning.report import TuneJson


def apply(changes: dict[str, Any], path: Path) -> bool:
    """Write dotted-key values into params.yaml, comments kept; validated before the file is
    replaced (never half-edited). Whether the file changed."""
    import yaml

    doc = params_yaml.load(path)
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = doc
        for part in parents:  # a section params.yaml leaves to its defaults is added
            node = node.setdefault(part, {})
        node[key] = value
    text = params_yaml.dump(doc)
    parse_params(yaml.safe_load(text), path)
    if text == path.read_text(encoding="utf-8"):
        return False
    write_atomic(path, text)
    return True


def run(
    params: Params,
    params_path: Path,
    *,
    family: str | None = None,
    trials: int | None = None,
    timeout_minutes: float | None = None,
    track: bool = True,
    out_dir: Path = TUNE_JSON.parent,
) -> TuneJson:
    family = family or params.model_type
    chosen = MODEL_FAMILIES.get(family)
    if chosen is None:
        raise ConfigError(
            f"--family: {family!r} is not a model family; allowed: {', '.join(MODEL_FAMILIES)}"
        )
    if params.data.task not in chosen.tasks:
        raise ConfigError(
            f"--family: {family} does not support data.task {params.data.task} "
            f"(it supports {', '.join(chosen.tasks)})"
        )
    trials = trials or params.tune.trials
    timeout_minutes = timeout_minutes or params.tune.timeout_minutes
    device = resolve_device(params.train.device)
    train = read_prepared("train")
    kwargs: dict[str, Any] = {
        "family": family,
        "trials": trials,
        "timeout_minutes": timeout_minutes,
        "device": device,
    }
    if track:
        from mlops.tracking.runs import configure_mlflow

        mlflow = configure_mlflow(params)
        mlflow.set_experiment(params.mlflow.experiment)
        with mlflow.start_run(run_name=f"tune {family}", tags={"mlops.kind": "tune"}) as parent:
            mlflow.log_params(
                {
                    "family": family,
                    "trials": trials,
                    "cv_folds": params.tune.cv_folds,
                    "seed": params.tune.seed,
                }
            )
            found = search.run(params, train, mlflow=mlflow, **kwargs)
            doc = _judge(found, params, trials, timeout_minutes)
            mlflow.log_metrics(
                {
                    f"cv_{found.metric}_current": found.current.mean,
                    **({f"cv_{found.metric}_best": found.best.mean} if found.best else {}),
                }
            )
            mlflow.set_tags({"verdict": doc.verdict, "best_trial": str(doc.best_trial)})
            print(f"tune: MLflow run {parent.info.run_id} (one nested run per trial)")
    else:
        found = search.run(params, train, **kwargs)
        doc = _judge(found, params, trials, timeout_minutes)
    text = report.markdown(doc)
    if any(t.state == "COMPLETE" for t in found.trials):
        report.draw_history(found, out_dir / TUNE_HISTORY.name)
    else:  # no history to draw: never an earlier search's picture beside this report
        (out_dir / TUNE_HISTORY.name).unlink(missing_ok=True)
    doc.write(out_dir / TUNE_JSON.name)
    write_atomic(out_dir / TUNE_MD.name, text)
    if doc.changes:
        apply(doc.changes, params_path)
    return doc


def _judge(found: search.Search, params: Params, trials: int, timeout: float) -> TuneJson:
    difference = None
    verdict = False
    if found.best is not None:
        difference = compare.paired(
            found.best.folds,
            found.current.folds,
            higher_is_better=found.higher_is_better,
            confidence=params.tune.confidence,
        )
        same = found.best.values == found.current.values and found.family == params.model_type
        verdict = not same and compare.better(difference, found.current.mean, params.tune.min_gain)
    return report.document(found, difference, verdict, params, trials, timeout)
