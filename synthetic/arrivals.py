"""When people start and stop engaging: a customer base in steady state (or growing / shrinking).

A world covers the people who are active at some time in its window. Customers arrive as a
Poisson stream with intensity ``λ(t) = λ0·e^{rt}`` (``r`` from ``growth_rate_monthly``; 0 = level)
and leave after an exponential time with mean :func:`synthetic.config.exit_days` (lapse, and in
B2B a job change). Then, exactly:

- the active base at time ``t`` is ``λ0·e^{rt}/c`` with ``c = r + 1/mean stay``: level when r = 0;
- of the people in a window of D days, the share who arrive inside it is ``cX/(1+cX)`` with
  ``X = (e^{rD}−1)/r`` (``X = D`` when r = 0), their arrival times have density ∝ ``e^{rt}``;
- the people already active at the start have been customers for an exponential time with rate
  ``c`` (their age), and — memoryless — stay an exponential time from the start.

Without arrivals (the generator before this module) the base only lapses: a 90-day b2c-retail
world lost a third of its activity between its first and last three weeks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthetic.config import MONTH_DAYS, WorldConfig, exit_days
from synthetic.presets import PRESETS

DAY = 86_400.0
#: Oldest customer relationship drawn (years before the window): bounds the pre-window history.
MAX_AGE_DAYS = 3650.0


@dataclass(frozen=True)
class Arrivals:
    arrived: np.ndarray      # seconds from the start (negative: a customer before the window opened)
    leaves: np.ndarray       # seconds from the start when they stop engaging (may lie after the window)
    job_change: np.ndarray   # B2B: they leave because they change employer (at ``leaves``)


def growth_per_day(config: WorldConfig) -> float:
    return math.log1p(config.behaviour.growth_rate_monthly) / MONTH_DAYS


def draw_arrivals(config: WorldConfig, m: int, rng: np.random.Generator) -> Arrivals:
    """Arrival and leaving times of ``m`` people of one unit."""
    stay = exit_days(config)
    r = growth_per_day(config)
    c = max(r + 1.0 / stay, 0.0)
    days = float(config.days)
    x = days if abs(r) < 1e-12 else math.expm1(r * days) / r
    share_new = c * x / (1.0 + c * x)
    new = rng.random(m) < share_new
    u = rng.random(m)
    t_new = u * days if abs(r) < 1e-12 else np.log1p(u * math.expm1(r * days)) / r
    age = np.minimum(rng.exponential(1.0 / c, m) if c > 0 else np.full(m, MAX_AGE_DAYS), MAX_AGE_DAYS)
    arrived = np.where(new, t_new, -age) * DAY
    stay_draw = rng.exponential(stay, m) * DAY
    leaves = np.where(new, arrived + stay_draw, stay_draw)
    b = config.behaviour
    job_rate = -math.log(1.0 - b.job_change_yearly) / 365.25 if PRESETS[config.preset].model == "b2b" else 0.0
    job_change = rng.random(m) < job_rate * stay
    return Arrivals(arrived=arrived, leaves=leaves, job_change=job_change)


def monthly_actives(config: WorldConfig, from_day: float = 0.0) -> float:
    """Expected people of a world active at some time in a month of its window, averaged over
    days ``from_day`` … ``config.days`` (the part a study measures).

    A world holds everyone active at some time in its D days, so its ``people`` are *more* than
    the customers active in any one month: the base at time t is ``B0·e^{rt}`` with
    ``B0 = people / (1 + cX)`` (module docstring), and a month starting at t adds the
    ``λ0·e^{rt}·(e^{rM}−1)/r`` who arrive in it (``λ0 = c·B0``). So a month's actives are
    ``B0·e^{rt}·(1 + c·(e^{rM}−1)/r)``: exactly ``people`` when D is one month, about 0.56 of them
    in a 210-day b2c-retail world (mean stay 200 days). Scaling a window's money by
    customers / ``people`` instead understated it more the longer the window (issue 19)."""
    stay = exit_days(config)
    r = growth_per_day(config)
    c = max(r + 1.0 / stay, 0.0)
    days = float(config.days)
    x = days if abs(r) < 1e-12 else math.expm1(r * days) / r
    base0 = config.people / (1.0 + c * x)
    lo = min(max(float(from_day), 0.0), days)
    if abs(r) < 1e-12 or days - lo <= 0:
        level = 1.0 if abs(r) < 1e-12 else math.exp(r * lo)
        month_new = c * MONTH_DAYS if abs(r) < 1e-12 else c * math.expm1(r * MONTH_DAYS) / r
    else:
        level = (math.exp(r * days) - math.exp(r * lo)) / (r * (days - lo))
        month_new = c * math.expm1(r * MONTH_DAYS) / r
    return base0 * level * (1.0 + month_new)
