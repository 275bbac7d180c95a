"""People, accounts and devices — the population before anything happens.

All arrays are indexed by person position ``0..n-1``; ``person_id = position + 1``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.names import Domains, name_pool, slug
from synthetic.presets import PRESETS


@dataclass(frozen=True)
class Population:
    people: pd.DataFrame          # person-level attributes (contract table)
    accounts: pd.DataFrame        # empty for b2c presets
    account_pos: np.ndarray       # per person: account position, -1 for b2c
    has_account: np.ndarray       # per person: has a login (user id); guests only give an email
    second_email: np.ndarray      # per person: second email string or None
    dev_offset: np.ndarray        # per person: index of the first device in the device arrays
    n_web_devices: np.ndarray     # per person: number of browsers
    app_device: np.ndarray        # per person: device index of the app install, -1 if none
    device_person: np.ndarray     # per device: owner position
    device_kind: np.ndarray       # per device: 'web' | 'app'
    device_ids: np.ndarray        # per device: anonymous id string
    shared_partner: np.ndarray    # per person: position of the person whose device they share, -1


def build_population(config: WorldConfig, rng: np.random.Generator) -> Population:
    """Draw people, their accounts (B2B), identifiers and devices, all vectorised."""
    preset = PRESETS[config.preset]
    n = config.people
    pool = name_pool(config.seed)
    first = pool.first[rng.integers(0, len(pool.first), n)]
    last = pool.last[rng.integers(0, len(pool.last), n)]
    person_id = np.arange(1, n + 1, dtype=np.int64)
    accounts, account_pos = _accounts(config, rng, pool) if preset.model == "b2b" else (_empty_accounts(), np.full(n, -1))
    local = slug(first) + "." + slug(last) + person_id.astype(str)
    if preset.model == "b2b":
        domain = accounts["domain"].to_numpy(dtype=object)[account_pos]
    else:
        domain = np.array(Domains.CONSUMER_DOMAINS, dtype=object)[rng.integers(0, len(Domains.CONSUMER_DOMAINS), n)]
    email = local + "@" + domain
    alt_domain = np.array(Domains.CONSUMER_DOMAINS, dtype=object)[rng.integers(0, len(Domains.CONSUMER_DOMAINS), n)]
    has_second = rng.random(n) < config.knobs.second_email_rate
    second_email = np.where(has_second, slug(first) + person_id.astype(str) + ".alt@" + alt_domain, None)
    # Guests check out with an email but no login; B2B prospects are identified by form fills.
    has_account = rng.random(n) < (0.6 if preset.model == "b2c" else 1.0)
    people = pd.DataFrame({
        "person_id": person_id,
        "model": preset.model,
        "account_id": pd.array(np.where(account_pos >= 0, account_pos + 1, 0), dtype="Int64"),
        "email": email,
        "first_name": first,
        "last_name": last,
        "city": pool.cities[rng.integers(0, len(pool.cities), n)],
        "country": np.array(Domains.COUNTRIES, dtype=object)[rng.integers(0, len(Domains.COUNTRIES), n)],
        "has_login": has_account,
    })
    people.loc[account_pos < 0, "account_id"] = pd.NA
    dev = _devices(config, rng, n)
    return Population(people=people, accounts=accounts, account_pos=account_pos, has_account=has_account,
                      second_email=second_email, **dev)


def _empty_accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": pd.Series(dtype="int64"), "name": pd.Series(dtype=object),
                         "industry": pd.Series(dtype=object), "employees": pd.Series(dtype="int64"),
                         "employee_band": pd.Series(dtype=object), "region": pd.Series(dtype=object),
                         "icp_fit": pd.Series(dtype=float), "domain": pd.Series(dtype=object)})


def _accounts(config: WorldConfig, rng: np.random.Generator, pool) -> tuple[pd.DataFrame, np.ndarray]:
    """Accounts with buying committees of 1–10 contacts (mean ``committee_size``)."""
    n = config.people
    mean = config.behaviour.committee_size
    p = min(max((mean - 1) / 9, 0.0), 1.0)
    sizes = 1 + rng.binomial(9, p, size=int(n / mean * 1.5) + 10)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, n)) + 1
    sizes = sizes[:k]
    sizes[-1] -= cum[k - 1] - n
    account_pos = np.repeat(np.arange(k), sizes)
    bands = Domains.EMPLOYEE_BANDS
    band_idx = rng.choice(len(bands), size=k, p=np.array(Domains.BAND_WEIGHTS))
    lo = np.array([b[1] for b in bands])[band_idx]
    hi = np.array([b[2] for b in bands])[band_idx]
    employees = (lo + (hi - lo) * rng.random(k) ** 2).astype(np.int64)
    industry = np.array(Domains.INDUSTRIES, dtype=object)[rng.integers(0, len(Domains.INDUSTRIES), k)]
    region = np.array(Domains.REGIONS, dtype=object)[rng.choice(len(Domains.REGIONS), size=k, p=np.array(Domains.REGION_WEIGHTS))]
    fit_industry = np.isin(industry, ("Software", "Financial Services", "Healthcare"))
    icp_fit = np.clip(0.35 * fit_industry + 0.12 * np.minimum(band_idx, 4) + rng.normal(0, 0.12, k), 0, 1).round(2)
    company = pool.companies[np.arange(k) % len(pool.companies)]
    suffix = np.where(np.arange(k) >= len(pool.companies), " " + (np.arange(k) // len(pool.companies) + 1).astype(str), "")
    name = company + suffix
    domain = slug(name) + ".com"
    accounts = pd.DataFrame({
        "account_id": np.arange(1, k + 1, dtype=np.int64),
        "name": name,
        "industry": industry,
        "employees": employees,
        "employee_band": np.array([b[0] for b in bands], dtype=object)[band_idx],
        "region": region,
        "icp_fit": icp_fit,
        "domain": domain,
    })
    return accounts, account_pos


def _devices(config: WorldConfig, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Browsers and app installs per person, and the shared devices that cause over-merges."""
    k = config.knobs
    n_web = np.minimum(1 + rng.poisson(max(k.devices_per_person - 1, 0), n), 6)
    has_app = rng.random(n) < config.behaviour.app_share
    n_dev = n_web + has_app
    offset = np.concatenate([[0], np.cumsum(n_dev)[:-1]])
    total = int(n_dev.sum())
    device_person = np.repeat(np.arange(n), n_dev)
    local = np.arange(total) - offset[device_person]
    kind = np.where(local >= n_web[device_person], "app", "web").astype(object)
    app_device = np.where(has_app, offset + n_web, -1)
    # Anonymous ids look like the short random ids real SDKs mint; derived from the seed only.
    codes = rng.permutation(total) + 10_000_000
    device_ids = "anon-" + pd.Series(codes).map("{:08x}".format).to_numpy(dtype=object)
    sharer = rng.random(n) < k.shared_device_rate
    partner = np.where(sharer, (np.arange(n) + 1 + rng.integers(0, max(n - 1, 1), n)) % max(n, 1), -1)
    partner[partner == np.arange(n)] = -1
    return {"dev_offset": offset, "n_web_devices": n_web, "app_device": app_device,
            "device_person": device_person, "device_kind": kind, "device_ids": device_ids,
            "shared_partner": partner}
