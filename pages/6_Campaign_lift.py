"""Campaign lift: would a holdout test tell the truth? Repeated tests, true vs measured value per
model (the blast baseline included), which model wins, a design planner, and real experiments.

Thin view: every figure and sentence comes from core/present/liftview.py (tested without
Streamlit); this file lays them out, caches them, and turns every UserError into an st.error.
"""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.advice.scenario import Scenario
from core.engine.plays import get_play, with_rules
from core.errors import UserError
from core.measures import liftcsv
from core.present import charts
from core.present import liftview as lv
from core.present.stackview import titled
from pages import default_comparison, frame, get_engine, get_results, results_or_stop

PAIRS = (("crm", "cdp"), ("crm", "hybrid"), ("cdp", "hybrid"), ("crm", "blast"), ("cdp", "blast"), ("hybrid", "blast"))


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def lift_view(s: Scenario, play_name: str, crm_json: str, cdp_json: str, repeats: int) -> lv.LiftView:
    """Every model's campaign and its repeated tests, once per scenario, play, rules and repeats."""
    p = with_rules(get_play(play_name), crm=json.loads(crm_json), cdp=json.loads(cdp_json))
    return lv.build_view(get_results(s, p).run, s.campaign(), repeats)


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def off_target_band(s: Scenario, play_name: str, crm_json: str, cdp_json: str) -> pd.DataFrame:
    from core.present.calibview import scenario_off_target

    p = with_rules(get_play(play_name), crm=json.loads(crm_json), cdp=json.loads(cdp_json))
    return scenario_off_target(get_results(s, p).run, s.campaign())


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def compare(s: Scenario, play_name: str, crm_json: str, cdp_json: str, repeats: int, a: str, b: str) -> lv.ComparisonView:
    return lv.comparison(lift_view(s, play_name, crm_json, cdp_json, repeats), a, b)


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def cuped_for(s: Scenario, play_name: str, crm_json: str, cdp_json: str, repeats: int, model: str) -> lv.CupedView:
    view = lift_view(s, play_name, crm_json, cdp_json, repeats)
    return lv.cuped_view(view, model, get_engine(s).world.events)


def error(exc: Exception) -> None:
    text = str(exc)
    st.error(text[:1].upper() + text[1:])


# ------------------------------------------------------------------ the simulated campaigns
scenario, play = frame()
st.title(titled("Campaign lift", scenario))
results = results_or_stop(scenario, play)
p = results.run.play
key = (scenario, p.name, json.dumps(dict(p.crm), sort_keys=True), json.dumps(dict(p.cdp), sort_keys=True))
st.caption(f"**{p.title}.** Each model's audience gets the campaign through its sending tool, with a randomised "
           "holdout per contact or profile; the blast sends to every contact on the marketing list. The simulator "
           "knows each message's true effect, so it can rerun the same campaign's test many times and show how "
           "often a test of this design tells the truth.")

head = st.container()
repeats = int(st.session_state.get("lift_repeats", lv.DEFAULT_REPEATS))
default_comparison(PAIRS, "lift_pair")  # the hybrid workshop step opens on CDP vs hybrid
pair_index = int(st.session_state.get("lift_pair", 0))
try:
    with st.spinner(f"Sending each model's campaign and repeating its holdout test {repeats:,} times…"):
        view = lift_view(*key, repeats)
        a, b = PAIRS[pair_index]
        cmp = compare(*key, repeats, a, b) if a in view.runs and b in view.runs else None
except UserError as exc:
    error(exc)
    st.stop()

story = lv.story(view, cmp)
with head:
    st.subheader(story.headline)
    for line in story.lines:
        st.markdown(line)

draws, marks = lv.strip_frames(view)
if len(marks):
    st.plotly_chart(charts.repeated_lifts(draws, marks, view.repeats), width="stretch")
    st.caption(f"Read: each small dot is one rerun of this campaign's test — a new random {view.holdout_share:.0%} "
               "holdout and new outcomes — the black bar is the true lift, and the large outlined dot is the test this "
               "run actually measured. A dot far from the bar is a test that would have misled; under each name, how "
               "often the test finds a real effect (significant at 95%, right sign).")
decisions = lv.decision_table(view)
if len(decisions.columns):
    st.table(decisions)
    st.caption("What a team would have concluded from each repeated test: significant and right, significant and "
               "wrong (the interval excludes 0 on the wrong side), or inconclusive. The sign alone is shown last: it "
               "flatters a test, because a team cannot act on a difference its test cannot tell from noise.")
