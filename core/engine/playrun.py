"""Run one play through truth, CRM, CDP and hybrid: membership and activation intervals.

Everything the measures need comes from one :class:`PlayRun`, computed once per (world, play,
engine and activation settings) and shared by freshness, overlap and lift.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, replace

import pandas as pd

from core.engine.activation import ActivationConfig, RuleShape, activated_intervals, rule_shape
from core.engine.bestattempt import within_lookback, without_unseen_events
from core.engine.intervalset import intersect_intervals
from core.engine.views import MODELS, Engine
from core.engine.plays import Play, need_rule, with_yardstick
from core.engine.rules import FieldCond, Rule, iter_conditions, parse_rule


@dataclass(frozen=True)
class PlayRun:
    play: Play
    engine: Engine
    activation: ActivationConfig
    truth: pd.DataFrame                 # person-level truth intervals: subject_id(=person), person_id, enter, exit
    members: dict[str, pd.DataFrame]    # model → membership intervals per subject
    active: dict[str, pd.DataFrame]     # model → reachable intervals: person_id (the address owner), subject_id, active_from, active_to
    need: pd.DataFrame | None = None    # the latent need's intervals (the world's physics); None = same as truth

    @property
    def needs(self) -> pd.DataFrame:
        """When a message can help: the play's latent need, whatever yardstick judges the run.

        Campaign effects come from here, never from the yardstick: judging a play by one
        system's rule changes how accurate and fresh the models look, not what a message does.
        """
        return self.truth if self.need is None else self.need

    @property
    def start(self) -> pd.Timestamp:
        return self.engine.world.start

    @property
    def end(self) -> pd.Timestamp:
        return self.engine.world.end

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.members)


def run_play(engine: Engine, play: Play, activation: ActivationConfig | None = None,
             models: tuple[str, ...] = MODELS) -> PlayRun:
    """Evaluate the play's truth rule and each model's rule exactly over the whole period."""
    activation = activation or ActivationConfig()
    world = engine.world
    truth = engine.intervals(play.rule("truth"), "truth")
    need = None if play.yardstick == "latent" else engine.intervals(
        parse_rule(dict(play.truth)), "truth")
    members: dict[str, pd.DataFrame] = {}
    for model in models:
        rule = model_rule(engine, play, model, activation)
        if model == "hybrid" and "cdp" in members and play.hybrid is None and not _uses_fields(rule):
            members[model] = members["cdp"]  # same audience, same events: only the sync differs
        elif rule is None:  # the product cannot build this play's rule (core.engine.bestattempt)
            members[model] = _NO_MEMBERS.copy()
        else:
            members[model] = engine.intervals(rule, "hybrid" if model == "hybrid" else model)
    return PlayRun(play=play, engine=engine, activation=activation, truth=truth, members=members,
                   active=_activate(engine, members, activation, _shapes(engine, play, activation, members)),
                   need=need)


_NO_MEMBERS = pd.DataFrame({"subject_id": pd.Series(dtype="int64"), "person_id": pd.Series(dtype="int64"),
                            "enter": pd.Series(dtype="datetime64[ns, UTC]"),
                            "exit": pd.Series(dtype="datetime64[ns, UTC]")})


def model_rule(engine: Engine, play: Play, model: str, activation: ActivationConfig) -> Rule | None:
    """The rule ``model`` actually evaluates: the play's rule within what the product sees.

    The CRM keeps only conditions on events its lists can filter on (``EngineConfig.crm_event_types``;
    None when nothing is left), the CDP and the hybrid read events only as far back as
    ``cdp_lookback_days``. With the default settings this is the play's own rule."""
    rule = play.rule(model)
    if model == "crm":
        visible = frozenset(engine.config.crm_event_types)
        return without_unseen_events(rule, visible)
    if model in ("cdp", "hybrid"):
        return within_lookback(rule, activation.cdp_lookback_days)
    return rule


def _shapes(engine: Engine, play: Play, activation: ActivationConfig,
            members: dict[str, pd.DataFrame]) -> dict[str, RuleShape]:
    """What each model's rule uses: activation applies the cadence of that kind of rule."""
    out = {}
    for m in members:
        rule = model_rule(engine, play, m, activation)
        out[m] = rule_shape(rule) if rule is not None else RuleShape()
    return out


def rejudge(run: PlayRun, yardstick: str) -> PlayRun:
    """The same membership judged on another yardstick: only the truth intervals are recomputed."""
    play = with_yardstick(run.play, yardstick)
    truth = run.needs if yardstick == "latent" else run.engine.intervals(play.rule("truth"), "truth")
    return replace(run, play=play, truth=truth, need=run.needs)


def with_need(run: PlayRun, need: str) -> PlayRun:
    """The same run with campaign effects following another need (``core.engine.plays.NEEDS``).

    Membership, activation and the yardstick stay; only when a message can help changes. The
    default ('latent') is the world's own need, so ``with_need(run, "latent")`` is ``run``'s physics."""
    if need == "latent":
        return replace(run, need=run.needs)
    return replace(run, need=need_intervals(run.engine, run.play, need))


def need_intervals(engine: Engine, play: Play, need: str) -> pd.DataFrame:
    """The need's intervals on ground truth; 'both-rules' through :func:`_both_hold`."""
    if need == "both-rules":
        return _both_hold(engine, (play.crm, need_rule(play, "crm-rule")), (play.cdp, need_rule(play, "cdp-rule")),
                          need_rule(play, need))
    return engine.intervals(need_rule(play, need), "truth")


