"""``mlops tune``'s speed on the demo (2 cores): trials per minute per model family, and how
the search's wall time grows with the trials and with the rows.

    .venv/bin/python bench/tune.py            # every family, the targets, the growth
    .venv/bin/python bench/tune.py --quick    # logistic regression only (the suite's smoke run)

Each search is ``mlops.tuning.search.run`` in this process on the demo's prepared training
split (in memory, CPU, no MLflow tracking): the current params' cross-validation first, then
the trials with the default space, 5 folds and the median pruner, exactly as `mlops tune`
runs them. Targets (issue #29): a 30-trial logistic-regression search under 2 minutes, an
XGBoost one under 10. Results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from common import ROOT, command_line, load_average, machine, write_section

sys.path.insert(0, str(ROOT))

TARGETS = {"logreg": 2.0, "xgboost": 10.0}  # minutes for 30 trials


def _search(params, train, family: str, trials: int):
    from mlops.tuning import search

    started = time.perf_counter()
    found = search.run(params, train, family=family, trials=trials, timeout_minutes=60,
                       device="cpu")  # fmt: skip
    return found, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    from tests.conftest import demo_csv_path

    from mlops.core.config import load_params
    from mlops.stages.prepare import clean, read_raw, split

    params = load_params(ROOT / "params.yaml")
    train = split(clean(read_raw(demo_csv_path()), params), params).train
    if args.quick:
        params = params.model_copy(update={"tune": params.tune.model_copy(update={"cv_folds": 2})})
    plan = {"logreg": 3} if args.quick else {"logreg": 30, "xgboost": 30, "rf": 10, "keras": 3}
    lines = [
        "## Tuning",
        "",
        f"`{command_line()}` on {machine('optuna', 'scikit-learn', 'xgboost', 'tensorflow')}, "
        f"load {load_average()} at the start.",
        "",
        f"`mlops tune`'s search in one process on the demo's training split ({len(train):,} "
        f"rows), CPU, no tracking: the current params' {params.tune.cv_folds}-fold "
        "cross-validation, then the trials (default space, median pruner on the folds).",
        "",
        "| family | trials (pruned) | wall time | trials per minute | best CV | current CV |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    history = None
    for family, trials in plan.items():
        found, took = _search(params, train, family, trials)
        pruned = sum(t.state == "PRUNED" for t in found.trials)
        best = f"{found.best.mean:.4f}" if found.best else "none"
        lines.append(
            f"| {family} | {len(found.trials)} ({pruned}) | {took:.0f} s | "
            f"{len(found.trials) / (took / 60):.1f} | {best} | {found.current.mean:.4f} |"
        )
        print(lines[-1], flush=True)
        if family == "logreg":
            history = found
        if family in TARGETS and trials == 30:
            ok = took / 60 < TARGETS[family]
            verdicts.append(f"30-trial {family} search under {TARGETS[family]:.0f} min: "
                            f"**{'met' if ok else 'MISSED'}** ({took / 60:.1f} min)")  # fmt: skip
    assert history is not None
    lines += ["", "Growth with the trials (the logistic-regression search above, cumulative):", ""]
    lines += ["| after trial | wall time |", "|---:|---:|"]
    elapsed = history.seconds - sum(t.seconds for t in history.trials)  # the current params' CV
    for trial in history.trials:
        elapsed += trial.seconds
        if (trial.number + 1) % max(len(history.trials) // 3, 1) == 0:
            lines.append(f"| {trial.number + 1} | {elapsed:.1f} s |")
    trials = 3 if args.quick else 10
    lines += ["", f"Growth with the rows (logistic regression, {trials} trials on a share of the "
              "rows; per trial counts the current params' cross-validation as one):", "",
              "| rows | wall time | per trial |", "|---:|---:|---:|"]  # fmt: skip
    for share in (0.25, 0.5, 1.0):
        rows = train.sample(frac=share, random_state=0) if share < 1 else train
        found, took = _search(params, rows, "logreg", trials)
        lines.append(f"| {len(rows):,} | {took:.1f} s | {took / (trials + 1):.2f} s |")
        print(lines[-1], flush=True)
    if verdicts:
        lines += ["", *[f"Target: {v}." for v in verdicts]]
    if not args.no_write:
        write_section("Tuning", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
