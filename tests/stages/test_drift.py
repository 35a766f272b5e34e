"""Drift: zero against itself, flagged on exactly the shifted columns, warn or fail by params."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.cli import main
from mlops.core.config import parse_params
from mlops.core.errors import ConfigError
from mlops.stages import drift
from mlops.stages.prepare import clean

from ..conftest import REPO_ROOT


def shifted(raw: pd.DataFrame) -> pd.DataFrame:
    """tenure moved up by two years, a third of month-to-month contracts turned into two-year."""
    out = raw.copy()
    out["tenure"] = (out["tenure"].astype(int) + 24).astype(str)
    monthly = out.index[out["contract"] == "Month-to-month"]
    rng = np.random.default_rng(0)
    chosen = rng.choice(monthly, size=len(monthly) // 3, replace=False)
    out.loc[chosen, "contract"] = "Two year"
    return out


def test_drift_against_itself_is_zero(demo_raw, params):
    frame = clean(demo_raw, params)
    report = drift.compare(frame, frame, params)
    assert report["drift"] is False and report["drifted_columns"] == []
    for name, column in report["columns"].items():
        assert column["psi"] == pytest.approx(0.0, abs=1e-12), name
        if column["kind"] == "numeric":
            assert column["ks_statistic"] == 0.0
        else:
            assert column["chi2_statistic"] == pytest.approx(0.0)
    assert report["target"]["delta"] == 0.0


def test_shifted_copy_flags_only_the_shifted_columns(demo_raw, params):
    report = drift.compare(clean(demo_raw, params), clean(shifted(demo_raw), params), params)
    assert report["drifted_columns"] == ["tenure", "contract"]
    assert report["columns"]["tenure"]["psi"] > params.drift.psi_threshold
    assert report["columns"]["contract"]["chi2_pvalue"] < params.drift.chi2_pvalue
    assert report["target"]["drifted"] is False


def test_target_rate_drift(demo_raw, params):
    current = demo_raw.copy()
    current.loc[current.index[:600], "churn"] = "Yes"
    report = drift.compare(clean(demo_raw, params), clean(current, params), params)
    assert report["target"]["drifted"] is True
    assert report["drift"] is True and report["drifted_columns"] == []


@pytest.mark.parametrize("fail", [False, True])
def test_cli_warns_or_fails_by_params(tmp_path, monkeypatch, capsys, demo_raw, fail):
    import yaml

    doc = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    doc["drift"]["fail_on_drift"] = fail
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(doc))
    demo_raw.to_csv(tmp_path / "reference.csv", index=False)
    shifted(demo_raw).to_csv(tmp_path / "current.csv", index=False)
    monkeypatch.chdir(tmp_path)
    code = main(["drift", "--reference", "reference.csv", "--current", "current.csv"])
    out, err = capsys.readouterr()
    assert code == (1 if fail else 0), err
    assert "tenure: PSI" in out and "contract:" in out
    if fail:
        assert err.startswith("mlops drift: error: drift detected in tenure, contract")
    else:
        assert "warning: drift detected" in out
    report = json.loads((tmp_path / "reports" / "drift.json").read_text())
    assert report["drifted_columns"] == ["tenure", "contract"]
    assert report["thresholds"]["fail_on_drift"] is fail


def test_cli_needs_a_reference(capsys):
    with pytest.raises(SystemExit):
        main(["drift"])
    assert "--reference" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("section", "key", "value", "words"),
    [
        ("drift", "psi_threshold", -0.1, "drift.psi_threshold: Input should be greater than 0"),
        ("drift", "ks_pvalue", 1.5, "drift.ks_pvalue: Input should be less than 1"),
        ("drift", "fail_on_drift", "sometimes", "drift.fail_on_drift"),
        ("drift", "bins", 1, "drift.bins"),
        ("drift", "psi", 0.2, "drift.psi: unknown key"),
        ("validation", "sample_values", 0, "validation.sample_values"),
        ("validation", "suites", "x.yaml", "validation.suites: unknown key"),
    ],
)
def test_new_params_are_validated(section, key, value, words):
    import yaml

    doc = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    doc[section][key] = value
    with pytest.raises(ConfigError, match=words):
        parse_params(doc)


def test_the_data_at_a_revision_is_read_from_a_clone_without_a_dvc_cache(tmp_path):
    """A fresh clone (a CI job: no DVC cache) reads data.path at a git revision from the
    embedded remote, whose relative URL DVC alone would resolve in a temporary directory."""
    from ..conftest import copy_repo, run

    source = copy_repo(tmp_path / "source")
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(source), str(clone)], tmp_path)
    assert not (clone / ".dvc" / "cache").exists()
    frame = drift.read_at_revision(Path("data/raw/churn.csv"), "HEAD", repo=str(clone))
    assert len(frame) == 7043 and "churn" in frame.columns
