"""The batcher that never waits (mlops.serving.batching), with a stand-in model whose calls
are recorded: no server needed."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pandas as pd
import pytest

from mlops.serving.batching import Batcher, Overloaded
from mlops.serving.requests import Batch


def batch(*values: float) -> Batch:
    return Batch({"x": np.array(values, dtype="float64")}, len(values), "columns")


class Model:
    """predict(frame) = x / 100, after ``seconds``; records the size of every call."""

    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        with self.lock:
            self.calls.append(len(frame))
        time.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("the model failed")
        return frame["x"].to_numpy() / 100


def run(coro):
    return asyncio.run(coro)


def test_a_lone_request_is_predicted_at_once():
    model = Model()
    batcher = Batcher(model, max_rows=1000, max_wait_s=2)

    async def lone() -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        out = await batcher.submit(batch(7))
        return out, time.perf_counter() - start

    out, seconds = run(lone())
    np.testing.assert_array_equal(out, [0.07])
    assert model.calls == [1] and seconds < 0.5


def test_requests_arriving_during_a_prediction_share_the_next_call_and_get_their_own_rows():
    model = Model(seconds=0.2)
    batcher = Batcher(model, max_rows=1000, max_wait_s=5)

    async def many() -> list[np.ndarray]:
        first = asyncio.ensure_future(batcher.submit(batch(1)))
        await asyncio.sleep(0.05)  # the first call is running: the next five queue up
        rest = [batcher.submit(batch(10 * i, 10 * i + 1)) for i in range(1, 6)]
        return await asyncio.gather(first, *rest)

    results = run(many())
    assert model.calls == [1, 10]  # one call alone, then the five queued ones together
    np.testing.assert_array_equal(results[0], [0.01])
    for i, out in enumerate(results[1:], start=1):
        np.testing.assert_array_equal(out, [i / 10, (10 * i + 1) / 100])


def test_a_call_takes_at_most_max_rows_unless_one_request_is_larger():
    model = Model(seconds=0.1)
    batcher = Batcher(model, max_rows=4, max_wait_s=5)

    async def many() -> None:
        first = asyncio.ensure_future(batcher.submit(batch(0)))
        await asyncio.sleep(0.03)
        sizes = [2, 2, 1, 6, 1]
        await asyncio.gather(first, *(batcher.submit(batch(*range(n))) for n in sizes))

    run(many())
    assert model.calls == [1, 4, 1, 6, 1]


def test_requests_that_waited_too_long_are_refused_not_predicted():
    model = Model(seconds=0.3)
    batcher = Batcher(model, max_rows=1000, max_wait_s=0.1)

    async def overload() -> list[object]:
        first = asyncio.ensure_future(batcher.submit(batch(1)))
        await asyncio.sleep(0.02)
        late = batcher.submit(batch(2))
        return await asyncio.gather(first, late, return_exceptions=True)

    first, late = run(overload())
    np.testing.assert_array_equal(first, [0.01])
    assert isinstance(late, Overloaded) and "MLOPS_MAX_LATENCY_MS" in str(late)
    assert model.calls == [1]


def test_a_model_failure_reaches_every_request_of_the_call_and_the_batcher_recovers():
    model = Model(fail=True)
    batcher = Batcher(model, max_rows=1000, max_wait_s=2)
    with pytest.raises(RuntimeError, match="the model failed"):
        run(batcher.submit(batch(1)))
    model.fail = False
    np.testing.assert_array_equal(run(batcher.submit(batch(3))), [0.03])


def test_a_lingering_batcher_gathers_what_arrives_into_one_call_and_times_it():
    model = Model(seconds=0.05)
    batcher = Batcher(model, max_rows=1000, max_wait_s=5, linger_s=0.2)

    async def spread() -> list[tuple[np.ndarray, float]]:
        jobs = []
        for value in (1, 2, 3):
            jobs.append(asyncio.ensure_future(batcher.submit_timed(batch(value))))
            await asyncio.sleep(0.02)  # each arrives while the first lingers
        return await asyncio.gather(*jobs)

    results = run(spread())
    assert model.calls == [3]  # one call for the three, not three
    assert [r[0].tolist() for r in results] == [[0.01], [0.02], [0.03]]
    assert all(50 <= ms < 1000 for _, ms in results)  # the call's time, not the linger's
