"""The "Your data" page: what a person sees after dropping in an export (AppTest through the router),
and the functions of core/present/datapage.py that compute it (no Streamlit)."""
from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.advice.twin import TwinFit  # noqa: E402
from core.errors import UserError  # noqa: E402
from core.present import datapage as dp  # noqa: E402
from core.present.urlstate import decode_link  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/8_Your_data.py"
TIMEOUT = 120
NO_TIME_BY_VALUES = b"moment,event,user_id\n2026-03-01T10:00:00Z,view,u1\nsoon,purchase,u1\nlater,view,u2\n"
NO_TIME = b"moment,event,user_id\n2026-03-01T10:00:00Z,view,u1\n2026-03-01T10:05:00Z,purchase,u1\n2026-03-02 09:00:00,view,u2\n"


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.switch_page(PAGE)
    at.run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="yd_events").set_value((name, content, "text/csv"))
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# ------------------------------------------------------------------ the page
@pytest.fixture(scope="module")
def example_page() -> AppTest:
    at = open_page()
    at.radio(key="yd_source").set_value("example").run()
    return at


def test_example_import_shows_the_summary_and_members_of_the_plays(example_page):
    at = example_page
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    assert shown["Rows kept"] == shown["Rows read"] and int(shown["Rows kept"].replace(",", "")) > 1000, shown
    assert any("Example, not real data" in i.value for i in at.info)
    peaks = next(d.value for d in at.dataframe if "peak members" in d.value.columns)
    cdp = peaks[peaks["view"] == "cdp"]
    assert (cdp["peak members"] > 0).sum() >= 3, peaks
    assert (peaks[peaks["view"] == "crm"]["peak members"] > 0).any()
    overlap = next(d.value for d in at.dataframe if "Jaccard" in d.value.columns)
    assert len(overlap) >= 1 and (overlap["both"] > 0).any()


def test_removing_a_field_from_the_mapping_changes_the_import(example_page):
    at = example_page
    before = metrics(at)["User ids"]
    assert before != "0"
    at.selectbox(key="yd_map_user_id").set_value(dp.NONE).run()
    at.button(key="yd_import").click().run()
    no_exception(at)
    assert metrics(at)["User ids"] == "0"
    table = next(d.value for d in at.dataframe if "chosen by" in d.value.columns)
    assert table.set_index("field").loc["user_id", "column"] is None


def test_a_binary_blob_shows_one_error_line_and_no_traceback():
    at = upload(open_page(), "blob.csv", bytes(range(256)) * 40)
    no_exception(at)
    assert len(at.error) == 1
    line = at.error[0].value
    assert "blob.csv is not text" in line and "\n" not in line and "audience-lab-data-" not in line


def test_a_time_column_is_found_by_its_values():
    at = upload(open_page(), "clicks.csv", NO_TIME)
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "chosen by" in d.value.columns).set_index("field")
    assert table.loc["timestamp", "column"] == "moment" and table.loc["timestamp", "chosen by"] == "its values"


def test_a_file_without_a_time_column_is_named_and_fixed_with_the_select_box():
    at = upload(open_page(), "clicks.csv", NO_TIME_BY_VALUES)
    no_exception(at)
    assert any("cannot find a time column" in e.value and "moment" in e.value for e in at.error)
    assert not any("--map" in e.value for e in at.error)          # the page's words, not the CLI's
    assert any("under Fix the mapping" in e.value for e in at.error)
    assert at.button(key="yd_import").disabled
    at.selectbox(key="yd_map_timestamp").set_value("moment").run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="yd_import").click().run()
    no_exception(at)
    assert (metrics(at)["Rows read"], metrics(at)["Rows kept"], metrics(at)["Rejected"]) == ("3", "1", "2")


def test_building_the_twin_gives_a_link_the_other_pages_open(example_page):
    at = example_page
    at.selectbox(key="yd_people").set_value(1000)
    at.button(key="yd_build").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    query = at.code[-1].value
    assert query.startswith("?preset=") and "people=1000" in query
    params = dict(p.split("=", 1) for p in query[1:].split("&"))
    link = decode_link(params)
    assert not link.warnings and link.scenario.people == 1000
    assert any("starts on the" in c.value for c in at.caption)


# ------------------------------------------------------------------ core/present/datapage.py
@pytest.fixture(scope="module")
def workspace():
    ws = dp.Workspace()
    yield ws
    ws.close()


@pytest.fixture
def other():
    """A second workspace: an import replaces the last one in its workspace, as on the page."""
    ws = dp.Workspace()
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def imported(workspace):
    events, crm = dp.example_export(workspace.folder("example"), people=1000)
    return dp.run_import(workspace, events, crm=crm)


