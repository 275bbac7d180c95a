"""Uplift modelling: who should a campaign target, beyond a rule?

A rule picks people who *will* convert; uplift picks people whose conversion the message *changes*.
The two-model ("T-learner") estimator fits one model on treated people and one on the holdout and
scores each person by the difference of predictions. The Qini curve judges a scoring on a
randomised test: target the top fraction by score and count the incremental conversions, with the
holdout's rate scaled to the treated count (Radcliffe 2007).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.errors import DataError

__all__ = ["TwoModelUplift", "qini_curve", "qini_coefficient"]


def _treatment_mask(treatment: Any, n: int) -> np.ndarray:
    """Treatment flags as bool; both arms must be present because uplift is a difference."""
    t = np.asarray(treatment)
    if t.shape != (n,):
        raise DataError(f"treatment must have one flag per row ({n}); got shape {t.shape}")
    if not np.isin(t, [0, 1, True, False]).all():
        raise DataError("treatment must be 0/1 (1 = received the campaign)")
    t = t.astype(bool)
    if t.all() or not t.any():
        raise DataError("uplift needs both treated and holdout rows; one arm is empty")
    return t


def _outcomes(y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y, dtype=float)
    if arr.shape != (n,):
        raise DataError(f"outcome must have one value per row ({n}); got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError("outcome has missing or infinite values")
    return arr


class TwoModelUplift(BaseEstimator):
    """T-learner: uplift(x) = E[y | x, treated] - E[y | x, holdout], one model per arm.

    ``base_estimator=None`` picks a standardised, strongly regularised logistic regression for 0/1
    outcomes (ridge regression otherwise). The T-learner's score is a *difference* of two fits, so
    their noise adds up while the signal (a few points of uplift) does not; heavy shrinkage trades a
    little bias for much less variance. On Hillstrom (Mens vs No E-Mail, visit, 50/50 split) C=1
    gave a negative held-out Qini on some splits, C=0.001 a positive one on all 8 splits tried.
    Linear models also fit in well under a second on 40k rows. Any estimator can be passed instead.
    """

    def __init__(self, base_estimator: BaseEstimator | None = None, random_state: int | None = 0):
        self.base_estimator = base_estimator
        self.random_state = random_state

    def _template(self, binary: bool) -> BaseEstimator:
        if self.base_estimator is not None:
            est = clone(self.base_estimator)
        elif binary:
            est = make_pipeline(StandardScaler(), LogisticRegression(C=1e-3, max_iter=2000))
        else:
            est = make_pipeline(StandardScaler(), Ridge(alpha=1e3))
        seeds = {k: self.random_state for k in est.get_params() if k.split("__")[-1] == "random_state"}
        return est.set_params(**seeds) if seeds else est

    def fit(self, X: Any, treatment: Any, y: Any) -> "TwoModelUplift":
        """Fit the treated-arm and holdout-arm models (``treatment`` 1 = treated)."""
        X = np.asarray(X, dtype=float)
        t = _treatment_mask(treatment, X.shape[0])
        y = _outcomes(y, X.shape[0])
        binary = bool(np.isin(y, [0.0, 1.0]).all())
        for arm, mask in (("treated", t), ("holdout", ~t)):
            if binary and np.unique(y[mask]).size < 2:
                raise DataError(f"{arm} rows all have the same outcome; nothing to learn from")
        self.binary_ = binary
        self.model_treated_ = self._template(binary).fit(X[t], y[t])
        self.model_control_ = self._template(binary).fit(X[~t], y[~t])
        self.n_features_in_ = X.shape[1]
        return self

    @staticmethod
    def _expected(model: BaseEstimator, X: np.ndarray) -> np.ndarray:
        """Probability of a 1 for classifiers, the prediction for regressors."""
        if is_classifier(model):
            return model.predict_proba(X)[:, list(model.classes_).index(1.0)]
        return model.predict(X)

    def predict_uplift(self, X: Any) -> np.ndarray:
        """Estimated incremental outcome of treating each row."""
        if not hasattr(self, "model_treated_"):
            raise DataError("TwoModelUplift is not fitted yet; call fit(X, treatment, y) first")
        X = np.asarray(X, dtype=float)
        return self._expected(self.model_treated_, X) - self._expected(self.model_control_, X)


def qini_curve(uplift_scores: Any, treatment: Any, y: Any) -> pd.DataFrame:
    """Incremental gains when targeting the top fraction of people by score.

    gains(k) = Y_t(k) - Y_c(k) * N_t(k) / N_c(k) over the top k: the treated outcomes minus what
    the holdout says those treated would have done anyway. Tied scores are taken as one block
    (evaluated only at the block's end) so the curve does not depend on row order.
    """
    s = np.asarray(uplift_scores, dtype=float)
    if s.ndim != 1 or not np.isfinite(s).all():
        raise DataError("uplift scores must be a 1-D array of finite numbers")
    t = _treatment_mask(treatment, s.size)
    yy = _outcomes(y, s.size)
    order = np.argsort(-s, kind="stable")
    s, t, yy = s[order], t[order], yy[order]
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    y_t, y_c = np.cumsum(yy * t), np.cumsum(yy * ~t)
    ends = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # last row of each tie block
    with np.errstate(divide="ignore", invalid="ignore"):
        gains = np.where(n_c[ends] > 0, y_t[ends] - y_c[ends] * n_t[ends] / n_c[ends], 0.0)
    return pd.DataFrame(
        {
            "fraction_targeted": np.r_[0.0, (ends + 1) / s.size],
            "incremental_gains": np.r_[0.0, gains],
        }
    )


def qini_coefficient(uplift_scores: Any, treatment: Any, y: Any, *, normalize: bool = True) -> float:
    """Area between the Qini curve and the random-targeting diagonal (> 0 beats random).

    ``normalize=True`` divides by the number of people, so the value is incremental outcome per
    person and comparable across test sets of different size.
    """
    curve = qini_curve(uplift_scores, treatment, y)
    x = curve["fraction_targeted"].to_numpy()
    g = curve["incremental_gains"].to_numpy()
    excess = g - x * g[-1]  # above the straight line that random targeting draws
    area = float(np.sum((excess[1:] + excess[:-1]) / 2 * np.diff(x)))  # trapezoid rule
    return area / np.asarray(uplift_scores).size if normalize else area