for title, text in lv.column_warnings(view):
    st.warning(f"**{title}:** {text[:1].upper() + text[1:]}")

# ------------------------------------------------------------------ true and measured, per model
st.header("True and measured, per model")
value_table, reach_table = lv.model_tables(view)
st.table(value_table.styler())
notes = list(value_table.notes)
if any("fixed cost" in n for n in notes):
    notes.append("Set the fixed cost of running the campaign (platform share, team time) on the Scenario page, "
                 "under Campaign.")
if value_table.greyed:
    notes.append("Figures in grey come from a test whose holdout is too small to measure anything: indicative only.")
st.caption("Revenue is in the world's currency units. True figures come from the simulator's ground truth; measured "
           "figures are what the holdout test of this run reports, with 95% intervals. Measured revenue is the "
           "conversion effect × the value per conversion, so its interval excludes 0 exactly when the lift's does; "
           "net ROI is (revenue − cost) / cost, shown whether or not the test is significant. " + " ".join(notes))
weekly = lv.peeking_table(view)
if len(weekly.columns):
    st.subheader("Read every week?")
    st.markdown(lv.peeking_sentence(view))
    st.table(weekly)
    st.caption("The same repeated tests read at every weekly look. A fixed-horizon interval keeps its 95% only at the "
               "one look it was planned for; the always-valid interval (mixture sequential probability ratio test, "
               "Johari et al. 2017) holds at every look, so a team may stop as soon as it excludes 0.")
with st.expander("How much the verdict rests on messages to people without a need"):
    st.caption("A message to someone with no open need moves them a little — Hillstrom's untargeted e-mail lifted "
               "two-week conversion by 0.68 pp — and that size is the least certain one here. True net value of every "
               "model with no such effect, Hillstrom's, and twice Hillstrom's.")
    if st.button("Show the sensitivity band", key="off_target_band"):
        st.table(off_target_band(*key))

st.subheader("What each model sends")
st.table(reach_table.styler())
st.caption("The blast is the baseline every targeted model must beat: more messages reach more people, but "
           "irrelevant and repeated messages cost unsubscribes. A double send is an extra message for a need the "
           "person was already messaged about (duplicate contacts, split profiles); people in both arms had one "
           "address messaged and another held out, which contaminates the holdout.")

# ------------------------------------------------------------------ which model wins
st.header("Which model wins, and would the test have said so?")
c1, c2 = st.columns([2, 1])
c1.selectbox("Compare", range(len(PAIRS)), key="lift_pair",
             format_func=lambda i: f"{charts.label(PAIRS[i][0])} vs {charts.label(PAIRS[i][1])}",
             help="Both campaigns share their random numbers per person (the same people respond the same way), "
                  "so the comparison is paired.")
c2.selectbox("Repeated tests", lv.REPEAT_CHOICES, key="lift_repeats",
             index=lv.REPEAT_CHOICES.index(lv.DEFAULT_REPEATS),
             help="More repeats pin the shares down (±1.8 points at 500) and take longer.")
if cmp is None:
    st.info("This play does not run both of these models.")
elif cmp.summary is None:
    st.info(cmp.sentence())
else:
    s = cmp.summary
    st.plotly_chart(charts.winner_histogram(s.draws["diff"].tolist(), s.true_diff, a, b), width="stretch")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Significant and right", lv.times_in_ten(s.significant_right_share) if s.true_winner else "–",
              help="Share of repeated tests whose paired interval excludes 0 on the side of the true difference.")
    m2.metric("Significant and wrong", lv._share(s.significant_wrong_share),
              help="Share of repeated tests whose interval excludes 0 on the wrong side.")
    m3.metric("Inconclusive", lv._share(s.inconclusive_share), help="Share whose interval includes 0.")
    m4.metric("Interval of the difference (paired)", lv.money(s.mean_width_paired),
              help="Mean width of the 95% interval when the shared random numbers are counted (paired); "
                   f"{lv.money(s.mean_width_independent)} if read as two separate tests.")
    if s.true_winner:
        st.caption(f"Secondary: the measured difference's sign alone pointed to the true winner in "
                   f"{lv._share(s.right_winner_share)} of tests.")
    st.caption(f"Coverage of the difference's 95% interval: {s.coverage_paired:.0%} paired, "
               f"{s.coverage_independent:.0%} as separate tests. Compared on incremental revenue, the figure a "
               "holdout test measures; send and unsubscribe costs are in the tables above.")

