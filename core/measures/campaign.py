"""Simulated campaigns with a randomised holdout and known potential outcomes.

Each targeted person gets one message (the frequency cap is the campaign), at the model's own
cadence: CRM as scheduled batch sends, CDP and hybrid triggered on activation. Their response:

    p0 = base_rate + intent_rate * s(m)                         (no message)
    p1 = p0 + max_uplift * (0.3 + 0.7 s(m)) * relevance(m)      (message at time m)

where s(m) is the person's true latent intent when the message lands (0 right after buying),
and relevance is ``0.5 ** (hours since qualifying / half-life)`` for someone who truly qualifies
at m, or the play's ``off_target_relevance`` for someone who does not. Both outcomes are drawn
from the same uniform number per person (common random numbers), so the true incremental effect
is known exactly and the measured lift can be scored against it.
"""
from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.errors import DataError, UserError
from core.engine.playrun import PlayRun
from core.measures.stats import LiftReport, lift_report


@dataclass(frozen=True)
class CampaignConfig:
    """How the campaign is sent and what it costs."""

    holdout_share: float = 0.10
    """Share of targeted people randomly held out (no message) to measure lift (10% is common)."""
    crm_send_weekday: int = 1
    """Weekday of the CRM batch send (0 = Monday)."""
    crm_send_hour: int = 10
    """Hour (UTC) of the CRM batch send."""
    crm_send_every_days: int = 7
    """Days between CRM batch sends (weekly by default)."""
    cost_per_send: float = 0.01
    """Cost per message sent (ESP fees and creative amortised; email ~ $0.001–0.01)."""
    fixed_cost: float = 0.0
    """Fixed cost of running this campaign (team time, platform share)."""
    seed: int = 0
    """Seed of the holdout assignment and outcome draws (the world seed is added)."""

    def __post_init__(self) -> None:
        if not (0 < self.holdout_share < 1):
            raise UserError(f"holdout share must be between 0 and 1, exclusive (got {self.holdout_share}); e.g. 0.1 for 10%")
        if not (0 <= self.crm_send_weekday <= 6):
            raise UserError(f"crm_send_weekday must be 0 (Monday) to 6 (Sunday) (got {self.crm_send_weekday})")
        if not (0 <= self.crm_send_hour <= 23):
            raise UserError(f"crm_send_hour must be 0 to 23 (got {self.crm_send_hour})")
        if not (1 <= self.crm_send_every_days <= 90):
            raise UserError(f"crm_send_every_days must be 1 to 90 (got {self.crm_send_every_days})")
        if self.cost_per_send < 0 or self.fixed_cost < 0:
            raise UserError("costs must be zero or positive")


@dataclass(frozen=True)
class CampaignResult:
    model: str
    targets: pd.DataFrame        # person_id, send_at, holdout, p0, p1, y, value
    report: LiftReport | None    # None when the audience was empty
    true_incremental_conversions: float   # expected, among the treated
    true_incremental_revenue: float
    sends: int
    message: str = ""

    def to_dict(self) -> dict:
        out = {"model": self.model, "sends": self.sends, "true_incremental_conversions": self.true_incremental_conversions,
               "true_incremental_revenue": self.true_incremental_revenue, "message": self.message}
        if self.report is not None:
            out.update(self.report.to_dict())
        return out


def crm_send_times(run: PlayRun, cfg: CampaignConfig) -> pd.DatetimeIndex:
    """Batch send times: the weekday/hour schedule, from the day the campaign is launched."""
    launch = run.start + pd.Timedelta(days=run.activation.crm_build_days)
    first = launch.normalize() + pd.Timedelta(hours=cfg.crm_send_hour)
    first += pd.Timedelta(days=(cfg.crm_send_weekday - first.dayofweek) % 7)
    if first < launch:
        first += pd.Timedelta(days=7)
    return pd.date_range(first, run.end, freq=f"{cfg.crm_send_every_days}D")


def send_schedule(run: PlayRun, model: str, cfg: CampaignConfig) -> pd.DataFrame:
    """When each targeted person receives their message: ``person_id, send_at``."""
    act = run.active[model]
    if len(act) == 0:
        return pd.DataFrame({"person_id": pd.Series(dtype="int64"), "send_at": pd.Series(pd.to_datetime([], utc=True))})
    if model == "crm":
        sends = pd.DataFrame({"send_at": crm_send_times(run, cfg)})
        m = act.merge(sends, how="cross")
        to = m["active_to"].fillna(run.end + pd.Timedelta(days=1))
        m = m[(m["active_from"] <= m["send_at"]) & (to > m["send_at"])]
        out = m.groupby("person_id", as_index=False)["send_at"].min()
    else:
        out = act.groupby("person_id", as_index=False)["active_from"].min().rename(columns={"active_from": "send_at"})
    return out[out["send_at"] <= run.end].reset_index(drop=True)


