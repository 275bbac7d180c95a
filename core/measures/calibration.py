"""The calibration sheet: every size the campaign simulator uses, beside a measured benchmark.

Issue 18: the comparison's verdicts rest on sizes (what a message does, what a conversion is
worth, what reach costs), so each is checked on the world itself against a published figure and an
accepted band. :func:`calibration_sheet` returns one :class:`Anchor` per check; the CLI
(``audience-lab calibrate``), the Scenario page and the tests read the same list. Sources are in
each anchor and in docs/world.md ("Calibration sheet").

- **Hillstrom replay** — Hillstrom's design on the simulated world: one untargeted e-mail to every
  person who bought in the 12 months before the send, two-thirds mailed, outcomes over two weeks.
  The world's value is the *true* lift among the mailed (what a replay of unlimited size would
  measure; a small world's holdout noise would hide the size being checked). Band: Hillstrom's own
  95% interval (Mens e-mail vs no e-mail, from core/measures/data/hillstrom.csv.gz) widened to half
  its low end and 1.5× its high end, because a world's base rate differs from Hillstrom's file.
  Visits are not replayed: a message changes purchases and demo requests in this simulator, not
  visits.
- **Cart flow** — the CDP cart-abandonment flow's true incremental revenue per unit reached, at
  most Klaviyo's *attributed* average (an upper bound for incremental).
- **B2B funnel** — won deals and won revenue per demo request, at most what a demo could realise
  if every demo were a sales-qualified lead (First Page Sage SQL→opportunity × opportunity→won).
- **Play shares** — each library play's best true incremental revenue (any model or the blast) as a
  share of the world's realised revenue in the period: never above the accepted share.
- **World rates** — e-mail open and click rates, cart abandonment, lead→MQL, trial→paid.
"""
from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from core.measures.response import (demo_funnel, intent_at, mean_conversion_value, off_target_effect,
                                    organic_rates, outcome_within, period_revenue)

B2C_PRESETS = ("b2c-retail", "omnichannel")
#: Klaviyo 2024 Benchmark Report: average revenue per recipient of abandoned-cart flows (attributed).
KLAVIYO_CART_RPR = 3.65
KLAVIYO_URL = "https://resources.klaviyo.com/2024-benchmark-report/p/2"
HILLSTROM_URL = "http://minethatdata.com/blog/labels/MineThatData.html (data: core/measures/data/hillstrom.csv.gz)"
MAILCHIMP_URL = "https://mailchimp.com/resources/email-marketing-benchmarks/"
BAYMARD_URL = "https://baymard.com/lists/cart-abandonment-rate"
FPS_URL = "https://firstpagesage.com/seo-blog/b2b-saas-funnel-conversion-benchmarks/"
OPENVIEW_URL = "https://openviewpartners.com/product-benchmarks/"
#: Share of a world's realised revenue one play may add at most (assumed: e-mail is credited with
#: about a fifth to a third of e-commerce revenue on an attributed basis, an upper bound for the
#: incremental revenue of one play; raised to a half because in a product-led world the trial
#: rescue play's audience *is* the revenue path, and a small world's few purchases make the share noisy).
PLAY_SHARE_MAX = 0.5
#: Fewest trials for a trial→paid rate worth showing (at 40 trials a 20% rate has a ±12 pp interval).
MIN_TRIALS = 40
REPLAY_DAYS = 14.0
REPLAY_LOOKBACK_DAYS = 365.0
REPLAY_MAILED = 2 / 3


@dataclass(frozen=True)
class Anchor:
    """One line of the sheet: a size in this world beside its source and accepted band."""

    name: str
    source: str
    low: float
    high: float
    value: float | None
    unit: str = ""

    @property
    def within(self) -> bool | None:
        if self.value is None or not np.isfinite(self.value):
            return None
        return bool(self.low <= self.value <= self.high)

    def to_dict(self) -> dict:
        return {**asdict(self), "within": self.within}


# --------------------------------------------------------------------------- Hillstrom
@dataclass(frozen=True)
class HillstromMens:
    """Hillstrom's Mens e-mail vs no e-mail: lifts with 95% intervals (normal approximation)."""

    conversion: tuple[float, float, float]   # lift, low, high (share of customers)
    spend: tuple[float, float, float]        # per customer
    visit: tuple[float, float, float]


