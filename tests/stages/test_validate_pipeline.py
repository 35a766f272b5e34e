"""End to end with the real DVC: a corrupted file stops `dvc repro` at validate; drift --rev."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ..conftest import copy_repo, run
from .test_drift import shifted

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("validate"))
    run(["dvc", "pull", "data.dvc"], repo)
    return repo


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def test_drift_against_main_through_dvc(repo):
    csv = repo / "data" / "raw" / "churn.csv"
    original = csv.read_bytes()
    try:
        proc = run(["mlops", "drift", "--rev", "main"], repo)
        assert "0 of 19 features drifted" in proc.stdout
        shifted(_read(csv)).to_csv(csv, index=False)
        proc = run(["mlops", "drift", "--rev", "main"], repo)
        assert "warning: drift detected in tenure, contract" in proc.stdout
        report = json.loads((repo / "reports" / "drift.json").read_text())
        assert report["reference"] == "data/raw/churn.csv@main"
        assert report["drifted_columns"] == ["tenure", "contract"]
        bad = run(["mlops", "drift", "--rev", "no-such-rev"], repo, check=False)
        assert bad.returncode == 1 and "no-such-rev" in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    finally:
        csv.write_bytes(original)


def test_corrupted_data_stops_repro_before_prepare(repo):
    csv = repo / "data" / "raw" / "churn.csv"
    frame = _read(csv)
    frame.loc[[5, 6], "tenure"] = "-3"
    frame.to_csv(csv, index=False)
    proc = run(["dvc", "repro"], repo, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "column 'tenure': expected values between 0 and 108" in out
    assert not (repo / "data" / "prepared").exists()
    assert not (repo / "models").exists()
    assert not (repo / "metrics").exists()
    report = json.loads((repo / "reports" / "validation.json").read_text())
    assert report["success"] is False


def test_zero_byte_file_stops_repro(repo):
    (repo / "data" / "raw" / "churn.csv").write_bytes(b"")
    proc = run(["dvc", "repro"], repo, check=False)
    assert proc.returncode != 0
    assert "empty (0 bytes)" in proc.stdout + proc.stderr
    assert not (repo / "data" / "prepared").exists()
