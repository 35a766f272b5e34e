"""The search of ``mlops tune``: Optuna's seeded TPE over one family's hyper-parameters, each
trial scored by K-fold cross-validation on the training split only.

Every fold fits exactly what the train stage fits (:func:`mlops.stages.train.fit`: the
preprocessing, the family's own fitting with its validation split, a binary model's threshold)
on the fold's training rows and scores the held-out fold with the task's metric. The current
params are scored on the same folds first, so that each fold gives a paired difference
(:mod:`mlops.tuning.compare`). A trial whose running mean after a fold is worse than the median
of the earlier trials' after that fold stops there (Optuna's ``MedianPruner``): with five folds a
hopeless trial costs one or two fits, for every family. With MLflow tracking, the search is one
run and each trial (and the current params) a run nested in it, with its values, its state
and its score on each fold. (optuna-integration's ``MLflowCallback`` is deprecated since its
4.9 and leaves the folds out, so the few calls are made here.)
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mlops.core.artifacts import TARGET, feature_frame
from mlops.core.config import parse_params
from mlops.core.errors import ConfigError, DataError
from mlops.models import MODEL_FAMILIES
from mlops.models.space import Dimension, decoded, is_integer, suggest
from mlops.tasks import HIGHER_IS_BETTER, task_of

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class Scored:
    """One set of hyper-parameters' cross-validated scores."""

    values: dict[str, Any]  # the family's searched hyper-parameters
    folds: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.folds))

    @property
    def sd(self) -> float:
        return float(np.std(self.folds, ddof=1)) if len(self.folds) > 1 else 0.0


@dataclass
class Trial:
    number: int
    state: str  # COMPLETE | PRUNED | FAIL
    values: dict[str, Any]
    folds: list[float]
    seconds: float


@dataclass
class Search:
    family: str
    metric: str
    higher_is_better: bool
    space: dict[str, Dimension]
    current: Scored
    best: Scored | None  # None: no trial completed
    best_number: int | None
    trials: list[Trial]
    stopped_by: str  # "trials" | "timeout"
    seconds: float
    importances: dict[str, float] = field(default_factory=dict)
    study: Any = None  # the optuna Study (for the history picture)


def space_of(params: Params, family: str) -> dict[str, Dimension]:
    """The searched space: tune.space.<family>, else the family's default, without the
    hyper-parameters that mean nothing for this task."""
    chosen = MODEL_FAMILIES[family]
    space = params.tune.space.get(family, chosen.space)
    return {k: d for k, d in space.items() if chosen.applies(k, params.data.task)}


def with_values(params: Params, family: str, values: dict[str, Any]) -> Params:
    """params with model.type ``family`` and these hyper-parameters, validated again."""
    raw = params.model_dump(mode="json", exclude_unset=True)
    model = raw.setdefault("model", {})
    model["type"] = family
    model[family] = {**model.get(family, {}), **values}
    return parse_params(raw)


def current_values(params: Params, family: str, space: dict[str, Dimension]) -> dict[str, Any]:
    section = getattr(params.model, family).model_dump(mode="json")
    return {key: section[key] for key in space}


def make_folds(train: pd.DataFrame, params: Params, folds: int, seed: int) -> Folds:
    """K folds of the training split: stratified by class for a classifier."""
    from sklearn.model_selection import KFold, StratifiedKFold

    y = train[TARGET].to_numpy()
    task = task_of(params)
    if task.classification:
        labels, counts = np.unique(y, return_counts=True)
        if counts.min() < folds:
            names = train.attrs.get("labels") or [str(v) for v in labels]
            rare = names[int(labels[int(np.argmin(counts))])]
            raise DataError(
                f"tune.cv_folds: {folds} folds need at least {folds} training rows of each "
                f"class; class {rare!r} of {params.data.target!r} has {int(counts.min())}"
            )
        splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        if len(y) < 2 * folds:
            raise DataError(
                f"tune.cv_folds: {folds} folds need at least {2 * folds} training "
                f"rows; the training split has {len(y)}"
            )
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(fit, held) for fit, held in splitter.split(np.zeros(len(y)), y)]


def fold_scores(
    train: pd.DataFrame,
    params: Params,
    folds: Folds,
    metric: str,
    device: str,
    after_fold: Callable[[int, list[float]], None] | None = None,
) -> list[float]:
    """The metric on each held-out fold of the pipeline ``params`` trains."""
    from mlops.stages.train import fit

    task = task_of(params)
    scores: list[float] = []
    for fit_rows, held_rows in folds:
        result = fit(train.iloc[fit_rows], params, device=device)
        held = train.iloc[held_rows]
        predicted = result.model.scores(feature_frame(held, params))
        value = task.compute(held[TARGET].to_numpy(), predicted, result.model.threshold_)[metric]
        if not math.isfinite(value):
            raise DataError(f"tune: {metric} is not finite on a fold ({value}); too few rows?")
        scores.append(float(value))
        if after_fold is not None:
            after_fold(len(scores) - 1, scores)
    return scores