def test_the_example_is_a_segment_export_of_a_synthetic_world_and_deterministic(tmp_path, workspace):
    a, _ = dp.example_export(workspace.folder("example"), people=1000)
    b, _ = dp.example_export(tmp_path, people=1000)
    assert a.read_bytes() == b.read_bytes()
    ins = dp.inspect_events(a, workspace=workspace)
    assert ins.error is None and ins.format == "segment"
    assert "person_id" not in pd.read_csv(a, nrows=1).columns  # no ground truth in an export


def test_summary_accounts_for_every_row(imported):
    frame = dp.summary_frame(imported.report).set_index("rows")["count"]
    rejected = frame[[r for r in frame.index if r.startswith("rejected")]].sum()
    assert frame["kept"] + rejected == frame["rows read"]
    assert imported.has_crm and dp.first_rejected(imported).empty


def test_rejected_rows_come_back_with_their_reason(other):
    path = other.folder("bad", fresh=True) / "mixed.csv"
    path.write_text("timestamp,event,user_id\n2026-03-01T10:00:00Z,view,u1\nyesterday,view,u2\n2026-03-02T10:00:00Z,view,\n")
    result = dp.run_import(other, path)
    frame = dp.summary_frame(result.report).set_index("rows")["count"]
    assert frame["kept"] == 1 and frame["rejected: unparsable time"] == 1 and frame["rejected: no identifier"] == 1
    rows = dp.first_rejected(result)
    assert set(rows["reason"]) == {"unparsable time", "no identifier"}


def test_plays_that_the_data_cannot_express_are_left_out_with_the_reason(imported):
    counted = dp.plays_over_time(imported)
    assert (counted.peaks.loc[counted.peaks["view"] == "cdp", "peak members"] > 0).any()
    reasons = counted.skipped.set_index(["play", "view"])["reason"]
    assert any("needs demo_requested events" in r for r in reasons)  # a B2B play on a shop's data
    assert not {(t, v) for t, v in reasons.index} & {(t, v) for t, v in zip(counted.peaks["title"], counted.peaks["view"])}


def test_without_a_crm_export_the_crm_view_is_left_out(other, imported):
    events = imported.folder.parent / "example" / "example-events.csv"
    alone = dp.run_import(other, events)
    counted = dp.plays_over_time(alone)
    assert set(counted.counts["view"]) == {"cdp"}
    assert (counted.skipped[counted.skipped["view"] == "crm"]["reason"] == "no CRM export was imported").all()
    assert dp.overlap_frame(alone, counted).empty


def test_identity_picture_counts_profiles_consistently(imported):
    table, hist = dp.identity_frame(imported)
    v = table.set_index("figure")["value"]
    assert v["reachable profiles"] + v["anonymous profiles"] == v["profiles"] > 0
    assert hist["reachable profiles"].sum() == v["reachable profiles"]


def test_overrides_are_only_the_fields_the_person_changed(workspace):
    path = workspace.folder("nots", fresh=True) / "nots.csv"
    path.write_bytes(NO_TIME_BY_VALUES)
    ins = dp.inspect_events(path, workspace=workspace)
    assert ins.error.startswith("cannot find a time column in events file nots.csv")
    assert ins.current("user_id") == "user_id" and ins.current("timestamp") == dp.NONE
    picks = {f: ins.current(f) for f in dp.EVENT_FIELDS} | {"timestamp": "moment"}
    assert dp.overrides_from(picks, ins) == {"timestamp": "moment"}
    assert dp.overrides_from({**picks, "user_id": dp.NONE}, ins) == {"timestamp": "moment", "user_id": ""}
    fixed = dp.inspect_events(path, overrides={"timestamp": "moment"}, workspace=workspace)
    assert fixed.error is None and fixed.current("timestamp") == "moment"


def test_an_upload_is_refused_by_its_size_before_and_while_copying(workspace):
    with pytest.raises(UserError, match="takes files up to 50 MB"):
        dp.save_upload(workspace, "events", io.BytesIO(b""), "huge.csv", 60 * 1024**2)
    liar = io.BytesIO(b"x" * (dp.PAGE_LIMITS.max_file_bytes + 1))
    with pytest.raises(UserError, match="larger than 50 MB"):
        dp.save_upload(workspace, "events", liar, "liar.csv", 10)
    kept = dp.save_upload(workspace, "events", io.BytesIO(b"a,b\n"), "../../etc/my file.csv", 4)
    assert kept.parent == workspace.root / "events" and kept.name == "my_file.csv"


def test_a_workspace_disappears_when_closed():
    ws = dp.Workspace()
    ws.folder("x").joinpath("f").write_text("1")
    ws.close()
    assert not ws.root.exists() and not ws.alive