def _uniforms(run: PlayRun, cfg: CampaignConfig, stream: str) -> np.ndarray:
    """One uniform per person, shared by every model (common random numbers)."""
    world = run.engine.world
    key = zlib.crc32(f"{run.play.name}/{stream}".encode())
    rng = np.random.default_rng([world.config.seed, cfg.seed, key])
    return rng.random(len(world.people) + 1)


def intent_at(run: PlayRun, person: np.ndarray, t: np.ndarray) -> np.ndarray:
    """True latent intent strength at time t (0 when not in market or just bought)."""
    it = run.engine.world.intent
    q = pd.DataFrame({"person_id": person, "t": t, "row": np.arange(len(person))})
    m = q.merge(it, on="person_id")
    m = m[(m["start"] <= m["t"]) & (m["end"] > m["t"])]
    strength = m[m["state"] != "bought"].groupby("row")["strength"].max()
    bought = m[m["state"] == "bought"]["row"].unique()
    out = np.zeros(len(person))
    out[strength.index.to_numpy()] = strength.to_numpy()
    out[bought] = 0.0
    return out


def _relevance(run: PlayRun, person: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Decay since qualifying for true qualifiers at t; the off-target factor for everyone else."""
    resp = run.play.response
    q = pd.DataFrame({"person_id": person, "t": t, "row": np.arange(len(person))})
    m = q.merge(run.truth[["person_id", "enter", "exit"]], on="person_id")
    exit_ = m["exit"].fillna(run.end + pd.Timedelta(days=1))
    m = m[(m["enter"] <= m["t"]) & (exit_ > m["t"])]
    hours = (m["t"] - m["enter"]) / pd.Timedelta(hours=1)
    rel = pd.Series(0.5 ** (hours.to_numpy() / resp.half_life_hours), index=m["row"].to_numpy()).groupby(level=0).max()
    out = np.full(len(person), resp.off_target_relevance)
    out[rel.index.to_numpy()] = np.maximum(rel.to_numpy(), resp.off_target_relevance)
    return out


def simulate(run: PlayRun, model: str, cfg: CampaignConfig | None = None) -> CampaignResult:
    """Send the play's campaign through ``model`` and measure it against a random holdout."""
    cfg = cfg or CampaignConfig()
    resp = run.play.response
    sched = send_schedule(run, model, cfg)
    if len(sched) == 0:
        return CampaignResult(model, sched.assign(holdout=False, p0=0.0, p1=0.0, y=0, value=0.0), None, 0.0, 0.0, 0,
                              f"the {model.upper()} audience reached nobody, too few to hold out any and measure a lift; "
                              "widen the rule, improve tracking or lengthen the period")
    person = sched["person_id"].to_numpy(dtype=np.int64)
    t = sched["send_at"]
    s = intent_at(run, person, t.to_numpy())
    rel = _relevance(run, person, t.to_numpy())
    p0 = np.clip(resp.base_rate + resp.intent_rate * s, 0, 1)
    p1 = np.clip(p0 + resp.max_uplift * (0.3 + 0.7 * s) * rel, 0, 1)
    u = _uniforms(run, cfg, "outcome")[person]
    hold = _uniforms(run, cfg, "holdout")[person] < cfg.holdout_share
    y0, y1 = u < p0, u < p1
    y = np.where(hold, y0, y1).astype(int)
    order_value = run.engine.world.config.behaviour.order_value
    value = order_value * np.exp(0.6 * _normal(_uniforms(run, cfg, "value")[person]))
    targets = pd.DataFrame({"person_id": person, "send_at": t, "holdout": hold, "intent": s, "relevance": rel,
                            "p0": p0, "p1": p1, "y": y, "value": value})
    treated = ~hold
    true_inc = float((p1 - p0)[treated].sum())
    true_rev = float(((p1 - p0) * value)[treated].sum())
    if treated.sum() == 0 or hold.sum() == 0:
        msg = (f"the {model.upper()} audience reached {len(person)} people: too few to hold out "
               f"{cfg.holdout_share:.0%} and still measure a lift")
        return CampaignResult(model, targets, None, true_inc, true_rev, int(treated.sum()), msg)
    try:
        report = lift_report(y[treated], y[hold], binary=True, revenue_treated=(y * value)[treated],
                             revenue_control=(y * value)[hold], cost_per_send=cfg.cost_per_send,
                             fixed_cost=cfg.fixed_cost, true_abs_lift=float((p1 - p0).mean()))
    except DataError as exc:
        return CampaignResult(model, targets, None, true_inc, true_rev, int(treated.sum()), str(exc))
    return CampaignResult(model, targets, report, true_inc, true_rev, int(treated.sum()))


def _normal(u: np.ndarray) -> np.ndarray:
    from scipy.stats import norm

    return norm.ppf(np.clip(u, 1e-9, 1 - 1e-9))


def lift_table(run: PlayRun, cfg: CampaignConfig | None = None) -> pd.DataFrame:
    """One row per model: sends, measured and true lift, revenue, cost, ROI."""
    rows = []
    for m in run.models:
        r = simulate(run, m, cfg)
        d = r.to_dict()
        rows.append(d)
    return pd.DataFrame(rows)
