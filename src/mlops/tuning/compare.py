"""Is the search's winner better than the current params? Their paired difference over the
same K folds, with an interval that accounts for the folds sharing their training rows.

The plain paired t-interval over K-fold differences is too narrow: every two folds' models are
fitted on mostly the same rows, so the differences are correlated. Nadeau and Bengio's
correction (2003; Bouckaert and Frank's "corrected resampled t-test", 2004) widens the
variance of the mean from ``s² / K`` to ``s² (1/K + n_held / n_fit)``, which for K folds is
``s² (1/K + 1/(K - 1))``, with ``K - 1`` degrees of freedom.

The winner was chosen for its mean over these very folds, so its gain here is optimistic (the
best of N trials); the PR's own report, on the test split the search never saw, is the
unbiased check, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Difference:
    """best minus current, signed so that a positive gain is better."""

    gain: float  # mean over the folds
    low: float
    high: float
    confidence: float
    folds: int

    @property
    def sure(self) -> bool:
        """The whole interval is above zero."""
        return self.low > 0.0


def paired(
    best: list[float], current: list[float], *, higher_is_better: bool, confidence: float
) -> Difference:
    from scipy import stats

    if len(best) != len(current) or len(best) < 2:
        raise ValueError("paired folds: two equally long lists of at least two scores")
    sign = 1.0 if higher_is_better else -1.0
    d = sign * (np.asarray(best, dtype=float) - np.asarray(current, dtype=float))
    k = len(d)
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    half = 0.0
    if sd > 0.0:
        se = sd * math.sqrt(1.0 / k + 1.0 / (k - 1))
        half = float(stats.t.ppf(0.5 + confidence / 2.0, df=k - 1)) * se
    return Difference(gain=mean, low=mean - half, high=mean + half, confidence=confidence, folds=k)


def better(difference: Difference, current_mean: float, min_gain: float) -> bool:
    """Surely better, and by at least ``min_gain`` of the current score (a share)."""
    return difference.sure and difference.gain >= min_gain * abs(current_mean)
