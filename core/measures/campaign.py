"""Simulated campaigns, sent and measured the way a sending tool does it, scored against the truth.

What is sent (symmetric for both systems, DESIGN.md "Campaign lift"):

- **Units, not people.** A sending tool messages addresses: CRM contacts (duplicates included) or
  CDP profiles (anonymous profiles cannot be reached). Each unit is randomised once, sticky, into
  the holdout. A person with two contacts can get two messages, or sit in both arms.
- **Send mode per side.** Each side sends either *triggered* (on activation, after a workflow
  delay — HubSpot workflows enrol on list membership, Braze/Iterable canvases trigger on audience
  entry) or in *batch* (a weekday/hour schedule every N days). The hybrid sends through the
  CRM's marketing tool, so it uses the CRM's send mode. A frequency cap keeps one message of the
  play per unit per ``frequency_cap_days``.
- **Blast baseline.** Every contact on the marketing list gets the message on the CRM's batch
  schedule: the "send to everyone" a targeted model must beat.

What it does (the world's physics, never either system's rule):

- Without the message a person converts exactly as the world shows: ``y0`` is whether the
  address owner really had the play's outcome event (purchase, demo request) within the
  follow-up window after the send.
- The message adds ``e = 0.5^(hours since the need opened / half-life) × f(uplift_rel × ρ(state) × depth)``
  for a person whose need is open when it lands (the lateness factor outside the bound, so a late
  message loses the share of its effect the half-life says on any base rate — inside it, a high
  base would saturate the bound and make a day's delay free) (an episode of the play's *latent* need covers the
  send time — whatever yardstick the run is judged on), and Hillstrom's off-target effect
  otherwise, times ``off_target_scale`` (0 / 1 / 2 = none / Hillstrom's / twice: the sensitivity
  band). ``f`` bounds the effect in absolute terms (:func:`core.measures.response.message_effect`:
  relative on a small base, at most 3 pp per need-matched message, 1 pp per off-target two weeks).
  ``ρ(state)`` is the world's own organic chance of converting within the window for a person in
  that latent state (intent strength included), so no campaign can claim more conversions than
  the world's flow allows. Off-target sends share one effect per person per two weeks
  (diminishing returns). A B2B demo is worth the world's won revenue per demo, and the extra
  revenue of one account is at most one deal (one deal per account buying episode).
- Several messages for one need do not add up: the person converts at most once per need, with
  the largest effect of the messages they received (``key`` = person × need episode); the extra
  messages only cost money and patience. The extra conversion is drawn from one uniform per
  (person, need) shared by every model — common random numbers — so the CRM and the CDP are
  compared on the same luck.
- The effect is credited to the owner of the address that got the message (an over-merged CDP
  profile's messages go to whoever owns its e-mail).

Costs: ``cost_per_send`` per message and an unsubscribe (fatigue) cost per message: Mailchimp's
benchmark unsubscribe rate of 0.26% per e-mail (mailchimp.com/resources/email-marketing-benchmarks,
all industries), halved for a relevant message and raised 1.5x for an irrelevant or duplicate one
(assumed: "irrelevant content" is the reason subscribers most often give), times the value of a
subscriber: the incremental value of the e-mails the subscriber would still have received
(:func:`core.measures.response.subscriber_value`). ``true_net_value`` = true incremental revenue −
send cost − fatigue cost − fixed cost.
"""
from __future__ import annotations

import threading
import weakref
import zlib
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
import pandas as pd

from core.errors import DataError, UserError
from core.engine.playrun import PlayRun
from core.engine.worldread import crm_changes_of, people_columns
from core.measures.response import (OFF_TARGET_WINDOW_DAYS, RELEVANT_CAP, conversion_value, demo_funnel, intent_at,
                                    message_effect, off_target_effect, organic_rates, outcome_within, subscriber_value)
from core.measures.depth import episode_weights
from core.measures.overlap import sorted_unique
from core.measures.stats import LiftReport, lift_report

SEND_MODES = ("triggered", "batch")
#: Mailchimp's all-industry average unsubscribe rate per e-mail (Email Marketing Benchmarks).
BENCHMARK_UNSUBSCRIBE_RATE = 0.0026
MODELS_WITH_BLAST = ("crm", "cdp", "hybrid", "blast")


