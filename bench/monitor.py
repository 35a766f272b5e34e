"""Monitoring's false-alarm rate: how often ``mlops monitor`` calls drift, or degraded, when
nothing moved, at the default thresholds.

    .venv/bin/python bench/monitor.py                 # 1,000 resamples per row size
    .venv/bin/python bench/monitor.py --quick         # 50 (the test suite's smoke run)

The demo's logistic regression is trained in memory on the prepared split; each resample
draws rows of the demo table with replacement (the model's own population: a plain resample
of its training data), without the target for drift, with it for degradation, and is judged
by ``mlops.monitoring.monitor.judge``. Beside the verdict's rate, the rate of the rule without
the family-wise correction (any one test's raw p-value below ``monitor.alpha``) on the same
resamples shows what the correction buys. Results go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from common import ROOT, command_line, load_average, machine, write_section

sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    resamples = 50 if args.quick else 1000

    from tests.conftest import demo_csv_path
    from tests.monitoring.conftest import current_of, reference_of, resample

    from mlops.core.config import load_params
    from mlops.monitoring.monitor import judge
    from mlops.stages.prepare import read_raw

    params = load_params(ROOT / "params.yaml")
    raw = read_raw(demo_csv_path())
    reference = reference_of(raw, params)
    alpha = params.monitor.alpha
    rows = []
    started = time.perf_counter()
    for size in (500, 2000):
        alarms = raw_alarms = degraded = 0
        for seed in range(resamples):
            sample = resample(raw, size, seed)
            doc = judge(reference, current_of(sample, params), params, "resample")
            alarms += doc.verdict != "ok"
            shifts = [*doc.drift.columns.values(), doc.drift.prediction]
            raw_alarms += any(s.pvalue < alpha for s in shifts)
            if seed < resamples // 5:  # the bootstrap costs more: a fifth of the resamples
                labelled = judge(reference, current_of(sample, params, True), params, "labelled")
                degraded += labelled.verdict == "degraded"
        n_degraded = resamples // 5
        rows.append((size, alarms, raw_alarms, degraded, n_degraded))
        print(f"{size} rows: drift {alarms}/{resamples}, uncorrected {raw_alarms}/{resamples}, "
              f"degraded {degraded}/{n_degraded}")  # fmt: skip
    took = time.perf_counter() - started
    lines = [
        "## Monitoring false alarms",
        "",
        f"`{command_line()}` on {machine('scikit-learn', 'scipy')}, load {load_average()}, "
        f"{took:.0f} s.",
        "",
        f"Plain resamples of the demo table (nothing moved), judged against the demo model's "
        f"training data at the defaults (PSI >= {params.drift.psi_threshold} and Holm-adjusted "
        f"p < {alpha} over {len(params.features.used) + 1} tests; degraded: the ROC-AUC "
        f"difference's {params.report.bootstrap.confidence:.0%} interval wholly below 0 and a "
        f"drop of at least {params.monitor.min_drop:.0%}).",
        "",
        "| rows | drift verdicts | rule without correction (any raw p < alpha) | degraded |",
        "|---:|---:|---:|---:|",
    ]
    for size, alarms, raw_alarms, degraded, n in rows:
        lines.append(
            f"| {size:,} | {alarms}/{resamples} ({alarms / resamples:.1%}) | "
            f"{raw_alarms}/{resamples} ({raw_alarms / resamples:.1%}) | "
            f"{degraded}/{n} ({degraded / n:.1%}) |"
        )
    worst = max(a / resamples for _, a, _, _, _ in rows)
    verdict = "met" if worst <= alpha else "MISSED"
    lines += ["", f"Target: drift false alarms <= alpha ({alpha:.0%}) per run: **{verdict}** "
              f"(largest {worst:.1%})."]  # fmt: skip
    if not args.no_write:
        write_section("Monitoring false alarms", "\n".join(lines) + "\n")
    print("\n".join(lines))
    assert np.isfinite(worst)


if __name__ == "__main__":
    main()
