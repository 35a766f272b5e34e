"""``mlops online-report`` with known truth: simulated live traffic of every task, scored by two
models of known quality and recorded as the service records it with a challenger (shadow or
canary), outcomes arriving later for some of the rows. A worse challenger is found worse with
its interval; the same model twice, and two equally good models, show no difference (false
alarms counted over seeds); bad input is refused naming what is wrong. ``mlops promote
--evidence`` judges the report with gate.online's rules."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mlops.core.config import parse_params
from mlops.core.errors import DataError
from mlops.monitoring import online
from mlops.monitoring.online_report import BETTER, NO_OUTCOMES, SAME, TOO_FEW, WORSE
from mlops.monitoring.records import LATENCY_MS, MODEL_VERSION, ROUTE, SHADOW_LATENCY_MS

from ..tables import task_params, task_table

N = 2000
CLASSES = ["low", "mid", "high"]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def simulate(task: str, n: int, seed: int, quality: tuple[str, str]) -> dict:
    """The outcome of each row, and the outputs of two models of the named quality (``good``:
    little noise on the truth; ``bad``: a blurred truth and much noise; ``same``: the first
    model's outputs again)."""
    rng = np.random.default_rng(seed)

    def noise(shape, sd):
        return rng.normal(0, sd, shape)

    if task == "binary":
        z = rng.normal(0, 1.5, n)
        y = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "pos", "neg")

        def model(kind):
            s = z + noise(n, 0.4) if kind == "good" else 0.3 * z + noise(n, 1.5)
            p = 1 / (1 + np.exp(-s))
            return {"probability": p, "label": np.where(p >= 0.5, "pos", "neg")}

    elif task == "multiclass":
        z = rng.normal(0, 1.5, (n, 3))
        y = np.array(CLASSES)[(z + rng.gumbel(size=(n, 3))).argmax(axis=1)]

        def model(kind):
            p = _softmax(z + noise((n, 3), 0.4) if kind == "good" else 0.3 * z + noise((n, 3), 1.5))
            out = {"label": np.array(CLASSES)[p.argmax(axis=1)]}
            return out | {f"probability_{c}": p[:, i] for i, c in enumerate(CLASSES)}

    else:
        mu = rng.normal(100, 20, n)
        y = (mu + noise(n, 5)).round(3).astype(str)

        def model(kind):
            return {"prediction": mu + (noise(n, 2) if kind == "good" else noise(n, 15))}

    first = model(quality[0])
    second = first if quality[1] == "same" else model(quality[1])
    return {"y": y, "champion": first, "challenger": second}


def write_records(directory: Path, task: str, sim: dict, canary: bool = False) -> Path:
    """The rows as the service records them: features, id, the answer, its route and the other
    model's outputs (``shadow_*``); in canary mode, every other row answered by the challenger."""
    features = task_table(task, len(sim["y"]), seed=5).drop(columns=["outcome"])
    lines = []
    for i, row in enumerate(features.to_dict("records")):
        by_challenger = canary and i % 2 == 1
        answer, other = ("challenger", "champion") if by_challenger else ("champion", "challenger")
        versions = {"champion": "7", "challenger": "8"}
        record = {
            "amount": float(row["amount"]) if row["amount"] else None,
            "visits": float(row["visits"]),
            "flag": float(row["flag"]),
            "colour": row["colour"] or None,
            "region": row["region"] or None,
            "row_id": row["row_id"],
        }
        for name, values in sim[answer].items():
            record[name] = values[i].item() if hasattr(values[i], "item") else values[i]
        record |= {MODEL_VERSION: versions[answer], ROUTE: answer, LATENCY_MS: 4.0 + i % 3}
        for name, values in sim[other].items():
            value = values[i]
            record[f"shadow_{name}"] = value.item() if hasattr(value, "item") else value
        record |= {"shadow_model_version": versions[other], SHADOW_LATENCY_MS: 9.0}
        record |= {"timestamp": "2026-12-01T00:00:00", "request_id": str(i), "trace_id": "0"}
        lines.append(json.dumps(record))
    data = directory / "records" / "service" / "data"
    data.mkdir(parents=True)
    (data / "data.0.log").write_text("\n".join(lines) + "\n")
    return directory / "records"


def write_labels(path: Path, sim: dict, share: float = 0.8, seed: int = 0) -> Path:
    """The outcomes known so far: ``share`` of the recorded rows, in another order, and a few
    ids the records never saw."""
    n = len(sim["y"])
    rng = np.random.default_rng(seed)
    known = rng.permutation(n)[: int(share * n)]
    ids = [f"r{i:05d}" for i in known] + ["never-seen-1", "never-seen-2"]
    outcomes = [sim["y"][i] for i in known] + [sim["y"][0], sim["y"][1]]
    pd.DataFrame({"row_id": ids, "outcome": outcomes}).to_csv(path, index=False)
    return path