@dataclass(frozen=True)
class CampaignConfig:
    """How the campaign is sent, measured and costed. Both sides have the same options."""

    holdout_share: float = 0.10
    """Share of units randomly held out (never messaged) to measure lift; 10% is a common default."""
    crm_send_mode: str = "triggered"
    """How the CRM's marketing tool sends: 'triggered' on list entry (workflow) or 'batch' on a schedule."""
    crm_workflow_delay_minutes: float = 0.0
    """Minutes a triggered CRM workflow waits after list entry before sending."""
    crm_send_weekday: int = 1
    """Weekday of CRM batch sends and of the blast (0 = Monday)."""
    crm_send_hour: int = 10
    """Hour (UTC) of CRM batch sends and of the blast."""
    crm_send_every_days: int = 7
    """Days between CRM batch sends and blasts (7 = weekly)."""
    cdp_send_mode: str = "triggered"
    """How the CDP's destination sends: 'triggered' on audience entry or 'batch' on a schedule."""
    cdp_workflow_delay_minutes: float = 0.0
    """Minutes a triggered CDP journey waits after audience entry before sending."""
    cdp_send_weekday: int = 1
    """Weekday of CDP batch sends (0 = Monday)."""
    cdp_send_hour: int = 10
    """Hour (UTC) of CDP batch sends."""
    cdp_send_every_days: int = 7
    """Days between CDP batch sends."""
    frequency_cap_days: float = 7.0
    """At most one message of this play per unit in this many days (ESP frequency caps; assumed weekly)."""
    cost_per_send: float = 0.01
    """Cost per message sent (ESP fees and creative amortised; e-mail ≈ $0.001–0.01)."""
    unsubscribe_rate: float = BENCHMARK_UNSUBSCRIBE_RATE
    """Chance a message makes its recipient unsubscribe (Mailchimp benchmark 0.26%); halved when relevant, ×1.5 when not."""
    subscriber_value: float = -1.0
    """Value lost when a subscriber unsubscribes; −1 = derived from the world (a year of e-mail-driven value per person)."""
    fixed_cost: float = 0.0
    """Fixed cost of running this campaign (team time, platform share)."""
    off_target_scale: float = 1.0
    """Effect of a message on someone without an open need, in units of Hillstrom's (0 = none, 1 = Hillstrom's, 2 = twice)."""
    seed: int = 0
    """Seed of the holdout assignment and outcome draws (the world seed is added)."""

    def __post_init__(self) -> None:
        if not (0 < self.holdout_share < 1):
            raise UserError(f"holdout share must be between 0 and 1, exclusive (got {self.holdout_share}); e.g. 0.1 for 10%")
        for side in ("crm", "cdp"):
            mode = getattr(self, f"{side}_send_mode")
            if mode not in SEND_MODES:
                raise UserError(f"{side}_send_mode must be one of {', '.join(SEND_MODES)} (got {mode!r})")
            if not (0 <= getattr(self, f"{side}_send_weekday") <= 6):
                raise UserError(f"{side}_send_weekday must be 0 (Monday) to 6 (Sunday) (got {getattr(self, f'{side}_send_weekday')})")
            if not (0 <= getattr(self, f"{side}_send_hour") <= 23):
                raise UserError(f"{side}_send_hour must be 0 to 23 (got {getattr(self, f'{side}_send_hour')})")
            if not (1 <= getattr(self, f"{side}_send_every_days") <= 90):
                raise UserError(f"{side}_send_every_days must be 1 to 90 (got {getattr(self, f'{side}_send_every_days')})")
            if not (0 <= getattr(self, f"{side}_workflow_delay_minutes") <= 43_200):
                raise UserError(f"{side}_workflow_delay_minutes must be 0 to 43200 (30 days)")
        if not (0 <= self.frequency_cap_days <= 90):
            raise UserError(f"frequency_cap_days must be 0 to 90 (got {self.frequency_cap_days})")
        if not (0 <= self.unsubscribe_rate <= 0.2):
            raise UserError(f"unsubscribe_rate must be 0 to 0.2 (got {self.unsubscribe_rate})")
        if not (0 <= self.off_target_scale <= 5):
            raise UserError(f"off_target_scale must be 0 to 5 (got {self.off_target_scale}); 0 = none, 1 = Hillstrom's, 2 = twice")
        if self.cost_per_send < 0 or self.fixed_cost < 0 or (self.subscriber_value < 0 and self.subscriber_value != -1):
            raise UserError("costs must be zero or positive (subscriber_value −1 = derived)")

    @classmethod
    def knob_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "seed")

    def side(self, model: str) -> str:
        """Whose sending tool a model's messages go through: the hybrid and the blast use the CRM's."""
        return "cdp" if model == "cdp" else "crm"


@dataclass(frozen=True)
class CampaignResult:
    model: str
    targets: pd.DataFrame        # one row per send: unit_id, person_id, key, send_at, holdout, relevant, y0, e, p0, p1, y, value
    report: LiftReport | None    # None when the campaign could not be measured (see message)
    true_incremental_conversions: float   # expected, over people and needs (no double counting)
    true_incremental_revenue: float
    sends: int                   # messages actually sent (holdout excluded)
    send_cost: float
    fatigue_cost: float
    true_net_value: float
    units: int = 0               # distinct units targeted (treated or held out)
    people: int = 0              # distinct people behind them
    double_sends: int = 0        # extra messages for a need a person had already been messaged about
    people_in_both_arms: int = 0  # people with one unit treated and another held out
    relevant_share: float = 0.0  # share of sends that landed while the person's need was open
    message: str = ""

    def to_dict(self) -> dict:
        out = {"model": self.model, "sends": self.sends, "units": self.units, "people": self.people,
               "double_sends": self.double_sends, "people_in_both_arms": self.people_in_both_arms,
               "relevant_share": self.relevant_share,
               "true_incremental_conversions": self.true_incremental_conversions,
               "true_incremental_revenue": self.true_incremental_revenue, "send_cost": self.send_cost,
               "fatigue_cost": self.fatigue_cost, "true_net_value": self.true_net_value,
               "true_net_value_per_1000_sends": (1000 * self.true_net_value / self.sends) if self.sends else None,
               "message": self.message}
        if self.report is not None:
            out.update(self.report.to_dict())
        return out


