"""The BentoML 1.4 service: serves the registry's champion, packed into the bento at build time.

Endpoints (a FastAPI app mounted on the BentoML service, so that the service owns its request
parsing, its errors and its OpenAPI document):

* ``POST /predict`` one of three JSON bodies (``mlops.serving.requests``): ``{"records":
  [{...row...}, ...]}`` answered with one object of the task's outputs (``mlops.tasks``: binary
  ``probability`` and ``label``; multiclass ``label`` and ``probability_<class>``; regression
  ``prediction``) and ``model_version`` per record, or a columnar body (``{"columns": {name:
  [...]}}`` or MLflow's ``{"dataframe_split": {...}}``) answered with one list per output and
  ``model_version``. Bodies are validated a column at a time against the schema generated from
  the feature configuration (strict types, allowed categories, ranges, nullability, no unknown
  or missing columns): bad input gets a 4xx with a JSON body that names the column and the row,
  never a 5xx. Concurrent requests share prediction calls without waiting
  (``mlops.serving.batching``).
* ``GET`` or ``POST /metadata`` the registered version, git commit, data md5 and metrics (and
  the challenger's, under ``challenger``, when one is served).
* BentoML's own ``/healthz``, ``/livez``, ``/readyz``, ``/metrics`` and ``/docs.json`` (the
  OpenAPI document, which includes the two endpoints above).

With ``MLOPS_CHALLENGER_MODE`` ``shadow`` or ``canary`` the bento's challenger is served beside
the champion (``mlops.serving.challenger``); ``/metrics`` counts each version's rows, errors
and latency (``mlops.serving.metrics``).

A sample of the answered rows (``MLOPS_RECORD_SAMPLE``, default 0.05) is recorded through
``bentoml.monitor`` under ``MLOPS_RECORDS_DIR`` (``mlops.serving.records``), off the response
path, for ``mlops monitor``.

A request body larger than ``MLOPS_MAX_BODY_BYTES`` (default 1 MiB) is refused with 413,
whether its size is declared or it is sent chunked; a body that is not JSON gets 415. At most
``MLOPS_MAX_BATCH_SIZE`` rows (default 1000) go into one prediction call; a request that waits
longer than ``MLOPS_MAX_LATENCY_MS`` (default 2000) for the model gets 503. The model is the
BentoML model named after ``mlflow.registered_model`` (``mlops.serving.names``), created by
``mlops bento-import``: the bento names it in its arguments (``mlops bento-build``), a checkout
in ``params.yaml``.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Any

import bentoml
import pydantic_core
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from mlops.core.artifacts import MODEL
from mlops.serving.batching import Batcher, Overloaded
from mlops.serving.bento import CHALLENGER_TAG, SCHEMA_FILE
from mlops.serving.challenger import Pair, Routing, Served
from mlops.serving.names import MODEL_ARGUMENT, ServingNames
from mlops.serving.records import Recorder
from mlops.serving.requests import BadRequest, RequestSchema, answer, parse_json
from mlops.tracking.registry import CHALLENGER, CHAMPION

MAX_BODY_BYTES = int(os.environ.get("MLOPS_MAX_BODY_BYTES", str(1024 * 1024)))
# Oversized bodies up to this size are read and discarded before the 413 is sent.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
CLIENT_CLOSED = 499  # nginx's status for a request whose client left before the answer
MAX_BATCH_SIZE = int(os.environ.get("MLOPS_MAX_BATCH_SIZE", "1000"))
# The longest a request waits for the model before it is answered 503 (overloaded).
MAX_LATENCY_MS = int(os.environ.get("MLOPS_MAX_LATENCY_MS", "2000"))


def _names() -> ServingNames:
    """The bento's own argument (a built bento), else params.yaml (a checkout)."""
    model = getattr(bentoml.use_arguments(), MODEL_ARGUMENT, None)
    if model is None:
        from mlops.core.config import load_params
        from mlops.core.errors import ConfigError
        from mlops.serving.names import from_params

        try:
            return from_params(load_params())
        except ConfigError as err:
            raise RuntimeError(
                f"no bento argument {MODEL_ARGUMENT!r} (a bento built by `mlops bento-build` "
                f"has it) and no model name from params.yaml: {err}"
            ) from None
    return ServingNames(model=str(model))