# ------------------------------------------------------------------ design planner
st.header("Design planner: what test would tell the truth?")
models = [m for m in view.runs if len(view.runs[m].units) >= 2]
if not models:
    st.info("No model reached anyone, so there is no test to plan.")
else:
    default_model = lv.planned_model(view) or models[0]
    d1, d2, d3, d4 = st.columns(4)
    model = d1.selectbox("Plan the test of", models, index=models.index(default_model), format_func=charts.label)
    run = view.runs[model]
    share = d2.slider("Holdout share", 1, 50, int(round(view.holdout_share * 100)), format="%d%%",
                      help="Share of contacts/profiles held out (never messaged) to measure the lift.") / 100
    weeks = d3.number_input("Campaign length (weeks)", min_value=1.0, max_value=520.0, step=1.0, format="%.1f",
                            value=float(round(run.weeks or 4.0, 1)),
                            help="How long the campaign keeps enrolling people; this run lasted "
                                 f"{run.weeks or 0:.1f} weeks. Contacts/profiles arrive at this run's rate.")
    min_pp = d4.number_input("Smallest lift worth detecting (pp)", min_value=0.0, max_value=50.0, step=0.5,
                             value=lv.DEFAULT_MIN_EFFECT * 100,
                             help="In percentage points of conversion. 0 = plan only for the true effect.")
    try:
        planned = lv.plan(run, share, weeks, min_pp / 100 if min_pp > 0 else None)
    except UserError as exc:
        error(exc)
    else:
        if planned.reason and not planned.sentences:
            st.info(planned.reason[:1].upper() + planned.reason[1:] + ".")
        for sentence in planned.sentences:
            st.markdown(f"- {sentence}")
        if planned.curve is not None:
            colours = {name: (charts.color(model) if name.startswith("true") else charts.GREYS[1])
                       for name in planned.curve["effect_label"].unique()}
            st.plotly_chart(charts.power_chart(planned.curve, planned.weeks, 0.8, colours), width="stretch")
            st.caption("Read: each line is the share of tests that would detect that effect as the campaign runs "
                       "longer (more contacts/profiles in both arms) at the chosen holdout share; the dotted line is "
                       "the 80% a test should reach, the dashed one the design above.")
    if st.toggle("Reduce noise with pre-period visits (CUPED)", key="lift_cuped",
                 help="Adjust each outcome by the person's visits in the 28 days before the message "
                      "(Deng et al. 2013); it never widens the interval."):
        try:
            with st.spinner("Counting pre-period visits and repeating the adjusted test…"):
                cv = cuped_for(*key, view.repeats, model)
        except UserError as exc:
            error(exc)
        else:
            st.markdown(cv.sentence)
            if cv.single is not None:
                c = cv.single
                st.caption(f"This run: {lv.pp(c.abs_lift)} (95% CI {lv.pp(c.abs_lift_ci_low)} to "
                           f"{lv.pp(c.abs_lift_ci_high)}) adjusted; the interval is {lv.width_change(c.width_change)} "
                           "than unadjusted.")

with st.expander("Every figure of the simulated campaigns (for analysts)"):
    table = pd.DataFrame([r.result.to_dict() for r in view.runs.values()])
    st.dataframe(table.drop(columns=["notes", "warnings", "cuped"], errors="ignore"), hide_index=True, width="stretch")

with st.expander("With and without login stitching (each side's identify-on-login)"):
    from core.advice.stitching import login_stitching, stitching_frame

    st.caption("The same world four times: each side identifies logged-in visitors as configured, or not at all "
               "(the CDP by user id, the CRM's tracking script by the account's e-mail). Up to 4,000 people.")
    if st.button("Rerun this play four ways", key="login_stitching"):
        try:
            st.dataframe(stitching_frame(login_stitching(scenario, p, min(scenario.people, 4000))), hide_index=True)
        except UserError as exc:
            error(exc)


