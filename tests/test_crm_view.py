"""The CRM view's behaviour: what a marketing CRM's tracking attaches to known contacts, and when.

Hand-built worlds make every rule observable: one contact, one browser, events before and after
the browser is identified by a form fill or a tracked e-mail click.
"""
from __future__ import annotations

import pandas as pd
import pytest

from core.engine.views import CRM_EVENT_TYPES, Engine, crm_events, latent_fields

T0 = pd.Timestamp("2026-09-01T00:00:00Z")


def h(x: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=x)


def events(rows: list[dict]) -> pd.DataFrame:
    base = {"event_id": 0, "person_id": 1, "channel": "web", "page": None, "value": None, "anonymous_id": None,
            "user_id": None, "email": None, "session_id": None}
    df = pd.DataFrame([{**base, **r} for r in rows])
    for col in ("ts", "received_at"):
        df[col] = pd.to_datetime(df[col], utc=True)
    if "crm_received_at" in df:
        df["crm_received_at"] = pd.to_datetime(df["crm_received_at"], utc=True)
    return df


def contact(email: str, at: pd.Timestamp, contact_id: int = 1, person_id: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"contact_id": [contact_id], "person_id": [person_id], "field": ["email"], "value": [email],
                         "effective_at": [at], "recorded_at": [at], "source": ["form"]})


def test_a_browser_joins_its_contact_at_identification_with_its_history():
    ev = events([
        {"ts": h(1), "received_at": h(1), "event_type": "page_view", "page": "pricing", "anonymous_id": "a1"},
        {"ts": h(5), "received_at": h(5), "event_type": "form_submit", "anonymous_id": "a1", "email": "x@y.z"},
        {"ts": h(9), "received_at": h(9), "event_type": "page_view", "page": "pricing", "anonymous_id": "a1"},
        {"ts": h(2), "received_at": h(2), "event_type": "page_view", "page": "home", "anonymous_id": "other"},
    ])
    out = crm_events(ev, contact("x@y.z", h(5.1)))
    assert list(out["subject_id"]) == [1, 1, 1]  # the unidentified browser never reaches the CRM
    visible = dict(zip(out["ts"], out["visible_at"]))
    assert visible[h(1)] == h(5.1)  # earlier visits become visible when the browser is identified
    assert visible[h(9)] == h(9)


def test_only_what_the_crm_tracked_is_attached():
    ev = events([
        {"ts": h(1), "received_at": h(1), "crm_received_at": h(1.1), "event_type": "email_click", "channel": "email",
         "anonymous_id": "a1", "email": "x@y.z"},
        {"ts": h(2), "received_at": h(2), "crm_received_at": None, "event_type": "page_view", "anonymous_id": "a1"},
        {"ts": h(3), "received_at": h(3), "crm_received_at": h(3.2), "event_type": "page_view", "anonymous_id": "a1"},
        {"ts": h(4), "received_at": h(4), "crm_received_at": h(4), "event_type": "add_to_cart", "anonymous_id": "a1"},
    ])
    out = crm_events(ev, contact("x@y.z", h(0)))
    assert list(out["event_type"]) == ["email_click", "page_view"]
    assert list(out["visible_at"]) == [h(1.1), h(3.2)]
    assert set(out["event_type"]) <= CRM_EVENT_TYPES


def test_first_identification_of_a_shared_browser_wins():
    ev = events([
        {"ts": h(1), "received_at": h(1), "event_type": "form_submit", "anonymous_id": "tablet", "email": "a@x.z"},
        {"ts": h(2), "received_at": h(2), "event_type": "form_submit", "anonymous_id": "tablet", "email": "b@x.z", "person_id": 2},
        {"ts": h(3), "received_at": h(3), "event_type": "page_view", "anonymous_id": "tablet", "person_id": 2},
    ])
    crm = pd.concat([contact("a@x.z", h(0), 1, 1), contact("b@x.z", h(0), 2, 2)])
    out = crm_events(ev, crm)
    # the second person's form goes to their own contact (it carries their e-mail); the anonymous
    # page view goes to the contact that first identified the browser — the CRM's over-merge
    assert list(out["subject_id"]) == [1, 2, 1]


def test_crm_rules_can_use_tracked_behaviour_of_known_contacts(make_world):
    w = make_world("b2b-saas")
    engine = Engine(w)
    rule = {"name": "pricing viewers", "all": [{"event": "page_view", "where": {"page": "pricing"}, "within": "7d"}]}
    crm = engine.members(rule, "crm", w.start + pd.Timedelta(days=40))
    truth = engine.members(rule, "truth", w.start + pd.Timedelta(days=40))
    assert 0 < len(crm) < len(truth)  # some known contacts, never more people than truly did it


def test_latent_state_is_a_truth_field_the_systems_cannot_use(make_world):
    w = make_world("b2c-retail")
    engine = Engine(w)
    t = w.start + pd.Timedelta(days=30)
    rule = {"name": "in market", "all": [{"field": "intent", "op": "eq", "value": "in_market"}]}
    members = set(engine.members(rule, "truth", t)["person_id"])
    it = w.intent
    live = it[(it["start"] <= t) & (it["end"] > t)]
    bought = set(live.loc[live["state"] == "bought", "person_id"])
    expected = set(live.loc[live["state"] == "in_market", "person_id"]) - bought
    assert members == expected and members
    for view in ("crm", "cdp"):
        with pytest.raises(Exception, match="unknown field 'intent'"):
            engine.members(rule, view, t)


def test_latent_fields_collapse_overlapping_states():
    it = pd.DataFrame({"person_id": [1, 1, 1], "start": [h(0), h(10), h(5)], "end": [h(10), h(15), h(6)],
                       "strength": [0.8, 0.24, 0.0], "state": ["in_market", "cooling", "bought"]})
    f = latent_fields(it)
    states = f[f["field"] == "intent"]
    assert list(states["value"]) == ["in_market", "bought", "in_market", "cooling", "none"]
    assert list(states["valid_from"]) == [h(0), h(5), h(6), h(10), h(15)]