NAMES = _names()
champion = bentoml.models.BentoModel(NAMES.model_tag)
_stored = champion.stored  # the local model store only: never fetched from a remote
if _stored is None:
    raise RuntimeError(
        f"BentoML model {NAMES.model_tag} is not in the model store; run `mlops bento-import` first"
    )
# The challenger imported beside this champion (mlops bento-import), packed into the bento too.
_challenger_tag = _stored.info.metadata.get(CHALLENGER_TAG)
challenger = None if _challenger_tag is None else bentoml.models.BentoModel(str(_challenger_tag))
ROUTING = Routing.from_env()
_SCHEMA = json.loads(Path(_stored.path_of(SCHEMA_FILE)).read_text("utf-8"))
REQUESTS = RequestSchema(_SCHEMA)
OUTPUT_FIELDS: dict[str, dict[str, Any]] = _SCHEMA["outputs"]  # the task's (bento.py)
FEATURE_KINDS = {
    name: "categorical" if spec["type"] == "category" else "numerical"
    for name, spec in REQUESTS.fields.items()
}


def _error_body_schema() -> dict[str, Any]:
    """The OpenAPI 3.0 schema of every 4xx body: what is wrong in one sentence, and where
    (``loc``: body keys, column names and row numbers; empty when it is the whole body)."""
    return {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string"},
            "detail": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["loc", "msg", "type"],
                    "properties": {
                        "loc": {
                            "type": "array",
                            "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                        },
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                    },
                },
            },
        },
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _json(_error_body_schema(), "the body is not valid: the message names column and row"),
    413: _json(_error_body_schema(), "the body is larger than MLOPS_MAX_BODY_BYTES"),
    415: _json(_error_body_schema(), "the body is not JSON (Content-Type)"),
}
OUTPUTS = [*OUTPUT_FIELDS, "model_version"]
PREDICTION = {
    "type": "object",
    "required": OUTPUTS,
    "properties": {**OUTPUT_FIELDS, "model_version": {"type": "string"}},
}
VERSION: dict[str, Any] = {"type": "string"}
if ROUTING.mode == "canary":  # a columnar answer names the version of each row
    VERSION = {"type": "array", "items": VERSION}
PREDICTIONS = {
    "type": "object",
    "required": OUTPUTS,
    "properties": {
        **{name: {"type": "array", "items": spec} for name, spec in OUTPUT_FIELDS.items()},
        "model_version": VERSION,
    },
}


def refuse(err: BadRequest) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status)


