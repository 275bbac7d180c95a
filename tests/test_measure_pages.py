"""What the Freshness, Overlap and Segments pages say: counts beside shares, reachable first,
members as the system knows them, and a clear sentence when nobody qualifies."""
from __future__ import annotations

import pandas as pd
import pytest

from core.advice.scenario import Scenario, build_engine, play_results
from core.engine.plays import get_play
from core.present.measureview import (NEED_LABELS, freshness_cards, need_table, nobody_qualifies, overlap_cards, pct,
                                      yardstick_table)
from core.present.memberview import members_table, summary


@pytest.fixture(scope="module")
def results():
    s = Scenario.make("b2c-retail", seed=7, people=4000, days=60)
    return s, play_results(build_engine(s), get_play("cart-abandonment"), s)


def test_shares_travel_with_their_counts(results):
    _, r = results
    for card, row in zip(freshness_cards(r.freshness), r.freshness.itertuples()):
        assert f"{row.n_qualified:,} qualifying episodes" in card.timely_of
        assert (f"over {row.n_activated:,} activated" in card.median_of) or row.n_activated == 0
        assert "person-days" in card.stale_days


def test_tiny_shares_read_as_less_than_one_percent():
    assert pct(0.004) == "<1%" and pct(0.0) == "0%" and pct(None) == "–" and pct(0.995) == ">99%"


def test_overlap_leads_with_reachable_people(results):
    _, r = results
    cards = overlap_cards(r.overlap_mid)
    assert {c.model for c in cards} == set(r.run.models)
    assert all("anonymous profiles included" in c.members_line for c in cards)


def test_yardstick_table_shows_reach_and_the_need_table_the_money(results):
    """The yardstick table carries no money (it could not move); the need table does, and it moves."""
    s, r = results
    table = yardstick_table(r.run)
    assert len(table) == 3 and not any("net value" in c or "winner" in c for c in table.columns)
    needs = need_table(r.run, s.campaign())
    assert list(needs["need"]) == list(NEED_LABELS.values())
    assert needs["CDP true net value"].nunique() > 1  # the definition of need moves the money


def test_members_table_never_gives_anonymous_profiles_a_name(results):
    s, r = results
    engine = r.run.engine
    when = r.run.start + pd.Timedelta(days=30)
    members = engine.members(r.run.play.rule("cdp"), "cdp", when)
    table = members_table(engine, members, "cdp", when)
    anon = table[table["kind"] == "anonymous profile"]
    assert anon["address"].isna().all() and not anon["addressable"].any()
    assert table.loc[table["addressable"], "address"].notna().all()
    counts = summary(table)
    assert counts["members"] == len(members) and counts["reachable"] + counts["anonymous"] == counts["members"]
    assert "email" not in table.columns and "first_name" not in table.columns


def test_nobody_qualifies_is_said_in_words(results):
    from dataclasses import replace

    _, r = results
    empty = replace(r.run, truth=r.run.truth.iloc[0:0])
    assert "Nobody truly qualifies" in nobody_qualifies(empty)
    assert nobody_qualifies(r.run) is None
