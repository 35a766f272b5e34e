"""Feature preprocessing: edit this for your own data.

The preprocessing is a scikit-learn ``ColumnTransformer`` that becomes the first step of the
saved pipeline, so serving applies exactly what training applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops.core.config import FeaturesConfig


def build_preprocessor(features: FeaturesConfig, *, scale_numeric: bool) -> Any:
    """Impute and (optionally) scale numeric columns; impute and one-hot categorical ones."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps: list[tuple[str, Any]] = [
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
