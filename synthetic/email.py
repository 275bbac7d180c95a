"""Marketing e-mail: sends to every live contact address, opens and clicks that rise with intent,
and the browser session a click opens.

Rates. Over all sends of a world, opens and clicks land on the preset's published averages
([MC] Mailchimp benchmarks, synthetic/presets.py). Who opens is not random:

- **Intent.** People who are shopping engage more with e-mail. Direction: messages that reach
  people at a moment of intent open and click far more than newsletters — Yes Lifecycle Marketing
  (24 billion e-mails, 2015, via MarketingCharts 2016-07-18): welcome e-mails open 29.9 % vs 14.5 %
  for business-as-usual sends and click 10.6 % vs 1.6 %; Bluecore's retail data: cart-abandonment
  e-mails open best "because the prospects are hottest at that moment" (MediaPost). Those ratios
  mix timing with tailored content, so the size used here is **assumed** and smaller: an
  in-market person opens ``1 + 2·strength`` times (about 2× at the mean strength, the Yes
  Lifecycle open ratio) and clicks ``1 + 4·strength`` times (about 3×, below its 6.6×) as often as
  someone not in market; in the cooling tail after an episode 1.5× and 2×.
- **Affinity.** Some people open everything, most rarely (a beta-distributed per-person factor).
- **Lapsed customers** still on the list no longer open or click (assumed: a customer who has
  stopped visiting has stopped reading too; it also keeps e-mail activity level in a steady state).

A click requires an open. Sends stop when an address dies (:mod:`synthetic.decay`): a bounce.

Clicks carry the browser. A click lands in one of the person's browsers: the click event carries
that browser's ``anonymous_id`` and the contact's e-mail — the tracked-link identify that CDPs
(e.g. Segment's ``ajs_`` query parameters) and marketing CRMs (HubSpot's ``_hsenc`` link token)
both use to tie a browser to an address — and opens a short session of page views in it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.identification import CHANGED
from synthetic.journeys import DAY, Episodes, _frame

OPEN_IN_MARKET, CLICK_IN_MARKET = 2.0, 4.0       # per unit of intent strength (assumed, see above)
OPEN_COOLING, CLICK_COOLING = 1.5, 2.0
OPEN_LAPSED, CLICK_LAPSED = 0.0, 0.0
OPEN_DELAY_MEDIAN_S = 3 * 3600                   # assumed: most opens within hours of the send
LANDING_EXTRA_PAGES = 1.0                        # mean page views after the landing page (assumed)


@dataclass(frozen=True)
class Engagement:
    events: pd.DataFrame        # email_open / email_click rows (person, t, ..., addr, device, session)
    landing_person: np.ndarray  # per click: the landing session's person, start, browser, in-market flag
    landing_t: np.ndarray
    landing_device: np.ndarray
    landing_in_market: np.ndarray


def intent_at(ep: Episodes, cool_s: float, person: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(in_market, cooling, strength) of each (person, time) from the person's latest episode."""
    if len(ep.person) == 0 or len(person) == 0:
        z = np.zeros(len(person), dtype=bool)
        return z, z.copy(), np.zeros(len(person))
    span = 1e10  # seconds per person in the search key: wider than any episode range
    offset = 4e8
    keys = ep.person * span + (ep.start + offset)
    q = person * span + (t + offset)
    idx = np.searchsorted(keys, q, side="right") - 1
    ok = (idx >= 0) & (ep.person[np.maximum(idx, 0)] == person)
    i = np.maximum(idx, 0)
    end = ep.end[i]
    in_market = ok & (t < end)
    cooling = ok & ~in_market & (t < end + cool_s)
    return in_market, cooling, np.where(ok, ep.strength[i], 0.0)


def engagement(config: WorldConfig, pop, contacts: pd.DataFrame, death: dict[int, np.ndarray], ep: Episodes,
               rng: np.random.Generator) -> Engagement:
    """Sends, opens and clicks for every contact address that reaches a person, in the window."""
    b = config.behaviour
    horizon = config.days * DAY
    person = contacts["person"].to_numpy()
    addr = contacts["addr"].to_numpy().astype(np.int64)
    dies = np.full(len(person), np.inf)
    for a, when in death.items():
        dies = np.where(addr == a, when[person], dies)
    lo = np.clip(contacts["eff"].to_numpy(), 0, horizon)
    hi = np.clip(dies, lo, horizon)
    live = addr <= CHANGED  # import aliases are not the person's mailbox
    sends = np.where(live, rng.poisson(b.email_sends_per_week * (hi - lo) / (7 * DAY)), 0)
    row = np.repeat(np.arange(len(person)), sends)
    p = person[row]
    t = lo[row] + rng.random(len(row)) * (hi - lo)[row]
    in_market, cooling, strength = intent_at(ep, 0.5 * b.episode_days * DAY, p, t)
    lapsed = t >= pop.arrivals.leaves[p]
    affinity = rng.beta(1.2, 2.0, pop.size) / (1.2 / 3.2)  # some people open everything, most rarely
    w_open = affinity[p] * np.where(in_market, 1 + OPEN_IN_MARKET * strength, np.where(cooling, OPEN_COOLING, 1.0)) \
        * np.where(lapsed, OPEN_LAPSED, 1.0)
    w_click = affinity[p] * np.where(in_market, 1 + CLICK_IN_MARKET * strength, np.where(cooling, CLICK_COOLING, 1.0)) \
        * np.where(lapsed, CLICK_LAPSED, 1.0)
    p_open = np.clip(b.email_open_rate * w_open / max(w_open.mean(), 1e-12), 0, 1) if len(row) else w_open
    p_click = np.clip(b.email_click_rate * w_click / max(w_click.mean(), 1e-12), 0, 1) if len(row) else w_click
    opened = rng.random(len(row)) < p_open
    clicked = opened & (rng.random(len(row)) < np.divide(p_click, p_open, out=np.zeros_like(p_click), where=p_open > 0))
    t_open = t + rng.lognormal(np.log(OPEN_DELAY_MEDIAN_S), 1.2, len(row))
    t_click = t_open + rng.exponential(60.0, len(row))
    o = opened & (t_open < horizon)
    c = clicked & (t_click < horizon)
    opens = _frame(p[o], t_open[o], "email", "email_open", np.full(o.sum(), -1)).assign(addr=addr[row][o].astype(np.int8))
    n_web = pop.n_web_devices[p[c]]
    browser = pop.dev_offset[p[c]] + np.minimum((rng.random(c.sum()) * n_web).astype(np.int64), n_web - 1)
    clicks = _frame(p[c], t_click[c], "email", "email_click", np.full(c.sum(), -1)).assign(
        addr=addr[row][c].astype(np.int8), device=browser)
    return Engagement(events=pd.concat([opens, clicks], ignore_index=True), landing_person=p[c], landing_t=t_click[c] + 2.0,
                      landing_device=browser, landing_in_market=in_market[c])
