"""The report of a model with no comparable baseline (a first PR on a new table): the reason,
the metrics against the gate's minimums only, the model's own plots."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.core.config import parse_params
from mlops.report.baseline import Baseline
from mlops.report.schema import ReportJson
from mlops.report.uncompared import without_baseline
from mlops.stages.evaluate import evaluate
from mlops.stages.plots import render_images
from mlops.tasks import TASKS

from ..tables import task_params, task_table


@pytest.mark.parametrize("minimum", [0.0, 0.99])
def test_a_regression_model_alone_is_gated_on_its_minimums(tmp_path, minimum):
    doc = task_params("regression", tmp_path / "t.csv", tmp_path)
    doc["gate"]["minimums"] = {"r2": minimum}
    params = parse_params(doc)
    rng = np.random.default_rng(0)
    y = rng.normal(100, 20, 300)
    candidate = evaluate(y, y + rng.normal(0, 8, 300), None, task=TASKS["regression"], labels=[])
    images = render_images(candidate, [{"feature": "amount", "importance": 1.0}], tmp_path / "r")
    base = Baseline(
        kind="main", label="main", commit="c" * 40, model=None, features=[], model_type="logreg",
        how="restored from the DVC cache", params=None, raw=None, data_md5=None,
    )  # fmt: skip
    report = without_baseline(
        params, base, "main's model predicts data.task binary", candidate,
        raw=task_table("regression", 300), test_rows=300, validation=None,
        images={p.stem: p for p in sorted(images.glob("*.png"))}, image_base=tmp_path,
    )  # fmt: skip
    data = ReportJson.model_validate_json(report.data.to_json())
    assert data.no_baseline == "main @ cccccccccccc: main's model predicts data.task binary"
    assert [r.kind for r in data.gate] == ["minimum"]
    assert data.verdict == ("passed" if minimum == 0.0 else "failed")
    md = report.markdown
    word = "passed" if minimum == 0.0 else "failed"
    assert md.startswith(f"## {'✅' if word == 'passed' else '❌'} Quality gate {word} (minimums")
    assert "**Not compared:** main @ cccccccccccc" in md
    for metric in ("rmse", "mae", "r2"):
        assert f"| {metric} |" in md
    assert "](r/predicted_vs_actual.png)" in md and "](r/residuals.png)" in md
    # `mlops gate` reads the same verdict back: the minimums, no baseline rule
    from mlops.report import gate

    path = tmp_path / "report.json"
    path.write_text(report.data.to_json())
    if minimum == 0.0:
        assert [r.kind for r in gate.check(params, path)] == ["minimum"]
    else:
        with pytest.raises(gate.GateFailedError, match="r2"):
            gate.check(params, path)