# --------------------------------------------------------------------------- when messages go out
def schedule(start: pd.Timestamp, end: pd.Timestamp, launch: pd.Timestamp, weekday: int, hour: int,
             every_days: int) -> pd.DatetimeIndex:
    """Batch send times: the weekday/hour schedule from the launch day to the end of the period."""
    first = launch.normalize() + pd.Timedelta(hours=hour)
    first += pd.Timedelta(days=(weekday - first.dayofweek) % 7)
    if first < launch:
        first += pd.Timedelta(days=7)
    return pd.date_range(first, end, freq=f"{every_days}D")


def _launch(run: PlayRun, side: str) -> pd.Timestamp:
    return run.start + pd.Timedelta(days=getattr(run.activation, f"{side}_build_days"))


def crm_send_times(run: PlayRun, cfg: CampaignConfig) -> pd.DatetimeIndex:
    """The CRM's batch schedule (also the blast's)."""
    return schedule(run.start, run.end, _launch(run, "crm"), cfg.crm_send_weekday, cfg.crm_send_hour, cfg.crm_send_every_days)


def _batch_sends(active: pd.DataFrame, times: pd.DatetimeIndex, end: pd.Timestamp) -> pd.DataFrame:
    """Every schedule time at which a unit is active → one candidate send."""
    if len(active) == 0 or len(times) == 0:
        return _no_sends()
    t = times.to_numpy(dtype="datetime64[ns]")
    a_from = active["active_from"].to_numpy(dtype="datetime64[ns]")
    a_to = active["active_to"].fillna(end + pd.Timedelta(days=1)).to_numpy(dtype="datetime64[ns]")
    i0 = np.searchsorted(t, a_from, side="left")
    i1 = np.searchsorted(t, a_to, side="left")
    span = np.clip(i1 - i0, 0, None)
    row = np.repeat(np.arange(len(active)), span)
    idx = i0[row] + (np.arange(len(row)) - np.repeat(np.cumsum(span) - span, span))
    return pd.DataFrame({"unit_id": active["subject_id"].to_numpy(np.int64)[row],
                         "person_id": active["person_id"].to_numpy(np.int64)[row],
                         "send_at": pd.DatetimeIndex(t[idx]).tz_localize("UTC")})


def _triggered_sends(active: pd.DataFrame, delay_minutes: float, end: pd.Timestamp) -> pd.DataFrame:
    """One candidate send per activation, after the workflow delay, if the unit is still active."""
    if len(active) == 0:
        return _no_sends()
    send = active["active_from"] + pd.Timedelta(minutes=delay_minutes)
    to = active["active_to"].fillna(end + pd.Timedelta(days=1))
    ok = ((send < to) & (send <= end)).to_numpy()
    return pd.DataFrame({"unit_id": active["subject_id"].to_numpy(np.int64)[ok],
                         "person_id": active["person_id"].to_numpy(np.int64)[ok],
                         "send_at": send[ok].array})


def _no_sends() -> pd.DataFrame:
    return pd.DataFrame({"unit_id": pd.Series(dtype="int64"), "person_id": pd.Series(dtype="int64"),
                         "send_at": pd.Series(pd.to_datetime([], utc=True))})


