"""Feature preprocessing: edit this for your own data.

The preprocessing is a scikit-learn ``ColumnTransformer`` that becomes the first step of the
saved pipeline, so serving applies exactly what training applied.

Missing values of every kind (NaN, None, ``pd.NA``) are imputed: numeric columns with the
median, categorical ones with the most frequent category. Categorical columns are turned into
plain object arrays with NaN for a missing value first (:func:`categories_as_objects`): pandas'
string columns carry ``pd.NA``, which scikit-learn's imputer cannot compare. (Blank text is a
missing value before it gets here: ``prepare.typed_features`` makes it one for training and
batch scoring, and the service's schema refuses a blank category.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mlops.core.config import FeaturesConfig


def categories_as_objects(x: Any) -> np.ndarray:
    """Categorical columns as an object array, every missing value (None, pd.NA) NaN. A
    vectorized pass (a fraction of a millisecond per 1,000 rows): it runs on every request."""
    import pandas as pd

    array = np.array(x, dtype=object)
    array[pd.isna(array)] = np.nan
    return array


def build_preprocessor(features: FeaturesConfig, *, scale_numeric: bool) -> Any:
    """Impute and (optionally) scale numeric columns; impute and one-hot categorical ones."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps: list[tuple[str, Any]] = [
        ("missing", FunctionTransformer(categories_as_objects, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    transformers: list[tuple[str, Any, list[str]]] = []
    if features.numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), list(features.numeric)))
    if features.categorical:
        transformers.append(
            ("categorical", Pipeline(categorical_steps), list(features.categorical))
        )
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=True)
