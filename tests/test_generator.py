"""The world generator: determinism, table contracts, invariants and knobs that do what they say.

Worlds are small (3000 people, 60 days; see tests/conftest.py) and cached for the session.
Distribution checks against published benchmarks live in tests/test_realism.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthetic import generate, preset_config
from synthetic.io import read_world, write_world
from synthetic.presets import PRESETS

B2C = sorted(n for n, p in PRESETS.items() if p.model == "b2c")
B2B = sorted(n for n, p in PRESETS.items() if p.model == "b2b")
UTC = "datetime64[ns, UTC]"
#: CRM noise off, so the recorded lifecycle is the true one (only lags remain): no wrong or missing
#: values, no import duplicates, and nobody changes address or employer during the window.
CLEAN_CRM = dict(crm_error_rate=0, crm_missing_rate=0, custom_field_sprawl=0, duplicate_rate=0,
                 crm_decay_monthly=0, job_change_yearly=0)
STAGE_RANK = {"lead": 0, "mql": 1, "sql": 2, "opportunity": 3, "customer": 4}

REQUIRED_EVENT_TYPES = {
    "b2c-retail": {"page_view", "add_to_cart", "checkout_started", "purchase", "email_open", "email_click", "ad_click"},
    "omnichannel": {"page_view", "add_to_cart", "checkout_started", "purchase", "email_open", "email_click", "ad_click",
                    "store_visit"},
    "b2b-saas": {"page_view", "form_submit", "demo_requested", "webinar_attended", "sales_meeting", "email_open",
                 "email_click", "ad_click"},
    "plg-saas": {"page_view", "signup", "trial_started", "feature_used", "login", "email_open", "purchase"},
}


def tiny(preset: str, seed: int = 7, **overrides):
    return generate(preset_config(preset, seed=seed, people=400, days=14, overrides=overrides))


def has_columns(frame: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    assert not missing, f"missing columns {missing}; have {list(frame.columns)}"


# --- determinism ---------------------------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_same_config_and_seed_give_byte_identical_files(preset, tmp_path):
    a = write_world(tiny(preset), tmp_path / "a")
    b = write_world(tiny(preset), tmp_path / "b")  # a second, independent generation
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    assert {f"{t}/part-00000.parquet" for t in ("people", "accounts", "events", "identifiers", "crm_changes", "intent", "traits")} <= set(files)
    differing = [f for f in files if (a / f).read_bytes() != (b / f).read_bytes()]
    assert not differing, f"files differ between two runs with the same seed: {differing}"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_different_seed_gives_a_different_world(preset, tmp_path):
    a, b = tiny(preset, seed=1), tiny(preset, seed=2)
    assert not a.events.equals(b.events)
    assert not a.people.equals(b.people)
    pa_, pb_ = write_world(a, tmp_path / "a"), write_world(b, tmp_path / "b")
    assert _part(pa_).read_bytes() != _part(pb_).read_bytes()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_round_trip_preserves_every_table(preset, tmp_path):
    world = tiny(preset)
    back = read_world(write_world(world, tmp_path / "w"))
    assert back.config == world.config
    for name, frame in world.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], frame, check_categorical=False, obj=name)
        for col in frame.columns:  # nulls must come back as the same kind of null (None vs NaN)
            if frame[col].dtype == object:
                assert frame[col].map(type).equals(back.tables()[name][col].map(type)), f"{name}.{col} null kinds differ"


# --- table contracts -----------------------------------------------------------------------

def test_people_contract(small_world):
    people, model = small_world.people, PRESETS[small_world.config.preset].model
    has_columns(people, ["person_id", "model", "account_id", "email", "first_name", "last_name", "user_id", "registered_at"])
    assert len(people) == small_world.config.people
    assert people["person_id"].dtype == np.int64 and people["person_id"].is_unique
    assert (people["model"] == model).all()
    assert str(people["account_id"].dtype) == "Int64"
    if model == "b2c":
        assert people["account_id"].isna().all()
    else:
        assert people["account_id"].notna().all()
        assert set(people["account_id"].astype("int64")) <= set(small_world.accounts["account_id"])
    assert people["email"].notna().all() and people["email"].is_unique
    assert people["email"].str.match(r"^[^@\s]+@[^@\s]+\.[a-z]+$").all()
    assert people["first_name"].str.len().gt(0).all() and people["last_name"].str.len().gt(0).all()
    uid = people["user_id"].dropna()
    assert uid.map(type).eq(str).all() and uid.is_unique
    assert str(people["registered_at"].dtype) == UTC
    assert people.loc[people["user_id"].notna(), "registered_at"].notna().all(), "a user id before registration"
    has_columns(people, ["arrived_at", "left_at", "left_reason", "household_id"])
    assert str(people["arrived_at"].dtype) == UTC and people["arrived_at"].notna().all()
    assert (people["arrived_at"] < small_world.end).all()
    known = people["registered_at"].notna()
    assert (people.loc[known, "registered_at"] >= people.loc[known, "arrived_at"]).all(), "known before arriving"
    left = people["left_at"].notna()
    assert (people.loc[left, "left_at"] < small_world.end).all() and people.loc[left, "left_reason"].notna().all()
    assert set(people["left_reason"].dropna()) <= ({"lapsed", "job_change"} if model == "b2b" else {"lapsed"})
    assert str(people["household_id"].dtype) == "Int64"
    assert people["household_id"].notna().all() if model == "b2c" else people["household_id"].isna().all()


def test_accounts_contract(small_world):
    accounts, model = small_world.accounts, PRESETS[small_world.config.preset].model
    has_columns(accounts, ["account_id", "name", "industry", "employees", "region"])
    if model == "b2c":
        assert accounts.empty
        return
    assert len(accounts) > 0 and accounts["account_id"].is_unique
    assert accounts["name"].notna().all() and accounts["name"].is_unique
    assert accounts["industry"].notna().all() and accounts["industry"].nunique() > 1
    assert (accounts["employees"] >= 1).all()
    assert accounts["region"].isin(["North America", "EMEA", "APAC", "LATAM"]).all()
    assert accounts["icp_fit"].between(0, 1).all()
    # every account has at least one person (no empty companies)
    assert set(accounts["account_id"]) == set(small_world.people["account_id"].astype("int64"))


def test_events_contract(small_world):
    ev = small_world.events
    has_columns(ev, ["event_id", "person_id", "ts", "channel", "event_type", "page", "value", "anonymous_id",
                     "user_id", "email", "received_at", "session_id"])
    assert ev["event_id"].dtype == np.int64 and ev["event_id"].is_unique
    assert str(ev["ts"].dtype) == UTC and str(ev["received_at"].dtype) == UTC
    assert ev["ts"].notna().all() and (ev["ts"] < small_world.end).all()
    assert ev["person_id"].isin(small_world.people["person_id"]).all()
    assert ev["channel"].notna().all() and ev["event_type"].notna().all()
    pv = ev["event_type"] == "page_view"
    assert ev.loc[pv, "page"].notna().all(), "page_view without a page"
    paged = ev[~pv & ev["page"].notna()]
    allowed = {"checkout_started": "checkout", "signup": "signup"}
    assert paged["event_type"].isin(list(allowed)).all(), f"page set on {set(paged['event_type'])}"
    assert (paged["page"] == paged["event_type"].map(allowed)).all()
    buy = ev["event_type"] == "purchase"
    assert ev.loc[ev["value"].notna(), "event_type"].eq("purchase").all(), "value on a non-purchase event"
    assert (ev.loc[buy, "value"] > 0).all() and ev.loc[buy, "value"].notna().all()
    for col in ("anonymous_id", "user_id", "email"):
        assert ev[col].dropna().map(type).eq(str).all()
    assert ev["email"].dropna().str.contains("@").all()


def test_crm_changes_contract(small_world):
    crm = small_world.crm_changes
    has_columns(crm, ["contact_id", "person_id", "field", "value", "effective_at", "recorded_at"])
    assert crm["contact_id"].dtype == np.int64 and crm["person_id"].dtype == np.int64
    assert str(crm["effective_at"].dtype) == UTC and str(crm["recorded_at"].dtype) == UTC
    assert crm["field"].notna().all() and len(crm) > 0
    assert crm.groupby("contact_id")["person_id"].nunique().eq(1).all(), "a contact belongs to two people"
    assert {"email", "lifecycle_stage"} <= set(crm["field"])
    assert (crm["recorded_at"] < small_world.end).all()


def test_intent_contract(small_world):
    it = small_world.intent
    has_columns(it, ["person_id", "start", "end", "strength", "state"])
    assert str(it["start"].dtype) == UTC and str(it["end"].dtype) == UTC
    assert (it["end"] >= it["start"]).all()
    assert it["strength"].between(0, 1).all()
    assert set(it["state"]) <= {"in_market", "cooling", "bought"} and "in_market" in set(it["state"])
    assert it["person_id"].isin(small_world.people["person_id"]).all()
    assert ((it["end"] > small_world.start) & (it["start"] < small_world.end)).any()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_required_event_types_appear(preset, make_world):
    ev = make_world(preset).events
    missing = REQUIRED_EVENT_TYPES[preset] - set(ev.loc[ev["ts"] >= make_world(preset).start, "event_type"])
    assert not missing, f"{preset} has no {sorted(missing)} in the window"


def test_omnichannel_has_store_purchases_and_others_do_not(small_worlds):
    for name, world in small_worlds.items():
        store = world.events[world.events["channel"] == "store"]
        if name == "omnichannel":
            assert (store["event_type"] == "purchase").sum() > 0
            assert (store["event_type"] == "store_visit").sum() > 0
        else:
            assert store.empty, f"{name} has store events"


# --- invariants ----------------------------------------------------------------------------

def test_events_sorted_per_person_in_time(small_world):
    ev = small_world.events
    key = pd.DataFrame({"p": ev["person_id"], "t": ev["ts"]})
    assert key["p"].is_monotonic_increasing
    same = key["p"].diff().eq(0)
    assert (key["t"].diff()[same] >= pd.Timedelta(0)).all()


def test_received_at_never_before_ts(small_world):
    ev = small_world.events
    got = ev["received_at"].notna()
    assert got.any() and not got.all()  # some loss, some delivery
    assert (ev.loc[got, "received_at"] >= ev.loc[got, "ts"]).all()


def test_recorded_at_never_before_effective_at(small_world):
    crm = small_world.crm_changes
    assert (crm["recorded_at"] >= crm["effective_at"]).all()


def test_sessions_belong_to_one_person_and_channel(small_world):
    s = small_world.events.dropna(subset=["session_id"])
    assert len(s) > 0
    assert s.groupby("session_id")["person_id"].nunique().eq(1).all()


@pytest.mark.parametrize("preset", B2B)
def test_b2b_lifecycle_stages_only_move_forward(preset, make_world):
    world = make_world(preset, **CLEAN_CRM)
    crm = world.crm_changes
    stages = crm[crm["field"] == "lifecycle_stage"].sort_values(["contact_id", "effective_at"], kind="mergesort")
    rank = stages["value"].map(STAGE_RANK)
    assert rank.notna().all(), f"unknown stages {set(stages.loc[rank.isna(), 'value'])}"
    assert (rank.groupby(stages["contact_id"]).nunique() > 1).sum() > 10, "too few contacts progress to test order"
    step = rank.groupby(stages["contact_id"]).diff()
    back = stages[step <= 0]
    assert back.empty, f"stage went backwards or repeated for contacts {back['contact_id'].unique()[:5]}"


def test_b2b_true_stages_follow_the_funnel(make_world):
    traits = make_world("b2b-saas").traits
    stages = traits[traits["field"] == "lifecycle_stage"]
    reached = stages.groupby("person_id")["value"].agg(set)
    for later, earlier in (("mql", "lead"), ("sql", "mql"), ("opportunity", "sql"), ("customer", "opportunity")):
        skipped = reached[reached.map(lambda s: later in s and earlier not in s)]
        assert skipped.empty, f"{len(skipped)} people reached {later} without {earlier}"


def test_user_ids_and_emails_belong_to_exactly_one_person(small_world):
    ids = small_world.identifiers
    has_columns(ids, ["identifier_type", "identifier", "person_id", "shared"])
    assert set(ids["identifier_type"]) == {"anonymous_id", "user_id", "email"}
    owners = ids.groupby(["identifier_type", "identifier"])["person_id"].nunique()
    for kind in ("user_id", "email"):
        assert owners[kind].eq(1).all(), f"a {kind} maps to several people"
    multi = owners[owners > 1].index
    flagged = ids.set_index(["identifier_type", "identifier"])["shared"]
    assert flagged.loc[multi].all() if len(multi) else True
    assert not flagged[flagged].index.difference(multi).size, "marked shared but has one owner"
    assert set(multi.get_level_values(0)) <= {"anonymous_id"}


def test_identifiers_table_covers_every_observed_identifier(small_world):
    ev, ids = small_world.events, small_world.identifiers
    for kind in ("anonymous_id", "user_id", "email"):
        seen = ev[[kind, "person_id"]].dropna().astype({kind: str}).drop_duplicates()
        table = ids.loc[ids["identifier_type"] == kind, ["identifier", "person_id"]]
        merged = seen.merge(table, left_on=[kind, "person_id"], right_on=["identifier", "person_id"], how="left", indicator=True)
        assert (merged["_merge"] == "both").all(), f"{kind}s observed on events but not in identifiers"


def test_event_user_ids_match_people_and_registration(small_world):
    ev, people = small_world.events, small_world.people.set_index("person_id")
    with_uid = ev[ev["user_id"].notna()]
    assert len(with_uid) > 0
    owner_uid = people["user_id"].reindex(with_uid["person_id"]).to_numpy()
    assert (with_uid["user_id"].astype(str).to_numpy() == owner_uid).all(), "event user_id differs from people.user_id"
    reg = people["registered_at"].reindex(with_uid["person_id"]).to_numpy()
    assert (with_uid["ts"].to_numpy() >= reg).all(), "user_id seen before the person registered"


@pytest.mark.parametrize("preset", ["b2c-retail", "b2b-saas"])
def test_no_shared_anonymous_ids_without_shared_devices(preset, make_world):
    ids = make_world(preset, shared_device_rate=0).identifiers
    assert not ids["shared"].any()
    assert ids.groupby(["identifier_type", "identifier"])["person_id"].nunique().max() == 1
    assert make_world(preset, shared_device_rate=0.2).identifiers["shared"].any()  # the knob is live


def _contacts_per_known_person(world) -> pd.Series:
    known = world.people.loc[world.people["registered_at"] < world.end, "person_id"]
    n = world.crm_changes.groupby("person_id")["contact_id"].nunique()
    return n.reindex(known, fill_value=0)


#: One address per person for life: the only duplicates left are the ones imports create.
ONE_ADDRESS = dict(second_email_rate=0, crm_decay_monthly=0, job_change_yearly=0)


@pytest.mark.parametrize("preset", ["b2c-retail", "b2b-saas"])
def test_duplicate_rate_sets_share_of_people_with_two_contacts(preset, make_world):
    none = _contacts_per_known_person(make_world(preset, duplicate_rate=0, **ONE_ADDRESS))
    assert none.max() == 1
    assert (none == 1).mean() > 0.97, "known people without a contact"
    some = _contacts_per_known_person(make_world(preset, duplicate_rate=0.3, **ONE_ADDRESS))
    assert some.max() == 2
    assert 0.22 <= (some == 2).mean() <= 0.38


# --- knobs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("coverage", [0.2, 0.95])
def test_coverage_web_sets_share_of_web_events_received(coverage, make_world):
    ev = make_world("b2c-retail", coverage_web=coverage).events
    web = ev[ev["channel"] == "web"]
    share = web["received_at"].notna().mean()
    assert abs(share - coverage) < 0.08, f"coverage_web={coverage} but {share:.2f} of web events received"


@pytest.mark.parametrize("identified", [0.1, 0.9])
def test_identified_share_sets_share_of_logged_in_sessions(identified, make_world):
    # identified_share is the share of *logged-in* sessions the CDP identifies (issue 19): with every
    # session of an account holder logged in (login_share 1), it is the share of their sessions known
    world = make_world("b2c-retail", identified_share=identified, login_share=1.0)
    ev, people = world.events, world.people.set_index("person_id")
    web = ev[(ev["channel"] == "web") & ev["session_id"].notna()]
    s = web.groupby("session_id").agg(person=("person_id", "first"), t=("ts", "min"), known=("user_id", "count"))
    s["known"] = s["known"] > 0
    eligible = people["has_login"].reindex(s["person"]).to_numpy() & (s["t"].to_numpy() >= people["registered_at"].reindex(s["person"]).to_numpy())
    assert eligible.sum() > 1000
    share = s.loc[eligible, "known"].mean()
    # checkout and form events identify the session too, so the share sits a little above the knob
    assert identified - 0.02 <= share <= identified + 0.08, f"identified_share={identified}, measured {share:.3f}"


def test_identified_share_moves_share_of_events_with_user_id(make_world):
    lo = make_world("b2c-retail", identified_share=0.1).events["user_id"].notna().mean()
    hi = make_world("b2c-retail", identified_share=0.9).events["user_id"].notna().mean()
    assert hi > 3 * lo


@pytest.mark.parametrize("minutes", [1.0, 120.0])
def test_cdp_latency_sets_median_arrival_delay(minutes, make_world):
    ev = make_world("b2c-retail", cdp_latency_minutes=minutes).events
    lag = (ev["received_at"] - ev["ts"]).dropna().dt.total_seconds() / 60
    assert abs(lag.median() - minutes) <= 0.15 * minutes + 0.1


def test_rep_update_lag_sets_median_lag_of_rep_stage_changes(make_world):
    def median_lag_days(days: float) -> float:
        crm = make_world("b2b-saas", rep_update_lag_days=days, **CLEAN_CRM).crm_changes
        rep = crm[(crm["field"] == "lifecycle_stage") & (crm["source"] == "rep")]
        assert len(rep) > 50
        return float((rep["recorded_at"] - rep["effective_at"]).dt.total_seconds().median() / 86400)

    fast, slow = median_lag_days(1.0), median_lag_days(20.0)
    assert 0.4 <= fast <= 1.2, fast  # exponential lag: median = ln 2 × mean
    assert slow > 5 * fast


def test_form_sourced_stages_are_not_lagged_by_reps(make_world):
    crm = make_world("b2b-saas", rep_update_lag_days=20.0, **CLEAN_CRM).crm_changes
    form = crm[(crm["field"] == "lifecycle_stage") & (crm["source"] == "form")]
    assert (form["recorded_at"] - form["effective_at"]).median() < pd.Timedelta(hours=1)


@pytest.mark.parametrize("missing", [0.0, 0.5])
def test_crm_missing_rate_drops_that_share_of_updates(missing, make_world):
    world = make_world("b2b-saas", **{**CLEAN_CRM, "crm_missing_rate": missing})
    # 'company' comes from the enrichment vendor: no errors, no sprawl, recorded within hours
    truth = world.traits[(world.traits["field"] == "company") & (world.traits["effective_at"] < world.end - pd.Timedelta(days=3))]
    # what the enrichment vendor wrote on creation (later refreshes repair missing values)
    recorded = world.crm_changes[(world.crm_changes["field"] == "company") & (world.crm_changes["source"] == "enrich")]
    share = truth["person_id"].isin(recorded["person_id"]).mean()
    assert abs(share - (1 - missing)) < 0.06, f"crm_missing_rate={missing}, recorded share {share:.2f}"
    assert (world.crm_changes["field"] == "email").sum() == world.crm_changes["contact_id"].nunique()  # emails never go missing


def test_crm_error_rate_changes_recorded_values(make_world):
    def wrong_share(rate: float) -> float:
        world = make_world("b2b-saas", **{**CLEAN_CRM, "crm_error_rate": rate})
        crm = world.crm_changes[world.crm_changes["field"] == "industry"][["person_id", "value"]]
        truth = world.traits[world.traits["field"] == "industry"][["person_id", "value"]]
        m = crm.merge(truth, on="person_id", suffixes=("", "_true"))
        return float((m["value"] != m["value_true"]).mean())

    assert wrong_share(0.0) == 0.0
    assert 0.15 < wrong_share(0.3) < 0.35  # a wrong draw can hit the true value (1 in 8 industries)


# --- the fair world: e-mail by intent, clicks carry the browser, household devices --------

def _in_market(world, who: pd.Series, when: pd.Series) -> np.ndarray:
    """Whether each (person, time) falls inside one of the person's in-market episodes."""
    it = world.intent[world.intent["state"] == "in_market"]
    q = pd.DataFrame({"person_id": who.to_numpy(), "t": when.to_numpy(), "row": np.arange(len(who))})
    m = q.merge(it[["person_id", "start", "end"]], on="person_id")
    hit = m.loc[(m["start"] <= m["t"]) & (m["t"] < m["end"]), "row"].unique()
    return np.isin(np.arange(len(who)), hit)


