"""What a validation found, in words and as ``reports/validation.json``: one :class:`Outcome`
per expectation, the :class:`Report` of a whole run (``mlops validate``, batch scoring's
chunks), and the failure sentences the PR report repeats (:func:`failure_sentences`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.core.artifacts import VALIDATION
from mlops.core.errors import DataError


class ValidationError(DataError):
    """The data was read but does not meet the expectation suite."""


@dataclass
class Outcome:
    """One expectation's result, in the shape of reports/validation.json."""

    column: str | None
    kind: str
    expectation: str
    expected: str
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    samples: list[Any] = field(default_factory=list)
    note: str | None = None

    @property
    def skipped(self) -> bool:
        """Could not be evaluated because another expectation failed (e.g. a missing column)."""
        return (self.note or "").startswith("not evaluated")

    def sentence(self) -> str:
        where = f"column {self.column!r}" if self.column else "table"
        found = self.note or _found(self)
        return f"{where}: expected {self.expected}; found {found}"


def _found(o: Outcome) -> str:
    if o.kind == "columns":
        return str(o.observed)
    if o.kind == "row_count":
        return f"{o.observed} rows"
    if o.kind == "classes":
        return f"labels {o.observed}"
    if o.kind == "type":
        return f"text that is not a number, e.g. {', '.join(repr(s) for s in o.samples)}"
    count = o.unexpected_count or 0
    what = {
        "nulls": "missing value(s)",
        "unique": "duplicated value(s)",
        "range": "value(s) out of range",
        "categories": "value(s) not in the list",
        "labels": "value(s) not in the list",
    }.get(o.kind, "unexpected value(s)")
    text = f"{count} {what}"
    if o.observed is not None and o.kind == "nulls":
        text += f" ({o.observed:.2%} of rows)"
    samples = list(
        dict.fromkeys(int(s) if isinstance(s, float) and s.is_integer() else s for s in o.samples)
    )
    samples = [s for s in samples if s is not None and not _isnan(s)]
    if samples:
        text += ", e.g. " + ", ".join(repr(s) for s in samples)
    return text


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if _isnan(value):
        return None
    return value


@dataclass
class Report:
    success: bool
    outcomes: list[Outcome]
    rows: int
    columns: int

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and not o.skipped]

    def raise_failures(self, where: str) -> None:
        """Print every failure in plain words; raise :class:`ValidationError` naming the first."""
        failures = self.failures
        for outcome in failures:
            print(f"  - {outcome.sentence()}")
        raise ValidationError(
            f"{where} failed validation ({len(failures)} expectation(s)): "
            f"{failures[0].sentence() if failures else 'see the report'}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "rows": self.rows,
            "columns": self.columns,
            "evaluated": len(self.outcomes),
            "failed": len([o for o in self.outcomes if not o.success]),
            "expectations": [
                _jsonable(
                    {
                        "column": o.column,
                        "kind": o.kind,
                        "expectation": o.expectation,
                        "expected": o.expected,
                        "success": o.success,
                        "observed": o.observed,
                        "unexpected_count": o.unexpected_count,
                        "sample_values": o.samples,
                        **({"note": o.note} if o.note else {}),
                    }
                )
                for o in self.outcomes
            ],
        }


def failure_sentences(payload: dict[str, Any]) -> list[str]:
    """The failures of a reports/validation.json in plain words (as ``mlops validate`` prints)."""
    if payload.get("error"):
        return [str(payload["error"])]
    outcomes = [
        Outcome(
            column=e.get("column"),
            kind=str(e.get("kind")),
            expectation=str(e.get("expectation")),
            expected=str(e.get("expected")),
            success=bool(e.get("success")),
            observed=e.get("observed"),
            unexpected_count=e.get("unexpected_count"),
            samples=list(e.get("sample_values") or []),
            note=e.get("note"),
        )
        for e in payload.get("expectations", [])
    ]
    return [o.sentence() for o in outcomes if not o.success and not o.skipped]


def write_report(payload: dict[str, Any], path: Path = VALIDATION) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
