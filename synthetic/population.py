"""People, accounts, households and devices of one unit — the population before anything happens.

Arrays are indexed by the person's position inside the unit, ``0..m-1``; the global position is
``unit.first + position`` and ``person_id = global position + 1``. Accounts (B2B) and households
(B2C) are runs of consecutive people inside the unit, so the people who share a device with
someone share it with a household member or an office mate, never with a stranger.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic.arrivals import Arrivals, draw_arrivals
from synthetic.config import WorldConfig
from synthetic.names import Domains, name_pool, slug
from synthetic.presets import PRESETS
from synthetic.units import Unit, anonymous_ids

#: Customers of one shop who live together (assumed: no published figure for "other customers of
#: the same retailer in the household"; most shoppers are the only customer of their household,
#: a minority share a home with one or two others — US households average 2.5 people, Census 2023).
HOUSEHOLD_SIZES = (1, 2, 3, 4)
HOUSEHOLD_WEIGHTS = (0.55, 0.30, 0.10, 0.05)


@dataclass(frozen=True)
class Population:
    people: pd.DataFrame          # person-level attributes (contract table, without registration)
    accounts: pd.DataFrame        # the unit's accounts; empty for b2c presets
    account_pos: np.ndarray       # per person: account position inside the unit, -1 for b2c
    has_account: np.ndarray       # per person: has a login (user id); guests only give an email
    emails: np.ndarray            # [primary, second (or None), changed, import alias] × person: e-mail strings
    dev_offset: np.ndarray        # per person: index of the first device in the device arrays
    n_web_devices: np.ndarray     # per person: number of browsers
    app_device: np.ndarray        # per person: device index of the app install, -1 if none
    device_person: np.ndarray     # per device: owner position
    device_kind: np.ndarray       # per device: 'web' | 'app'
    device_ids: np.ndarray        # per device: anonymous id string
    shared_partner: np.ndarray    # per person: household or office mate whose browser they also use, -1
    arrivals: Arrivals            # when each person starts and stops engaging
    group_start: np.ndarray       # per person: first position of their household / account
    group_size: np.ndarray        # per person: size of their household / account

    @property
    def size(self) -> int:
        return len(self.has_account)

    @property
    def second_email(self) -> np.ndarray:
        return self.emails[1]


def build_population(config: WorldConfig, unit: Unit, rng: np.random.Generator) -> Population:
    """Draw the unit's people, accounts (B2B) or households (B2C), identifiers and devices."""
    preset = PRESETS[config.preset]
    m = unit.people
    pool = name_pool(config.seed)
    fi, li = rng.integers(0, len(pool.first), m), rng.integers(0, len(pool.last), m)
    first, last = pool.first[fi], pool.last[li]
    person_id = np.arange(unit.first + 1, unit.first + m + 1, dtype=np.int64)
    pid = person_id.astype(str).astype(object)
    city = pool.cities[rng.integers(0, len(pool.cities), m)]
    country = np.array(Domains.COUNTRIES, dtype=object)[rng.integers(0, len(Domains.COUNTRIES), m)]
    if preset.model == "b2b":
        accounts, account_pos = _accounts(config, unit, rng, pool)
        sizes = unit.committee
        domain = accounts["domain"].to_numpy(dtype=object)[account_pos]
        household = np.full(m, -1)
    else:
        accounts, account_pos = _empty_accounts(), np.full(m, -1)
        sizes = _household_sizes(m, rng)
        household = np.repeat(np.arange(len(sizes)), sizes)
        head = np.repeat(np.cumsum(sizes) - sizes, sizes)
        # a household shares a city and country; half share the head's family name
        city, country = city[head], country[head]
        li = np.where(rng.random(m) < 0.5, li[head], li)
        last = pool.last[li]
        domain = np.array(Domains.CONSUMER_DOMAINS, dtype=object)[rng.integers(0, len(Domains.CONSUMER_DOMAINS), m)]
    group_size = np.repeat(sizes, sizes)
    group_start = np.repeat(np.cumsum(sizes) - sizes, sizes)
    fs, ls = pool.first_slug[fi], pool.last_slug[li]  # slugged once per pool, not per person
    email = fs + "." + ls + pid + "@" + domain
    alt_domain = np.array(Domains.CONSUMER_DOMAINS, dtype=object)[rng.integers(0, len(Domains.CONSUMER_DOMAINS), m)]
    has_second = rng.random(m) < config.knobs.second_email_rate
    second = np.where(has_second, fs + pid + ".alt@" + alt_domain, None)
    # A changed address: a new mailbox at a consumer provider (B2C) or a new alias at work (B2B).
    new_domain = domain if preset.model == "b2b" else np.array(Domains.CONSUMER_DOMAINS, dtype=object)[rng.integers(0, len(Domains.CONSUMER_DOMAINS), m)]
    changed = fs + ls + pid + "@" + new_domain
    # How a list import (event badge scan, purchased list) spells the person: initial + name.
    alias = pool.first_initial[fi] + ls + pid + "@" + domain
    # Guests check out with an email but no login; B2B prospects are identified by form fills.
    has_account = rng.random(m) < (0.6 if preset.model == "b2c" else 1.0)
    arrivals = draw_arrivals(config, m, rng)
    people = pd.DataFrame({
        "person_id": person_id,
        "model": preset.model,
        "account_id": pd.array(np.where(account_pos >= 0, unit.first_account + account_pos + 1, 0), dtype="Int64"),
        "household_id": pd.array(np.where(household >= 0, unit.first + household + 1, 0), dtype="Int64"),
        "email": email,
        "first_name": first,
        "last_name": last,
        "city": city,
        "country": country,
        "has_login": has_account,
    })
    people.loc[account_pos < 0, "account_id"] = pd.NA
    people.loc[household < 0, "household_id"] = pd.NA
    dev = _devices(config, unit, rng, m, group_start, group_size)
    return Population(people=people, accounts=accounts, account_pos=account_pos, has_account=has_account,
                      emails=np.stack([email, second, changed, alias]), arrivals=arrivals,
                      group_start=group_start, group_size=group_size, **dev)