def test_email_engagement_rises_with_intent(make_world):
    """Opens and clicks per day of being known are higher while a person is in market."""
    world = make_world("b2c-retail", lifetime_days=3000)  # nobody lapses: lapsed people never open
    people = world.people[world.people["registered_at"].notna()]
    since = people["registered_at"].clip(lower=world.start)
    it = world.intent[world.intent["state"] == "in_market"].merge(since.rename("since").to_frame().assign(
        person_id=people["person_id"]), on="person_id")
    lo = it["start"].where(it["start"] > it["since"], it["since"]).clip(upper=world.end)
    hi = it["end"].clip(upper=world.end)
    in_days = float(((hi - lo).dt.total_seconds().clip(lower=0)).sum() / 86400)
    all_days = float(((world.end - since).dt.total_seconds()).sum() / 86400)
    ev = world.events[world.events["event_type"].isin(["email_open", "email_click"]) & (world.events["ts"] >= world.start)]
    for kind, at_least in (("email_open", 1.4), ("email_click", 1.8)):
        e = ev[ev["event_type"] == kind]
        inside = _in_market(world, e["person_id"], e["ts"]).sum()
        ratio = (inside / in_days) / ((len(e) - inside) / (all_days - in_days))
        assert ratio > at_least, f"{kind}s per in-market day are only {ratio:.2f}x those outside"


