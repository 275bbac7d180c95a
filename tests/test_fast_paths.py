"""The measures' fast paths give the figures of the plain forms they replace (issue 22: all measures
for one play at 20k people within 0.5 s, figures unchanged).

Each test computes the same thing both ways on a small world and asks for identical results, so a
fast path that drifts from its reference (a missed tie, a NaN, another row order) fails here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.advice.scenario import Scenario, default_play
from core.engine.playrun import run_play
from core.engine.setcompile import compile_pairs
from core.engine.sqlcompile import compile_change_points
from core.engine.views import Engine, intervals_sql, shift_in_microseconds
from core.measures import campaign, response
from core.measures.overlap import sorted_unique


@pytest.fixture(scope="module", params=["b2c-retail", "b2b-saas"])
def setup(request, make_world):
    world = make_world(request.param)
    scenario = Scenario.make(request.param, people=len(world.people), days=60)
    engine = Engine(world, scenario.engine_config())
    play = default_play(request.param)
    return engine, play, run_play(engine, play, scenario.activation()), scenario.campaign()


def _plain_intervals(engine: Engine, rule, view: str) -> pd.DataFrame:
    """The play's intervals with the compilers' own INTERVAL arithmetic (no rewrite)."""
    con, schema = engine._connection(view), engine.schema(view)
    points = compile_change_points(rule, schema, engine.world.start, engine.world.end)
    member = compile_pairs(rule, schema, "v_at")
    con.execute(f"CREATE OR REPLACE TEMP TABLE v_at AS {points.sql}", list(points.params))
    out = con.execute(intervals_sql(member.sql), list(member.params)).df()
    for col in ("enter", "exit"):
        out[col] = pd.to_datetime(out[col], utc=True).dt.as_unit("ns")
    return out


def test_time_shifts_on_microseconds_give_the_same_intervals(setup):
    engine, play, _, _ = setup
    for view in ("truth", "crm", "cdp"):
        rule = play.rule(view)
        schema = engine.schema(view)
        sql = compile_change_points(rule, schema, engine.world.start, engine.world.end).sql + \
            compile_pairs(rule, schema, "v_at").sql
        assert "INTERVAL" in sql and "INTERVAL" not in shift_in_microseconds(sql)  # the rewrite is exercised
        fast = engine.intervals(rule, view)
        assert len(fast) > 0
        pd.testing.assert_frame_equal(fast, _plain_intervals(engine, rule, view), check_exact=True)


def test_shift_rewrite_leaves_what_it_would_regroup():
    assert shift_in_microseconds("e.ts > tt.t - INTERVAL '60 seconds'") == \
        "e.ts > make_timestamptz(epoch_us(tt.t) - 60000000)"
    assert shift_in_microseconds("x <= CAST(? AS TIMESTAMPTZ) + INTERVAL '2 seconds'") == \
        "x <= make_timestamptz(epoch_us(CAST(? AS TIMESTAMPTZ)) + 2000000)"
    for untouched in ("a - e1.ts + INTERVAL '3 seconds'", "a-e1.ts + INTERVAL '3 seconds'",
                      "max(e.ts) - INTERVAL '3 seconds'", "tt.t - INTERVAL '1 day'",
                      "tt.t - INTERVAL '3 seconds' * 2"):
        assert shift_in_microseconds(untouched) == untouched


def test_latent_states_on_a_grid_equal_the_as_of_join(setup):
    engine, *_ = setup
    world = engine.world
    people = world.people["person_id"].to_numpy(np.int64)
    timeline = response._timeline(world)["t"].to_numpy("datetime64[ns]")
    grids = [pd.date_range(world.start, world.end, periods=40).tz_convert(None).to_numpy("datetime64[ns]"),
             np.unique(timeline)[::25]]  # grid times exactly on state changes: the join's ties
    for grid in grids:
        for who in (people, people[::-3], np.r_[people[:20], 10**9]):  # any order, unknown people
            expected = response.intent_at(world, np.repeat(who, len(grid)), np.tile(grid, len(who)))
            got = response.states_on_grid(world, who, grid)
            assert np.array_equal(expected[0], got[0]) and np.array_equal(expected[1], got[1])


def test_units_roll_up_the_same_in_any_row_order(setup):
    _, _, run, cfg = setup
    for model in ("crm", "blast"):
        targets = campaign.simulate(run, model, cfg).targets
        assert len(targets) > 0
        reference = campaign._by_unit_grouped(targets)
        for frame in (targets, targets.sample(frac=1.0, random_state=3)):
            pd.testing.assert_frame_equal(campaign.by_unit(frame), reference, check_exact=True)


def _key_max_reference(key, e, treated):
    out = np.zeros(len(key))
    if not treated.any():
        return out
    uniq, inv = np.unique(key[treated], return_inverse=True)
    best = np.full(len(uniq), -np.inf)
    np.maximum.at(best, inv, e[treated])
    pos = np.searchsorted(uniq, key)
    ok = (pos < len(uniq)) & (uniq[np.minimum(pos, len(uniq) - 1)] == key)
    out[ok] = best[pos[ok]]
    return out


def test_largest_effect_per_need_matches_the_grouped_maximum():
    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 5000):
        key = rng.integers(-30, 200, n) * 1_000_003 + rng.integers(-2, 3, n)
        e = rng.uniform(-1, 1, n)
        for share in (0.0, 0.1, 0.9, 1.0):
            treated = rng.random(n) < share
            assert np.array_equal(campaign._key_max(key, e, treated), _key_max_reference(key, e, treated))
        for ids in (rng.integers(0, 3 * n + 5, n), rng.integers(-10**12, 10**12, n), key):
            assert np.array_equal(campaign._distinct(ids), np.unique(ids))
            assert np.array_equal(sorted_unique(ids), np.unique(ids))


def test_latent_timeline_is_the_two_latent_fields_merged(setup):
    """The numeric timeline the campaign reads is the truth view's two latent fields (text) merged
    as pandas would: every change of either, each row carrying both current values, in time order."""
    from core.engine.views import latent_fields, latent_timeline

    engine, *_ = setup
    tl = response._timeline(engine.world)
    assert len(tl) > 0 and tl["code"].nunique() > 2
    f = latent_fields(engine.world.intent)
    codes = {s: float(i) for i, s in enumerate(response.STATES)}
    parts = [pd.DataFrame({"person_id": g["subject_id"].to_numpy(np.int64),
                           "t": g["valid_from"].dt.tz_convert(None).astype("datetime64[ns]").to_numpy(),
                           col: g["value"].map(codes) if col == "code" else g["value"].astype(float)})
             for col, g in (("code", f[f["field"] == "intent"]), ("strength", f[f["field"] == "intent_strength"]))]
    expected = pd.concat(parts, ignore_index=True).sort_values(["person_id", "t"], kind="mergesort")
    expected[["code", "strength"]] = expected.groupby("person_id")[["code", "strength"]].ffill()
    expected = expected.drop_duplicates(["person_id", "t"], keep="last").sort_values(
        ["t", "person_id"], kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(tl.astype({"code": float}), expected, check_exact=True)
    assert tl.equals(latent_timeline(engine.world.intent))

def test_a_world_without_latent_state_has_an_empty_timeline():
    """An imported world has no intent rows: its timeline is empty, with the columns and types the
    campaign's as-of join reads, and nobody is in market."""
    from core.engine.views import latent_timeline

    empty = pd.DataFrame({"person_id": pd.Series(dtype="int64"), "start": pd.Series(dtype="datetime64[ns, UTC]"),
                          "end": pd.Series(dtype="datetime64[ns, UTC]"), "strength": pd.Series(dtype=float),
                          "state": pd.Series(dtype=object)})
    tl = latent_timeline(empty)
    assert len(tl) == 0 and list(tl.columns) == ["person_id", "t", "code", "strength"]
    assert tl["t"].dtype == np.dtype("datetime64[ns]")
