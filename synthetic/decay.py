"""Contact data decay: the true values change, the CRM does not hear about it (or hears late).

Two things happen to real people that a CRM record does not follow by itself:

- **An e-mail address changes** (a new mailbox, a new alias, an abandoned free account). Records go
  stale at the monthly hazard ``crm_decay_monthly`` — by default 2.1 % a month, about 22.5 % a
  year, the database-decay figure HubSpot publishes from MarketingSherpa research
  (vendor-published, based on a marketing-research firm's survey; widely repeated, not a
  peer-reviewed study). In B2C all of it is address changes; in B2B most of it is job changes
  (below), and only the remainder changes an address at the same employer. The truth
  (``traits``) gets the new address at the change; the person types the new address from then on,
  so the CRM — which matches contacts on e-mail only — creates a *second contact* the next time
  they fill a form or check out, while the old contact keeps the dead address and is marked
  ``email_status = bounced`` only after the next marketing send bounces.
- **A B2B contact changes employer** at the yearly hazard ``job_change_yearly`` (default 20 %:
  between the ~16 % a year implied by the US median job tenure of 3.9 years, BLS "Employee Tenure
  in 2024", and the 27–33 % that data vendors quote from LinkedIn data). They leave the account's
  buying committee (they stop engaging with it); the truth gets the new company, industry, size,
  region and work address at once; the CRM keeps the old ones until the next enrichment refresh
  (``crm_enrichment_days``, default 90 days — assumed: quarterly refreshes are common practice,
  no published distribution), and the old work address bounces at the next send.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.config import MONTH_DAYS, WorldConfig
from synthetic.identification import CHANGED, PRIMARY
from synthetic.journeys import DAY
from synthetic.names import slug
from synthetic.population import Population, company_names, firmographics
from synthetic.presets import PRESETS

FIRM_FIELDS = (("industry", "industry"), ("employees", "employees"), ("employee_band", "company_size"), ("region", "region"))


def email_change_times(config: WorldConfig, pop: Population, reg_before: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """When each person's e-mail address changes (seconds from start; +inf = not before the end).

    The clock starts when the CRM last had a correct address: the pre-window registration for
    people already known, else the later of arrival and the window start (a change before a
    person is known only means they register with the newer address)."""
    horizon = config.days * DAY
    per_day = address_change_per_day(config)
    if per_day <= 0:
        return np.full(pop.size, np.inf)
    anchor = np.where(np.isnan(reg_before), np.maximum(pop.arrivals.arrived, 0.0), reg_before)
    z = anchor + rng.exponential(1.0 / per_day, pop.size) * DAY
    return np.where(z < horizon, z, np.inf)


def address_change_per_day(config: WorldConfig) -> float:
    """Hazard of an e-mail address change. ``crm_decay_monthly`` is the share of records going stale
    per month; in B2B most of that is people changing jobs (``job_change_yearly``), so only the
    rest are address changes at the same employer (none if job changes alone exceed it)."""
    b = config.behaviour
    total = -np.log1p(-b.crm_decay_monthly) / MONTH_DAYS
    if PRESETS[config.preset].model == "b2b":
        total -= -np.log1p(-b.job_change_yearly) / 365.25
    return max(float(total), 0.0)


def job_changes(config: WorldConfig, pop: Population) -> np.ndarray:
    """When each B2B contact changes employer (their leaving time), +inf for everyone else."""
    a = pop.arrivals
    horizon = config.days * DAY
    return np.where(a.job_change & (a.leaves < horizon), a.leaves, np.inf)


def address_death(changed_at: np.ndarray, job_at: np.ndarray) -> dict[int, np.ndarray]:
    """When each of a person's addresses stops delivering: the primary at an address change or a
    job change, a changed (work) address at a job change; a second (personal) address never."""
    return {PRIMARY: np.fmin(changed_at, job_at), CHANGED: job_at}


def truth_and_crm_facts(config: WorldConfig, pop: Population, reg: np.ndarray, changed_at: np.ndarray,
                        job_at: np.ndarray, rng: np.random.Generator) -> list[pd.DataFrame]:
    """Fact rows for decay: the true new values (truth only), the CRM's late enrichment of job
    changes, and the bounces the CRM records on dead addresses (CRM only).

    Rows have the columns of :func:`synthetic.crm.change_rows`."""
    from synthetic.crm import change_rows

    b = config.behaviour
    known = ~np.isnan(reg)
    out: list[pd.DataFrame] = []
    moved = np.flatnonzero(known & np.isfinite(changed_at) & (changed_at > np.nan_to_num(reg, nan=np.inf)))
    out.append(change_rows(moved, "email", pop.emails[CHANGED][moved], changed_at[moved], "form", crm=False))
    send_gap = 7 * DAY / b.email_sends_per_week if b.email_sends_per_week > 0 else np.inf
    bounce_t = changed_at[moved] + rng.exponential(1.0, len(moved)) * send_gap
    out.append(change_rows(moved, "email_status", "bounced", changed_at[moved], "bounce", addr=PRIMARY, truth=False,
                           rec=bounce_t))
    if PRESETS[config.preset].model != "b2b":
        return out
    left = np.flatnonzero(known & np.isfinite(job_at))
    if len(left) == 0:
        return out
    from synthetic.names import name_pool

    pool = name_pool(config.seed)
    firm = firmographics(rng, len(left))
    # the new employer is a company outside this world's account list
    company = company_names(pool, rng.integers(0, len(pool.companies), len(left))) + " Group"
    t = job_at[left]
    for col, field in FIRM_FIELDS:
        out.append(change_rows(left, field, firm[col].astype(str).astype(object), t, "refresh"))
    out.append(change_rows(left, "company", company, t, "refresh"))
    first = pop.people["first_name"].to_numpy(dtype=object)[left]
    last = pop.people["last_name"].to_numpy(dtype=object)[left]
    pid = pop.people["person_id"].to_numpy()[left].astype(str).astype(object)
    new_email = slug(first) + "." + slug(last) + pid + "@" + slug(company) + ".com"
    out.append(change_rows(left, "email", new_email, t, "form", crm=False))
    bounce = t + rng.exponential(1.0, len(left)) * send_gap
    for addr in (PRIMARY, CHANGED):
        out.append(change_rows(left, "email_status", "bounced", t, "bounce", addr=addr, truth=False, rec=bounce))
    return out