@lru_cache(maxsize=1)
def hillstrom_mens() -> HillstromMens:
    """The published Mens figures, computed from the bundled data (64,000 customers)."""
    from core.measures.liftcsv import hillstrom_path

    df = pd.read_csv(hillstrom_path(), usecols=["segment", "visit", "conversion", "spend"])
    t, c = df[df["segment"] == "Mens E-Mail"], df[df["segment"] == "No E-Mail"]

    def diff(col: str) -> tuple[float, float, float]:
        a, b = t[col].to_numpy(float), c[col].to_numpy(float)
        d = a.mean() - b.mean()
        se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
        return float(d), float(d - 1.96 * se), float(d + 1.96 * se)
    return HillstromMens(conversion=diff("conversion"), spend=diff("spend"), visit=diff("visit"))


@dataclass(frozen=True)
class Replay:
    """Hillstrom's design replayed on a world: sizes of the mailed group and true lifts."""

    customers: int
    mailed: int
    base_conversion: float
    conversion_lift: float
    spend_lift: float


def hillstrom_replay(world, scale: float = 1.0) -> Replay:
    """One untargeted e-mail to last-12-month buyers at mid-period, two-thirds mailed, two weeks."""
    span = (world.end - world.start) / pd.Timedelta(days=1)
    t0 = world.start + pd.Timedelta(days=max((span - REPLAY_DAYS) / 2, 0.0))
    ev = world.events
    buy = ev[(ev["event_type"].astype(str) == "purchase") & (ev["ts"] < t0)
             & (ev["ts"] >= t0 - pd.Timedelta(days=REPLAY_LOOKBACK_DAYS))]
    people = np.unique(buy["person_id"].to_numpy(np.int64))
    if len(people) == 0:
        return Replay(0, 0, 0.0, 0.0, 0.0)
    salt = zlib.crc32(f"{world.config.seed}/hillstrom-replay".encode())
    from core.measures.campaign import _hash_uniform

    mailed = people[_hash_uniform(people, salt) < REPLAY_MAILED]
    t = np.full(len(mailed), np.datetime64(t0.tz_convert(None)), dtype="datetime64[ns]")
    strength, state = intent_at(world, mailed, t)
    rho = organic_rates(world, "purchase", REPLAY_DAYS).lookup(state, strength)
    y0 = outcome_within(world, "purchase", mailed, t, REPLAY_DAYS)
    lift = (1 - y0) * off_target_effect(rho, scale)
    value = mean_conversion_value(world, "purchase")
    return Replay(customers=len(people), mailed=len(mailed), base_conversion=float(y0.mean()) if len(y0) else 0.0,
                  conversion_lift=float(lift.mean()) if len(lift) else 0.0,
                  spend_lift=float(lift.mean() * value) if len(lift) else 0.0)


def _widen(ci: tuple[float, float, float]) -> tuple[float, float]:
    return 0.5 * ci[1], 1.5 * ci[2]


def hillstrom_anchors(world) -> list[Anchor]:
    if world.config.preset not in B2C_PRESETS:  # a retail design: past buyers of orders, not deals or plans
        return []
    h = hillstrom_mens()
    r = hillstrom_replay(world)
    if r.mailed == 0:
        return []
    src = (f"Hillstrom Mens e-mail vs no e-mail, two weeks ({HILLSTROM_URL}): "
           f"conversion {h.conversion[0]:+.2%} [{h.conversion[1]:+.2%}, {h.conversion[2]:+.2%}], "
           f"spend {h.spend[0]:+.2f} per customer; band = half its 95% low to 1.5× its high")
    lo, hi = _widen(h.conversion)
    slo, shi = _widen(h.spend)
    return [Anchor("Hillstrom replay: conversion lift", src, lo, hi, r.conversion_lift, "share"),
            Anchor("Hillstrom replay: spend lift per mailed customer", src, slo, shi, r.spend_lift, "currency")]


