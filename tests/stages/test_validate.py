"""Data validation: the demo data passes; each kind of corrupted input fails for its own reason.

The Great Expectations checkpoint is built once per module (``validator``); the corrupted
frames are variations of the demo data read as text, exactly as ``mlops validate`` reads it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlops.cli import main
from mlops.core.artifacts import read_raw as read_text_csv
from mlops.core.errors import ConfigError, DataError
from mlops.stages.suite import dump_suite, load_suite, parse_suite, profile
from mlops.stages.validate import Validator

from ..conftest import REPO_ROOT

SUITE = REPO_ROOT / "expectations" / "churn.yaml"


@pytest.fixture(scope="module")
def suite():
    return load_suite(SUITE)


@pytest.fixture(scope="module")
def validator(suite) -> Validator:
    return Validator(suite)


@pytest.fixture(scope="module")
def raw(demo_csv) -> pd.DataFrame:
    return read_text_csv(demo_csv)


def failed(validator: Validator, frame: pd.DataFrame) -> tuple[set[tuple[str, str | None]], str]:
    report = validator.validate(frame)
    assert not report.success
    sentences = "\n".join(o.sentence() for o in report.failures)
    return {(o.kind, o.column) for o in report.failures}, sentences


def test_demo_data_passes(validator, raw):
    report = validator.validate(raw)
    assert report.success, [o.sentence() for o in report.failures]
    assert report.rows == 7043
    kinds = {o.kind for o in report.outcomes}
    assert kinds == {"columns", "row_count", "nulls", "unique", "type", "range"} | {
        "categories",
        "labels",
        "classes",
    }


def _set(
    column: str, rows: slice | list[int], value: object
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[frame.index[rows], column] = value
        return frame

    return change


def _rename(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"contract": "contract_type"})


def _extra(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(notes="n/a")


def _duplicate_ids(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame.index[10:13], "customer_id"] = frame["customer_id"].iloc[0]
    return frame


# name -> (corruption, the one failure it must cause, words the explanation must contain)
FRAME_CASES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], tuple, list[str]]] = {
    "missing column": (
        lambda f: f.drop(columns=["tenure"]),
        ("columns", None),
        ["missing ['tenure']"],
    ),
    "renamed column": (
        _rename,
        ("columns", None),
        ["missing ['contract']", "unexpected ['contract_type']"],
    ),
    "extra column": (_extra, ("columns", None), ["unexpected ['notes']"]),
    "number stored as text": (
        _set("monthly_charges", [3, 7], "29.85 USD"),
        ("type", "monthly_charges"),
        ["numbers only", "'29.85 USD'"],
    ),
    "nulls in the target": (_set("churn", slice(0, 5), np.nan), ("nulls", "churn"), ["5 missing"]),
    "nulls above the limit": (
        _set("total_charges", slice(0, 300), np.nan),
        ("nulls", "total_charges"),
        ["at most 1.0% missing", "311 missing"],
    ),
    "unknown category": (
        _set("contract", [4], "Three year"),
        ("categories", "contract"),
        ["'Three year'"],
    ),
    "negative number": (_set("tenure", [2], "-5"), ("range", "tenure"), ["between 0 and", "-5"]),
    "third target label": (_set("churn", [1, 2], "Maybe"), ("labels", "churn"), ["'Maybe'"]),
    "single-class target": (
        _set("churn", slice(None), "No"),
        ("classes", "churn"),
        ["every label", "labels ['No']"],
    ),
    "duplicate ids": (_duplicate_ids, ("unique", "customer_id"), ["duplicated", "'C00001'"]),
    "far fewer rows": (lambda f: f.head(200), ("row_count", None), ["200 rows"]),
}


@pytest.mark.parametrize("case", list(FRAME_CASES))
def test_corrupted_frame_is_rejected_for_its_own_reason(validator, raw, case):
    corrupt, expected, words = FRAME_CASES[case]
    kinds, sentences = failed(validator, corrupt(raw))
    assert kinds == {expected}, sentences
    for word in words:
        assert word in sentences, sentences


def _demo_lines(demo_csv: Path) -> list[str]:
    return demo_csv.read_text(encoding="utf-8").splitlines()


FILE_CASES: dict[str, tuple[Callable[[list[str]], bytes], str]] = {
    "zero-byte file": (lambda lines: b"", "empty (0 bytes)"),
    "blank file": (lambda lines: b"\n\n", "no header and no rows"),
    "header only": (lambda lines: (lines[0] + "\n").encode(), "header (21 columns) but no data"),
    "unclosed quote": (
        lambda lines: ("\n".join(lines[:40]) + '\nC09999,1,0,"truncated,0').encode(),
        "quoted field opened in data row 40 is never closed",
    ),
    "not UTF-8": (
        lambda lines: "\n".join(lines[:30]).encode().replace(b"Mailed check", b"Mailed ch\xe9que"),
        "not valid UTF-8: byte 0xe9 at line",
    ),
    "ragged row": (
        lambda lines: ("\n".join([*lines[:20], lines[20] + ",extra"])).encode(),
        "line 21 has 22 fields, the header has 21",
    ),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_unreadable_file_is_rejected_with_one_line(tmp_path, demo_csv, case):
    make, words = FILE_CASES[case]
    path = tmp_path / "churn.csv"
    path.write_bytes(make(_demo_lines(demo_csv)))
    with pytest.raises(DataError) as info:
        read_text_csv(path)
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert str(path) in message


def test_battery_has_at_least_15_kinds():
    assert len(FRAME_CASES) + len(FILE_CASES) >= 15


def test_numbers_as_text_are_not_coerced(validator, raw):
    frame = raw.copy()
    frame.loc[0, "tenure"] = "twelve"
    report = validator.validate(frame)
    (failure,) = report.failures
    assert failure.kind == "type" and failure.samples == ["twelve"]
    assert failure.unexpected_count == 1
    notes = [o for o in report.outcomes if o.column == "tenure" and o.note]
    assert notes and "not numeric" in notes[0].note  # the range check is reported as skipped


# --- the suite file -------------------------------------------------------------------------


def test_suite_unknown_key_names_the_key(tmp_path):
    doc = yaml.safe_load(SUITE.read_text())
    doc["columns"]["tenure"]["mni"] = 0
    with pytest.raises(ConfigError, match=r"columns\.tenure\.mni: unknown key"):
        parse_suite(doc, tmp_path / "s.yaml")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["columns"]["contract"].pop("values"), "columns.contract.values"),
        (lambda d: d["columns"]["tenure"].update(max=-1), "columns.tenure.max"),
        (lambda d: d["columns"]["churn"].update(values=["Yes"]), "at least 2 labels"),
        (lambda d: d["columns"]["female"].update(kind="number"), "columns.female.kind"),
        (lambda d: d["rows"].update(min=0), "rows.min"),
    ],
)
def test_suite_errors(tmp_path, change, words):
    doc = yaml.safe_load(SUITE.read_text())
    change(doc)
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        parse_suite(doc, tmp_path / "s.yaml")


def test_profile_of_demo_data_matches_the_committed_suite_and_passes(raw, suite):
    doc = profile(raw, name="churn", target="churn", id_column="customer_id")
    assert parse_suite(doc, SUITE) == suite
    assert yaml.safe_load(dump_suite(doc, "x")) == doc


# --- the CLI wrapper --------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path, monkeypatch, demo_csv) -> Path:
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO_ROOT / "expectations", tmp_path / "expectations")
    (tmp_path / "data" / "raw").mkdir(parents=True)
    shutil.copy(demo_csv, tmp_path / "data" / "raw" / "churn.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_validate_passes_and_writes_report_and_data_docs(workdir, capsys):
    assert main(["validate"]) == 0
    assert "all 54 expectations met" in capsys.readouterr().out
    report = json.loads((workdir / "reports" / "validation.json").read_text())
    assert report["success"] is True and report["failed"] == 0
    entry = next(e for e in report["expectations"] if e["kind"] == "range")
    assert set(entry) >= {"column", "kind", "observed", "unexpected_count", "sample_values"}
    docs = workdir / "reports" / "data_docs"
    assert (docs / "index.html").is_file()
    assert list((docs / "validations").rglob("*.html"))


def test_cli_validate_failure_is_plain_words_and_one_error_line(workdir, capsys):
    path = workdir / "data" / "raw" / "churn.csv"
    frame = read_text_csv(path)
    frame.loc[[3, 9], "tenure"] = "-1"
    frame.loc[5, "contract"] = "Lifetime"
    frame.to_csv(path, index=False)
    assert main(["validate"]) == 1
    out, err = capsys.readouterr()
    assert "2 of 54 expectations failed" in out
    assert (
        "column 'tenure': expected values between 0 and 108; found 2 value(s) out of range" in out
    )
    assert "column 'contract': expected values from" in out and "'Lifetime'" in out
    assert len(err.strip().splitlines()) == 1 and err.startswith("mlops validate: error:")
    report = json.loads((workdir / "reports" / "validation.json").read_text())
    assert report["success"] is False
    (tenure,) = [e for e in report["expectations"] if not e["success"] and e["column"] == "tenure"]
    assert tenure["unexpected_count"] == 2 and tenure["sample_values"] == [-1, -1]


def test_cli_validate_unreadable_file_writes_failed_report(workdir, capsys):
    (workdir / "data" / "raw" / "churn.csv").write_bytes(b"")
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "empty (0 bytes)" in err and len(err.strip().splitlines()) == 1
    report = json.loads((workdir / "reports" / "validation.json").read_text())
    assert report["success"] is False and "0 bytes" in report["error"]


def test_cli_init_writes_a_suite_and_refuses_to_overwrite(workdir, capsys):
    out = workdir / "expectations" / "new.yaml"
    assert main(["validate", "--init", "--output", str(out)]) == 0
    assert load_suite(out).columns == load_suite(SUITE).columns
    assert main(["validate", "--init", "--output", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["validate", "--init", "--output", str(out), "--force"]) == 0


def test_cli_missing_suite_is_config_error(workdir, capsys):
    (workdir / "expectations" / "churn.yaml").unlink()
    assert main(["validate"]) == 2
    assert "mlops validate --init" in capsys.readouterr().err


def test_synthetic_data_is_seeded_and_meets_the_suite(validator):
    from mlops.core.synthetic import generate

    frame = generate(20_000, seed=3)
    pd.testing.assert_frame_equal(frame, generate(20_000, seed=3))
    assert list(frame.columns) == list(load_suite(SUITE).columns)
    report = validator.validate(frame)
    assert report.success, [o.sentence() for o in report.failures]