def _fit(days: int, overrides: dict) -> TwinFit:
    return TwinFit(preset="b2c-retail", seed=7, people=2000, days=days, start="2026-01-05T00:00:00+00:00",
                   overrides=overrides, defaults={"p_cart": 0.14, "base_sessions_per_week": 0.45}, rows=[],
                   preset_scores={}, rounds=1, seconds=0.1)


def test_twin_link_opens_the_twin_and_names_what_the_dashboard_rounds():
    link, notes, carried = dp.twin_link(_fit(120, {"p_cart": 0.1234, "base_sessions_per_week": 0.0349}))
    scenario = decode_link(link).scenario
    assert (scenario.preset, scenario.seed, scenario.people, scenario.days) == ("b2c-retail", 7, 2000, 120)
    assert abs(carried["p_cart"] / 0.1234 - 1) < 0.02
    assert any("base_sessions_per_week" in n for n in notes) and not any("p_cart" in n for n in notes)
    assert any("2026-01-05" in n for n in notes)


def test_a_twin_the_dashboard_cannot_carry_says_so_instead_of_linking():
    link, notes, _ = dp.twin_link(_fit(500, {"p_cart": 0.12}))
    assert link is None and "cannot open this twin" in notes[0] and "audience-lab twin" in notes[0]
    long = dp.twin_link(replace(_fit(1000, {}), days=730))
    assert long[0] is None and "it covers 730 days" in long[1][0] and "stray" in long[1][0]


def _view_cart_purchase() -> bytes:
    """A hand-made shop log: view / VIEW / cart / purchase over March 2025, and one stray 1999 row."""
    lines = ["timestamp,event,user_id,page"]
    for u in range(40):
        day = 1 + u % 27
        lines += [f"2025-03-{day:02d}T10:00:00Z,{'VIEW' if u % 3 == 0 else 'view'},u{u},/products/p{u % 5}",
                  f"2025-03-{day:02d}T10:03:00Z,view,u{u},/pricing",
                  f"2025-03-{day:02d}T10:05:00Z,cart,u{u},/cart"]
        if u % 2 == 0:
            lines.append(f"2025-03-{day:02d}T10:09:00Z,purchase,u{u},/checkout")
    lines.append("1999-06-01T10:00:00Z,view,u7,/products/p1")
    return ("\n".join(lines) + "\n").encode()


def test_event_names_are_renamed_on_the_page_and_a_stray_date_is_flagged():
    """Issue 23 item 3: view/cart/purchase renamed on the page (VIEW and view one event), the 1999 row
    flagged with an offer to drop it, and the plays are no longer left out for want of events."""
    at = upload(open_page(), "shop.csv", _view_cart_purchase())
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    labels = {sb.label.split(" (")[0]: sb.value for sb in at.selectbox if str(sb.key).startswith("yd_ev_")}
    assert labels == {"view": "page_view", "VIEW": "page_view", "cart": "add_to_cart", "purchase": "purchase"}, labels
    at.button(key="yd_import").click().run()
    no_exception(at)
    events = next(d.value for d in at.dataframe if "event type" in d.value.columns).set_index("event type")["events"]
    assert events.to_dict() == {"page_view": 81, "add_to_cart": 40, "purchase": 20}
    assert any("1 row has a time far from the rest" in w.value and "1999-06-01" in w.value for w in at.warning)
    assert metrics(at)["Time span"].startswith("9,")                       # 1999 → 2025 while it is kept
    at.button(key="yd_drop_stray_btn").click().run()
    no_exception(at)
    assert metrics(at)["Rejected"] == "1" and not metrics(at)["Time span"].startswith("9,")
    assert any("were left out" in i.value for i in at.info)
    skipped = next((d.value for d in at.dataframe if list(d.value.columns) == ["play", "view", "reason"]), None)
    cdp_left_out = skipped[skipped["view"] == "cdp"] if skipped is not None else pd.DataFrame()
    assert not cdp_left_out["reason"].str.contains("add_to_cart|page_view").any(), cdp_left_out
    # a choice in the table renames differently
    key = next(sb.key for sb in at.selectbox if str(sb.key).startswith("yd_ev_") and sb.label.startswith("cart"))
    at.selectbox(key=key).set_value("checkout_started").run()
    at.button(key="yd_import").click().run()
    events = next(d.value for d in at.dataframe if "event type" in d.value.columns).set_index("event type")["events"]
    assert events.get("checkout_started") == 40 and "add_to_cart" not in events


