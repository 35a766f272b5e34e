"""Champion and challenger in one service, as ``MLOPS_CHALLENGER_MODE`` says.

The bento carries the registry's champion and, when there is one, its challenger
(``mlops.serving.bento``). The mode decides what the challenger does:

* ``off`` (the default): only the champion is loaded and answers; the challenger is not even
  loaded.
* ``shadow``: the champion answers every request; the challenger scores the same rows off the
  response path, after the answer is on its way, gathered into one call per
  ``MLOPS_SHADOW_LINGER_MS`` (default 100), so that it costs a fraction of the champion's work
  and seldom competes with an answer for the interpreter. It never delays or fails an answer:
  a challenger error is logged and counted (``/metrics``), and a challenger that falls behind
  sheds its work (after ``MLOPS_MAX_LATENCY_MS`` beyond the linger) instead of queueing it.
* ``canary``: the challenger answers ``MLOPS_CANARY_PERCENT`` percent of the entities (default
  10), sticky: a row's entity is its id column's value (``data.id_column``), else the request
  header ``MLOPS_CANARY_HEADER`` (default ``X-Entity-Id``), and a keyed hash of it (BLAKE2b,
  so the same on every replica and after every restart) puts it in one of 10,000 buckets;
  the first ``percent x 100`` buckets meet the challenger, so one entity always meets the same
  model. A row with neither is answered by the champion. The model that did not answer a row
  scores it off the response path, as in shadow mode, so both outputs are recorded.

Every answer names the version that produced it (``model_version``: per record, or for a
columnar body in canary mode one per row). The traffic records hold both models' outputs with
their versions (``mlops.serving.records.Paired``), and ``mlops online-report`` compares them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops.serving.batching import Batcher, Overloaded
from mlops.serving.records import Paired, Recorder
from mlops.serving.requests import Batch
from mlops.tracking.registry import CHALLENGER

logger = logging.getLogger(__name__)

MODES = ("off", "shadow", "canary")
BUCKETS = 10_000  # a canary share's resolution: 0.01 percentage points
DEFAULT_PERCENT = 10.0
DEFAULT_HEADER = "X-Entity-Id"
DEFAULT_LINGER_MS = 100.0  # a shadow call gathers the rows that arrive for this long
HASH_KEY = b"mlops-canary"  # the routing hash's key: change it and every entity may move


@dataclass(frozen=True)
class Routing:
    """What ``MLOPS_CHALLENGER_MODE``, ``MLOPS_CANARY_PERCENT`` and ``MLOPS_CANARY_HEADER`` say."""

    mode: str = "off"
    percent: float = DEFAULT_PERCENT
    header: str = DEFAULT_HEADER
    linger_ms: float = DEFAULT_LINGER_MS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Routing:
        mode = environ.get("MLOPS_CHALLENGER_MODE", "off").strip().lower() or "off"
        if mode not in MODES:
            raise ValueError(
                f"MLOPS_CHALLENGER_MODE must be one of {', '.join(MODES)}, not {mode!r}"
            )
        percent = _number(environ, "MLOPS_CANARY_PERCENT", DEFAULT_PERCENT, 100.0)
        header = environ.get("MLOPS_CANARY_HEADER", DEFAULT_HEADER).strip() or DEFAULT_HEADER
        linger = _number(environ, "MLOPS_SHADOW_LINGER_MS", DEFAULT_LINGER_MS, 10_000.0)
        return cls(mode, percent, header, linger)


def _number(environ: Mapping[str, str], name: str, default: float, most: float) -> float:
    """The variable ``name`` as a number from 0 to ``most`` (a ValueError naming it else)."""
    raw = environ.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} is not a number: {raw!r}") from None
    if not 0.0 <= value <= most:
        raise ValueError(f"{name} must be between 0 and {most:g}, not {value:g}")
    return value


def bucket(entity: str) -> int:
    """The entity's bucket, 0 to BUCKETS - 1: the same for the same entity everywhere."""
    digest = hashlib.blake2b(entity.encode("utf-8"), digest_size=8, key=HASH_KEY).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def canary_rows(
    ids: list[str | None] | None, rows: int, header_entity: str | None, percent: float
) -> np.ndarray:
    """Which rows the challenger answers (True): those whose entity (the row's id, else the
    request's header) falls in the canary's buckets; a row with neither stays the champion's."""
    cut = round(percent * BUCKETS / 100)
    header = None if header_entity is None else bucket(header_entity) < cut
    out = np.zeros(rows, dtype=bool)
    for i in range(rows):
        entity = None if ids is None else ids[i]
        out[i] = bucket(entity) < cut if entity is not None else bool(header)
    return out


