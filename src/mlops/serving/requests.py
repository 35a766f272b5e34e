"""The bodies ``/predict`` accepts, parsed and validated a column at a time.

Three forms carry the same rows (``schema.json`` names the columns and their rules):

* ``{"records": [{column: value, ...}, ...]}``: one object per row; answered with one
  ``{probability, label, model_version}`` object per record;
* ``{"columns": {column: [value, ...], ...}}``: one list per column;
* ``{"dataframe_split": {"columns": [...], "data": [[...], ...]}}``: MLflow's split form;

the two columnar forms are answered columnar: ``{"probability": [...], "label": [...],
"model_version": "..."}``.

A row may also carry the id column (``data.id_column``, ``schema.json``'s ``id``): it is not a
feature, the model never sees it, but canary routing (``mlops.serving.challenger``) and the
traffic records (outcomes are joined to them by id) use it. An id is a string or an integer.

Every form becomes the same columns, and each column is checked whole by one pydantic
``TypeAdapter`` (compiled once from ``schema.json``, run in pydantic-core): strict types (a JSON
``true`` or ``"1"`` is not a number), the categories seen in training, ranges, nullability, no
NaN or infinity. Unknown, missing, ragged or empty columns are refused before that. Any
failure is a ``BadRequest`` whose message names the column and the first offending row, e.g.
``records[3].tenure: Input should be greater than or equal to 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import pydantic_core
from pydantic import Field, TypeAdapter, ValidationError

FORMS = ("records", "columns", "dataframe_split")


class BadRequest(Exception):  # noqa: N818 (named after the HTTP status it mostly becomes)
    """A request the service refuses: ``status`` (400 unless given) and the JSON body every
    refusal has, ``{"error", "detail"}``."""

    def __init__(
        self,
        error: str,
        loc: list[str | int] | None = None,
        kind: str = "invalid",
        status: int = 400,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.detail = [] if loc is None else [{"loc": loc, "msg": error, "type": kind}]

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail}


Form = Literal["records", "columns"]


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; NaN and Infinity are parsed, so that the column check can
    name their column."""
    try:
        return pydantic_core.from_json(body, allow_inf_nan=True)
    except ValueError as err:
        raise BadRequest(f"the body is not valid JSON: {err}", [], "json_invalid") from None


Located = tuple[list[Any], list[str | int]]  # a column's values and where they are in the body


@dataclass
class Batch:
    """A validated body: the model's columns (numpy arrays, one per feature), its form, and
    the rows' ids as text (None for a row without one; ``ids`` None when no row has one)."""

    columns: dict[str, np.ndarray]
    rows: int
    form: Form
    ids: list[str | None] | None = None

    def take(self, rows: np.ndarray) -> Batch:
        """The batch of the rows at the positions ``rows``."""
        ids = None if self.ids is None else [self.ids[i] for i in rows]
        columns = {name: values[rows] for name, values in self.columns.items()}
        return Batch(columns, len(rows), self.form, ids)


def model_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The model's input frame: float64 and object columns kept as they are (pandas would
    otherwise turn the text columns into its string dtype, and the scikit-learn pipeline
    predicts about twice as slowly on those). One shared index spares pandas aligning them."""
    index = pd.RangeIndex(len(next(iter(columns.values()))))
    return pd.DataFrame(
        {
            name: pd.Series(array, index=index, dtype=array.dtype, copy=False)
            for name, array in columns.items()
        },
        index=index,
        copy=False,
    )


def _annotation(spec: dict[str, Any]) -> Any:
    """The pydantic type of one value of a column described by ``spec`` (schema.json)."""
    annotation: Any
    if spec["type"] == "category":
        annotation = Literal[tuple(spec["categories"])]
    else:
        # (a binary column's 0-or-1 rule is checked on the whole array, in RequestSchema._finish)
        constraints: dict[str, Any] = {"strict": True, "allow_inf_nan": False}
        if "minimum" in spec:
            constraints["ge"] = spec["minimum"]
        annotation = Annotated[float, Field(**constraints)]
    return annotation | None if spec.get("nullable") else annotation


def _value_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.0 schema of one value of a column described by ``spec``."""
    out: dict[str, Any]
    if spec["type"] == "category":
        out = {"type": "string", "enum": list(spec["categories"])}
    elif spec["type"] == "binary":
        out = {"type": "number", "enum": [0, 1]}
    else:
        out = {"type": "number"}
        if "minimum" in spec:
            out["minimum"] = spec["minimum"]
    if spec.get("nullable"):
        out["nullable"] = True
    return out