def test_email_clicks_carry_the_browser_and_open_a_session(small_world):
    ev, ids = small_world.events, small_world.identifiers
    clicks = ev[ev["event_type"] == "email_click"]
    assert len(clicks) > 20
    assert clicks["anonymous_id"].notna().all() and clicks["email"].notna().all() and clicks["session_id"].notna().all()
    owner = ids[ids["identifier_type"] == "anonymous_id"].groupby("identifier")["person_id"].agg(set)
    assert all(p in owner[a] for a, p in zip(clicks["anonymous_id"].astype(str), clicks["person_id"])), "click in a stranger's browser"
    web_ids = set(ev.loc[ev["channel"] == "web", "anonymous_id"].dropna().astype(str))
    assert set(clicks["anonymous_id"].astype(str)) <= web_ids, "a click landed outside a browser"
    emails = ids[ids["identifier_type"] == "email"].set_index("identifier")["person_id"]
    assert (emails.reindex(clicks["email"].astype(str)).to_numpy() == clicks["person_id"].to_numpy()).all()
    # the landing page view: same session, same browser, right after the click
    pv = ev[(ev["event_type"] == "page_view") & ev["session_id"].isin(clicks["session_id"])]
    first = pv.sort_values("ts").drop_duplicates("session_id").set_index("session_id")
    land = first.reindex(clicks["session_id"])
    landed = land["ts"].notna().to_numpy()
    assert landed.mean() > 0.97  # a click in the last seconds of the window may land after it
    assert (land["anonymous_id"].astype(str).to_numpy()[landed] == clicks["anonymous_id"].astype(str).to_numpy()[landed]).all()
    gap = (land["ts"].to_numpy()[landed] - clicks["ts"].to_numpy()[landed]) / np.timedelta64(1, "s")
    assert ((gap >= 0) & (gap < 600)).all()


