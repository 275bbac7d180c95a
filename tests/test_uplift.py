"""core.measures.uplift: T-learner and Qini on Hillstrom (Mens E-Mail vs No E-Mail, outcome visit)."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeRegressor

from core.errors import DataError
from core.measures.liftcsv import hillstrom_path
from core.measures.uplift import TwoModelUplift, qini_coefficient, qini_curve

HILLSTROM = hillstrom_path()  # bundled with the package (core/measures/data)
FEATURES = ["recency", "history", "mens", "womens", "newbie", "channel", "zip_code"]


@pytest.fixture(scope="module")
def hillstrom_split():
    d = pd.read_csv(HILLSTROM)
    d = d[d["segment"].isin(["Mens E-Mail", "No E-Mail"])]
    X = pd.get_dummies(d[FEATURES], columns=["channel", "zip_code"], dtype=float)
    X["history"] = np.log1p(X["history"])  # spend history is heavy-tailed
    t = (d["segment"] == "Mens E-Mail").to_numpy(int)
    return train_test_split(X.to_numpy(), t, d["visit"].to_numpy(), test_size=0.5,
                            random_state=0, stratify=t)


def test_qini_on_held_out_hillstrom_is_positive_and_beats_random(hillstrom_split):
    X_tr, X_te, t_tr, t_te, y_tr, y_te = hillstrom_split
    model = TwoModelUplift(random_state=0).fit(X_tr, t_tr, y_tr)
    uplift = model.predict_uplift(X_te)
    assert uplift.shape == (len(y_te),)
    assert 0.03 < uplift.mean() < 0.12  # the average effect is ~7.7 pp
    q = qini_coefficient(uplift, t_te, y_te)
    rng = np.random.default_rng(0)
    random_q = np.array([qini_coefficient(rng.random(len(y_te)), t_te, y_te) for _ in range(200)])
    assert q > 0
    assert q > random_q.mean() + random_q.std()  # well above what random targeting gets
    assert np.mean(q > random_q) >= 0.85


def test_qini_curve_ends_at_the_overall_incremental_count():
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    curve = qini_curve(np.arange(8, 0, -1), t, y)
    assert list(curve.columns) == ["fraction_targeted", "incremental_gains"]
    assert curve.iloc[0].tolist() == [0.0, 0.0]
    assert curve["fraction_targeted"].iloc[-1] == 1.0
    assert curve["incremental_gains"].iloc[-1] == pytest.approx(2 - 1 * 4 / 4)
    # a perfect score (treated converters first, control converters last) beats its reverse
    perfect = np.array([8, 7, 2, 3, 1, 4, 5, 6])
    assert qini_coefficient(perfect, t, y) > 0 > qini_coefficient(-perfect, t, y)


def test_tied_scores_are_one_block_so_row_order_does_not_matter():
    t = np.array([1, 0, 1, 0])
    y = np.array([1, 0, 0, 1])
    curve = qini_curve(np.zeros(4), t, y)
    assert curve["fraction_targeted"].tolist() == [0.0, 1.0]
    assert qini_coefficient(np.zeros(4), t, y) == 0.0


def test_custom_regressor_on_continuous_outcome():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 2))
    t = rng.integers(0, 2, 2000)
    y = X[:, 0] + t * (X[:, 1] > 0) * 2.0 + rng.normal(0, 0.1, 2000)
    model = TwoModelUplift(DecisionTreeRegressor(max_depth=3), random_state=0).fit(X, t, y)
    u = model.predict_uplift(X)
    assert u[X[:, 1] > 0].mean() == pytest.approx(2.0, abs=0.2)
    assert abs(u[X[:, 1] <= 0].mean()) < 0.2
    assert model.model_treated_.random_state == 0


def test_bad_input():
    X = np.zeros((4, 1))
    with pytest.raises(DataError, match="one arm is empty"):
        TwoModelUplift().fit(X, [1, 1, 1, 1], [0, 1, 0, 1])
    with pytest.raises(DataError, match="0/1"):
        TwoModelUplift().fit(X, [1, 2, 0, 0], [0, 1, 0, 1])
    with pytest.raises(DataError, match="same outcome"):
        TwoModelUplift().fit(X, [1, 1, 0, 0], [1, 1, 0, 1])
    with pytest.raises(DataError, match="not fitted"):
        TwoModelUplift().predict_uplift(X)
    with pytest.raises(DataError, match="finite"):
        qini_curve([np.nan, 1.0], [1, 0], [0, 1])