def json_body(request: Request) -> None:
    """415 unless the body is declared JSON (or not declared at all)."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise BadRequest(
            f"Content-Type {media or declared!r} is not supported: send a JSON body with "
            "Content-Type: application/json",
            ["header", "content-type"],
            "unsupported_media_type",
            status=415,
        )


app = FastAPI(title=NAMES.service, docs_url=None, redoc_url=None, openapi_url=None)


@bentoml.service(name=NAMES.service, traffic={"timeout": 30}, workers=1)
@bentoml.asgi_app(app, path="/")
class ModelService:
    model_ref = champion
    if challenger is not None:
        challenger_ref = challenger

    def __init__(self) -> None:
        from mlops.serving.metrics import VersionMetrics

        self.info = _info(self.model_ref)
        served = _served(CHAMPION, self.model_ref)
        self.threshold = served.model.threshold_
        second = None
        if ROUTING.mode != "off" and challenger is not None:
            second = _served(CHALLENGER, self.challenger_ref)
            threshold = second.model.threshold_
            self.info["challenger"] = {**_info(self.challenger_ref), "threshold": threshold}
        # A sample of the answered rows, for `mlops monitor` (mlops.serving.records).
        recorder = Recorder.from_env(NAMES.service, FEATURE_KINDS, OUTPUT_FIELDS, REQUESTS.id)
        self.pair = Pair(served, second, ROUTING, recorder, VersionMetrics())
        # Everything loaded so far (the libraries, the model) lives as long as the process:
        # out of the garbage collector's sight, a full collection no longer walks it, which
        # otherwise stalled one request in a hundred by tens of milliseconds.
        gc.freeze()

    @app.post(
        "/predict",
        summary="the model's outputs for each row (the output columns of its task)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": REQUESTS.openapi_request()}},
            }
        },
        responses={
            200: _json(
                {"oneOf": [{"type": "array", "items": PREDICTION}, PREDICTIONS]},
                "records: one object per record; columnar bodies: one list per output",
            ),
            **ERRORS,
            503: _json(
                _error_body_schema(),
                "overloaded: the request waited longer than MLOPS_MAX_LATENCY_MS for the model",
            ),
        },
    )
    async def predict(self, request: Request) -> Response:
        try:
            json_body(request)
            batch = REQUESTS.parse(await request.body())
        except BadRequest as err:
            return refuse(err)
        try:
            given = await self.pair.answer(batch, request.headers.get(ROUTING.header))
        except Overloaded as err:
            response = refuse(BadRequest(str(err), kind="overloaded", status=503))
            response.headers["Retry-After"] = "1"
            return response
        content = answer(given.outputs, batch.form, given.versions)
        return Response(pydantic_core.to_json(content), media_type="application/json")

    @app.get(
        "/metadata",
        summary="the served model's registered version, provenance and metrics",
        responses={200: _json({"type": "object"}, "the model's metadata")},
    )
    async def metadata_get(self) -> Response:
        return self._metadata()

    @app.post(
        "/metadata",
        summary="the served model's registered version, provenance and metrics",
        openapi_extra={
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "maxProperties": 0},
                    }
                },
                "description": "no input: no body, or {}",
            }
        },
        responses={200: _json({"type": "object"}, "the model's metadata"), **ERRORS},
    )
    async def metadata(self, request: Request) -> Response:
        body = await request.body()
        if body:  # no body at all is "no input"; anything else must be JSON {}
            try:
                json_body(request)
                if parse_json(body) != {}:
                    raise BadRequest("/metadata takes no input: send no body or {}", [], "body")
            except BadRequest as err:
                return refuse(err)
        return self._metadata()

    def _metadata(self) -> Response:
        content = {**self.info, "threshold": self.threshold, "features": REQUESTS.order}
        return Response(pydantic_core.to_json(content), media_type="application/json")


def _stored_model(ref: Any) -> Any:
    # BentoML hands the service the stored model (a BentoModel outside a server).
    return ref.stored if isinstance(ref, bentoml.models.BentoModel) else ref


def _info(ref: Any) -> dict[str, Any]:
    """A stored model's registry facts (its metadata), without the bento's own keys."""
    info = dict(_stored_model(ref).info.metadata)
    info.pop(CHALLENGER_TAG, None)
    return info


def _served(role: str, ref: Any) -> Served:
    import joblib

    stored = _stored_model(ref)
    model = joblib.load(stored.path_of(MODEL.name))
    version = str(stored.info.metadata.get("version", "unknown"))
    answers = Batcher(model.scores, MAX_BATCH_SIZE, MAX_LATENCY_MS / 1000)
    linger = ROUTING.linger_ms / 1000  # off the response path: gathered, then scored at once
    shadows = Batcher(model.scores, MAX_BATCH_SIZE, MAX_LATENCY_MS / 1000 + linger, linger)
    return Served(role, model, version, answers, shadows)


class BodySizeLimit:
    """ASGI middleware: reads the whole body before the app sees it.

    A body over ``max_bytes`` (declared by Content-Length, or found while reading a chunked
    upload) gets 413 with a JSON body, sent by this middleware, so no handler's error path can
    turn it into a 500. A client that disconnects mid-upload reaches no handler: it is logged
    and counted as 499 (nginx's "client closed request"), a client error, not a server error.
    (Something must be sent: BentoML's timeout middleware otherwise holds the request open
    until its timeout.)
    """

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
                await self._drain(receive, DRAIN_LIMIT_BYTES)  # so the client reads the 413
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                left = BadRequest(
                    "the client left mid-upload", ["body"], "client_closed", CLIENT_CLOSED
                )
                await refuse(left)(scope, receive, send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                if message.get("more_body"):
                    await self._drain(receive, DRAIN_LIMIT_BYTES - seen)
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: only the disconnect is left
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _drain(receive: Any, budget: int) -> None:
        while budget > 0:
            message = await receive()
            budget -= len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                return

    async def _too_large(self, scope: Any, receive: Any, send: Any) -> None:
        error = f"request body larger than {self.max_bytes} bytes (MLOPS_MAX_BODY_BYTES)"
        await refuse(BadRequest(error, ["body"], "too_large", status=413))(scope, receive, send)


# @bentoml.service returns a bentoml Service object, which mypy cannot see through.
ModelService.add_asgi_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)  # type: ignore[attr-defined]
