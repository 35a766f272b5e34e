"""The BentoML 1.4 service: serves the registry's champion, packed into the bento at build time.

Endpoints (all POST with a JSON body, as BentoML does):

* ``/predict``  ``{"records": [{...customer...}, ...]}`` -> one ``{churn_probability, label,
  model_version}`` per record. Batchable: concurrent requests are grouped by BentoML's adaptive
  batching. Each record is validated against the schema generated from the feature
  configuration (types, allowed categories, ranges, no extra fields): bad input gets a 4xx that
  names the field, never a 5xx.
* ``/metadata`` the registered version, git commit, data md5 and metrics.
* BentoML's own ``/healthz``, ``/livez``, ``/readyz`` and ``/metrics``.

A request body larger than ``MLOPS_MAX_BODY_BYTES`` (default 1 MiB) is refused with 413.
The model is the BentoML model ``MLOPS_BENTO_MODEL`` (default ``churn-classifier:latest``),
created by ``mlops bento-import``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import bentoml
from pydantic import BaseModel, Field

from mlops.core.artifacts import MODEL
from mlops.serving.bento import SCHEMA_FILE, record_model, records_frame
from mlops.threshold import decision_threshold

MODEL_TAG = os.environ.get("MLOPS_BENTO_MODEL", "churn-classifier:latest")
MAX_BODY_BYTES = int(os.environ.get("MLOPS_MAX_BODY_BYTES", str(1024 * 1024)))
# Oversized bodies up to this size are read and discarded before the 413 is sent.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
MAX_BATCH_SIZE = int(os.environ.get("MLOPS_MAX_BATCH_SIZE", "1000"))
# The most a request may wait for its batch; BentoML answers 503 (overloaded) past it.
MAX_LATENCY_MS = int(os.environ.get("MLOPS_MAX_LATENCY_MS", "2000"))

champion = bentoml.models.BentoModel(MODEL_TAG)
_stored = champion.stored  # the local model store only: never fetched from a remote
if _stored is None:
    raise RuntimeError(
        f"BentoML model {MODEL_TAG} is not in the model store; run `mlops bento-import` first"
    )
_schema = json.loads(Path(_stored.path_of(SCHEMA_FILE)).read_text(encoding="utf-8"))
CustomerRecord = record_model(_schema)


class Prediction(BaseModel):
    churn_probability: float
    label: int
    model_version: str


class BodySizeLimit:
    """ASGI middleware: 413 for a body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            if int(declared) <= DRAIN_LIMIT_BYTES:
                await self._drain(receive)  # so the client reads the 413, not a reset
            await self._refuse(send)
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await self._drain(receive)
            await self._refuse(send)

    @staticmethod
    async def _drain(receive: Any) -> None:
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                return

    async def _refuse(self, send: Any) -> None:
        body = json.dumps(
            {"error": f"request body larger than {self.max_bytes} bytes (MLOPS_MAX_BODY_BYTES)"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLargeError(Exception):
    pass


@bentoml.service(
    name="churn_service",
    traffic={"timeout": 30},
    workers=1,
)
class ChurnService:
    model_ref = champion

    def __init__(self) -> None:
        import joblib

        # BentoML hands the service the stored model (a BentoModel outside a server).
        ref: Any = self.model_ref
        stored = ref.stored if isinstance(ref, bentoml.models.BentoModel) else ref
        self.model = joblib.load(stored.path_of(MODEL.name))
        self.threshold = decision_threshold(self.model)
        self.info = dict(stored.info.metadata)
        self.version = str(self.info.get("version", "unknown"))
        self.order: list[str] = list(_schema["order"])

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=MAX_LATENCY_MS)
    def predict(
        self,
        records: Annotated[list[CustomerRecord], Field(min_length=1)],  # type: ignore[valid-type]
    ) -> list[Prediction]:
        frame = records_frame(records, self.order)
        proba = self.model.predict_proba(frame)[:, 1]
        return [
            Prediction(
                churn_probability=float(p),
                label=int(p >= self.threshold),
                model_version=self.version,
            )
            for p in proba
        ]

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        return {**self.info, "threshold": self.threshold, "features": self.order}


# @bentoml.service returns a bentoml Service object, which mypy cannot see through.
ChurnService.add_asgi_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)  # type: ignore[attr-defined]