@pytest.mark.parametrize("preset", ["b2c-retail", "b2b-saas"])
def test_shared_devices_belong_to_household_or_office_mates(preset, make_world):
    world = make_world(preset, shared_device_rate=0.2)
    ids = world.identifiers
    shared = ids[ids["shared"]]
    assert shared["identifier"].nunique() > 30
    group = "household_id" if PRESETS[preset].model == "b2c" else "account_id"
    of = world.people.set_index("person_id")[group]
    groups = shared.assign(g=of.reindex(shared["person_id"]).to_numpy()).groupby("identifier")["g"].nunique()
    assert (groups == 1).all(), f"a device shared across {group}s"
    people = world.people
    sharers = shared.groupby("identifier")["person_id"].min().size
    assert 0.08 <= sharers / len(people) * 2 <= 0.4  # the knob still sets the share of people who share


# --- steady state and growth --------------------------------------------------------------

def _activity(world, weeks: int = 3) -> tuple[int, int]:
    ev = world.events[world.events["ts"] >= world.start]
    day = (ev["ts"] - world.start).dt.days
    return int((day < 7 * weeks).sum()), int((day >= world.config.days - 7 * weeks).sum())


def test_people_arrive_over_the_window(make_world):
    world = make_world("b2c-retail")
    new = (world.people["arrived_at"] >= world.start).mean()
    b = world.config.behaviour
    x = world.config.days
    expected = (x / b.lifetime_days) / (1 + x / b.lifetime_days)  # steady state: cX / (1 + cX), c = 1 / lifetime
    assert abs(new - expected) < 0.03, f"{new:.3f} of people arrived in the window, expected {expected:.3f}"