@dataclass
class Served:
    """One of the service's models: the pipeline, its registered version, and its batchers:
    one for answers, one (lingering) for scoring off the response path."""

    role: str  # champion | challenger
    model: Any
    version: str
    batcher: Batcher
    shadow_batcher: Batcher

    async def outputs(
        self, batch: Batch, shadow: bool = False
    ) -> tuple[dict[str, np.ndarray], float]:
        """The model's output columns for ``batch``, and milliseconds: an answer's wait and
        call; off the response path, the call's alone (its linger is not the model's time)."""
        if shadow:
            scores, ms = await self.shadow_batcher.submit_timed(batch)
            return self.model.outputs_of(scores), ms
        start = time.perf_counter()
        scores = await self.batcher.submit(batch)
        return self.model.outputs_of(scores), (time.perf_counter() - start) * 1000


@dataclass
class Answer:
    """What ``/predict`` answers: the output columns and the version(s) that produced them."""

    outputs: dict[str, np.ndarray]
    versions: str | list[str]  # one version, or one per row (a canary's answer)


class Pair:
    """Answers requests with the champion, or with both models as ``routing`` says, records
    them and counts each model's rows, errors and latency (``metrics``)."""

    def __init__(
        self,
        champion: Served,
        challenger: Served | None,
        routing: Routing,
        recorder: Recorder,
        metrics: Any,
    ) -> None:
        if routing.mode != "off" and challenger is None:
            raise ValueError(
                f"MLOPS_CHALLENGER_MODE={routing.mode}, but the bento holds no challenger: the "
                f"registry's {CHALLENGER!r} alias named no other version than the champion when "
                "it was built (mlops bento-import)"
            )
        self.champion = champion
        self.challenger = challenger if routing.mode != "off" else None
        self.routing = routing
        self.recorder = recorder
        self.metrics = metrics
        self._shadows: set[asyncio.Task[None]] = set()  # kept until done (asyncio's advice)

    async def answer(self, batch: Batch, header_entity: str | None) -> Answer:
        """The answer to ``batch``; ``Overloaded`` when the answering model is."""
        if self.challenger is None:
            outputs, ms = await self._score(self.champion, batch, "answer")
            self.recorder.record(batch.columns, outputs, self.champion.version, ids=batch.ids)
            return Answer(outputs, self.champion.version)
        if self.routing.mode == "shadow":
            outputs, ms = await self._score(self.champion, batch, "answer")
            self._spawn(self._shadow(batch, outputs, ms, self.champion, self.challenger))
            return Answer(outputs, self.champion.version)
        to_challenger = canary_rows(batch.ids, batch.rows, header_entity, self.routing.percent)
        parts = [
            (model, other, np.flatnonzero(rows))
            for model, other, rows in (
                (self.champion, self.challenger, ~to_challenger),
                (self.challenger, self.champion, to_challenger),
            )
            if rows.any()
        ]
        if len(parts) == 1:  # the usual case: one entity per request
            model, other, _ = parts[0]
            outputs, ms = await self._score(model, batch, "answer")
            self._spawn(self._shadow(batch, outputs, ms, model, other))
            return Answer(
                outputs, model.version if batch.form == "records" else [model.version] * batch.rows
            )
        pieces = [batch.take(rows) for _, _, rows in parts]
        scored = await asyncio.gather(
            *(
                self._score(model, piece, "answer")
                for (model, _, _), piece in zip(parts, pieces, strict=True)
            )
        )
        for (model, other, _), piece, (outputs, ms) in zip(parts, pieces, scored, strict=True):
            self._spawn(self._shadow(piece, outputs, ms, model, other))
        order = np.concatenate([rows for _, _, rows in parts])
        merged = {}
        for name in scored[0][0]:
            joined = np.concatenate([outputs[name] for outputs, _ in scored])
            merged[name] = np.empty_like(joined)
            merged[name][order] = joined
        versions = np.concatenate(
            [np.full(len(rows), model.version, dtype=object) for model, _, rows in parts]
        )
        ordered = np.empty_like(versions)
        ordered[order] = versions
        return Answer(merged, ordered.tolist())

    async def _score(
        self, model: Served, batch: Batch, role: str
    ) -> tuple[dict[str, np.ndarray], float]:
        try:
            outputs, ms = await model.outputs(batch, shadow=role == "shadow")
        except Exception:
            self.metrics.error(model.version, role)
            raise
        self.metrics.observe(model.version, role, batch.rows, ms)
        return outputs, ms

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` off the response path, keeping it referenced until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._shadows.add(task)
        task.add_done_callback(self._shadows.discard)

    async def _shadow(
        self,
        batch: Batch,
        outputs: dict[str, np.ndarray],
        ms: float,
        answered: Served,
        other: Served,
    ) -> None:
        """Score ``batch`` with ``other`` (off the response path), then record both."""
        shadow: dict[str, np.ndarray] | None = None
        shadow_ms: float | None = None
        try:
            shadow, shadow_ms = await self._score(other, batch, "shadow")
        except Overloaded:
            logger.debug("shadow scoring shed by %s v%s: overloaded", other.role, other.version)
        except Exception:  # never reaches a client; counted by _score
            logger.exception("shadow scoring by %s v%s failed", other.role, other.version)
        paired = Paired(answered.role, ms, other.version, shadow, shadow_ms)
        self.recorder.record(batch.columns, outputs, answered.version, ids=batch.ids, paired=paired)