# ------------------------------------------------------------------ real experiments
def experiment(path, name: str, defaults: dict, widget: str) -> None:
    """Arms, outcome and options for one CSV, then its lift report; every failure is one st.error."""
    try:
        choices = lv.csv_choices(path)
    except UserError as exc:
        error(exc)
        return
    cols = list(choices.columns)
    r1 = st.columns(4)
    arm = r1[0].selectbox("Arm column", cols, index=choices.default(tuple(cols), defaults.get("arm", ""), "segment", "arm",
                                                                     "group", "variant"), key=f"{widget}_arm")
    arms = list(choices.arms(arm))
    if len(arms) < 2:
        st.error(f"Column {arm!r} of {name} holds {len(arms)} value(s) in the first {choices.rows_previewed:,} rows; "
                 "an experiment needs two arms (pick the column that says treatment or control).")
        return
    treat = r1[1].selectbox("Treatment arm", arms, index=choices.default(tuple(arms), defaults.get("treatment", "")),
                            key=f"{widget}_treat_{arm}")
    ctrl = r1[2].selectbox("Control arm", arms, index=choices.default(tuple(arms), defaults.get("control", ""),
                                                                      fallback=1), key=f"{widget}_ctrl_{arm}")
    others = [c for c in cols if c != arm]
    outcome = r1[3].selectbox("Outcome", others, index=choices.default(tuple(others), defaults.get("outcome", ""),
                                                                       "conversion", "converted"), key=f"{widget}_out")
    r2 = st.columns(4)
    none = ["(none)"]
    rest = none + [c for c in others if c != outcome]
    revenue = r2[0].selectbox("Revenue column (optional)", rest, key=f"{widget}_rev",
                              index=choices.default(tuple(rest), defaults.get("revenue", ""), "revenue", "spend"))
    covariate = r2[1].selectbox("Pre-period covariate for CUPED (optional)", rest, key=f"{widget}_cov",
                                index=choices.default(tuple(rest), defaults.get("covariate", "")))
    share = r2[2].number_input("Planned control share of the two arms", min_value=0.01, max_value=0.99, step=0.05,
                               value=float(defaults.get("planned_control_share", 0.5)), key=f"{widget}_share",
                               help="For the sample-ratio check: 0.5 when both arms were meant to be equal.")
    min_effect = r2[3].number_input("Smallest lift worth detecting", min_value=0.0, step=0.001,
                                    value=float(defaults.get("min_effect", 0.0)),
                                    format="%.3f", key=f"{widget}_min",
                                    help="In outcome units (0.005 = +0.5 pp for a 0/1 outcome); 0 = not set. "
                                         "Power is judged at this effect, never at the observed one.")
    if treat == ctrl:
        st.error("Treatment and control must be different arms.")
        return
    try:
        with st.spinner(f"Measuring {treat} against {ctrl} in {name}…"):
            rep = lv.csv_lift(path, arm, treat, ctrl, outcome, revenue=None if revenue == "(none)" else revenue,
                              covariate=None if covariate == "(none)" else covariate, planned_control_share=share,
                              min_effect=min_effect if min_effect > 0 else None)
    except UserError as exc:
        error(exc)
        return
    rows = lv.csv_rows(rep)
    st.table(pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure"))
    for w in rep.warnings:
        st.warning(w[:1].upper() + w[1:])
    for n in rep.notes:
        st.caption(n[:1].upper() + n[1:])


st.header("A real experiment: Hillstrom or your CSV")
st.write("The same statistics read a real randomised test. Upload an experiment export (one row per person: an arm "
         "column and an outcome; plain or gzip'd CSV, UTF-8), or read the bundled Hillstrom MineThatData e-mail test "
         "(64,000 customers, 2008): men's e-mail against no e-mail, where the published effect is about +0.7 pp of "
         "conversion.")
limit_mb = min(int(st.get_option("server.maxUploadSize")), liftcsv.MAX_FILE_BYTES // 1024**2)
upload = st.file_uploader("Experiment CSV", type=["csv", "gz", "txt"], key="lift_upload",
                          help=f"At most {limit_mb} MB; the file is read from a private temporary folder that is "
                               "deleted as soon as the page has read it.")
if upload is None:
    st.caption("Reading the bundled Hillstrom test (core/measures/data/hillstrom.csv.gz; source and attribution in "
               "core/measures/data/SOURCE.txt).")
    experiment(liftcsv.hillstrom_path(), "the Hillstrom test", lv.hillstrom_defaults(), "hill")
else:
    try:
        with lv.staged_upload(upload, upload.name, upload.size) as staged:
            st.caption(f"Reading your file {upload.name} ({upload.size:,} bytes).")
            experiment(staged, upload.name, {}, f"up_{upload.file_id}")
    except UserError as exc:
        error(exc)