# --------------------------------------------------------------------------- world rates
def _email_rates(world) -> tuple[float, float] | None:
    """Opens and clicks per marketing e-mail sent (sends = live list × weekly cadence)."""
    b = world.config.behaviour
    per_week = float(getattr(b, "email_sends_per_week", 0.0) or 0.0)
    ch = world.crm_changes
    em = ch[ch["field"] == "email"].groupby("contact_id")["recorded_at"].min()
    if per_week <= 0 or len(em) == 0:
        return None
    start = em.where(em > world.start, world.start)
    weeks = float(((world.end - start) / pd.Timedelta(days=7)).clip(lower=0).sum())
    sends = weeks * per_week
    et = world.events["event_type"].astype(str)
    inside = (world.events["ts"] >= world.start).to_numpy()
    if sends <= 0:
        return None
    return float(((et == "email_open").to_numpy() & inside).sum() / sends), float(((et == "email_click").to_numpy() & inside).sum() / sends)


def _cart_abandonment(world) -> float | None:
    ev = world.events
    et = ev["event_type"].astype(str)
    carts = ev.loc[et == "add_to_cart", "session_id"].dropna().unique()
    if len(carts) == 0:
        return None
    bought = ev.loc[et == "purchase", "session_id"].dropna().unique()
    return 1.0 - float(np.isin(carts, bought).mean())


def _lead_to_mql(world) -> float | None:
    ch = world.crm_changes
    lc = ch[ch["field"] == "lifecycle_stage"]
    leads = lc.loc[lc["value"] == "lead", "person_id"].nunique()
    if leads == 0:
        return None
    return float(lc.loc[lc["value"] == "mql", "person_id"].nunique() / leads)


def _trial_to_paid(world) -> float | None:
    """Trials started early enough to finish in the period that ended in a purchase within 30 days
    (None below :data:`MIN_TRIALS`: a handful of trials says nothing about a rate)."""
    ev = world.events
    et = ev["event_type"].astype(str)
    trials = ev[(et == "trial_started") & (ev["ts"] >= world.start) & (ev["ts"] <= world.end - pd.Timedelta(days=30))]
    if len(trials) < MIN_TRIALS:
        return None
    person = trials["person_id"].to_numpy(np.int64)
    t = trials["ts"].dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    return float(outcome_within(world, "purchase", person, t, 30.0).mean())


def world_rate_anchors(world) -> list[Anchor]:
    out: list[Anchor] = []
    preset = world.config.preset
    rates = _email_rates(world)
    if rates is not None:
        out.append(Anchor("E-mail open rate", f"Mailchimp Email Marketing Benchmarks ({MAILCHIMP_URL}): all industries 21.3%, "
                          "e-commerce 29.8%; band 15–45%", 0.15, 0.45, rates[0], "share"))
        out.append(Anchor("E-mail click rate", f"Mailchimp ({MAILCHIMP_URL}): all industries 2.6%, e-commerce 1.7%; band 1–5%",
                          0.01, 0.05, rates[1], "share"))
    if preset in B2C_PRESETS:
        ab = _cart_abandonment(world)
        if ab is not None:
            out.append(Anchor("Cart abandonment", f"Baymard Institute ({BAYMARD_URL}): 70.19% average of 49 studies, "
                              "range ~55–85%", 0.55, 0.85, ab, "share"))
    if preset == "b2b-saas":
        lm = _lead_to_mql(world)
        if lm is not None:
            out.append(Anchor("Lead → MQL", f"First Page Sage ({FPS_URL}): ~39%; band 25–55%", 0.25, 0.55, lm, "share"))
    if preset == "plg-saas":
        tp = _trial_to_paid(world)
        if tp is not None:
            out.append(Anchor("Trial → paid (30 days)", f"OpenView Product Benchmarks ({OPENVIEW_URL}): opt-in trials "
                              "15–25%; band 8–35% (a 90-day world truncates late upgrades)", 0.08, 0.35, tp, "share"))
    return out


def funnel_anchors(world) -> list[Anchor]:
    """Won deals and revenue per demo request (sales-led worlds with demos)."""
    f = demo_funnel(world)
    b = world.config.behaviour
    if f.demos == 0 or world.config.preset not in ("b2b-saas",):
        return []
    best = float(b.sql_to_opp * b.opp_to_won)
    src = (f"First Page Sage ({FPS_URL}): SQL→opportunity 42% × opportunity→won 37% = {best:.1%}, the most a demo "
           "could realise if every demo were an SQL; the world's own funnel (won deals in the period over demo requests, "
           "every committee member's request counted)")
    deal_mean = float(b.order_value * np.exp(0.8 ** 2 / 2))  # lognormal deal values (synthetic.lifecycle)
    return [Anchor("B2B demo → won", src, 0.0, best, f.won_per_demo, "share"),
            Anchor("B2B won revenue per demo", src, 0.0, best * deal_mean, f.revenue_per_demo, "currency")]


