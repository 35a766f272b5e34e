"""The prepare stage: types, column checks, and a deterministic stratified split."""

from __future__ import annotations

import pandas as pd
import pytest

from mlops.core.errors import ArtifactError, DataError
from mlops.stages.prepare import TARGET, clean, read_raw, split


def test_demo_data_shape(demo_raw):
    assert demo_raw.shape == (7043, 21)


def test_clean_types_and_target(demo_raw, params):
    frame = clean(demo_raw, params)
    assert frame[TARGET].isin([0, 1]).all()
    assert frame[TARGET].mean() == pytest.approx(0.2654, abs=1e-3)
    for column in params.features.numeric:
        assert frame[column].dtype == "float64", column
    for column in params.features.categorical:
        assert pd.api.types.is_string_dtype(frame[column]), column
    # The 11 blank total charges are missing values, not errors.
    assert int(frame["total_charges"].isna().sum()) == 11
    assert params.data.target not in frame.columns


def test_split_is_stratified_and_sized(demo_split, params):
    train, test = demo_split.train, demo_split.test
    assert len(train) + len(test) == 7043
    assert len(test) == pytest.approx(7043 * params.data.test_size, abs=1)
    assert abs(train[TARGET].mean() - test[TARGET].mean()) < 0.002
    ids = params.data.id_column
    assert set(train[ids]).isdisjoint(test[ids])


def test_split_is_deterministic(demo_raw, params):
    first = split(clean(demo_raw, params), params)
    second = split(clean(demo_raw, params), params)
    pd.testing.assert_frame_equal(first.train, second.train)
    pd.testing.assert_frame_equal(first.test, second.test)


def test_split_changes_with_seed(demo_raw, params):
    other = params.model_copy(
        update={"data": params.data.model_copy(update={"seed": params.data.seed + 1})}
    )
    a = split(clean(demo_raw, params), params).test[params.data.id_column]
    b = split(clean(demo_raw, other), other).test[params.data.id_column]
    assert set(a) != set(b)


def test_missing_column_is_named(demo_raw, params):
    with pytest.raises(DataError, match=r"'tenure'.*missing"):
        clean(demo_raw.drop(columns=["tenure"]), params)


def test_unlisted_column_is_named(demo_raw, params):
    with pytest.raises(DataError, match=r"'surprise' .* not listed"):
        clean(demo_raw.assign(surprise="x"), params)


def test_dropped_column_is_ignored(demo_raw, params):
    features = params.features.model_copy(update={"dropped": ["surprise"]})
    frame = clean(demo_raw.assign(surprise="x"), params.model_copy(update={"features": features}))
    assert "surprise" not in frame.columns


def test_text_in_numeric_column_is_named(demo_raw, params):
    bad = demo_raw.copy()
    bad.loc[3, "monthly_charges"] = "lots"
    with pytest.raises(DataError, match=r"'monthly_charges'.*'lots'"):
        clean(bad, params)


def test_missing_target_is_rejected(demo_raw, params):
    bad = demo_raw.copy()
    bad.loc[0, "churn"] = None
    with pytest.raises(DataError, match=r"'churn'.*missing"):
        clean(bad, params)


def test_positive_label_must_occur(demo_raw, params):
    data = params.data.model_copy(update={"positive_label": "yes"})
    with pytest.raises(DataError, match=r"positive_label.*'yes'.*found 2 label\(s\): 'No', 'Yes'"):
        clean(demo_raw, params.model_copy(update={"data": data}))


def test_duplicate_ids_rejected(demo_raw, params):
    bad = demo_raw.copy()
    bad.loc[1, "customer_id"] = bad.loc[0, "customer_id"]
    with pytest.raises(DataError, match=r"duplicate id 'C00001'"):
        clean(bad, params)


def test_missing_raw_file_says_how_to_get_it(tmp_path):
    with pytest.raises(ArtifactError, match=r"dvc pull"):
        read_raw(tmp_path / "absent.csv")


def test_prepare_writes_nothing_on_bad_data(tmp_path, demo_raw, params, monkeypatch):
    from mlops.stages import prepare as data

    csv = tmp_path / "raw.csv"
    demo_raw.drop(columns=["contract"]).to_csv(csv, index=False)
    bad = params.model_copy(update={"data": params.data.model_copy(update={"path": csv})})
    with pytest.raises(DataError, match=r"'contract'"):
        data.run(bad, out_dir=tmp_path / "prepared")
    assert not (tmp_path / "prepared").exists()