def test_growth_rate_grows_activity(make_world):
    flat = _activity(make_world("b2c-retail"))
    grow = _activity(make_world("b2c-retail", growth_rate_monthly=0.2))
    shrink = _activity(make_world("b2c-retail", growth_rate_monthly=-0.1))
    assert 0.9 < flat[1] / flat[0] < 1.1
    # 39 days between the two 3-week windows of a 60-day world: 1.2 ** 1.28 = 1.26, 0.9 ** 1.28 = 0.87
    assert 1.15 < grow[1] / grow[0] < 1.4
    # against the same seed's steady state (generator 3.0.0's streams left this 3,000-person world's
    # steady state 9% up between the windows by chance; the decline is measured net of that)
    assert 0.78 < (shrink[1] / shrink[0]) / (flat[1] / flat[0]) < 0.95


def test_growth_below_the_lapse_rate_is_refused():
    from synthetic.errors import ConfigError

    with pytest.raises(ConfigError, match="growth_rate_monthly must be at least"):
        preset_config("b2b-saas", overrides={"growth_rate_monthly": -0.3})


# --- what the CRM's own tracking receives ---------------------------------------------------

def test_crm_tracking_sees_web_pages_forms_and_its_own_emails_only(small_world):
    ev = small_world.events
    has_columns(ev, ["crm_received_at"])
    assert str(ev["crm_received_at"].dtype) == UTC
    seen = ev[ev["crm_received_at"].notna()]
    assert len(seen) > 0
    assert set(seen["event_type"]) <= {"page_view", "form_submit", "demo_requested", "signup", "email_open", "email_click"}
    assert set(seen["channel"]) <= {"web", "email"}
    assert (seen["crm_received_at"] >= seen["ts"]).all()
    mail = ev[ev["event_type"].isin(["email_open", "email_click"])]
    assert mail["crm_received_at"].notna().all(), "the CRM sent these e-mails"
    never = ev[ev["channel"].isin(["app", "store", "ads", "sales"]) | ev["event_type"].isin(["add_to_cart", "purchase", "feature_used"])]
    assert never["crm_received_at"].isna().all()


