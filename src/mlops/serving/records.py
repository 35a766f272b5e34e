"""The service's traffic records: a sample of what it answers, through ``bentoml.monitor``.

Each answered request hands a sample of its rows (``MLOPS_RECORD_SAMPLE``, the share of rows
kept, default 0.05; 0 turns recording off) to BentoML's monitoring API: the inputs (and the
id column, null where a row has none) as ``feature`` columns, the outputs and the answering
model version as ``prediction`` columns (:mod:`mlops.monitoring.records` reads them back for
``mlops monitor``). With a challenger beside the champion (shadow or canary), each row also
has the other model's outputs, its version, both latencies and which model answered
(:class:`Paired`), recorded once the other model has scored it: ``mlops online-report``
compares the two on them.

Which BentoML monitor writes them is ``MLOPS_RECORDS_MONITOR``:

* ``jsonl`` (default): :class:`TrafficMonitor`, this module's; it writes BentoML's default
  monitor's files (the same layout and the same JSON lines, rotated daily) under
  ``MLOPS_RECORDS_DIR`` (default ``monitoring``, relative to the service's working
  directory), but serializes and writes in a background thread, so the answer never waits
  for the disk; when the writer falls behind, rows are dropped and counted, never queued
  without end;
* ``default``: BentoML's own file monitor (python-json-logger, on the request path);
* ``otlp``: BentoML's OTLP exporter, configured by the OpenTelemetry variables
  (``OTEL_EXPORTER_OTLP_ENDPOINT`` ...), for a collector instead of files.
"""

from __future__ import annotations

import collections
import datetime
import logging
import logging.handlers
import os
import queue
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
import pydantic_core
from bentoml._internal.context import server_context, trace_context
from bentoml._internal.monitoring.base import MON_DATAS_VAR, MonitorBase

from mlops.monitoring.records import (
    CATEGORICAL,
    FEATURE,
    LATENCY_MS,
    MODEL_VERSION,
    NUMERICAL,
    PREDICTION,
    REQUEST_ID,
    RESERVED,
    ROUTE,
    SHADOW_LATENCY_MS,
    SHADOW_PREFIX,
    SHADOW_VERSION,
    TIMESTAMP,
    TRACE_ID,
)

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE = 0.05  # one row in 20: bench/RESULTS.md "Serving" gives its cost
DEFAULT_DIR = "monitoring"  # BentoML's own default log_path
QUEUE_BATCHES = 1024  # requests' samples waiting for the writer before rows are dropped
MONITORS = {"jsonl": f"{__name__}.TrafficMonitor", "default": "default", "otlp": "otlp"}


class TrafficMonitor(MonitorBase[Any]):
    """BentoML's default monitor's files and lines, written off the request path."""

    PRESERVED_COLUMNS = RESERVED

    def __init__(self, name: str, log_path: str = DEFAULT_DIR, **_: Any) -> None:
        super().__init__(name)
        worker = server_context.worker_index or 0
        root = Path(log_path) / name
        self.schema_path = root / "schema" / f"schema.{worker}.log"
        self.data_path = root / "data" / f"data.{worker}.log"
        self.pending: queue.Queue[tuple[dict[str, list[Any]], dict[str, str]] | None] = queue.Queue(
            maxsize=QUEUE_BATCHES
        )
        self.dropped = 0
        self.written = 0
        self._handler: logging.Handler | None = None
        self._thread = threading.Thread(target=self._write, name="traffic-records", daemon=True)
        self._thread.start()

    def log_batch(self, data_batch: Iterable[Any], name: str, role: str, data_type: str) -> None:
        """A whole column at once (the base class logs value by value)."""
        values = list(data_batch)
        if not values:
            return
        self.log(values[0], name, role, data_type)  # the schema's column, on the first record
        datas = MON_DATAS_VAR.get()
        assert datas is not None
        datas[name if name not in self.PRESERVED_COLUMNS else f"{name}_"].extend(values[1:])

    def export_schema(self, columns_schema: dict[str, dict[str, str]]) -> None:
        self.schema_path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "meta_data": {
                "bento_name": server_context.bento_name,
                "bento_version": server_context.bento_version,
            },
            "columns": list(columns_schema.values()),
        }
        with self.schema_path.open("ab") as handle:
            handle.write(pydantic_core.to_json(line) + b"\n")

    def export_data(self, datas: dict[str, collections.deque[Any]]) -> None:
        extra = {
            TIMESTAMP: datetime.datetime.now().isoformat(),
            REQUEST_ID: str(trace_context.request_id),
            TRACE_ID: str(trace_context.trace_id),
        }
        batch = {name: list(values) for name, values in datas.items()}
        datas.clear()
        try:
            self.pending.put_nowait((batch, extra))
        except queue.Full:
            self.dropped += len(next(iter(batch.values()), []))
            if self.dropped == len(next(iter(batch.values()), [])):
                logger.warning("traffic records: the writer is behind; rows are being dropped")

    def _write(self) -> None:
        while True:
            item = self.pending.get()
            if item is None:
                self.pending.task_done()
                return
            try:
                self._append(*item)
            except Exception:  # a full disk must not stop the service, nor this thread
                logger.exception("traffic records: could not write to %s", self.data_path)
            finally:
                self.pending.task_done()

    def _append(self, batch: dict[str, list[Any]], extra: dict[str, str]) -> None:
        if self._handler is None:
            self.data_path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.TimedRotatingFileHandler(
                self.data_path, when="D", encoding="utf-8"
            )
            handler.setFormatter(logging.Formatter("%(message)s"))
            self._handler = handler
        names = list(batch)
        lines = [  # missing numbers as null: standard JSON, for any shipper
            pydantic_core.to_json(
                {**dict(zip(names, row, strict=True)), **extra}, inf_nan_mode="null"
            ).decode()
            for row in zip(*batch.values(), strict=True)
        ]
        record = logging.LogRecord(self.name, logging.INFO, "", 0, "\n".join(lines), None, None)
        self._handler.emit(record)
        self.written += len(lines)

    def flush(self) -> None:
        """Wait until every queued sample is written (tests; the service never waits)."""
        self.pending.join()
        if self._handler is not None:
            self._handler.flush()


