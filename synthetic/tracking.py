"""Which identifiers each event was observed with, and whether and when the CDP received it.

Realism: tracking is lost per *browser* (an ad blocker or a refused consent banner hides a
device's whole history), while server-side feeds (email, POS, CRM connector) lose single
events. Identifiers follow how sites work: an anonymous id per browser, a user id only in
logged-in sessions of people who have a login, an email on forms, checkouts and email events.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.population import Population

#: Event types on which a person types or confirms their email address.
EMAIL_EVENTS = ("checkout_started", "purchase", "form_submit", "demo_requested", "signup", "webinar_attended")


def observe(config: WorldConfig, pop: Population, ev: pd.DataFrame, reg: np.ndarray,
            session_logged: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Add anonymous_id, user_id, email (codes into identifier arrays) and received delay."""
    k = config.knobs
    n = len(ev)
    person = ev["person"].to_numpy()
    ident = ev["ident"]
    etype = ev["event_type"]
    session = ev["session"].to_numpy()
    device = ev["device"].to_numpy()
    in_session = (ident == "session").to_numpy()
    logged = np.zeros(n, dtype=bool)
    logged[in_session] = session_logged[session[in_session]]
    product = (ident == "product").to_numpy()
    store_loyal = (ident == "store").to_numpy() & ev["loyalty"].to_numpy(dtype=bool)
    has_login = pop.has_account[person]
    email_event = etype.isin(EMAIL_EVENTS).to_numpy()
    user = has_login & (logged | product | store_loyal | (in_session & email_event))
    gives_email = (email_event & (ident != "store").to_numpy()) | ident.isin(("email", "sales")).to_numpy()
    second = pop.second_email[person] != None  # noqa: E711
    use_second = second & etype.isin(("form_submit", "webinar_attended", "checkout_started")).to_numpy() & (rng.random(n) < 0.5)
    # int32 codes: a 1M-person world has ~50M events, and every 8-byte column costs 400 MB per copy.
    ev["anon_code"] = np.where(device >= 0, device, -1).astype(np.int32)
    ev["user_code"] = np.where(user, person, -1).astype(np.int32)
    ev["email_code"] = np.where(gives_email, np.where(use_second, person + config.people, person), -1).astype(np.int32)
    ev["delay"] = _received_delay(config, pop, ev, rng)
    return ev


def _received_delay(config: WorldConfig, pop: Population, ev: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Seconds from event to CDP arrival, NaN when tracking never delivers it."""
    k = config.knobs
    n = len(ev)
    total_devices = len(pop.device_ids)
    tracked_device = np.where(pop.device_kind == "app", rng.random(total_devices) < k.coverage_app,
                              rng.random(total_devices) < k.coverage_web)
    channel = ev["channel"]
    device = ev["device"].to_numpy()
    is_ = lambda col, value: (col == value).to_numpy()  # noqa: E731
    per_event = np.select(
        [is_(channel, "email"), is_(channel, "ads"), is_(channel, "store"), is_(channel, "sales"), is_(channel, "webinar"), is_(ev["ident"], "product")],
        [k.coverage_email, k.coverage_ads, k.coverage_store, k.coverage_sales, k.coverage_email, k.coverage_app],
        0.98)  # client-side events of a tracked browser still drop ~2% (network, tab closed)
    ok = rng.random(n) < per_event
    client = (device >= 0) & ~is_(channel, "ads")
    ok &= ~client | tracked_device[np.maximum(device, 0)]
    latency = rng.lognormal(np.log(max(k.cdp_latency_minutes, 1e-3) * 60), 1.0, n) + 1.0
    return np.where(ok, latency, np.nan)


def identifier_strings(config: WorldConfig, pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """User ids and emails indexed by code (person position; emails: +n for second emails)."""
    n = config.people
    user_ids = "usr_" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(7).to_numpy(dtype=object)
    emails = np.concatenate([pop.people["email"].to_numpy(dtype=object), pop.second_email])
    return user_ids, emails


def as_categorical(codes: np.ndarray, strings: np.ndarray) -> pd.Categorical:
    """Identifier column as a categorical over the identifiers actually used (compact, fast)."""
    used = np.unique(codes[codes >= 0])
    remap = np.full(len(strings), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    new_codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return pd.Categorical.from_codes(new_codes, categories=pd.Index(strings[used].astype(str), dtype=object))


def identifiers_table(config: WorldConfig, pop: Population, ev: pd.DataFrame,
                      id_strings: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    """Every identifier observed, its true owner(s), and whether it is a shared device."""
    user_ids, emails = id_strings
    frames = []
    for kind, col, strings in (("anonymous_id", "anon_code", pop.device_ids), ("user_id", "user_code", user_ids), ("email", "email_code", emails)):
        pairs = ev.loc[ev[col] >= 0, [col, "person"]].drop_duplicates()
        frames.append(pd.DataFrame({"identifier_type": kind, "identifier": strings[pairs[col].to_numpy()].astype(str),
                                    "person_id": pairs["person"].to_numpy(dtype=np.int64) + 1}))
    out = pd.concat(frames, ignore_index=True)
    owners = out.groupby(["identifier_type", "identifier"])["person_id"].transform("nunique")
    out["shared"] = owners.to_numpy() > 1
    return out.sort_values(["identifier_type", "identifier", "person_id"], ignore_index=True)