def test_crm_and_cdp_trackers_lose_the_same_browsers(make_world):
    same = make_world("b2c-retail")  # crm_coverage_web defaults to coverage_web
    pv = same.events[(same.events["event_type"] == "page_view") & (same.events["channel"] == "web")]
    assert (pv["crm_received_at"].notna() == pv["received_at"].notna()).all()
    less = make_world("b2c-retail", crm_coverage_web=0.4)
    pv = less.events[(less.events["event_type"] == "page_view") & (less.events["channel"] == "web")]
    crm_browsers = set(pv.loc[pv["crm_received_at"].notna(), "anonymous_id"].astype(str))
    cdp_browsers = set(pv.loc[pv["received_at"].notna(), "anonymous_id"].astype(str))
    assert crm_browsers < cdp_browsers, "a browser that blocks the CDP's tag let the CRM's script run"
    share = pv["crm_received_at"].notna().mean()
    assert abs(share - 0.4) < 0.08


@pytest.mark.parametrize("minutes", [2.0, 60.0])
def test_crm_tracking_latency_sets_median_delay(minutes, make_world):
    ev = make_world("b2c-retail", crm_tracking_latency_minutes=minutes).events
    lag = (ev["crm_received_at"] - ev["ts"]).dropna().dt.total_seconds() / 60
    assert abs(lag.median() - minutes) <= 0.15 * minutes + 0.1


