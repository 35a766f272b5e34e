"""Champion and challenger in one service (mlops.serving.challenger), with stand-in models: the
canary's share and stickiness over 10,000 ids, shadow answers equal to the champion's alone,
a failing challenger that never fails an answer, and what is recorded. Over HTTP, against a
served bento: tests/serving/test_challenger_http.py."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops.serving.batching import Batcher
from mlops.serving.challenger import Pair, Routing, Served, bucket, canary_rows
from mlops.serving.requests import Batch


class Model:
    """A model whose score is x times ``factor`` (label ``yes`` from 0.5); or one that fails."""

    def __init__(self, factor: float, fail: bool = False) -> None:
        self.factor = factor
        self.fail = fail

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        if self.fail:
            raise RuntimeError("the challenger failed")
        return frame["x"].to_numpy() * self.factor

    def outputs_of(self, scores: np.ndarray) -> dict[str, np.ndarray]:
        labels = np.where(scores >= 0.5, "yes", "no").astype(object)
        return {"probability": scores, "label": labels}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def record(self, columns, outputs, version, *, ids=None, paired=None) -> None:
        self.calls.append(
            {"x": columns["x"].tolist(), "outputs": outputs, "version": version, "ids": ids,
             "paired": paired}
        )  # fmt: skip


class Metrics:
    def __init__(self) -> None:
        self.observed: list[tuple[str, str, int]] = []
        self.errors: list[tuple[str, str]] = []

    def observe(self, version: str, role: str, rows: int, ms: float) -> None:
        assert ms >= 0
        self.observed.append((version, role, rows))

    def error(self, version: str, role: str) -> None:
        self.errors.append((version, role))


def served(role: str, version: str, model: Model) -> Served:
    shadows = Batcher(model.scores, max_rows=1000, max_wait_s=5, linger_s=0.05)
    return Served(role, model, version, Batcher(model.scores, 1000, 5), shadows)


def pair(mode: str, percent: float = 10.0, challenger: Model | None = None) -> Pair:
    return Pair(
        served("champion", "1", Model(0.5)),
        served("challenger", "2", challenger or Model(0.9)),
        Routing(mode, percent),
        Recorder(),
        Metrics(),
    )


def batch(xs: list[float], ids: list[str | None] | None = None, form: str = "columns") -> Batch:
    return Batch({"x": np.array(xs, dtype="float64")}, len(xs), form, ids)  # type: ignore[arg-type]


def answered(p: Pair, b: Batch, header: str | None = None):
    """The answer, after every shadow scoring it started has finished."""

    async def go():
        answer = await p.answer(b, header)
        while p._shadows:
            await asyncio.sleep(0.01)
        return answer

    return asyncio.run(go())


def test_the_modes_and_the_share_come_from_the_environment_and_bad_values_are_named():
    assert Routing.from_env({}) == Routing("off", 10.0, "X-Entity-Id", 100.0)
    env = {
        "MLOPS_CHALLENGER_MODE": "Canary",
        "MLOPS_CANARY_PERCENT": "25",
        "MLOPS_CANARY_HEADER": "X-User",
    }
    assert Routing.from_env(env) == Routing("canary", 25.0, "X-User")
    with pytest.raises(
        ValueError, match="MLOPS_CHALLENGER_MODE must be one of off, shadow, canary"
    ):
        Routing.from_env({"MLOPS_CHALLENGER_MODE": "ab"})
    with pytest.raises(ValueError, match="MLOPS_CANARY_PERCENT is not a number: 'ten'"):
        Routing.from_env({"MLOPS_CANARY_PERCENT": "ten"})
    with pytest.raises(ValueError, match="between 0 and 100, not 150"):
        Routing.from_env({"MLOPS_CANARY_PERCENT": "150"})
    with pytest.raises(ValueError, match="MLOPS_SHADOW_LINGER_MS is not a number"):
        Routing.from_env({"MLOPS_SHADOW_LINGER_MS": "soon"})


@pytest.mark.parametrize("percent", [1.0, 10.0, 20.0, 50.0, 90.0])
def test_the_canary_share_is_within_two_points_over_10000_distinct_ids(percent):
    ids = [f"customer-{i}" for i in range(10_000)]
    share = canary_rows(ids, len(ids), None, percent).mean() * 100
    assert abs(share - percent) <= 2.0, share


def test_the_canary_is_sticky_and_all_or_nothing_at_the_ends():
    ids = [f"c{i}" for i in range(2_000)]
    first = canary_rows(ids, len(ids), None, 30.0)
    order = np.random.default_rng(0).permutation(len(ids))
    again = canary_rows([ids[i] for i in order], len(ids), None, 30.0)
    np.testing.assert_array_equal(again, first[order])  # the same entity, the same model
    assert bucket("42") == bucket("42") and 0 <= bucket("42") < 10_000
    assert not canary_rows(ids, len(ids), None, 0.0).any()
    assert canary_rows(ids, len(ids), None, 100.0).all()


def test_a_row_without_an_id_follows_the_header_else_meets_the_champion():
    entity = next(f"h{i}" for i in range(1000) if bucket(f"h{i}") < 5_000)  # a canary entity
    rows = canary_rows([None, "x"], 2, entity, 50.0)
    assert rows[0]  # the header's entity
    assert rows[1] == (bucket("x") < 5_000)  # a row's own id wins
    assert not canary_rows(None, 3, None, 99.0).any()


def test_shadow_answers_with_the_champion_and_records_the_challenger_beside_it():
    xs, ids = [0.2, 0.8, 1.0], ["a", "b", None]
    off, shadow = pair("off"), pair("shadow")
    alone = answered(off, batch(xs, ids))
    both = answered(shadow, batch(xs, ids))
    assert both.versions == alone.versions == "1"
    for name in ("probability", "label"):
        np.testing.assert_array_equal(both.outputs[name], alone.outputs[name])
    (record,) = shadow.recorder.calls
    assert record["version"] == "1" and record["ids"] == ids
    paired = record["paired"]
    assert paired.route == "champion" and paired.shadow_version == "2"
    np.testing.assert_allclose(paired.shadow_outputs["probability"], np.array(xs) * 0.9)
    assert paired.shadow_latency_ms is not None and paired.latency_ms >= 0
    assert shadow.metrics.observed == [("1", "answer", 3), ("2", "shadow", 3)]
    (plain,) = off.recorder.calls  # off: the champion alone, as before
    assert plain["paired"] is None and off.metrics.observed == [("1", "answer", 3)]


def test_a_failing_challenger_never_fails_the_answer_and_is_counted():
    p = pair("shadow", challenger=Model(0.9, fail=True))
    answer = answered(p, batch([0.4, 0.6]))
    np.testing.assert_allclose(answer.outputs["probability"], [0.2, 0.3])
    assert p.metrics.errors == [("2", "shadow")]
    (record,) = p.recorder.calls
    assert record["paired"].shadow_outputs is None and record["paired"].shadow_latency_ms is None


@pytest.mark.parametrize("form", ["columns", "records"])
def test_a_canary_answers_each_row_with_its_entitys_model_in_the_request_order(form):
    ids = [f"e{i}" for i in range(40)]
    xs = [i / 40 for i in range(40)]
    p = pair("canary", percent=50.0)
    answer = answered(p, batch(xs, ids, form))
    to_challenger = canary_rows(ids, 40, None, 50.0)
    assert 0 < to_challenger.sum() < 40  # both models answer some rows
    expected = np.where(to_challenger, np.array(xs) * 0.9, np.array(xs) * 0.5)
    np.testing.assert_allclose(answer.outputs["probability"], expected)
    assert answer.versions == ["2" if c else "1" for c in to_challenger]
    # Each part is recorded once, with the other model's outputs beside it.
    routes = {call["paired"].route: call for call in p.recorder.calls}
    assert set(routes) == {"champion", "challenger"}
    mine = routes["challenger"]
    assert mine["version"] == "2" and mine["paired"].shadow_version == "1"
    assert mine["ids"] == [i for i, c in zip(ids, to_challenger, strict=True) if c]
    np.testing.assert_allclose(
        mine["paired"].shadow_outputs["probability"], np.array(mine["x"]) * 0.5
    )


def test_a_canary_request_of_one_entity_is_answered_by_one_model():
    entity = next(f"u{i}" for i in range(1000) if bucket(f"u{i}") < 1_000)
    p = pair("canary", percent=10.0)
    columns = answered(p, batch([0.1, 0.2], None), header=entity)
    assert columns.versions == ["2", "2"]  # columnar: one version per row
    records = answered(p, batch([0.1], None, "records"), header=entity)
    assert records.versions == "2"


def test_a_challenger_mode_without_a_challenger_is_refused_at_start():
    with pytest.raises(ValueError, match="MLOPS_CHALLENGER_MODE=shadow, but the bento holds no"):
        Pair(served("champion", "1", Model(0.5)), None, Routing("shadow"), Recorder(), Metrics())