def _household_sizes(m: int, rng: np.random.Generator) -> np.ndarray:
    sizes = rng.choice(np.array(HOUSEHOLD_SIZES), size=m, p=np.array(HOUSEHOLD_WEIGHTS))
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, m)) + 1
    sizes = sizes[:k].copy()
    sizes[-1] -= cum[k - 1] - m
    return sizes


def _empty_accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": pd.Series(dtype="int64"), "name": pd.Series(dtype=object),
                         "industry": pd.Series(dtype=object), "employees": pd.Series(dtype="int64"),
                         "employee_band": pd.Series(dtype=object), "region": pd.Series(dtype=object),
                         "icp_fit": pd.Series(dtype=float), "domain": pd.Series(dtype=object)})


def company_names(pool, positions: np.ndarray) -> np.ndarray:
    """Unique company names for global account positions: the Faker pool, then numbered rounds."""
    positions = np.asarray(positions, dtype=np.int64)
    n_pool = len(pool.companies)
    base = pool.companies[positions % n_pool]
    suffix = np.where(positions >= n_pool, " " + (positions // n_pool + 1).astype(str).astype(object), "")
    return (base + suffix).astype(object)


def firmographics(rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    """Industry, size band, employees, region and ICP fit of ``k`` companies."""
    bands = Domains.EMPLOYEE_BANDS
    band_idx = rng.choice(len(bands), size=k, p=np.array(Domains.BAND_WEIGHTS))
    lo = np.array([b[1] for b in bands])[band_idx]
    hi = np.array([b[2] for b in bands])[band_idx]
    employees = (lo + (hi - lo) * rng.random(k) ** 2).astype(np.int64)
    industry = np.array(Domains.INDUSTRIES, dtype=object)[rng.integers(0, len(Domains.INDUSTRIES), k)]
    region = np.array(Domains.REGIONS, dtype=object)[rng.choice(len(Domains.REGIONS), size=k, p=np.array(Domains.REGION_WEIGHTS))]
    fit_industry = np.isin(industry, ("Software", "Financial Services", "Healthcare"))
    icp_fit = np.clip(0.35 * fit_industry + 0.12 * np.minimum(band_idx, 4) + rng.normal(0, 0.12, k), 0, 1).round(2)
    return {"industry": industry, "employees": employees, "employee_band": np.array([b[0] for b in bands], dtype=object)[band_idx],
            "region": region, "icp_fit": icp_fit}


def _accounts(config: WorldConfig, unit: Unit, rng: np.random.Generator, pool) -> tuple[pd.DataFrame, np.ndarray]:
    """The unit's accounts with their buying committees (sizes planned in :func:`plan_units`)."""
    k = len(unit.committee)
    account_pos = np.repeat(np.arange(k), unit.committee)
    firm = firmographics(rng, k)
    name = company_names(pool, unit.first_account + np.arange(k))
    accounts = pd.DataFrame({
        "account_id": unit.first_account + np.arange(1, k + 1, dtype=np.int64),
        "name": name,
        "industry": firm["industry"],
        "employees": firm["employees"],
        "employee_band": firm["employee_band"],
        "region": firm["region"],
        "icp_fit": firm["icp_fit"],
        "domain": slug(name) + ".com",
    })
    return accounts, account_pos


def _devices(config: WorldConfig, unit: Unit, rng: np.random.Generator, m: int,
             group_start: np.ndarray, group_size: np.ndarray) -> dict[str, np.ndarray]:
    """Browsers and app installs per person, and the shared devices that cause over-merges.

    A person who shares a device uses the first browser of a household member (B2C) or an office
    mate at the same account (B2B). Only people with a housemate or colleague can share, so their
    chance is scaled up to keep ``shared_device_rate`` the share of all people who share.
    """
    k = config.knobs
    n_web = np.minimum(1 + rng.poisson(max(k.devices_per_person - 1, 0), m), 6)
    has_app = rng.random(m) < config.behaviour.app_share
    n_dev = n_web + has_app
    offset = np.concatenate([[0], np.cumsum(n_dev)[:-1]]).astype(np.int64)
    total = int(n_dev.sum())
    device_person = np.repeat(np.arange(m), n_dev)
    local = np.arange(total) - offset[device_person]
    kind = np.where(local >= n_web[device_person], "app", "web").astype(object)
    app_device = np.where(has_app, offset + n_web, -1)
    device_ids = anonymous_ids(config.seed, unit.index, total)
    can_share = group_size > 1
    p_share = min(k.shared_device_rate / max(can_share.mean(), 1e-9), 1.0) if can_share.any() else 0.0
    sharer = can_share & (rng.random(m) < p_share)
    own = np.arange(m) - group_start
    mate = group_start + (own + 1 + rng.integers(0, np.maximum(group_size - 1, 1))) % group_size
    partner = np.where(sharer, mate, -1)
    return {"dev_offset": offset, "n_web_devices": n_web, "app_device": app_device,
            "device_person": device_person, "device_kind": kind, "device_ids": device_ids,
            "shared_partner": partner}