# --- CRM decay and duplicates ---------------------------------------------------------------

def _email_changes(world) -> pd.DataFrame:
    em = world.traits[world.traits["field"] == "email"].sort_values(["person_id", "effective_at"], kind="mergesort")
    return em[em.duplicated("person_id", keep="first")]


def test_crm_decay_changes_true_addresses_and_the_crm_learns_late(make_world):
    assert _email_changes(make_world("b2c-retail", crm_decay_monthly=0)).empty
    world = make_world("b2c-retail", crm_decay_monthly=0.1)
    changed = _email_changes(world)
    inside = changed[changed["effective_at"] >= world.start]
    known = world.people["registered_at"].lt(world.start).sum()
    expected = 1 - 0.9 ** (world.config.days / (365.25 / 12))  # a known person's chance over the window
    assert 0.6 * expected < inside["person_id"].nunique() / known < 1.4 * expected
    # the CRM never copies the new address into the old contact: it bounces there later
    ch = world.crm_changes
    bounced = ch[(ch["field"] == "email_status") & (ch["value"] == "bounced")]
    assert len(bounced) > 0
    assert (bounced["recorded_at"] > bounced["effective_at"]).all()
    emails = ch[ch["field"] == "email"]
    assert emails.groupby("contact_id")["value"].nunique().eq(1).all(), "a contact's address was rewritten"


def test_job_changes_move_true_company_and_the_crm_follows_at_enrichment(make_world):
    world = make_world("b2b-saas", job_change_yearly=0.6, crm_enrichment_days=14)
    people = world.people
    movers = people[people["left_reason"] == "job_change"]
    assert len(movers) > 30
    tr = world.traits
    company = tr[tr["field"] == "company"].sort_values("effective_at", kind="mergesort").drop_duplicates("person_id", keep="last")
    new = company.set_index("person_id").reindex(movers["person_id"])
    known = new["value"].notna()
    assert known.sum() > 20
    names = world.accounts.set_index("account_id")["name"]
    assert (new.loc[known, "value"].to_numpy() != names.reindex(movers.loc[known.to_numpy(), "account_id"].astype(int)).to_numpy()).all()
    assert (new.loc[known, "effective_at"].to_numpy() == movers.loc[known.to_numpy(), "left_at"].to_numpy()).all()
    ch = world.crm_changes
    left_at = movers.set_index("person_id")["left_at"]
    refresh = ch[(ch["source"] == "refresh") & (ch["effective_at"] == left_at.reindex(ch["person_id"]).to_numpy())]
    assert len(refresh) > 20 and set(refresh["field"]) >= {"company", "industry"}
    lag = (refresh["recorded_at"] - refresh["effective_at"]).dt.total_seconds() / 86400
    assert lag.max() <= 14 + 1 / 24 and lag.median() > 2  # caught up at the next fortnightly refresh
    never = make_world("b2b-saas", job_change_yearly=0.6, crm_enrichment_days=3650).crm_changes
    assert (never["source"] == "refresh").sum() == 0


@pytest.mark.parametrize("preset", ["b2c-retail", "b2b-saas"])
def test_crm_contacts_are_matched_on_email_only(preset, make_world):
    world = make_world(preset)
    emails = world.crm_changes[world.crm_changes["field"] == "email"]
    assert emails.groupby("contact_id").size().eq(1).all()
    assert emails["value"].is_unique, "two contacts with the same address (the CRM dedupes on e-mail)"
    per_person = _contacts_per_known_person(world)
    dup = per_person.gt(1).mean()
    assert 0.08 <= dup <= 0.35, f"{dup:.1%} of known people have duplicate contacts (10-30% is typical)"
    # a second address typed into a form makes its own contact
    second = world.people.set_index("person_id")["second_email"].dropna()
    assert emails["value"].isin(second).sum() > 0