# --------------------------------------------------------------------------- plays
def play_anchors(engine, scenario, plays=None) -> list[Anchor]:
    """Each library play's best true incremental revenue over the world's realised revenue, and
    (B2C) the CDP cart flow's revenue per unit reached."""
    from core.engine.playrun import run_play
    from core.engine.plays import plays_for
    from core.measures.campaign import simulate

    world = engine.world
    revenue = period_revenue(world)
    out: list[Anchor] = []
    cfg = scenario.campaign()
    for play in plays if plays is not None else plays_for(world.config.preset):
        run = run_play(engine, play, scenario.activation())
        results = {m: simulate(run, m, cfg) for m in (*run.models, "blast")}
        best = max(r.true_incremental_revenue for r in results.values())
        out.append(Anchor(f"Play share of revenue: {play.name}",
                          f"no play adds more than {PLAY_SHARE_MAX:.0%} of the revenue the world's events record in the "
                          "period (assumed: e-mail's attributed share of e-commerce revenue, an upper bound for one play)",
                          0.0, PLAY_SHARE_MAX, best / revenue if revenue > 0 else None, "share"))
        if play.name == "cart-abandonment":
            cdp = results["cdp"]
            per_unit = cdp.true_incremental_revenue / cdp.units if cdp.units else None
            out.append(Anchor("Cart flow: CDP true incremental revenue per unit reached",
                              f"Klaviyo 2024 Benchmark Report ({KLAVIYO_URL}): abandoned-cart flows average "
                              f"{KLAVIYO_CART_RPR} revenue per recipient, attributed (an upper bound for incremental); "
                              "low end assumed (a working flow earns something)",
                              0.1, KLAVIYO_CART_RPR, per_unit, "currency"))
    return out


#: The off-target sensitivity band (issue 18 item 4): none, Hillstrom's, twice Hillstrom's.
OFF_TARGET_BAND: tuple[tuple[str, float], ...] = (("none", 0.0), ("hillstrom", 1.0), ("twice_hillstrom", 2.0))


def off_target_sensitivity(run, cfg, known: pd.DataFrame | None = None) -> list[dict]:
    """Each model's (and the blast's) true incremental revenue and net value when a message to
    someone without an open need does nothing, what Hillstrom measured, or twice that — so a
    reader sees how much the verdict rests on the least certain size. Winner per level.

    ``known``: the run's lift table under ``cfg`` (``model``, ``true_incremental_revenue``,
    ``true_net_value``), reused for the level equal to ``cfg.off_target_scale`` instead of
    simulating those campaigns again."""
    from dataclasses import replace

    from core.measures.campaign import true_value

    models = (*run.models, "blast")
    out = []
    for name, scale in OFF_TARGET_BAND:
        if known is not None and scale == cfg.off_target_scale and set(models) <= set(known["model"]):
            rows = known.set_index("model")
            revenue = {m: float(rows.at[m, "true_incremental_revenue"]) for m in models}
            net = {m: float(rows.at[m, "true_net_value"]) for m in models}
        else:
            c = replace(cfg, off_target_scale=scale)
            res = {m: true_value(run, m, c) for m in models}
            revenue = {m: r.true_incremental_revenue for m, r in res.items()}
            net = {m: r.true_net_value for m, r in res.items()}
        out.append({"off_target": name, "scale": scale, "true_incremental_revenue": revenue,
                    "true_net_value": net, "winner": max(net, key=net.get)})
    return out


def calibration_sheet(engine, scenario, plays=None) -> list[Anchor]:
    """Every anchor for this world (the world, its engine and the scenario's campaign settings)."""
    world = engine.world
    return [*hillstrom_anchors(world), *play_anchors(engine, scenario, plays), *funnel_anchors(world),
            *world_rate_anchors(world)]


def sheet_frame(anchors: list[Anchor]) -> pd.DataFrame:
    """The sheet as a compact table (one row per anchor), for pages and exports."""
    return pd.DataFrame([a.to_dict() for a in anchors],
                        columns=["name", "value", "low", "high", "within", "unit", "source"])
