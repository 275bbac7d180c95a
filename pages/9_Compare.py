"""Compare two scenarios: two full scenario links side by side, with the differences.

The logic is in core/present/compare_view.py (parsing, what differs, the side-by-side table and its
sentences); this page reads the links, builds both scenarios through the shared caches and draws.
The pair travels in this page's own link (``?a=…&b=…``), so a comparison can be shared too.
"""
import streamlit as st

from core.errors import UserError
from core.present import charts
from core.present import compare_view as cv
from core.present.export import to_safe_csv
from pages import SS, ensure_routed, get_results
from pages.extras.handout import pdf_buttons, site_address

ensure_routed()
st.title("Compare two scenarios")
st.write("Paste two scenario links — the address of any page, copied from the browser — for example today's stack "
         "and a proposed one, or the same business with its teams run two ways. Both are built on their own world "
         "and play, and their freshness, overlap, lift and net value are set side by side.")

# ------------------------------------------------------------------ the two links (from this page's link or a default)
qp = st.query_params.to_dict()
incoming = (qp.get("a"), qp.get("b")) if "a" in qp or "b" in qp else None
if incoming is not None and incoming != SS.get("_cmp_seen"):
    SS["_cmp_seen"] = incoming
    SS["cmp_a"], SS["cmp_b"] = incoming[0] or "", incoming[1] or ""
elif "cmp_a" not in SS:
    SS["cmp_a"], SS["cmp_b"] = cv.example_pair({k: v for k, v in qp.items() if k not in ("a", "b")})
    SS["_cmp_seen"] = (SS["cmp_a"], SS["cmp_b"])
SS.setdefault("cmp_name_a", "A")
SS.setdefault("cmp_name_b", "B")


def _b_from_a(ops: str) -> None:
    """B = A with one side run another way (A must read first; otherwise say why, in place)."""
    try:
        SS["cmp_b"] = cv.with_ops_level(cv.parse_scenario_link(SS["cmp_a"], "A"), ops)
        SS["cmp_name_b"] = f"{SS['cmp_name_a'].strip() or 'A'}, {ops[:1].lower() + ops[1:]}"[:40]
    except UserError as exc:
        SS["_cmp_ops_error"] = str(exc)


links = {}
cols = st.columns(2)
for col, side in zip(cols, cv.SIDES):
    with col:
        st.text_input(f"Name of {side}", key=f"cmp_name_{side.lower()}", max_chars=40,
                      help="Used in the sentences and charts below, e.g. 'Today' and 'With Segment'.")
        st.text_area(f"Link {side}", key=f"cmp_{side.lower()}", height=110,
                     help="A whole address (http://…/Freshness?preset=…) or its part after the '?'.")
        try:
            links[side] = cv.parse_scenario_link(SS[f"cmp_{side.lower()}"], side)
        except UserError as exc:
            st.error(str(exc)[:1].upper() + str(exc)[1:])
st.caption("Or set B to A with one side run another way — only that side's knobs move, the products stay:")
for col, ops in zip(st.columns(len(cv.OPS_CHOICES)), cv.OPS_CHOICES):
    col.button(f"B = A, {ops[:1].lower() + ops[1:]}", key=f"cmp_ops_{ops}", on_click=_b_from_a, args=(ops,),
               width="stretch")
ops_error = SS.pop("_cmp_ops_error", None)
if ops_error:
    st.error(f"B cannot be set from A: {ops_error}")
if len(links) < 2:
    st.stop()
names = {side: (SS[f"cmp_name_{side.lower()}"].strip() or side) for side in cv.SIDES}
if len(set(names.values())) < 2:
    names = {"A": "A", "B": "B"}
st.query_params.from_dict({"a": cv.with_query(links["A"]), "b": cv.with_query(links["B"])})
SS["_cmp_seen"] = (st.query_params.get("a"), st.query_params.get("b"))

# ------------------------------------------------------------------ what differs
st.subheader(f"What differs from {names['A']} to {names['B']}")
differences = cv.setting_differences(links["A"], links["B"])
if not differences:
    st.info("The two links describe the same scenario: every figure below is equal. Change a knob, a product or "
            "an ops level on one side to compare.")
else:
    st.markdown("\n".join(f"- {d}" for d in differences))

# ------------------------------------------------------------------ both scenarios' results
results = {}
for side in cv.SIDES:
    link = links[side]
    s = link.scenario
    try:
        with st.spinner(f"Building {names[side]} ({s.people:,} people, {s.days} days) and running its play…"):
            results[side] = get_results(s, cv.edited_play(link))
    except UserError as exc:
        st.error(f"{names[side]} cannot be built: {exc}")
if len(results) < 2:
    st.stop()

view = cv.side_by_side(results["A"], results["B"], names)
st.subheader("Side by side")
for sentence in view.sentences:
    st.markdown(sentence)
st.table(view.overall.rename(columns={"A": names["A"], "B": names["B"], "B − A": f"{names['B']} − {names['A']}"})
         .set_index("Measure"))

c1, c2 = st.columns(2)
fig_net = charts.scenario_pair(cv.pair_frame(view.values, "net_value"), "True net value per model", "Currency units",
                              (names["A"], names["B"]))
fig_time = charts.scenario_pair(cv.pair_frame(view.values, "in_time"), "Qualifying episodes reached in time",
                               "Share of qualifying episodes (%)", (names["A"], names["B"]), scale=100)
c1.plotly_chart(fig_net, width="stretch")
c1.caption("Read: each model's true net value in both scenarios — plain bars the first, hatched the second; the "
           "blast (everyone reachable) is the baseline each targeted model must beat.")
c2.plotly_chart(fig_time, width="stretch")
c2.caption("Read: the share of qualifying episodes each model reaches within the play's action window, in both "
           "scenarios; a gap here is usually where a gap in money comes from.")

st.subheader("Every headline figure")
st.caption("Freshness per qualifying episode, precision and recall at mid-period on reachable people, lift and money "
           "from each scenario's simulated campaign. True figures come from the ground truth; the measured lift is "
           "what one holdout test of each run reports.")
table = view.table.rename(columns={"A": names["A"], "B": names["B"], "B − A": f"{names['B']} − {names['A']}"})
st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3)  # every row, no inner scroll
st.download_button("Download the comparison (CSV)", to_safe_csv(table), file_name="audience-lab-comparison.csv",
                   mime="text/csv")
figures = {"net": fig_net, "in_time": fig_time}
pdf_buttons("compare", str(SS["_cmp_seen"]) + repr(names),
            lambda: cv.handout_html(links, view, differences, names, figures,
                                    {side: site_address(cv.with_query(links[side])) for side in cv.SIDES}),
            "audience-lab-comparison.pdf", "comparison")
st.caption("Share this comparison: this page's address carries both links. Open either scenario on its own: "
           + " · ".join(f"[{names[side]}](/?{cv.with_query(links[side])})" for side in cv.SIDES) + ".")
