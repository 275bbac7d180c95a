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
from synthetic.identification import EMAIL_EVENTS, Logins
from synthetic.population import Population
from synthetic.units import padded_ids

#: What a marketing CRM's own tracking records of behaviour: page views and form fills in browsers
#: where its script runs, and the opens and clicks of the e-mails it sends. Not app events, store
#: visits, ad clicks, carts or product usage (HubSpot tracking code: page views and form
#: submissions, developers.hubspot.com/docs/reference/api/analytics-and-events/tracking-code;
#: "an adblocker ... prevents HubSpot from tracking page views", knowledge.hubspot.com, sessions).
CRM_WEB_EVENTS = ("page_view", "form_submit", "demo_requested", "signup")
CRM_EMAIL_EVENTS = ("email_open", "email_click")
#: Client-side events of a tracked browser that still never arrive (network, tab closed).
CLIENT_DROP = 0.02


def observe(config: WorldConfig, pop: Population, ev: pd.DataFrame, logins: Logins, login_from: np.ndarray,
            first_addr: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Add anonymous_id, user_id, email (codes into identifier arrays), the e-mail the CRM's
    identify call passed on logged-in pages, and the CDP's and the CRM's delays."""
    n = len(ev)
    m = pop.size
    person = ev["person"].to_numpy()
    ident = ev["ident"]
    etype = ev["event_type"]
    session = ev["session"].to_numpy()
    device = ev["device"].to_numpy()
    in_session = (ident == "session").to_numpy()
    cdp_login = np.zeros(n, dtype=bool)
    cdp_login[in_session] = logins.cdp[session[in_session]]
    crm_login = np.zeros(n, dtype=bool)
    crm_login[in_session] = logins.crm[session[in_session]]
    product = (ident == "product").to_numpy()
    store_loyal = (ident == "store").to_numpy() & ev["loyalty"].to_numpy(dtype=bool)
    # a user id exists once the person has a product login (shop account, trial, won deal)
    has_login = pop.has_account[person] & (ev["t"].to_numpy() >= np.nan_to_num(login_from[person], nan=np.inf))
    email_event = etype.isin(EMAIL_EVENTS).to_numpy()
    user = pop.has_account[person] & (cdp_login | product | store_loyal | (in_session & email_event & has_login))
    gives_email = (email_event & (ident != "store").to_numpy()) | ident.isin(("email", "sales", "click")).to_numpy()
    addr = ev["addr"].to_numpy().astype(np.int64)
    addr = np.where(addr < 0, first_addr[person], addr)
    # int32 codes: a 1M-person world has ~50M events, and every 8-byte column costs 400 MB per copy.
    ev["anon_code"] = np.where(device >= 0, device, -1).astype(np.int32)
    ev["user_code"] = np.where(user, person, -1).astype(np.int32)
    ev["email_code"] = np.where(gives_email & (addr >= 0), person + np.maximum(addr, 0) * m, -1).astype(np.int32)
    # the login's e-mail (the account's first address) on pages the CRM's identify call ran on
    ev["crm_identify_code"] = np.where(crm_login & (device >= 0), person + first_addr[person] * m, -1).astype(np.int32)
    cdp, crm = _received_delays(config, pop, ev, rng)
    ev["delay"] = cdp
    ev["crm_delay"] = crm
    return ev


def _received_delays(config: WorldConfig, pop: Population, ev: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from event to arrival in the CDP and in the CRM; NaN when that system never gets it.

    Browser-level loss is ONE draw per browser for both trackers: the CDP's tag runs where the
    draw is below ``coverage_web``, the CRM's tracking script where it is below
    ``crm_coverage_web`` — an ad blocker or a refused consent banner blocks both first-party
    trackers, and a higher share for one means it is also deployed where the other is not."""
    k = config.knobs
    n = len(ev)
    total_devices = len(pop.device_ids)
    u_device = rng.random(total_devices)
    app = pop.device_kind == "app"
    tracked_cdp = np.where(app, u_device < k.coverage_app, u_device < k.coverage_web)
    tracked_crm = ~app & (u_device < k.crm_coverage_web)
    channel = ev["channel"]
    etype = ev["event_type"]
    device = ev["device"].to_numpy()
    is_ = lambda col, value: (col == value).to_numpy()  # noqa: E731
    per_event = np.select(
        [is_(channel, "email"), is_(channel, "ads"), is_(channel, "store"), is_(channel, "sales"), is_(channel, "webinar"), is_(ev["ident"], "product")],
        [k.coverage_email, k.coverage_ads, k.coverage_store, k.coverage_sales, k.coverage_email, k.coverage_app],
        1 - CLIENT_DROP)
    u_event = rng.random(n)
    ok = u_event < per_event
    client = (device >= 0) & ~is_(channel, "ads") & ~is_(channel, "email")
    dev = np.maximum(device, 0)
    ok &= ~client | tracked_cdp[dev]
    latency = rng.lognormal(np.log(max(k.cdp_latency_minutes, 1e-3) * 60), 1.0, n) + 1.0
    web_seen = is_(channel, "web") & etype.isin(CRM_WEB_EVENTS).to_numpy() & (device >= 0) & tracked_crm[dev] \
        & (u_event < 1 - CLIENT_DROP)
    crm_seen = web_seen | etype.isin(CRM_EMAIL_EVENTS).to_numpy()
    crm_latency = rng.lognormal(np.log(max(k.crm_tracking_latency_minutes, 1e-3) * 60), 1.0, n) + 1.0
    return np.where(ok, latency, np.nan), np.where(crm_seen, crm_latency, np.nan)


def identifier_strings(config: WorldConfig, pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """User ids and e-mails indexed by code: user ids by person position; e-mails by
    ``address slot × people + position`` (slots: primary, second, changed, import alias)."""
    user_ids = padded_ids("usr_", pop.people["person_id"].to_numpy(), 7)
    return user_ids, pop.emails.reshape(-1)


def as_categorical(codes: np.ndarray, strings: np.ndarray) -> pd.Categorical:
    """Identifier column as a categorical over the identifiers actually used (compact, fast)."""
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(strings)))  # sorted, no sort needed
    remap = np.full(len(strings), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    new_codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return pd.Categorical.from_codes(new_codes, categories=pd.Index(strings[used].astype(str), dtype=object))


def identifiers_table(config: WorldConfig, pop: Population, ev: pd.DataFrame,
                      id_strings: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    """Every identifier observed, its true owner(s), and whether it is a shared device.

    Sorted by type, identifier and person; built on integer codes (unique code×person pairs),
    so strings are only touched once per identifier."""
    user_ids, emails = id_strings
    person_ids = pop.people["person_id"].to_numpy(dtype=np.int64)
    m = pop.size
    person = ev["person"].to_numpy().astype(np.int64)
    frames = []
    for kind, col, strings in (("anonymous_id", "anon_code", pop.device_ids), ("user_id", "user_code", user_ids), ("email", "email_code", emails)):
        codes = ev[col].to_numpy()
        seen = codes >= 0
        pairs = np.unique(codes[seen].astype(np.int64) * m + person[seen])
        code, who = pairs // m, pairs % m
        _, first, owners = np.unique(code, return_index=True, return_counts=True)
        shared = np.repeat(owners > 1, owners)
        text = strings[code].astype(str).astype(object)
        order = np.argsort(text, kind="stable")  # pairs are in (code, person) order: person order survives
        frames.append(pd.DataFrame({"identifier_type": kind, "identifier": text[order],
                                    "person_id": person_ids[who[order]], "shared": shared[order]}))
    return pd.concat(frames, ignore_index=True)