def test_enrichment_refresh_repairs_wrong_firmographics(make_world):
    def wrong_at_end(days: float) -> float:
        world = make_world("b2b-saas", crm_error_rate=0.3, custom_field_sprawl=0, crm_enrichment_days=days, job_change_yearly=0)
        ch = world.crm_changes[world.crm_changes["field"] == "industry"]
        last = ch.sort_values("recorded_at", kind="mergesort").drop_duplicates("contact_id", keep="last")
        truth = world.traits[world.traits["field"] == "industry"].drop_duplicates("person_id", keep="last")
        m = last.merge(truth, on="person_id", suffixes=("", "_true"))
        return float((m["value"] != m["value_true"]).mean())

    rarely, weekly = wrong_at_end(3650), wrong_at_end(7)
    assert rarely > 0.15
    assert weekly < 0.3 * rarely, f"weekly refreshes leave {weekly:.1%} wrong, against {rarely:.1%} without"


# --- damaged world folders: one clear line, never a traceback -------------------------------

@pytest.fixture()
def world_dir(tmp_path):
    return write_world(tiny("b2c-retail"), tmp_path / "w")


def _one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text and len(text) < 400, text
    return text


def _part(root, table: str = "events"):
    return sorted((root / table).glob("part-*.parquet"))[0]


def test_corrupt_parquet_names_the_file(world_dir):
    from synthetic.errors import DataError

    part = _part(world_dir)
    part.write_bytes(b"PAR1" + b"\x00garbage" * 500)
    with pytest.raises(DataError) as exc:
        read_world(world_dir)
    assert str(part) in _one_line(exc) and "not a readable Parquet file" in str(exc.value)


def test_truncated_parquet_names_the_file(world_dir):
    from synthetic.errors import DataError

    part = _part(world_dir, "crm_changes")
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as exc:
        read_world(world_dir)
    assert str(part) in _one_line(exc)


def test_missing_table_names_it(world_dir):
    import shutil

    from synthetic.errors import DataError

    shutil.rmtree(world_dir / "traits")
    with pytest.raises(DataError) as exc:
        read_world(world_dir)
    assert "traits" in _one_line(exc) and "missing" in str(exc.value)


def test_table_with_a_missing_or_mistyped_column_is_refused(world_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synthetic.errors import DataError

    part = _part(world_dir)
    table = pq.read_table(part)
    pq.write_table(table.drop_columns(["received_at"]), part)
    with pytest.raises(DataError) as exc:
        read_world(world_dir)
    assert "received_at" in _one_line(exc) and str(part) in str(exc.value)
    pq.write_table(table.set_column(table.schema.get_field_index("ts"), "ts", pa.array(["soon"] * len(table))), part)
    with pytest.raises(DataError) as exc:
        read_world(world_dir)
    assert "'ts'" in _one_line(exc) and "timestamp" in str(exc.value)


@pytest.mark.parametrize("edit, words", [
    (lambda m: {**m, "generator_version": "1.0.0"}, ["generator version '1.0.0'", "regenerate"]),
    (lambda m: {**m, "config": {**m["config"], "people": "many"}}, ["world.json", "people"]),
    (lambda m: {**m, "config": {**m["config"], "knobs": {**m["config"]["knobs"], "coverage_web": 7}}}, ["coverage_web"]),
    (lambda m: {**m, "config": {**m["config"], "knobs": {**m["config"]["knobs"], "warp_speed": 1}}}, ["warp_speed"]),
    (lambda m: {**m, "config": None}, ["world.json", "config"]),
    (lambda m: {k: v for k, v in m.items() if k != "config"}, ["world.json", "config"]),
    (lambda m: [1, 2, 3], ["world.json", "JSON object"]),
    (lambda m: {**m, "kind": "observed"}, ["observed"]),
])
def test_bad_world_json_is_one_line(edit, words, world_dir):
    import json

    from synthetic.errors import UserError

    meta = world_dir / "world.json"
    meta.write_text(json.dumps(edit(json.loads(meta.read_text()))))
    with pytest.raises(UserError) as exc:
        read_world(world_dir)
    text = _one_line(exc)
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


def test_not_json_and_not_a_world(tmp_path, world_dir):
    from synthetic.errors import UserError

    (world_dir / "world.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(UserError) as exc:
        read_world(world_dir)
    assert "world.json" in _one_line(exc)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("hello")
    for path in (tmp_path / "docs", tmp_path / "nowhere", tmp_path / "docs" / "notes.txt"):
        with pytest.raises(UserError) as exc:
            read_world(path)
        assert "not a world folder" in _one_line(exc)


def test_the_old_single_file_layout_still_reads(tmp_path):
    """Worlds written before tables were partitioned: one <table>.parquet each."""
    import pyarrow.parquet as pq

    world = tiny("b2b-saas")
    root = write_world(world, tmp_path / "new")
    old = tmp_path / "old"
    old.mkdir()
    for name in world.tables():
        pq.write_table(pq.read_table(_part(root, name)), old / f"{name}.parquet")
    (old / "world.json").write_text((root / "world.json").read_text())
    back = read_world(old)
    for name, frame in world.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], frame, check_categorical=False, obj=name)
