"""`mlops predict --engine spark`: the same scores as the pandas engine, the same refusals.

Marked ``spark`` (Java 17 and the spark extra; `.ci/run` installs Java): `make test-fast`
skips them.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from mlops.batch import output, predict
from mlops.core.errors import MlopsError

from .conftest import bad_inputs

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        shutil.which("java") is None, reason="Java 17 is not installed (.ci/run installs it)"
    ),
]
MASTER = "local[2]"


def on_pandas_summary_counts(path):
    return json.loads(output.summary_path(path).read_text())["label_counts"]


def test_spark_scores_equal_the_pandas_engines_and_the_models(
    tmp_path, params, demo_csv, batch_model, expected_proba
):
    on_pandas = tmp_path / "pandas.parquet"
    on_spark = tmp_path / "spark"
    predict.run(params, demo_csv, on_pandas, model_spec=str(batch_model))
    summary = predict.run(
        params, demo_csv, on_spark, model_spec=str(batch_model), engine="spark", master=MASTER
    )
    ids, proba = expected_proba
    a = pd.read_parquet(on_pandas)
    b = pd.read_parquet(on_spark).set_index("customer_id").loc[a["customer_id"]].reset_index()
    assert len(b) == len(a) == len(ids)
    np.testing.assert_allclose(b["probability"], proba, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a["probability"], b["probability"], rtol=0, atol=1e-9)
    assert (a["label"] == b["label"]).all()
    assert set(b["model_md5"]) == set(a["model_md5"])
    assert summary["rows"] == len(ids) and summary["engine"] == "spark"
    assert summary["positives"] == int((a["label"] == "Yes").sum())
    assert summary["label_counts"] == on_pandas_summary_counts(on_pandas)
    on_pandas_summary = json.loads(output.summary_path(on_pandas).read_text())
    assert summary["probability_quantiles"] == on_pandas_summary["probability_quantiles"]


def test_spark_refuses_bad_input_naming_the_column(tmp_path, params, demo_raw, batch_model):
    for name, (source, words) in bad_inputs(demo_raw, tmp_path).items():
        target = tmp_path / f"{name}-out"
        with pytest.raises(MlopsError) as failed:
            predict.run(
                params, source, target, model_spec=str(batch_model), engine="spark", master=MASTER
            )
        assert words in str(failed.value), (name, str(failed.value))
        assert failed.value.exit_code == 1
        assert not target.exists() and not output.partial_path(target).exists(), name
