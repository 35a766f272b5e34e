"""The quality gate (``gate:`` in params.yaml), evaluated in one place.

Two kinds of rule: ``minimums`` (an absolute bound per metric: at least the value for metrics
where higher is better, at most for losses) and ``max_regression`` (the largest allowed change
for the worse versus a baseline: the model on main in the PR report, the champion in
``mlops promote``). A metric named in ``minimums`` is also checked for regression (allowed 0
unless ``max_regression`` says otherwise). ``mlops gate`` and ``registry.promote`` both use
:func:`evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.dataclasses import dataclass

from mlops.core.artifacts import METRICS, REPORT_JSON, read_metrics
from mlops.core.errors import ArtifactError, MlopsError
from mlops.tasks import HIGHER_IS_BETTER

if TYPE_CHECKING:
    from mlops.core.config import GateConfig, Params

TOLERANCE = 1e-12


class GateFailedError(MlopsError):
    """At least one gate rule failed (exit code 1)."""


@dataclass(frozen=True)
class RuleResult:
    metric: str
    kind: str  # "minimum" | "max_regression"
    rule: str  # human-readable rule, e.g. ">= 0.8" or "drop <= 0.01 vs main"
    passed: bool
    message: str  # why it failed, or what it checked
    value: float | None = None
    baseline: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    gate: GateConfig,
    candidate: Mapping[str, float | None],
    baseline: Mapping[str, float | None] | None = None,
    *,
    candidate_label: str = "the candidate",
    baseline_label: str = "the baseline",
    intervals: Mapping[str, tuple[float, float]] | None = None,
    confidence: float = 0.95,
) -> list[RuleResult]:
    """Every rule of ``gate`` applied to ``candidate`` (and to it versus ``baseline``).

    ``intervals`` are the paired confidence intervals of each metric's difference (candidate
    minus baseline, ``report.bootstrap``); with ``gate.regression_rule: significant`` a
    ``max_regression`` rule then fails only when the whole interval of the drop lies beyond the
    allowed drop. Without an interval (e.g. ``mlops promote`` against the champion, whose
    predictions on the same rows are not at hand) the point rule applies, and says so.
    """
    results = []
    for metric, minimum in gate.minimums.items():
        higher = HIGHER_IS_BETTER[metric]
        relation = ">=" if higher else "<="
        value = candidate.get(metric)
        if value is None:
            results.append(
                RuleResult(
                    metric, "minimum", f"{relation} {minimum}", False,
                    f"{metric}: not recorded on {candidate_label}",
                )
            )  # fmt: skip
            continue
        ok = value >= minimum if higher else value <= minimum
        message = f"{metric} = {value:.4f}, gate requires {relation} {minimum}"
        results.append(RuleResult(metric, "minimum", f"{relation} {minimum}", ok, message, value))
    if baseline is None:
        return results
    for metric in sorted(set(gate.minimums) | set(gate.max_regression)):
        new, old = candidate.get(metric), baseline.get(metric)
        if new is None or old is None:
            continue
        allowed = gate.max_regression.get(metric, 0.0)
        interval = (intervals or {}).get(metric)
        results.append(
            _regression(
                metric, new, old, allowed, baseline_label,
                interval if gate.regression_rule == "significant" else None,
                significant=gate.regression_rule == "significant", confidence=confidence,
            )
        )  # fmt: skip
    return results


def _regression(
    metric: str,
    new: float,
    old: float,
    allowed: float,
    label: str,
    interval: tuple[float, float] | None,
    *,
    significant: bool,
    confidence: float,
) -> RuleResult:
    """One ``max_regression`` rule: on the point estimate, or on the whole interval."""
    higher = HIGHER_IS_BETTER[metric]
    worse_by = (old - new) if higher else (new - old)
    rule = f"{'drop' if higher else 'rise'} <= {allowed} vs {label}"
    if interval is None:
        ok = worse_by <= allowed + TOLERANCE
        if ok:
            message = f"{metric} = {new:.4f} vs {label} {old:.4f}: within {allowed}"
        else:
            message = (
                f"{metric} = {new:.4f} is worse than {label} ({old:.4f}) by "
                f"{worse_by:.4f} (allowed {allowed})"
            )
        if significant:  # asked for the interval rule, but there is no interval
            message += " (point estimate: no paired interval for this comparison)"
        return RuleResult(metric, "max_regression", rule, ok, message, new, old)
    # The interval of the difference (candidate - baseline), as an interval of how much worse.
    low, high = interval
    worse_low, worse_high = (-high, -low) if higher else (low, high)
    ok = worse_low <= allowed + TOLERANCE
    level = f"{confidence:.0%}"
    span = f"[{worse_low:.4f}, {worse_high:.4f}]"
    if ok:
        change = (
            f"worse by {worse_by:.4f}, but the"
            if worse_by > 0
            else f"not worse (better by {-worse_by:.4f}); the"
        )
        message = (
            f"{metric} = {new:.4f} vs {label} {old:.4f}: {change} {level} interval of how much "
            f"worse, {span}, reaches within the allowed {allowed} (significant rule: not a "
            "detectable regression beyond it)"
        )
    else:
        message = (
            f"{metric} = {new:.4f} is worse than {label} ({old:.4f}) by {worse_by:.4f}: the "
            f"whole {level} interval {span} lies beyond the allowed {allowed} (significant rule)"
        )
    return RuleResult(metric, "max_regression", f"{rule} ({level} CI)", ok, message, new, old)


def failures(results: list[RuleResult]) -> list[str]:
    return [r.message for r in results if not r.passed]


def check(
    params: Params, report_json: Path = REPORT_JSON, metrics_file: Path = METRICS
) -> list[RuleResult]:
    """``mlops gate``: the gate over the PR report's metrics (both models on one test split).

    Without a report, the gate's minimums over the evaluate stage's metrics (no baseline rules).
    Raises :class:`GateFailedError` naming the failed rules; prints every rule's result.
    """
    if report_json.exists():
        from mlops.report.schema import ReportJson

        report = ReportJson.read(report_json)
        if report.validation_failed:
            # No model was trained: each failed expectation is a failed rule of its own.
            reasons = report.failures or ["data validation failed"]
            source = f"{report_json} (the data failed validation; no model was trained)"
            results = [
                RuleResult("data", "validation", "meets the expectation suite", False, reason)
                for reason in reasons
            ]
        elif report.no_baseline is not None and report.metrics is not None:
            # Nothing comparable (report.uncompared): the minimums only, as the report said.
            source = f"{report_json} (minimums only: no comparable baseline, {report.no_baseline})"
            results = evaluate(params.gate, report.metrics.candidate, candidate_label="this PR")
        else:
            if report.metrics is None or report.baseline is None:
                raise ArtifactError(
                    f"{report_json}: not a report written by `mlops report` (no metrics)"
                )
            label = report.baseline.label
            source = f"{report_json} (this PR vs {label})"
            results = evaluate(
                params.gate, report.metrics.candidate, report.metrics.baseline,
                candidate_label="this PR", baseline_label=label,
                intervals={m: (i.low, i.high) for m, i in report.intervals.items()},
                confidence=report.bootstrap.confidence if report.bootstrap else 0.95,
            )  # fmt: skip
    elif metrics_file.exists():
        candidate = read_metrics(metrics_file)
        source = f"{metrics_file} (minimums only: no report, so no baseline)"
        results = evaluate(params.gate, candidate, candidate_label=str(metrics_file))
    else:
        raise ArtifactError(
            f"neither {report_json} nor {metrics_file} exists; run `mlops report` "
            "(or `dvc repro`) first"
        )
    print(f"gate: {source}")
    for r in results:
        print(f"  {'PASS' if r.passed else 'FAIL'} {r.metric} {r.rule}: {r.message}")
    failed = failures(results)
    if failed:
        raise GateFailedError(f"{len(failed)} gate rule(s) failed: " + "; ".join(failed))
    print(f"gate: passed ({len(results)} rule(s))")
    return results