def _both_hold(engine: Engine, first: tuple, second: tuple, combined: Rule) -> pd.DataFrame:
    """When two rules hold at once on ground truth (each given as its source and its parsed rule):
    the intersection of their intervals (:mod:`core.engine.intervalset`, exact), which the engine
    already keeps from the yardstick panel, rather than ``combined`` evaluated again over the log;
    a rule kept as a static list or frozen at a time is not its condition, so then ``combined`` runs."""
    (a_source, a_rule), (b_source, b_rule) = first, second
    if _plain(a_source) and _plain(b_source):
        return intersect_intervals(engine.intervals(a_rule, "truth"), engine.intervals(b_rule, "truth"))
    return engine.intervals(combined, "truth")


def _plain(rule) -> bool:
    """Whether a rule's membership is its condition alone (an active list, not frozen), so its
    intervals are those of the condition nested in a conjunction (:func:`core.engine.plays._condition`)."""
    return rule.get("list", "active") == "active" and rule.get("frozen_at") is None


def person_time_jaccard(a: pd.DataFrame, b: pd.DataFrame, both: pd.DataFrame, end: pd.Timestamp) -> float:
    """Person-time Jaccard of two interval sets given their intersection ``both`` (intervals with
    ``enter``/``exit``; an open exit runs to ``end``): shared person-hours over either's person-hours.
    1.0 means the two definitions hold for the same people at the same times."""
    def hours(iv: pd.DataFrame) -> float:
        if len(iv) == 0:
            return 0.0
        exit_ = iv["exit"].fillna(end)
        return float(((exit_ - iv["enter"]) / pd.Timedelta(hours=1)).clip(lower=0).sum())

    ta, tb, tab = hours(a), hours(b), hours(both)
    union = ta + tb - tab
    return tab / union if union > 0 else float("nan")


def need_jaccard(engine: Engine, play: Play, other: str) -> float:
    """Person-time Jaccard between the play's latent need and ``other`` ('crm-rule' | 'cdp-rule')
    on ground truth: how far the need is from being that system's own rule."""
    latent_rule, other_rule = need_rule(play, "latent"), need_rule(play, other)
    side = play.crm if other == "crm-rule" else play.cdp
    both = _both_hold(engine, (play.truth, latent_rule), (side, other_rule), _intersection(play, other))
    return person_time_jaccard(engine.intervals(latent_rule, "truth"), engine.intervals(other_rule, "truth"),
                               both, engine.world.end)


def _intersection(play: Play, other: str) -> Rule:
    from core.engine.plays import _condition

    side = play.crm if other == "crm-rule" else play.cdp
    return parse_rule({"name": f"latent need and the {other}", "all": [_condition(play.truth), _condition(side)]})


def with_activation(run: PlayRun, activation: ActivationConfig) -> PlayRun:
    """The same membership under other activation settings (sync, build days): no rule re-evaluation
    (a changed CDP lookback changes membership, so that one reruns the play)."""
    if activation.cdp_lookback_days != run.activation.cdp_lookback_days:
        return run_play(run.engine, run.play, activation, run.models)
    shapes = _shapes(run.engine, run.play, activation, run.members)
    return replace(run, activation=activation, active=_activate(run.engine, run.members, activation, shapes))


def _activate(engine: Engine, members: dict[str, pd.DataFrame], activation: ActivationConfig,
              shapes: dict[str, RuleShape] | None = None) -> dict[str, pd.DataFrame]:
    """Membership → reachable intervals; anonymous CDP profiles cannot be reached by a sending tool.

    A reachable CDP profile is messaged at its address, so its ``person_id`` becomes the owner of
    that address (an over-merged profile's message reaches whoever owns its e-mail or login).
    """
    world = engine.world
    addressable = engine.resolution.profiles.set_index("profile_id")["addressable"]
    owners = address_owners(engine)
    out = {}
    for m, iv in members.items():
        act = activated_intervals(iv, m, activation, world.start, world.end, addressable if m != "crm" else None,
                                  (shapes or {}).get(m))
        if m != "crm" and len(act):
            owner = act["subject_id"].map(owners)
            act["person_id"] = owner.fillna(act["person_id"]).to_numpy(dtype="int64")
        out[m] = act
    return out


_OWNERS: "weakref.WeakKeyDictionary[Engine, pd.Series]" = weakref.WeakKeyDictionary()


def address_owners(engine: Engine) -> pd.Series:
    """Per addressable CDP profile, the true person who owns its address (its root login or e-mail).

    Ground truth is read only here, to credit a message to the person who receives it; profiles
    whose root is not a known address keep their majority person. Computed once per engine.
    """
    hit = _OWNERS.get(engine)
    if hit is None:
        hit = _OWNERS[engine] = _address_owners(engine)
    return hit


def _address_owners(engine: Engine) -> pd.Series:
    from core.engine.worldread import people_columns

    prof = engine.resolution.profiles
    people = people_columns(engine.world, ("person_id", "user_id", "email", "second_email"))
    if len(prof) == 0 or len(people) == 0 or "person_id" not in people:
        return pd.Series(dtype="int64")
    keys = [people[["user_id", "person_id"]].rename(columns={"user_id": "address"})]
    for col in ("email", "second_email"):
        if col in people:
            keys.append(people[[col, "person_id"]].rename(columns={col: "address"}))
    book = pd.concat(keys, ignore_index=True).dropna(subset=["address"]).drop_duplicates("address")
    by_address = book.set_index("address")["person_id"]
    root = prof.set_index("profile_id")["root"].astype(object)
    return root.map(by_address).dropna().astype("int64")


def _uses_fields(rule: Rule) -> bool:
    """Hybrid runs the CDP audience on the CDP's events; only CRM field conditions can differ."""
    return any(isinstance(c, FieldCond) for c in iter_conditions(rule.root))