class RequestSchema:
    """Parses and validates ``/predict`` bodies against ``schema.json``."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.fields: dict[str, dict[str, Any]] = schema["fields"]
        self.order: list[str] = list(schema["order"])
        self.id: str | None = schema.get("id")
        self._names = frozenset(self.order)
        self._adapters: dict[str, TypeAdapter[list[Any]]] = {
            name: TypeAdapter(list[_annotation(self.fields[name])])  # type: ignore[misc,arg-type]
            for name in self.order
        }

    # -- parsing -----------------------------------------------------------------------------
    def parse(self, body: bytes) -> Batch:
        data = parse_json(body)
        if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in FORMS:
            keys = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise BadRequest(
                f"the body must be a JSON object with exactly one of the keys "
                f"{', '.join(FORMS)} (got {keys})",
                [],
                "body_form",
            )
        ((form, payload),) = data.items()
        if form == "records":
            return self._finish(*self._records(payload), "records")
        if form == "columns":
            return self._finish(*self._columns(payload), "columns")
        return self._finish(*self._split(payload), "columns")

    def _records(self, records: Any) -> tuple[dict[str, Located], Located | None]:
        if not isinstance(records, list):
            raise BadRequest("records must be a list of objects", ["records"], "list_type")
        if not records:
            raise BadRequest("records is empty: send at least one record", ["records"], "empty")
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                raise BadRequest(f"records[{i}] is not an object", ["records", i], "dict_type")
            if record.keys() != self._names:
                self._check_names(record, ["records", i], f"records[{i}]")
        ids: Located | None = None
        if self.id is not None and any(self.id in record for record in records):
            located: list[str | int] = ["records", "{row}", self.id]
            ids = ([record.get(self.id, _NO_ID) for record in records], located)
        columns: dict[str, Located] = {
            name: ([record[name] for record in records], ["records", "{row}", name])
            for name in self.order
        }
        return columns, ids

    def _columns(self, columns: Any) -> tuple[dict[str, Located], Located | None]:
        where: list[str | int] = ["columns"]
        label = "columns"
        if not isinstance(columns, dict):
            raise BadRequest(f"{label} must be an object of column -> list", where, "dict_type")
        self._check_names(columns, where, label)
        rows: int | None = None
        first = ""
        named = [*self.order, *([self.id] if self.id is not None and self.id in columns else [])]
        for name in named:
            values = columns[name]
            if not isinstance(values, list):
                raise BadRequest(
                    f"{label}.{name} must be a list of values, one per row",
                    [*where, name],
                    "list_type",
                )
            if not values:
                raise BadRequest(f"{label}.{name} is empty", [*where, name], "empty")
            if rows is None:
                rows, first = len(values), name
            elif len(values) != rows:
                raise BadRequest(
                    f"{label}.{name} has {len(values)} values but {first} has {rows}: every "
                    "column needs one value per row",
                    [*where, name],
                    "ragged",
                )
        ids = None
        if self.id is not None and self.id in columns:
            ids = (columns[self.id], [*where, self.id, "{row}"])
        return {name: (columns[name], [*where, name, "{row}"]) for name in self.order}, ids

    def _split(self, split: Any) -> tuple[dict[str, Located], Located | None]:
        if not isinstance(split, dict) or not {"columns", "data"} <= split.keys():
            raise BadRequest(
                'dataframe_split must be an object {"columns": [...], "data": [[...], ...]}',
                ["dataframe_split"],
                "dict_type",
            )
        extra = sorted(set(split) - {"columns", "data", "index"})
        if extra:
            raise BadRequest(
                f"dataframe_split has an unknown key {extra[0]}", ["dataframe_split", extra[0]]
            )
        names, data = split["columns"], split["data"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadRequest(
                "dataframe_split.columns must be a list of column names",
                ["dataframe_split", "columns"],
                "list_type",
            )
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise BadRequest(
                f"dataframe_split.columns names {twice} twice", ["dataframe_split", "columns"]
            )
        self._check_names(dict.fromkeys(names), ["dataframe_split", "columns"], "dataframe_split")
        if not isinstance(data, list) or not data:
            raise BadRequest(
                "dataframe_split.data must be a non-empty list of rows",
                ["dataframe_split", "data"],
                "list_type",
            )
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != len(names):
                raise BadRequest(
                    f"dataframe_split.data[{i}] must be a list of {len(names)} values, one per "
                    "column",
                    ["dataframe_split", "data", i],
                    "ragged",
                )
        transposed = dict(zip(names, (list(c) for c in zip(*data, strict=True)), strict=True))
        ids: Located | None = None
        if self.id is not None and self.id in transposed:
            ids = (transposed[self.id], ["dataframe_split", "data", "{row}", self.id])
        columns: dict[str, Located] = {
            name: (transposed[name], ["dataframe_split", "data", "{row}", name])
            for name in self.order
        }
        return columns, ids

    def _check_names(self, mapping: dict[str, Any], where: list[str | int], label: str) -> None:
        extra = [k for k in mapping if k not in self._names and k != self.id]
        if extra:
            raise BadRequest(
                f"{label}: unknown column {extra[0]} (the model's columns: "
                f"{', '.join(self.order)})",
                [*where, extra[0]],
                "extra_forbidden",
            )
        missing = [n for n in self.order if n not in mapping]
        if missing:
            raise BadRequest(
                f"{label}: missing column {missing[0]}", [*where, missing[0]], "missing"
            )

    def _finish(
        self, columns: dict[str, Located], located_ids: Located | None, form: Form
    ) -> Batch:
        out: dict[str, np.ndarray] = {}
        rows = 0
        for name in self.order:
            values, loc = columns[name]
            try:
                checked = self._adapters[name].validate_python(values)
            except ValidationError as err:
                first = err.errors(include_url=False)[0]
                where = [first["loc"][0] if part == "{row}" else part for part in loc]
                raise BadRequest(f"{_label(where)}: {first['msg']}", where, first["type"]) from None
            rows = len(checked)
            spec = self.fields[name]
            if spec["type"] == "category":
                out[name] = np.array(checked, dtype=object)
                continue
            array = np.array(
                [np.nan if v is None else v for v in checked] if spec.get("nullable") else checked,
                dtype="float64",
            )
            if spec["type"] == "binary":
                wrong = np.flatnonzero((array != 0) & (array != 1) & ~np.isnan(array))
                if len(wrong):
                    where = [int(wrong[0]) if part == "{row}" else part for part in loc]
                    raise BadRequest(f"{_label(where)}: Input should be 0 or 1", where, "binary")
            out[name] = array
        return Batch(out, rows, form, None if located_ids is None else _ids(*located_ids))

    # -- the OpenAPI document ----------------------------------------------------------------
    def openapi_request(self) -> dict[str, Any]:
        """The request body of ``/predict`` (OpenAPI 3.0): the three forms."""
        values = {name: _value_schema(self.fields[name]) for name in self.order}
        optional = {}  # the id column: a row may carry it
        if self.id is not None:
            optional[self.id] = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        record = {
            "type": "object",
            "properties": {**values, **optional},
            "required": self.order,
            "additionalProperties": False,
        }
        columns = {
            "type": "object",
            "properties": {
                name: {"type": "array", "minItems": 1, "items": spec}
                for name, spec in {**values, **optional}.items()
            },
            "required": self.order,
            "additionalProperties": False,
            "description": "one list per column, all of the same length",
        }
        split = {
            "type": "object",
            "properties": {
                "columns": {
                    "type": "array",
                    # (the id column may be named too; OpenAPI 3.0 cannot say "every feature,
                    # and the id or not" of an array, so only the features are listed)
                    "items": {"type": "string", "enum": self.order},
                    "minItems": len(self.order),
                    "maxItems": len(self.order),
                    "uniqueItems": True,
                },
                "data": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "array", "items": {}},
                },
                "index": {"type": "array", "items": {}},
            },
            "required": ["columns", "data"],
            "additionalProperties": False,
            "description": "MLflow's split form: one row per list, in the order of columns",
        }

        def form(name: str, schema: dict[str, Any]) -> dict[str, Any]:
            return {
                "type": "object",
                "properties": {name: schema},
                "required": [name],
                "additionalProperties": False,
            }

        return {
            "oneOf": [
                form("records", {"type": "array", "minItems": 1, "items": record}),
                form("columns", columns),
                form("dataframe_split", split),
            ]
        }


_NO_ID = object()  # a record without the id column


def _ids(values: list[Any], loc: list[str | int]) -> list[str | None]:
    """The ids as text (an integer id and its decimal string are the same entity); None for a
    record that has none."""
    out: list[str | None] = []
    for row, value in enumerate(values):
        if value is _NO_ID:
            out.append(None)
        elif isinstance(value, str):
            out.append(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            out.append(str(value))
        else:
            where = [row if part == "{row}" else part for part in loc]
            raise BadRequest(
                f"{_label(where)}: an id is a string or an integer, not {value!r}", where, "id_type"
            )
    return out


def _label(loc: list[str | int]) -> str:
    """``["records", 3, "tenure"]`` -> ``records[3].tenure``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def answer(outputs: dict[str, np.ndarray], form: str, version: str | list[str]) -> Any:
    """The JSON content of a prediction: the model's output columns (``FittedModel.outputs``)
    and ``model_version``, as one object per row for ``records``, else one list per column.
    ``version`` is the answering model's, or one per row (a canary's answer: then a columnar
    answer's ``model_version`` is that list too)."""
    import itertools

    columns = {name: values.tolist() for name, values in outputs.items()}
    if form == "records":
        keys = [*columns, "model_version"]
        versions = itertools.repeat(version) if isinstance(version, str) else version
        rows = zip(*columns.values(), versions)  # noqa: B905 (repeat is endless)
        return [dict(zip(keys, row, strict=True)) for row in rows]
    return {**columns, "model_version": version}