def params_for(task: str, tmp: Path, online: dict | None = None, **bootstrap):
    """The synthetic table's params, with ``gate.online`` and ``report.bootstrap`` keys."""
    doc = task_params(task, tmp / "table.csv", tmp)
    doc["report"]["bootstrap"] = {**doc["report"]["bootstrap"], **bootstrap}
    doc["gate"]["online"] = {**doc["gate"].get("online", {}), **(online or {})}
    return parse_params(doc)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_worse_challenger_is_found_worse_with_its_interval(task, tmp_path):
    sim = simulate(task, N, seed=1, quality=("good", "bad"))
    params = params_for(task, tmp_path)
    records = write_records(tmp_path, task, sim)
    doc = online.run(params, records, write_labels(tmp_path / "labels.csv", sim), tmp_path / "out")
    assert doc.verdict == WORSE, doc.reasons
    assert (doc.champion_version, doc.challenger_version) == ("7", "8")
    assert doc.rows == doc.paired_rows == N and doc.answered == {"champion": N, "challenger": 0}
    out = doc.outcomes
    assert out is not None and out.labelled == int(0.8 * N)
    head = out.metrics[out.headline].difference
    assert head.verdict == "worse" and head.low <= head.delta <= head.high
    assert head.high < 0 if out.headline != "rmse" else head.low > 0
    # the figures are each model's own metrics on the labelled rows
    champion = out.metrics[out.headline].champion
    assert champion != out.metrics[out.headline].challenger
    assert (
        (tmp_path / "out" / "online-report.md")
        .read_text()
        .startswith(f"## Champion vs challenger on live traffic: **{WORSE}**")
    )
    assert json.loads((tmp_path / "out" / "online-report.json").read_text())["verdict"] == WORSE
    assert doc.agreement.low <= doc.agreement.value <= doc.agreement.high
    assert {(lat.role, lat.path) for lat in doc.latency} == {
        ("champion", "answer"), ("challenger", "shadow"),
    }  # fmt: skip


def test_the_metrics_are_the_tasks_own_on_the_joined_rows(tmp_path):
    from mlops.tasks import TASKS

    sim = simulate("binary", N, seed=2, quality=("good", "bad"))
    labels = write_labels(tmp_path / "labels.csv", sim, share=0.5, seed=3)
    doc = online.run(
        params_for("binary", tmp_path),
        write_records(tmp_path, "binary", sim),
        labels,
        tmp_path / "out",
    )
    known = pd.read_csv(labels).set_index("row_id")["outcome"]
    rows = [i for i in range(N) if f"r{i:05d}" in known.index]
    y = (np.array([known[f"r{i:05d}"] for i in rows]) == "pos").astype(int)
    for role in ("champion", "challenger"):
        expected = TASKS["binary"].compute(y, sim[role]["probability"][rows], threshold=0.5)
        for metric, value in expected.items():
            assert getattr(doc.outcomes.metrics[metric], role) == pytest.approx(value, abs=1e-6)