class Progress:
    """On a terminal, one line rewritten (trial n of N, best so far, time left); elsewhere (a
    workflow's log) a line per trial."""

    def __init__(self, total: int, timeout_s: float, metric: str, current: float) -> None:
        self.total, self.timeout_s, self.metric = total, timeout_s, metric
        self.current = current
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def __call__(self, study: Any, trial: Any) -> None:
        done = trial.number + 1
        elapsed = time.monotonic() - self.started
        left = min(self.timeout_s - elapsed, elapsed / done * (self.total - done))
        try:
            best = f"{study.best_value:.4f}"
        except ValueError:  # no trial completed yet
            best = "none yet"
        state = trial.state.name.lower()
        value = "" if trial.value is None else f" {trial.value:.4f}"
        line = (
            f"tune: trial {done}/{self.total} {state}{value}; best {self.metric} {best} "
            f"(current params {self.current:.4f}); about {max(left, 0.0) / 60:.1f} min left"
        )
        if self.tty:  # finish() ends the line
            print(f"\r{line:<110}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.tty:
            print(file=sys.stderr, flush=True)


def _log_folds(mlflow: Any, metric: str, scores: list[float]) -> None:
    """A run's cross-validated score: the mean, the spread and each fold (as steps)."""
    if not scores:
        return
    mlflow.log_metric(f"cv_{metric}", float(np.mean(scores)))
    if len(scores) > 1:
        mlflow.log_metric(f"cv_{metric}_sd", float(np.std(scores, ddof=1)))
    for step, value in enumerate(scores):
        mlflow.log_metric(f"cv_{metric}_fold", value, step=step)


def _importances(study: Any, seed: int) -> dict[str, float]:
    """fANOVA importances of the searched parameters (empty when they cannot be told apart:
    fewer than two completed trials, or a single value tried)."""
    import optuna

    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError):
        return {}
    return {k: round(float(v), 4) for k, v in found.items()}


def run(
    params: Params,
    train: pd.DataFrame,
    *,
    family: str,
    trials: int,
    timeout_minutes: float,
    device: str,
    mlflow: Any = None,
) -> Search:
    """Score the current params, then search (pure apart from MLflow: no file is written)."""
    import optuna

    space = space_of(params, family)
    if not space:
        raise ConfigError(
            f"tune.space.{family}: nothing to search for data.task {params.data.task}"
        )
    tune = params.tune
    metric = tune.metric or task_of(params).headline
    higher = HIGHER_IS_BETTER[metric]
    folds = make_folds(train, params, tune.cv_folds, tune.seed)
    started = time.monotonic()
    baseline = current_values(params, params.model_type, space_of(params, params.model_type))
    if mlflow is not None:
        with mlflow.start_run(run_name="current params", nested=True):
            mlflow.log_params({**baseline, "model.type": params.model_type})
            current = Scored(baseline, fold_scores(train, params, folds, metric, device))
            _log_folds(mlflow, metric, current.folds)
    else:
        current = Scored(baseline, fold_scores(train, params, folds, metric, device))
    integer = {k: is_integer(MODEL_FAMILIES[family].Params.model_fields[k]) for k in space}

    def scored(trial: optuna.Trial, values: dict[str, Any]) -> float:
        candidate = with_values(params, family, values)

        def after_fold(step: int, scores: list[float]) -> None:
            trial.set_user_attr("folds", scores)
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()

        scores = fold_scores(train, candidate, folds, metric, device, after_fold)
        return float(np.mean(scores))

    def objective(trial: optuna.Trial) -> float:
        values = {k: suggest(trial, k, d, integer[k]) for k, d in space.items()}
        if mlflow is None:
            return scored(trial, values)
        with mlflow.start_run(run_name=f"trial {trial.number}", nested=True):
            mlflow.log_params(values)
            try:
                value = scored(trial, values)
            except optuna.TrialPruned:
                mlflow.set_tag("state", "PRUNED")
                _log_folds(mlflow, metric, trial.user_attrs.get("folds", []))
                raise
            mlflow.set_tag("state", "COMPLETE")
            _log_folds(mlflow, metric, trial.user_attrs["folds"])
            return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if higher else "minimize",
        sampler=optuna.samplers.TPESampler(seed=tune.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
        study_name=f"tune-{family}",
    )
    progress = Progress(trials, timeout_minutes * 60, metric, current.mean)
    study.optimize(objective, n_trials=trials, timeout=timeout_minutes * 60, callbacks=[progress])
    progress.finish()
    done = [t for t in study.trials if t.state.is_finished()]
    found = [
        Trial(
            number=t.number,
            state=t.state.name,
            values={k: decoded(v, space[k]) for k, v in t.params.items()},
            folds=list(t.user_attrs.get("folds", [])),
            seconds=(t.duration.total_seconds() if t.duration else 0.0),
        )
        for t in done
    ]
    complete = [t for t in found if t.state == "COMPLETE"]
    best = None
    if complete:
        top = study.best_trial
        best = Scored(
            {k: decoded(v, space[k]) for k, v in top.params.items()}, list(top.user_attrs["folds"])
        )
    return Search(
        family=family,
        metric=metric,
        higher_is_better=higher,
        space=space,
        current=current,
        best=best,
        best_number=study.best_trial.number if complete else None,
        trials=found,
        stopped_by="trials" if len(study.trials) >= trials else "timeout",
        seconds=time.monotonic() - started,
        importances=_importances(study, tune.seed) if len(complete) > 1 else {},
        study=study,
    )