@dataclass(frozen=True)
class Paired:
    """What a row's record holds beside its answer when a challenger is served: which model
    answered (``route``), how long the answer took, and the other model's outputs (None when
    it failed or was shed), version and latency."""

    route: str
    latency_ms: float
    shadow_version: str
    shadow_outputs: Mapping[str, np.ndarray] | None
    shadow_latency_ms: float | None


class Recorder:
    """Samples each answered request's rows into ``bentoml.monitor(name)``."""

    def __init__(
        self,
        name: str,
        features: Mapping[str, str],
        outputs: Mapping[str, dict[str, Any]],
        *,
        id_column: str | None = None,
        sample: float = DEFAULT_SAMPLE,
        monitor: str = "jsonl",
        directory: str = DEFAULT_DIR,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= sample <= 1.0:
            raise ValueError(f"MLOPS_RECORD_SAMPLE must be between 0 and 1, not {sample}")
        if monitor not in MONITORS:
            raise ValueError(
                f"MLOPS_RECORDS_MONITOR must be one of {', '.join(MONITORS)}, not {monitor!r}"
            )
        self.name = name
        self.features = dict(features)  # name -> numerical | categorical
        self.id_column = id_column
        self.outputs = {
            name: NUMERICAL if spec.get("type") == "number" else CATEGORICAL
            for name, spec in outputs.items()
        }
        self.sample = sample
        self.monitor_class = MONITORS[monitor]
        self.options = {"log_path": directory} if monitor != "otlp" else {}
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_env(
        cls,
        name: str,
        features: Mapping[str, str],
        outputs: Mapping[str, dict[str, Any]],
        id_column: str | None = None,
    ) -> Recorder:
        try:
            sample = float(os.environ.get("MLOPS_RECORD_SAMPLE", str(DEFAULT_SAMPLE)))
        except ValueError:
            raise ValueError(
                f"MLOPS_RECORD_SAMPLE is not a number: {os.environ['MLOPS_RECORD_SAMPLE']!r}"
            ) from None
        return cls(
            name,
            features,
            outputs,
            id_column=id_column,
            sample=sample,
            monitor=os.environ.get("MLOPS_RECORDS_MONITOR", "jsonl"),
            directory=os.environ.get("MLOPS_RECORDS_DIR", DEFAULT_DIR),
        )

    def record(
        self,
        columns: Mapping[str, np.ndarray],
        outputs: Mapping[str, np.ndarray],
        version: str,
        *,
        ids: list[str | None] | None = None,
        paired: Paired | None = None,
    ) -> None:
        """Hand the sampled rows of one answered request to the monitor (never raises)."""
        if self.sample <= 0.0:
            return
        rows = len(next(iter(outputs.values())))
        keep = None if self.sample >= 1.0 else np.flatnonzero(self.rng.random(rows) < self.sample)
        if keep is not None and len(keep) == 0:
            return
        try:
            with bentoml.monitor(
                self.name, monitor_class=self.monitor_class, monitor_options=self.options
            ) as mon:
                for name, kind in self.features.items():
                    mon.log_batch(_values(columns[name], keep), name, FEATURE, kind)
                for name, kind in self.outputs.items():
                    mon.log_batch(_values(outputs[name], keep), name, PREDICTION, kind)
                count = rows if keep is None else len(keep)
                mon.log_batch([version] * count, MODEL_VERSION, PREDICTION, CATEGORICAL)
                if self.id_column is not None:
                    every = np.array([None] * rows if ids is None else ids, dtype=object)
                    mon.log_batch(_values(every, keep), self.id_column, FEATURE, CATEGORICAL)
                if paired is not None:
                    self._paired(mon, paired, keep, count)
        except Exception:  # recording must never fail an answer
            logger.exception("traffic records: recording failed")

    def _paired(self, mon: Any, paired: Paired, keep: np.ndarray | None, count: int) -> None:
        mon.log_batch([paired.route] * count, ROUTE, PREDICTION, CATEGORICAL)
        mon.log_batch([paired.latency_ms] * count, LATENCY_MS, PREDICTION, NUMERICAL)
        mon.log_batch([paired.shadow_version] * count, SHADOW_VERSION, PREDICTION, CATEGORICAL)
        for name, kind in self.outputs.items():
            shadow = paired.shadow_outputs
            values = [None] * count if shadow is None else _values(shadow[name], keep)
            mon.log_batch(values, f"{SHADOW_PREFIX}{name}", PREDICTION, kind)
        latency = paired.shadow_latency_ms
        mon.log_batch([latency] * count, SHADOW_LATENCY_MS, PREDICTION, NUMERICAL)


def _values(column: np.ndarray, keep: np.ndarray | None) -> list[Any]:
    """The kept values as Python values (a missing number stays NaN: TrafficMonitor writes it
    as null)."""
    values = np.asarray(column)
    return (values if keep is None else values[keep]).tolist()