def frequency_cap(sends: pd.DataFrame, cap_days: float) -> pd.DataFrame:
    """Keep a unit's sends at least ``cap_days`` apart, earliest first (greedy, as ESPs apply caps).

    Vectorised by rounds: each round keeps every unit's earliest remaining send and drops the
    sends that fall inside its cap; the number of rounds is the most messages one unit receives.
    """
    if len(sends) == 0 or cap_days <= 0:
        return sends.sort_values(["unit_id", "send_at"], kind="mergesort").reset_index(drop=True)
    s = sends.sort_values(["unit_id", "send_at"], kind="mergesort").reset_index(drop=True)
    unit = s["unit_id"].to_numpy()
    t = s["send_at"].array.asi8
    cap = int(cap_days * 86_400e9)
    same = unit[1:] == unit[:-1]
    if not (same & (np.diff(t) < cap)).any():  # already spaced (e.g. a weekly schedule): nothing to drop
        return s
    alive = np.ones(len(s), dtype=bool)
    kept = np.zeros(len(s), dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        first = idx[np.r_[True, unit[idx][1:] != unit[idx][:-1]]]
        kept[first] = True
        alive[first] = False
        # the cap window of each unit's newly kept send, looked up per remaining row
        win_end = pd.Series(t[first] + cap, index=unit[first])
        rest = np.flatnonzero(alive)
        blocked = t[rest] < win_end.reindex(unit[rest]).to_numpy(dtype=np.int64)
        alive[rest[blocked]] = False
    return s[kept].reset_index(drop=True)


def send_schedule(run: PlayRun, model: str, cfg: CampaignConfig) -> pd.DataFrame:
    """The messages a model sends (before the holdout): ``unit_id, person_id, send_at``."""
    if model == "blast":
        return frequency_cap(_batch_sends(marketing_list(run), crm_send_times(run, cfg), run.end), cfg.frequency_cap_days)
    act = run.active[model]
    side = cfg.side(model)
    if getattr(cfg, f"{side}_send_mode") == "batch":
        times = schedule(run.start, run.end, _launch(run, "cdp" if model != "crm" else "crm"),
                         getattr(cfg, f"{side}_send_weekday"), getattr(cfg, f"{side}_send_hour"),
                         getattr(cfg, f"{side}_send_every_days"))
        sends = _batch_sends(act, times, run.end)
    else:
        sends = _triggered_sends(act, getattr(cfg, f"{side}_workflow_delay_minutes"), run.end)
    return frequency_cap(sends, cfg.frequency_cap_days)


def marketing_list(run: PlayRun) -> pd.DataFrame:
    """Every CRM contact from the moment its e-mail is recorded: who a blast reaches."""
    ch = crm_changes_of(run.engine.world, ("email",), ("contact_id", "person_id", "field", "recorded_at"))
    em = ch[ch["field"] == "email"].groupby("contact_id", as_index=False).agg(
        person_id=("person_id", "first"), active_from=("recorded_at", "min"))
    launch = _launch(run, "crm")
    return pd.DataFrame({"subject_id": em["contact_id"].to_numpy(np.int64), "person_id": em["person_id"].to_numpy(np.int64),
                         "active_from": em["active_from"].where(em["active_from"] > launch, launch).array,
                         "active_to": pd.Series(pd.NaT, index=em.index, dtype="datetime64[ns, UTC]").array})


# --------------------------------------------------------------------------- random numbers
def _hash_uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """A uniform in [0, 1) per integer key (splitmix64): stable whatever the order or the set of keys."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + np.uint64(salt % 2**64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def _salt(run: PlayRun, cfg: CampaignConfig, stream: str) -> int:
    return zlib.crc32(f"{run.engine.world.config.seed}/{cfg.seed}/{run.play.name}/{stream}".encode())


# --------------------------------------------------------------------------- the simulation
def _needs(run: PlayRun, person: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each (person, time): the latent need's episode covering it (row of run.needs, −1 if
    none) and the hours since that episode opened. Never the yardstick: effects are the world's."""
    q = pd.DataFrame({"person_id": person, "t": pd.DatetimeIndex(t).tz_localize("UTC"), "row": np.arange(len(person))})
    tr = run.needs.reset_index(drop=True)
    m = q.merge(tr[["person_id", "enter", "exit"]].assign(ep=np.arange(len(tr))), on="person_id")
    exit_ = m["exit"].fillna(run.end + pd.Timedelta(days=1))
    m = m[(m["enter"] <= m["t"]) & (exit_ > m["t"])].sort_values(["row", "enter"]).drop_duplicates("row", keep="last")
    episode = np.full(len(person), -1, dtype=np.int64)
    hours = np.full(len(person), np.nan)
    episode[m["row"].to_numpy()] = m["ep"].to_numpy()
    hours[m["row"].to_numpy()] = ((m["t"] - m["enter"]) / pd.Timedelta(hours=1)).to_numpy()
    return episode, hours


@dataclass(frozen=True)
class _Sends:
    """What a model's campaign sends and how the world answers each send without the message.

    Everything here follows from the run's reachable intervals, the sending settings and the
    world alone — not from the need's definition nor from the off-target size — so the panels
    that vary only those (need sensitivity, the off-target band) share one copy per model
    instead of repeating the schedule, the as-of join to the latent timeline and the outcome
    search (about two thirds of a simulation at 1M people)."""

    unit: np.ndarray
    person: np.ndarray
    t: np.ndarray  # send times, UTC as naive nanoseconds
    strength: np.ndarray
    rho: np.ndarray
    y0: np.ndarray
    hold: np.ndarray
    value: np.ndarray
    by_need: list = field(default_factory=list)  # [(weakref to a needs frame, episode, hours, depth)]


#: Recent send contexts: (weak reference to what they were computed from, key, context). The anchor
#: is the model's reachable-interval frame (the blast's: the engine), so a new run or new activation
#: settings never read an old context; a lock, since the dashboard's sessions run plays in threads.
#: Four entries hold one play's models and the blast (at 1M people the blast's is ~0.4 GB).
_SENDS: list[tuple[weakref.ref, tuple, _Sends]] = []
_SENDS_MAX = 4
_SENDS_LOCK = threading.Lock()
#: Settings that do not change what is sent nor the untreated answer (only effects and costs).
_NOT_SENDING = dict(off_target_scale=0.0, cost_per_send=0.0, unsubscribe_rate=0.0, subscriber_value=-1.0, fixed_cost=0.0)


def _send_context(run: PlayRun, model: str, cfg: CampaignConfig) -> _Sends | None:
    """The model's :class:`_Sends` (None when it sends nothing), reused while its inputs are alive."""
    anchor = run.engine if model == "blast" else run.active[model]
    key = (model, run.play.name, run.play.response, run.activation, replace(cfg, **_NOT_SENDING))
    with _SENDS_LOCK:
        for ref, k, ctx in _SENDS:
            if ref() is anchor and k == key:
                return ctx
    ctx = _new_context(run, model, cfg)
    if ctx is not None:
        with _SENDS_LOCK:  # contexts whose run is gone are dropped, not kept until pushed out
            _SENDS[:] = [entry for entry in _SENDS if entry[0]() is not None][-(_SENDS_MAX - 1):]
            _SENDS.append((weakref.ref(anchor), key, ctx))
    return ctx


def _new_context(run: PlayRun, model: str, cfg: CampaignConfig) -> _Sends | None:
    world = run.engine.world
    resp = run.play.response
    sends = send_schedule(run, model, cfg)
    if len(sends) == 0:
        return None
    person = sends["person_id"].to_numpy(np.int64)
    t = sends["send_at"].to_numpy(dtype="datetime64[ns]")
    strength, state = intent_at(world, person, t)
    rho = organic_rates(world, resp.outcome_event, resp.follow_up_days).lookup(state, strength)
    y0 = outcome_within(world, resp.outcome_event, person, t, resp.follow_up_days)
    hold = _hash_uniform(sends["unit_id"].to_numpy(np.int64), _salt(run, cfg, f"holdout/{model}")) < cfg.holdout_share
    value = conversion_value(world, resp.outcome_event, person, _hash_uniform(person, _salt(run, cfg, "value")))
    unit = sends["unit_id"].to_numpy(np.int64)
    for a in (unit, person, t, strength, rho, y0, hold, value):
        a.setflags(write=False)
    return _Sends(unit=unit, person=person, t=t, strength=strength, rho=rho, y0=y0, hold=hold, value=value)


def _need_parts(run: PlayRun, ctx: _Sends) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per send: the latent need episode it lands in, the hours since it opened and its depth
    weight — once per (context, need frame): the off-target band varies only the effect's size."""
    needs = run.needs
    with _SENDS_LOCK:
        for ref, episode, hours, depth in ctx.by_need:
            if ref() is needs:
                return episode, hours, depth
    episode, hours = _needs(run, ctx.person, ctx.t)
    depth = episode_weights(run, episode)  # a checkout abandoner vs a cart-only adder (core.measures.depth)
    with _SENDS_LOCK:
        ctx.by_need.append((weakref.ref(needs), episode, hours, depth))
        del ctx.by_need[:-4]
    return episode, hours, depth


def simulate(run: PlayRun, model: str, cfg: CampaignConfig | None = None) -> CampaignResult:
    """Send the play's campaign through ``model`` (or 'blast') and measure it against its holdout."""
    cfg = cfg or CampaignConfig()
    _check_model(run, model)
    ctx = _send_context(run, model, cfg)
    if ctx is None:
        return _empty_result(model, f"the {model.upper()} audience reached nobody, so nothing was sent or measured; "
                                    "widen the rule, improve tracking or lengthen the period")
    person, t, y0, hold = ctx.person, ctx.t, ctx.y0, ctx.hold
    e, key_code, relevant = _effects_and_keys(run, ctx, cfg)
    got = _key_max(key_code, e, ~hold)  # the largest effect this person's need received
    u = _hash_uniform(key_code, _salt(run, cfg, "outcome"))
    moved = np.where(y0, (got < 0) & (u < -got), (got > 0) & (u < got))  # lifted, or dropped from converting
    del got, u
    # every column at once: one block per type, never consolidated (a copy of the frame) later
    frame = pd.DataFrame({"unit_id": ctx.unit, "person_id": person, "key": key_code,
                          "send_at": pd.DatetimeIndex(t).tz_localize("UTC"), "holdout": hold, "relevant": relevant,
                          "intent": ctx.strength, "y0": y0.astype(np.int8), "e": e, "p0": y0.astype(float),
                          "p1": np.clip(y0 + (1 - y0) * np.maximum(e, 0) - y0 * np.maximum(-e, 0), 0, 1),
                          "y": (y0 ^ moved).astype(np.int8), "value": ctx.value})
    return _score(run, model, cfg, frame)


@dataclass(frozen=True)
class TrueValue:
    """What a campaign truly earned and cost, without measuring it: the figures of
    :class:`CampaignResult` that panels comparing models on money read."""

    true_incremental_conversions: float = 0.0
    true_incremental_revenue: float = 0.0
    sends: int = 0
    send_cost: float = 0.0
    fatigue_cost: float = 0.0
    true_net_value: float = 0.0
    double_sends: int = 0


def true_value(run: PlayRun, model: str, cfg: CampaignConfig | None = None) -> TrueValue:
    """:func:`simulate`'s true figures (the same numbers, tests/test_compare_reuse.py) without the
    holdout's outcome draws, the per-send frame or the lift test: what the need and off-target
    panels, sweeps and verdicts compare, at a fraction of the memory (a blast at 1M people sends
    ~6M messages) and time."""
    cfg = cfg or CampaignConfig()
    _check_model(run, model)
    ctx = _send_context(run, model, cfg)
    if ctx is None:
        return TrueValue()
    e, key_code, relevant = _effects_and_keys(run, ctx, cfg)
    return _truth(run, cfg, ctx.person, key_code, ctx.t.view(np.int64), e, ctx.y0, ctx.value, relevant, ~ctx.hold)


def _check_model(run: PlayRun, model: str) -> None:
    if model not in (*run.models, "blast"):
        raise UserError(f"model {model!r} was not run for this play; accepted: {', '.join((*run.models, 'blast'))}")


def _effects_and_keys(run: PlayRun, ctx: _Sends, cfg: CampaignConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per send: its effect, its response key (one per person and latent need episode; off-target
    sends share one per two weeks) and whether it landed while the need was open."""
    episode, hours, depth = _need_parts(run, ctx)
    e = _effects(run, ctx, cfg, episode >= 0, hours, depth)
    resp = run.play.response
    week = ((ctx.t - np.datetime64(run.start.tz_convert(None))) / np.timedelta64(1, "D")
            // max(resp.follow_up_days, OFF_TARGET_WINDOW_DAYS)).astype(np.int64)
    key_code = ctx.person * 1_000_003 + np.where(episode >= 0, episode, -1 - week)
    return e, key_code, episode >= 0


def _effects(run: PlayRun, ctx: _Sends, cfg: CampaignConfig, relevant: np.ndarray, hours: np.ndarray,
             depth: np.ndarray) -> np.ndarray:
    """Each send's effect on its person's chance to convert: need-matched (decayed by the ``hours``
    since the need opened, deeper needs more) while the latent need is open (``relevant``),
    Hillstrom's off-target effect otherwise."""
    resp = run.play.response
    decay = np.where(relevant, 0.5 ** (np.nan_to_num(hours) / resp.half_life_hours), 0.0)
    off = off_target_effect(ctx.rho, cfg.off_target_scale * resp.off_target_rel)
    # lateness scales the bounded effect: the half-life halves it on any base (plays.Response.half_life_hours)
    matched = decay * message_effect(ctx.rho * depth, resp.uplift_rel, RELEVANT_CAP)
    return np.clip(np.where(relevant, np.maximum(matched, off), off), -1.0, 1.0)


def _key_max(key: np.ndarray, e: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Per row, the largest effect among the treated sends of its key (0 when none was treated)."""
    out = np.zeros(len(key))
    if not treated.any():
        return out
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    best = np.maximum.reduceat(np.where(treated[order], e[order], -np.inf), starts)
    group_best = np.repeat(best, np.diff(np.r_[starts, len(ks)]))
    out[order] = np.where(np.isneginf(group_best), 0.0, group_best)  # a key without a treated send: 0
    return out


def _score(run: PlayRun, model: str, cfg: CampaignConfig, frame: pd.DataFrame) -> CampaignResult:
    """Truth (per person and need, no double counting), costs, and the measured lift."""
    treated = ~frame["holdout"].to_numpy()
    person = frame["person_id"].to_numpy()
    relevant = frame["relevant"].to_numpy()
    truth = _truth(run, cfg, person, frame["key"].to_numpy(), frame["send_at"].array.asi8, frame["e"].to_numpy(),
                   frame["y0"].to_numpy(), frame["value"].to_numpy(), relevant, treated)
    n_sent = truth.sends
    persons_t = _distinct(person[treated])
    persons_h = _distinct(person[~treated])
    units = by_unit(frame)
    base = dict(model=model, targets=frame, **asdict(truth),
                units=len(units), people=len(_distinct(np.concatenate([persons_t, persons_h]))),
                people_in_both_arms=int(len(np.intersect1d(persons_t, persons_h, assume_unique=True))),
                relevant_share=float(relevant[treated].mean()) if n_sent else 0.0)
    holdout = units["holdout"].to_numpy()
    t_units, h_units = units[~holdout], units[holdout]
    if len(t_units) == 0 or len(h_units) == 0:
        msg = (f"the {model.upper()} campaign sent {n_sent} messages and held out {len(h_units)} contacts/profiles: "
               f"too few to hold out {cfg.holdout_share:.0%} and still measure a lift")
        return CampaignResult(report=None, message=msg, **base)
    try:
        per_unit_cost = cfg.cost_per_send * n_sent / max(len(t_units), 1)
        report = lift_report(t_units["y"].to_numpy(), h_units["y"].to_numpy(), binary=True,
                             revenue_treated=t_units["revenue"].to_numpy(), revenue_control=h_units["revenue"].to_numpy(),
                             cost_per_send=per_unit_cost, fixed_cost=cfg.fixed_cost,
                             true_abs_lift=float((units["p1"] - units["p0"]).mean()),
                             true_rate_holdout=float(units["p0"].mean()),
                             planned_holdout_share=cfg.holdout_share)
    except DataError as exc:
        return CampaignResult(report=None, message=str(exc), **base)
    return CampaignResult(report=report, **base)


def _truth(run: PlayRun, cfg: CampaignConfig, person: np.ndarray, key: np.ndarray, t_ns: np.ndarray, e: np.ndarray,
           y0: np.ndarray, value: np.ndarray, relevant: np.ndarray, treated: np.ndarray) -> TrueValue:
    """True incremental conversions and revenue (per person and need, no double counting) and the
    costs of the treated sends; ``t_ns``: send times as UTC nanoseconds."""
    rows = np.flatnonzero(treated)
    sel = rows[np.lexsort((t_ns[rows], key[rows]))]  # treated sends by key, then time
    ks = key[sel]
    first = np.r_[True, ks[1:] != ks[:-1]] if len(ks) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(first)
    e_key = np.maximum.reduceat(e[sel], starts) if len(starts) else np.zeros(0)
    lead = sel[starts]  # each key's first treated send
    y0_first = y0[lead].astype(np.int8)
    inc = np.where(e_key >= 0, (1 - y0_first) * e_key, y0_first * e_key)
    true_rev = _capped_revenue(run, person[lead], inc * value[lead])
    n_sent = len(rows)
    sub_value = cfg.subscriber_value if cfg.subscriber_value >= 0 else subscriber_value(
        run.engine.world, run.play.response.outcome_event, cfg.off_target_scale)
    factor = np.where(relevant[sel] & first, 0.5, 1.5)  # a repeat message for a need already messaged is never relevant
    fatigue = float((cfg.unsubscribe_rate * factor).sum() * sub_value)
    send_cost = cfg.cost_per_send * n_sent
    return TrueValue(true_incremental_conversions=float(inc.sum()), true_incremental_revenue=true_rev, sends=n_sent,
                     send_cost=send_cost, fatigue_cost=fatigue, true_net_value=true_rev - send_cost - fatigue - cfg.fixed_cost,
                     double_sends=int(n_sent - len(starts)))


def _capped_revenue(run: PlayRun, person: np.ndarray, revenue: np.ndarray) -> float:
    """True incremental revenue, with a B2B account's extra pipeline capped at one deal.

    An account buys once per buying episode however many of its committee were moved (issue 18:
    no campaign creates more won deals than the accounts in market could sign)."""
    if run.play.response.outcome_event != "demo_requested" or len(person) == 0:
        return float(revenue.sum())
    world = run.engine.world
    deal = demo_funnel(world).mean_deal
    people = people_columns(world, ("person_id", "account_id"))
    if deal <= 0 or "account_id" not in people:
        return float(revenue.sum())
    account = pd.Series(person).map(people.set_index("person_id")["account_id"]).to_numpy()
    per_account = pd.Series(revenue).groupby(pd.Series(account).fillna(-1 - pd.Series(person)).to_numpy()).sum()
    return float(np.minimum(per_account.to_numpy(), deal).sum())


def by_unit(targets: pd.DataFrame) -> pd.DataFrame:
    """The campaign's sends rolled up to its randomisation unit (a contact or profile), as a holdout
    test must be analysed: a unit messaged weekly is one observation, not eleven.

    ``y`` = converted after any of its messages; ``revenue`` = the value of those conversions;
    ``p0`` / ``p1`` = its chance to convert at least once without / with the messages (sends
    treated as independent chances); ``key`` = the response group of its first send, so repeated
    experiments keep sharing random numbers per person and need.
    """
    if len(targets) == 0:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in (
            ("unit_id", "int64"), ("person_id", "int64"), ("key", "int64"), ("holdout", bool), ("y", "int8"),
            ("revenue", float), ("p0", float), ("p1", float), ("value", float), ("sends", "int64"))})
    value, p0 = targets["value"].to_numpy(dtype=float), targets["p0"].to_numpy(dtype=float)
    if np.isnan(value).any() or np.isnan(p0).any() or targets["send_at"].isna().any():  # pandas' rules for gaps
        return _by_unit_grouped(targets)
    unit = targets["unit_id"].to_numpy(np.int64)
    order = _unit_time_order(unit, targets["send_at"].array.asi8)

    def ordered(col: str, dtype=None) -> np.ndarray:  # no copy when the sends are in order already
        values = targets[col].to_numpy(dtype=dtype)
        return values if order is None else values[order]

    unit = ordered("unit_id", np.int64)
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    sizes = np.diff(np.r_[starts, len(unit)])
    y, p1, value = ordered("y"), ordered("p1", float), ordered("value", float)
    miss = _group_sums(np.log1p(-np.clip(p1, 0, 1 - 1e-12)), starts, sizes)
    out = pd.DataFrame({"unit_id": unit[starts], "person_id": ordered("person_id")[starts],
                        "key": ordered("key")[starts], "holdout": ordered("holdout")[starts],
                        "y": np.maximum.reduceat(y, starts), "revenue": _group_sums(y * value, starts, sizes),
                        "p0": np.maximum.reduceat(ordered("p0", float), starts), "value": value[starts],
                        "sends": sizes.astype(np.int64)})
    out["p1"] = np.maximum(1 - np.exp(miss), 0.0)
    return out


def _group_sums(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per group of consecutive rows, the compensated (Kahan) sum that pandas' grouped ``sum``
    computes, NaN skipped, bit for bit (tests/test_fast_paths.py), without its grouping arrays:
    a label and a factorisation per row were a third of a blast's memory at 1M people. One step
    per position inside a group (at most the sends one unit gets), every group at once."""
    total = np.zeros(len(starts))
    comp = np.zeros(len(starts))
    for k in range(int(sizes.max()) if len(sizes) else 0):
        g = np.flatnonzero(sizes > k)
        val = values[starts[g] + k]
        ok = ~np.isnan(val)
        g, val = g[ok], val[ok]
        y = val - comp[g]
        t = total[g] + y
        c = (t - total[g]) - y
        comp[g] = np.where(np.isnan(c), 0.0, c)  # pandas resets a NaN compensation (GH#53606)
        total[g] = t
    return total


def _unit_time_order(unit: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """Row order by unit, then time, ties kept in place (as ``sort_values([...], kind="mergesort")``);
    None when the rows are in that order already. A campaign's sends come in that order
    (:func:`frequency_cap` sorts them), so this is usually one check instead of a sort of every send."""
    du, dt = np.diff(unit), np.diff(t)
    if ((du > 0) | ((du == 0) & (dt >= 0))).all():
        return None
    return np.lexsort((t, unit))


def _distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integer ids: by counting when the ids are dense (person ids), else by sorting
    (:func:`core.measures.overlap.sorted_unique`; numpy's own hashes first and is far slower)."""
    if len(values) and values.min() >= 0 and values.max() < 4 * len(values) + 1024:
        return np.flatnonzero(np.bincount(values)).astype(values.dtype)
    return sorted_unique(values)


def _by_unit_grouped(targets: pd.DataFrame) -> pd.DataFrame:
    """:func:`by_unit` through pandas' grouped aggregation (NaN-skipping 'first' and 'max')."""
    s = targets.sort_values(["unit_id", "send_at"], kind="mergesort")
    g = s.assign(revenue=s["y"] * s["value"], miss=np.log1p(-np.clip(s["p1"].to_numpy(), 0, 1 - 1e-12))).groupby("unit_id", sort=True)
    out = g.agg(person_id=("person_id", "first"), key=("key", "first"), holdout=("holdout", "first"),
                y=("y", "max"), revenue=("revenue", "sum"), p0=("p0", "max"), miss=("miss", "sum"),
                value=("value", "first"), sends=("y", "size")).reset_index()
    out["p1"] = np.maximum(1 - np.exp(out.pop("miss").to_numpy()), 0.0)
    return out


def _empty_result(model: str, message: str) -> CampaignResult:
    empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in (
        ("unit_id", "int64"), ("person_id", "int64"), ("key", "int64"), ("holdout", bool), ("relevant", bool),
        ("intent", float), ("y0", "int8"), ("e", float), ("p0", float), ("p1", float), ("y", "int8"), ("value", float))})
    empty["send_at"] = pd.Series(pd.to_datetime([], utc=True))
    return CampaignResult(model=model, targets=empty, report=None, true_incremental_conversions=0.0,
                          true_incremental_revenue=0.0, sends=0, send_cost=0.0, fatigue_cost=0.0,
                          true_net_value=0.0, message=message)


def lift_table(run: PlayRun, cfg: CampaignConfig | None = None, blast: bool = True) -> pd.DataFrame:
    """One row per model (and the blast baseline): sends, measured and true lift, revenue, costs, net value."""
    models = (*run.models, "blast") if blast else run.models
    return pd.DataFrame([simulate(run, m, cfg).to_dict() for m in models])
