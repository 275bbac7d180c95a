"""The 'both rules' need is read off the two rules' kept intervals instead of evaluating the combined
rule again: it must be the very frame the engine returns for the combined rule, on every play."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.advice.scenario import Scenario, build_engine
from core.engine.intervalset import intersect_intervals
from core.engine.playrun import _intersection, need_intervals
from core.engine.plays import need_rule, plays_for, with_rules

PRESETS = ("b2c-retail", "b2b-saas", "plg-saas", "omnichannel")


@pytest.fixture(scope="module", params=PRESETS)
def engine(request):
    return build_engine(Scenario.make(request.param, seed=3, people=2000))


def test_both_rules_need_is_the_combined_rules_intervals(engine):
    for play in plays_for(engine.world.config.preset):
        sql = engine.intervals(need_rule(play, "both-rules"), "truth").reset_index(drop=True)
        pd.testing.assert_frame_equal(need_intervals(engine, play, "both-rules"), sql)
        latent = engine.intervals(need_rule(play, "latent"), "truth")
        for other in ("crm-rule", "cdp-rule"):
            both = engine.intervals(_intersection(play, other), "truth").reset_index(drop=True)
            pd.testing.assert_frame_equal(intersect_intervals(latent, engine.intervals(need_rule(play, other), "truth")), both)


def test_a_static_list_is_evaluated_as_written(engine):
    """A CRM list frozen mid-period is not its condition (the combined need nests the condition):
    intersecting the frozen list's intervals would be wrong, so the combined rule runs in SQL."""
    play = plays_for(engine.world.config.preset)[0]
    frozen = (engine.world.start + pd.Timedelta(days=30)).isoformat()
    static = with_rules(play, crm={**dict(play.crm), "list": "static", "frozen_at": frozen})
    sql = engine.intervals(need_rule(static, "both-rules"), "truth").reset_index(drop=True)
    pd.testing.assert_frame_equal(need_intervals(engine, static, "both-rules"), sql)
    shortcut = intersect_intervals(engine.intervals(need_rule(static, "crm-rule"), "truth"),
                                   engine.intervals(need_rule(static, "cdp-rule"), "truth"))
    assert not shortcut.equals(sql)


_T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _frame(rows: list[tuple[int, int, int | None]]) -> pd.DataFrame:
    """Intervals from (subject, enter hour, exit hour or None = open), made disjoint per subject."""
    out = []
    for subject in sorted({r[0] for r in rows}):
        t = 0
        for _, gap, length in [r for r in rows if r[0] == subject]:
            enter = t + gap + 1
            exit_ = None if length is None else enter + length + 1
            out.append((subject, subject + 100, _T0 + pd.Timedelta(hours=enter),
                        pd.NaT if exit_ is None else _T0 + pd.Timedelta(hours=exit_)))
            if exit_ is None:
                break
            t = exit_
    return pd.DataFrame({"subject_id": np.array([r[0] for r in out], dtype=np.int64),
                         "person_id": np.array([r[1] for r in out], dtype=np.int64),
                         "enter": pd.to_datetime([r[2] for r in out], utc=True).as_unit("ns"),
                         "exit": pd.to_datetime([r[3] for r in out], utc=True).as_unit("ns")})


def _hours(iv: pd.DataFrame, subject: int, grid: np.ndarray) -> np.ndarray:
    held = np.zeros(len(grid), dtype=bool)
    for _, r in iv[iv["subject_id"] == subject].iterrows():
        enter = (r["enter"] - _T0) / pd.Timedelta(hours=1)
        exit_ = np.inf if pd.isna(r["exit"]) else (r["exit"] - _T0) / pd.Timedelta(hours=1)
        held |= (grid >= enter) & (grid < exit_)
    return held


rows = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.one_of(st.none(), st.integers(0, 5))), max_size=12)


@given(rows, rows)
def test_intersection_holds_exactly_when_both_hold(a_rows, b_rows):
    a, b = _frame(a_rows), _frame(b_rows)
    both = intersect_intervals(a, b)
    grid = np.arange(0, 100, 0.5)
    for subject in range(4):
        assert (_hours(both, subject, grid) == (_hours(a, subject, grid) & _hours(b, subject, grid))).all()
    assert (both["exit"].isna() | (both["exit"] > both["enter"])).all()
    assert both.equals(both.sort_values(["subject_id", "enter"]).reset_index(drop=True))
    assert set(both["person_id"] - both["subject_id"]) <= {100}