def test_the_twin_sentence_claims_15_percent_only_when_true():
    base = TwinFit(preset="b2c-retail", seed=7, people=1000, days=30, start="2025-03-01", overrides={}, defaults={},
                   rows=[], preset_scores={}, rounds=1, seconds=1.0)
    assert "No rate could be fitted" in dp.twin_verdict(base) and "±15%" not in dp.twin_verdict(base)
    ok = {"rate": "r", "label": "r", "data": 1.0, "twin": 1.1, "error": 0.1, "within": True, "fitted": True, "note": ""}
    off = dict(ok, twin=1.5, error=0.5, within=False)
    from dataclasses import replace

    assert dp.twin_verdict(replace(base, rows=[ok])) == "Every fitted rate (1) is within ±15%."
    assert dp.twin_verdict(replace(base, rows=[ok, off])).startswith("1 of 2 fitted rates are outside ±15%")


def test_a_purchase_log_without_an_event_column_imports_with_one_event_name_for_every_row():
    log = b"when,customer,amount\n2025-03-01T10:00:00Z,c1,12.50\n2025-03-02T11:00:00Z,c2,30\n2025-03-03T12:00:00Z,c1,7\n"
    at = upload(open_page(), "purchases.csv", log)
    no_exception(at)
    assert any("give every row one event name there" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("--event" in e.value for e in at.error)
    at.text_input(key="yd_constant_event").set_value("purchase").run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="yd_import").click().run()
    no_exception(at)
    events = next(d.value for d in at.dataframe if "event type" in d.value.columns).set_index("event type")["events"]
    assert events.to_dict() == {"purchase": 3}


def test_page_choices_reach_the_importer(workspace):
    from core.present import dataimport as dx

    path = workspace.folder("choices", fresh=True) / "orders.csv"
    path.write_text("ts,customer,invoice,qty,price,mail\n2/13/2025 10:00,c1,A1,2,5.00,Ann@Example.com\n"
                    "2/13/2025 10:00,c1,A1,1,3.00,Ann@Example.com\n2/14/2025 09:00,c2,C2,-1,4.00,\n")
    crm = path.parent / "crm.csv"
    crm.write_text("ref,mail,stage\nK1,ann@example.com,customer\nK2,bob@example.com,lead\n")
    choices = dx.ImportChoices(timezone="Europe/London", cancellations="reject", keep_pii=True,
                               crm_mapping=(("contact_id", "ref"), ("email", "mail")))
    got = dp.run_import(workspace, path, overrides={"user_id": "customer", "order_id": "invoice", "quantity": "qty",
                                                    "unit_price": "price", "email": "mail"}, crm=crm, choices=choices)
    assert got.report.crm_mapping.column("contact_id") == "ref" and got.report.crm["contacts"] == 2
    rep = got.report
    assert rep.time_format == "mdy" and rep.timezone == "Europe/London" and rep.orders == {"orders": 1, "cancellations": 0}
    assert rep.rejected == {"cancelled order": 1} and rep.keep_pii
    ev = dp.open_world(got.folder).events
    assert ev["value"].tolist() == [13.0] and ev["email"].tolist() == ["ann@example.com"]
    notes = " ".join(dx.report_notes(rep))
    assert "month/day/year" in notes and "2 order lines became 1 purchases" in notes and "--" not in notes
    assert dx.page_words("… formats tried: ISO 8601; say it with --time-format") .endswith("under Dates and times")
    assert [dx.suggest(n) for n in ("VIEW", "Add to Cart", "begin_checkout", "Order Completed", "shipped")] == \
        ["page_view", "add_to_cart", "checkout_started", "purchase", None]


def test_a_line_item_log_imports_as_orders_on_the_page(tmp_path):
    from tests.export_fixtures import line_items_csv

    data = line_items_csv(tmp_path / "retail.csv", invoices=60).read_bytes()
    at = upload(open_page(), "retail.csv", data)
    no_exception(at)
    assert any("cannot find an event-name column" in e.value for e in at.error)     # InvoiceDate found, no events
    for field_name, column in (("user_id", "CustomerID"), ("order_id", "InvoiceNo"), ("quantity", "Quantity"),
                               ("unit_price", "UnitPrice")):
        at.selectbox(key=f"yd_map_{field_name}").set_value(column).run()
    assert not at.error, [e.value for e in at.error]
    at.radio(key="yd_cancel").set_value("reject").run()
    at.button(key="yd_import").click().run()
    no_exception(at)
    events = next(d.value for d in at.dataframe if "event type" in d.value.columns).set_index("event type")["events"]
    assert set(events.index) == {"purchase"}
    summary = next(d.value for d in at.dataframe if list(d.value.columns) == ["rows", "count"]).set_index("rows")["count"]
    assert summary["rejected: cancelled order"] > 0
    assert any("became" in c.value and "purchases" in c.value and "left out" in c.value for c in at.caption)
