"""tune: in params.yaml: each search dimension checked against its family's hyper-parameter
(bounds, kind, task), the metric against the task; the values a trial draws."""

from __future__ import annotations

import optuna
import pytest

from mlops.core.config import ConfigError, parse_params
from mlops.models import MODEL_FAMILIES
from mlops.models.space import Dimension, is_integer, suggest
from mlops.tuning.search import space_of

from ..tables import params_document, task_params


def _params(tune: dict, **sections):
    return parse_params(params_document(tune=tune, **sections))


@pytest.mark.parametrize(
    ("tune", "message"),
    [
        ({"space": {"forest": {}}}, r"tune\.space\.forest: not a model family"),
        ({"space": {"rf": {"depth": {"low": 1, "high": 3}}}},
         r"tune\.space\.rf\.depth: not a hyper-parameter of rf; allowed: n_estimators"),
        ({"space": {"rf": {"max_depth": {"low": 0.5, "high": 3}}}},
         r"tune\.space\.rf\.max_depth: 0\.5 is not a valid max_depth"),
        ({"space": {"logreg": {"C": {"low": 0.0, "high": 3, "log": True}}}},
         r"tune\.space\.logreg\.C.*log needs a positive low"),
        ({"space": {"logreg": {"C": {"low": 3, "high": 1}}}}, r"low \(3\) must be below high"),
        ({"space": {"logreg": {"class_weight": {"choices": ["balanced", "heavy"]}}}},
         r"tune\.space\.logreg\.class_weight: 'heavy' is not a valid class_weight"),
        ({"space": {"logreg": {"C": {"low": 1, "high": 3, "choices": [1]}}}},
         r"either choices or low/high"),
        ({"metric": "rmse"}, r"tune\.metric: rmse is not a metric of data\.task binary"),
        ({"cv_folds": 1}, r"tune\.cv_folds: Input should be greater than or equal to 2"),
        ({"trails": 3}, r"tune\.trails: unknown key .* allowed keys: trials, timeout_minutes"),
        ({"space": {"rf": {"max_depth": {"lo": 1, "high": 3}}}},
         r"tune\.space\.rf\.max_depth\.lo: unknown key .* allowed keys: low, high, log, step"),
    ],
)  # fmt: skip
def test_a_bad_tune_setting_is_refused_by_its_key(tune, message):
    with pytest.raises(ConfigError, match=message):
        _params(tune)


def test_a_hyper_parameter_of_another_task_is_refused_and_left_out_of_defaults(tmp_path):
    doc = task_params("regression", tmp_path / "data.csv", tmp_path)
    assert "class_weight" not in space_of(parse_params(doc), "rf")
    assert "class_weight" in space_of(_params({}), "rf")
    doc["tune"] = {"space": {"xgboost": {"scale_pos_weight": {"low": 1, "high": 3}}}}
    with pytest.raises(ConfigError, match=r"scale_pos_weight: applies to data\.task binary"):
        parse_params(doc)


def test_every_default_space_is_valid_for_its_family():
    for name, family in MODEL_FAMILIES.items():
        assert family.space, name
        params = _params({"space": {name: {k: d.model_dump(exclude_defaults=True)
                                           for k, d in family.space.items()}}})  # fmt: skip
        assert params.tune.space[name] == family.space


def test_integers_reals_and_choices_of_any_kind_are_drawn_in_range():
    fields = MODEL_FAMILIES["rf"].Params.model_fields
    assert is_integer(fields["max_depth"]) and is_integer(fields["n_estimators"])
    assert not is_integer(MODEL_FAMILIES["logreg"].Params.model_fields["C"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    layers = Dimension(choices=[[32], [64, 32], None])
    for _ in range(20):
        trial = study.ask()
        depth = suggest(trial, "max_depth", Dimension(low=2, high=9), True)
        c = suggest(trial, "C", Dimension(low=1e-3, high=10.0, log=True), False)
        units = suggest(trial, "hidden_units", layers, False)
        study.tell(trial, 0.0)
        assert isinstance(depth, int) and 2 <= depth <= 9
        assert 1e-3 <= c <= 10.0 and c == float(f"{c:.4g}")  # what params.yaml gets
        assert units in ([32], [64, 32], None)