def test_a_canary_layout_gives_the_same_comparison_as_a_shadow(tmp_path):
    sim = simulate("binary", N, seed=4, quality=("good", "bad"))
    labels = write_labels(tmp_path / "labels.csv", sim)
    params = params_for("binary", tmp_path)
    shadow = online.run(
        params, write_records(tmp_path / "s", "binary", sim), labels, tmp_path / "o1"
    )
    canary = online.run(
        params, write_records(tmp_path / "c", "binary", sim, canary=True), labels, tmp_path / "o2"
    )
    assert canary.answered == {"champion": N // 2, "challenger": N // 2}
    assert canary.outcomes.metrics == shadow.outcomes.metrics
    assert canary.agreement == shadow.agreement and canary.verdict == shadow.verdict == WORSE
    every = {(role, path) for role in ("champion", "challenger") for path in ("answer", "shadow")}
    assert {(lat.role, lat.path) for lat in canary.latency} == every


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_the_same_model_twice_shows_no_difference(task, tmp_path):
    sim = simulate(task, N, seed=5, quality=("good", "same"))
    doc = online.run(
        params_for(task, tmp_path), write_records(tmp_path, task, sim),
        write_labels(tmp_path / "labels.csv", sim), tmp_path / "out",
    )  # fmt: skip
    assert doc.verdict == SAME
    head = doc.outcomes.metrics[doc.outcomes.headline].difference
    assert head.delta == head.low == head.high == 0.0
    assert doc.agreement.value == 1.0 if task != "regression" else doc.agreement.value == 0.0


def test_two_equally_good_models_rarely_raise_a_false_alarm(tmp_path):
    """Over 20 independent traffics, the 95% interval wrongly excludes 0 about once; four or
    more false alarms would happen with probability 1.6% if the method is right."""
    params = params_for("binary", tmp_path, resamples=400)
    verdicts = []
    for seed in range(20):
        sim = simulate("binary", 1000, seed=100 + seed, quality=("good", "good"))
        where = tmp_path / str(seed)
        labels = write_labels(where.with_suffix(".csv"), sim, share=1.0, seed=seed)
        verdicts.append(
            online.run(params, write_records(where, "binary", sim), labels, where / "out").verdict
        )
    alarms = sum(v in (BETTER, WORSE) for v in verdicts)
    assert alarms <= 3, verdicts


def test_without_outcomes_or_with_too_few_the_report_says_so(tmp_path):
    sim = simulate("binary", N, seed=6, quality=("good", "bad"))
    params = params_for("binary", tmp_path)
    records = write_records(tmp_path, "binary", sim)
    none = online.run(params, records, None, tmp_path / "a")
    assert none.verdict == NO_OUTCOMES and none.outcomes is None
    assert none.agreement.value < 1 and none.score_difference.value != 0
    few = online.run(
        params, records, write_labels(tmp_path / "l.csv", sim, share=0.05), tmp_path / "b"
    )
    assert few.verdict == TOO_FEW and "min_labelled" in few.reasons[0]


def test_bad_records_and_labels_are_refused_naming_what_is_wrong(tmp_path):
    sim = simulate("binary", 300, seed=7, quality=("good", "bad"))
    params = params_for("binary", tmp_path)
    records = write_records(tmp_path, "binary", sim)
    data = records / "service" / "data" / "data.0.log"
    plain = tmp_path / "plain" / "m" / "data"
    plain.mkdir(parents=True)
    kept = [
        {k: v for k, v in json.loads(line).items() if not k.startswith(("shadow_", ROUTE))}
        for line in data.read_text().splitlines()
    ]
    (plain / "data.0.log").write_text("\n".join(map(json.dumps, kept)) + "\n")
    with pytest.raises(DataError, match=r"no challenger's outputs .* MLOPS_CHALLENGER_MODE off"):
        online.run(params, tmp_path / "plain", None, tmp_path / "o")
    labels = tmp_path / "twice.csv"
    pd.DataFrame({"row_id": ["r00001", "r00001"], "outcome": ["pos", "neg"]}).to_csv(
        labels, index=False
    )
    with pytest.raises(DataError, match="id 'r00001' has two outcomes"):
        online.run(params, records, labels, tmp_path / "o")
    pd.DataFrame({"id": ["r00001"], "outcome": ["pos"]}).to_csv(labels, index=False)
    with pytest.raises(DataError, match="no column 'row_id'"):
        online.run(params, records, labels, tmp_path / "o")
    pd.DataFrame({"row_id": ["r00001"], "outcome": ["maybe"]}).to_csv(labels, index=False)
    with pytest.raises(DataError, match="'maybe'"):
        online.run(params, records, labels, tmp_path / "o")
    lines = data.read_text().splitlines()
    mixed = json.loads(lines[0]) | {MODEL_VERSION: "6"}
    data.write_text("\n".join([json.dumps(mixed), *lines[1:]]) + "\n")
    with pytest.raises(
        DataError, match="champion versions 6, 7: pass the records of one deployment"
    ):
        online.run(params, records, None, tmp_path / "o")
    assert not (tmp_path / "o").exists()  # nothing written by a refused run


def test_promotion_on_the_evidence_follows_gate_online(tmp_path):
    from mlops.tracking.registry import _online_failures

    sim = simulate("binary", N, seed=8, quality=("good", "bad"))
    doc = tmp_path / "out" / "online-report.json"
    params = params_for("binary", tmp_path)
    online.run(
        params,
        write_records(tmp_path, "binary", sim),
        write_labels(tmp_path / "l.csv", sim),
        doc.parent,
    )
    v7, v8 = SimpleNamespace(version="7"), SimpleNamespace(version="8")
    strict = params_for("binary", tmp_path, online={"max_regression": {"roc_auc": 0.01}})
    failures, _ = _online_failures(strict, doc, v8, v7)
    assert len(failures) == 1 and "roc_auc" in failures[0] and "whole 95% interval" in failures[0]
    lenient = params_for("binary", tmp_path, online={"max_regression": {"roc_auc": 0.5}})
    failures, named = _online_failures(lenient, doc, v8, v7)
    assert failures == [] and f"on the evidence of {doc}: {int(0.8 * N):,} live rows" in named
    # evidence about other versions is no evidence for this promotion
    failures, _ = _online_failures(lenient, doc, SimpleNamespace(version="9"), v7)
    assert "not the evidence for this promotion" in failures[0]
