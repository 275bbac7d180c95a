"""Neutral by construction: the operational knobs — and only they — decide who wins.

For the library plays of a B2C and a B2B preset, a well-run CRM beats a poorly run CDP on true
net value, and on every behavioural play a well-run CDP beats a poorly run CRM; swapping the
yardstick (the CRM's or the CDP's own rule on ground truth instead of the latent need) changes
the numbers but not these verdicts. The ops levels touch only their own side's knobs.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from core.advice.ops import OPS, ops_settings, side_of
from core.advice.scenario import Scenario, build_engine
from core.engine.activation import ActivationConfig
from core.engine.playrun import rejudge, run_play
from core.engine.plays import NEEDS, PLAYS, YARDSTICKS, plays_for
from core.measures.campaign import CampaignConfig, simulate
from core.measures.freshness import freshness_table
from synthetic.config import Behaviour
from synthetic.presets import PRESETS

PEOPLE = 5000
#: Plays where a well-run CDP must beat a poorly run CRM. Win-back left the list with issue 19: its
#: need now comes from latent state (a lapsed buyer in market again), which mostly opens weeks after
#: the lapse put the person on both lists, so a weekly batch re-send catches it and a journey
#: triggered once on entry does not (5,000 people, seed 7: CRM 706 from 7,131 sends, CDP 412 from
#: 1,112) — a matter of cadence against need timing, not of how well the CDP is run.
BEHAVIOURAL = ("cart-abandonment", "product-intent", "pricing-intent")
SETUPS = {"crm-wins": {"crm": "well-run", "cdp": "poorly-run"}, "cdp-wins": {"crm": "poorly-run", "cdp": "well-run"}}


def _net(run, cfg) -> dict[str, float]:
    return {m: simulate(run, m, cfg).true_net_value for m in ("crm", "cdp")}


def _timely(run) -> dict[str, float]:
    f = freshness_table(run).set_index("model")["share_within_window"]
    return {m: float(f[m]) for m in ("crm", "cdp")}


@pytest.fixture(scope="module", params=["b2c-retail", "b2b-saas"])
def verdicts(request):
    """{(setup, play, yardstick): {"crm": net, "cdp": net}} on one preset."""
    preset = request.param
    out = {}
    for setup, ops in SETUPS.items():
        s = Scenario.make(preset, seed=7, people=PEOPLE, days=90, settings=ops_settings(ops))
        engine = build_engine(s)
        cfg = s.campaign()
        for play in plays_for(preset):
            run = run_play(engine, play, s.activation(), models=("crm", "cdp"))
            net = _net(run, cfg)
            targeting = _net(run, replace(cfg, off_target_scale=0.0))  # what targeting alone earns
            for y in YARDSTICKS:
                judged = run if y == "latent" else rejudge(run, y)
                out[(setup, play.name, y)] = {"net": net, "targeting": targeting, "timely": _timely(judged)}
    return preset, out


def test_a_well_run_crm_beats_a_poorly_run_cdp_on_every_play(verdicts):
    """On what targeting earns (a message moves only people with an open need) on every play, and
    at Hillstrom's off-target size on the behavioural plays. Issue 18: with Hillstrom's off-target
    effect a poorly run CDP's wide audience of in-market people outside the play's need also earns
    (b2b-saas MQL nurture at 5,000 people: 647 vs the CRM's 623, against 80 vs 506 without it).

    Win-back is left out, here and in the reverse corner: its latent need (lapsed *and* back in
    market, issue 19) opens weeks after a person enters either system's lapsed list, so the side that
    sends weekly batches — the poorly run one — reaches the need and the side that triggers one send
    on entry mostly does not (b2c-retail, 1,000 people: poorly run CDP 395 vs well-run CRM 192 on
    targeting alone; the reverse corner goes to the poorly run CRM). Which execution a win-back
    needs (a series, not one triggered send) is its own issue, not an ops level's verdict."""
    preset, out = verdicts
    for play in plays_for(preset):
        if play.name == "win-back":
            continue
        net = out[("crm-wins", play.name, "latent")]["targeting"]
        assert net["crm"] > net["cdp"], (play.name, net)
        if play.name in BEHAVIOURAL:
            net = out[("crm-wins", play.name, "latent")]["net"]
            assert net["crm"] > net["cdp"], (play.name, net)


def test_a_well_run_cdp_beats_a_poorly_run_crm_on_behavioural_plays(verdicts):
    preset, out = verdicts
    for play in plays_for(preset):
        if play.name in BEHAVIOURAL:
            net = out[("cdp-wins", play.name, "latent")]["net"]
            assert net["cdp"] > net["crm"], (play.name, net)


def test_swapping_the_yardstick_moves_the_freshness_figures(verdicts):
    """Judged on the CRM's or the CDP's own rule instead of the latent need, the models look more
    or less timely. (Money follows the need, not the yardstick — by construction, so it is not
    asserted here; tests/test_need_tornado_horizon.py puts the need itself on trial.)"""
    preset, out = verdicts
    moved = 0
    for (setup, play, y), res in out.items():
        if y == "latent":
            continue
        base = out[(setup, play, "latent")]
        moved += res["timely"] != base["timely"]
    assert moved > 0  # the yardstick does change the freshness figures


def test_ops_levels_touch_only_their_own_side():
    business = {f.name for f in Behaviour.__dataclass_fields__.values()}
    for side, levels in OPS.items():
        for level, settings in levels.items():
            for knob in settings:
                assert knob not in business, (side, level, knob)
                assert side_of(knob) == side, (side, knob)
    activation = set(ActivationConfig.knob_names())
    campaign = set(CampaignConfig.knob_names())
    # each side's sending and activation knobs carry its own prefix (or are its tracking/identity)
    for knob in OPS["crm"]["poorly-run"]:
        if knob in activation | campaign:
            assert knob.startswith("crm_"), knob
    for knob in OPS["cdp"]["poorly-run"]:
        if knob in activation | campaign:
            assert knob.startswith("cdp_"), knob


def test_every_play_offered_for_a_preset_has_people_who_truly_qualify(make_world):
    for preset in PRESETS:
        engine = build_engine(Scenario.make(preset, seed=7, people=PEOPLE, days=90))
        for play in plays_for(preset):
            truth = engine.intervals(play.rule("truth"), "truth")
            assert truth["person_id"].nunique() >= 20, (preset, play.name, len(truth))


def test_truth_is_never_a_systems_rule():
    for play in PLAYS.values():
        assert dict(play.truth_rule()) != dict(play.crm) and dict(play.truth_rule()) != dict(play.cdp), play.name
        assert "intent" in str(play.truth_rule()), play.name  # judged on the latent need


def test_generate_records_the_ops_levels_and_compare_applies_them(tmp_path, capsys):
    """`generate --ops` shapes that side's world knobs and records the levels; `compare` reads them
    back (the activation and sending part), and `--ops` on compare overrides the record."""
    import json

    from core.cli.main import main

    out = tmp_path / "w"
    args = ["generate", "--preset", "b2c-retail", "--people", "800", "--days", "30", "--out", str(out)]
    assert main([*args, "--ops", "cdp=poorly-run", "--ops", "crm=well-run"]) == 0
    meta = json.loads((out / "world.json").read_text())
    assert meta["ops"] == {"cdp": "poorly-run", "crm": "well-run"}
    knobs = meta["config"]["knobs"]
    assert knobs["coverage_web"] == OPS["cdp"]["poorly-run"]["coverage_web"]
    assert knobs["duplicate_rate"] == OPS["crm"]["well-run"]["duplicate_rate"]
    capsys.readouterr()
    compare = ["compare", "--world", str(out), "--play", "cart-abandonment", "--sweep-people", "0", "--json"]
    assert main(compare) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ops"] == {"cdp": "poorly-run", "crm": "well-run"}
    # the yardstick section: timely reach is judged on each truth and moves (money is in need_sensitivity)
    ys = {y["yardstick"]: y for y in out["yardsticks"]}
    assert set(ys) == set(YARDSTICKS)
    assert len({tuple(sorted(y["timely_reach"].items())) for y in ys.values()}) > 1
    assert [n["need"] for n in out["need_sensitivity"]] == list(NEEDS)
    assert main([*compare, "--ops", "cdp=well-run"]) == 0
    assert json.loads(capsys.readouterr().out)["ops"] == {"cdp": "well-run", "crm": "well-run"}
    assert main([*args, "--ops", "cdp=superb"]) == 2
    err = capsys.readouterr().err
    assert "--ops expects side=level" in err and "well-run" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- issue 19: one world, the diagonal
# The ops levels and stack profiles change only what each system records; the world (people,
# intent, behaviour, pipeline and deals) is drawn from its own random streams and stays the same.

FAIR_SEEDS = (7, 8, 9)
WORLD_PEOPLE = 1200
#: Event columns that are the world's behaviour (the rest — user_id, crm_identify_email,
#: received_at, crm_received_at — is what each system observed, and may differ by design).
BEHAVIOUR_COLUMNS = ["event_id", "person_id", "ts", "channel", "event_type", "page", "value", "anonymous_id", "email",
                     "session_id"]


def _world_variants(preset: str, seed: int) -> dict[str, object]:
    from core.advice.stacks import stack_settings, stacks_for
    from core.cli.worldmeta import world_part
    from synthetic.config import apply_overrides
    from synthetic.generator import generate
    from synthetic.presets import preset_config

    def make(settings):
        cfg = preset_config(preset, seed=seed, people=WORLD_PEOPLE, days=30)
        return generate(apply_overrides(cfg, world_part(settings)))

    out = {"default": make({})}
    for side in ("crm", "cdp"):
        for level in ("well-run", "poorly-run"):
            out[f"{side}={level}"] = make(ops_settings({side: level}))
    for role in ("crm", "cdp"):
        for profile in stacks_for(role):
            settings = world_part(stack_settings([profile.name]))
            if settings:
                out[f"stack {profile.name}"] = make(settings)
    return out


@pytest.mark.parametrize("preset", ["b2b-saas", "b2c-retail", "plg-saas"])
def test_the_world_is_the_same_whatever_the_ops_level_or_stack(preset):
    """People, intent, true traits, every behavioural event and every deal are equal (as frames)
    across every ops level and stack profile, on three seeds; what the systems record does move."""
    for seed in FAIR_SEEDS:
        worlds = _world_variants(preset, seed)
        base = worlds["default"]
        deals = lambda w: w.events[(w.events["event_type"] == "purchase").to_numpy()][BEHAVIOUR_COLUMNS]  # noqa: E731
        for name, w in worlds.items():
            for table in ("people", "accounts", "intent", "traits"):
                assert getattr(w, table).equals(getattr(base, table)), (preset, seed, name, table)
            assert w.events[BEHAVIOUR_COLUMNS].equals(base.events[BEHAVIOUR_COLUMNS]), (preset, seed, name)
            assert deals(w).equals(deals(base)), (preset, seed, name)
        # not vacuous: each side's level changes that side's record, and only that side's
        assert not worlds["crm=poorly-run"].crm_changes.equals(base.crm_changes)
        assert worlds["crm=poorly-run"].events["received_at"].equals(base.events["received_at"])
        assert not worlds["cdp=poorly-run"].events["received_at"].equals(base.events["received_at"])
        assert worlds["cdp=poorly-run"].crm_changes.equals(base.crm_changes)


def test_identify_on_login_is_the_same_tool_on_both_sides():
    """At equal shares both systems identify the same logged-in sessions; switching one side's
    identify off removes only that side's login identification; a sales-led prospect has no
    product login before the won deal, so few of its events carry a user id."""
    from synthetic.config import apply_overrides
    from synthetic.generator import generate
    from synthetic.presets import preset_config

    cfg = preset_config("b2c-retail", seed=7, people=WORLD_PEOPLE, days=30)
    w = generate(cfg)
    ev = w.events
    crm_ids = ev["crm_identify_email"].notna().to_numpy()
    web_user = (ev["user_id"].notna() & (ev["channel"] == "web") & (ev["event_type"] == "page_view")).to_numpy()
    assert crm_ids.sum() > 100 and (crm_ids & web_user).sum() / crm_ids.sum() > 0.9
    off = generate(apply_overrides(cfg, {"crm_identified_share": 0.0}))
    assert off.events["crm_identify_email"].isna().all()
    assert off.events["user_id"].equals(ev["user_id"])
    b2b = generate(preset_config("b2b-saas", seed=7, people=WORLD_PEOPLE, days=30))
    won = set(b2b.traits.loc[(b2b.traits["field"] == "lifecycle_stage") & (b2b.traits["value"] == "customer"), "person_id"])
    pv = b2b.events[(b2b.events["event_type"] == "page_view").to_numpy()]
    with_user = pv["user_id"].notna()
    prospects = ~pv["person_id"].isin(won)
    assert with_user[prospects].mean() < 0.05  # prospects: no product login (prospect_login_share 2%)


DIAGONAL = {"both well run": {"crm": "well-run", "cdp": "well-run"}, "both default": {},
            "both poorly run": {"crm": "poorly-run", "cdp": "poorly-run"}}
MOVES = {"crm up": {"crm": "well-run"}, "crm down": {"crm": "poorly-run"},
         "cdp up": {"cdp": "well-run"}, "cdp down": {"cdp": "poorly-run"}}
FAIR_PLAYS = {"b2c-retail": ("cart-abandonment", "win-back"), "b2b-saas": ("pricing-intent", "mql-nurture")}
FAIR_DAYS = {"b2c-retail": 45, "b2b-saas": 90}


@pytest.fixture(scope="module")
def ops_grid():
    """{(preset, play, seed, setup): {"crm": net, "cdp": net}} on small worlds, three seeds."""
    from core.engine.plays import get_play

    out = {}
    for preset, plays in FAIR_PLAYS.items():
        for seed in FAIR_SEEDS:
            for setup, ops in {**DIAGONAL, **MOVES}.items():
                # a B2B demo is worth what the world's own funnel realises (issue 18): 45 days close no deal
                # in a 1,500-person b2b-saas world, so its plays are worth nothing there; 90 days close some
                s = Scenario.make(preset, seed=seed, people=1500, days=FAIR_DAYS[preset], settings=ops_settings(ops))
                engine = build_engine(s)
                for name in plays:
                    run = run_play(engine, get_play(name, preset), s.activation(), models=("crm", "cdp"))
                    out[(preset, name, seed, setup)] = _net(run, s.campaign())
    return out


def _gap(net: dict[str, float]) -> float:
    return net["cdp"] - net["crm"]


def test_on_the_diagonal_neither_side_wins_by_construction(ops_grid):
    """Both sides run equally well (well, default or poorly): across plays, presets and seeds each
    side wins somewhere — no modelling choice hands every even match to one side."""
    winners = {("cdp" if _gap(net) > 0 else "crm") for (preset, play, seed, setup), net in ops_grid.items()
               if setup in DIAGONAL}
    assert winners == {"crm", "cdp"}, winners


def test_one_level_down_never_helps_the_side_that_moved(ops_grid):
    """From both default, lowering one side a level never helps that side: the CDP-minus-CRM gap
    rises when the CRM is run poorly and falls when the CDP is (median over three seeds, every play).

    Raising a side a level is not asserted: on b2b-saas (pricing-intent and mql-nurture, 1,500
    people, seeds 7-9) a well-run CDP nets slightly less than a default one, summed over both plays
    — a finding reported for its own issue, not a property to pin. Win-back is left out for the
    reason in the corner test above: a poorly run side's weekly batches reach its late-opening need."""
    import numpy as np

    for preset, plays in FAIR_PLAYS.items():
        for play in plays:
            if play == "win-back":
                continue
            med = {setup: float(np.median([_gap(ops_grid[(preset, play, s, setup)]) for s in FAIR_SEEDS]))
                   for setup in ("both default", *MOVES)}
            base = med["both default"]
            assert med["crm down"] >= base >= med["cdp down"], (preset, play, med)


def test_login_stitching_on_one_side_never_moves_the_other_sides_value():
    """The four login-stitching cases (compare and the Campaign lift page): switching one side's
    identify-on-login off changes only that side's net value — the world and the other side's
    record are the same."""
    from core.advice.stitching import login_stitching
    from core.engine.plays import get_play

    s = Scenario.make("b2b-saas", seed=7, people=1500, days=45)
    rows = {(r["crm_login_stitching"], r["cdp_login_stitching"]): r for r in login_stitching(s, get_play("pricing-intent"))}
    assert set(rows) == {(True, True), (False, True), (True, False), (False, False)}
    assert rows[(False, False)]["crm_identified_share"] == rows[(False, False)]["identified_share"] == 0.0
    assert rows[(True, True)]["crm_identified_share"] == rows[(True, True)]["identified_share"] > 0  # same tool
    for crm in (True, False):
        assert rows[(crm, True)]["net_value"]["crm"] == rows[(crm, False)]["net_value"]["crm"]
    for cdp in (True, False):
        assert rows[(True, cdp)]["net_value"]["cdp"] == rows[(False, cdp)]["net_value"]["cdp"]
    assert rows[(True, True)]["net_value"] != rows[(False, False)]["net_value"]  # stitching matters somewhere
