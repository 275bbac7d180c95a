"""What the Campaign lift page shows, computed without Streamlit (and tested without it).

The page makes one point a room can read in ten seconds: the simulator knows each campaign's true
effect, so it can rerun the campaign's holdout test hundreds of times and show how often a test of
this design tells the truth — per model (how often it detects the effect), and between models
(how often the measured comparison names the model that truly adds more). Around that point it
shows every model's true and measured value side by side (the blast baseline included, so a larger
audience is never a win by itself), a design planner that says what holdout and campaign length
would do better, and real experiments (the bundled Hillstrom test or an uploaded CSV).

Every figure here comes from ``core.measures`` (campaign, repeats, design, cuped, liftcsv); this
module only chooses, words and formats them. Figures from a test whose holdout is too small are
marked (``greyed``) so the page greys them out and warns; net ROI is shown with its interval whenever
a fixed cost is given, significant or not (showing it only when significant inflates it).


Uploads: :func:`staged_upload` refuses a file by its declared size before reading a byte, then
copies it (with the same byte limit, in case the size lied) into a private temporary directory
(``tempfile.TemporaryDirectory``: a random name, mode 0700), under the uploaded file's own base
name so every error names the file the user chose; the directory is removed when the block ends.
"""
from __future__ import annotations

import math
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping

import pandas as pd

from core.errors import DataError
from core.engine.playrun import PlayRun
from core.measures import liftcsv
from core.measures.campaign import CampaignConfig, CampaignResult, by_unit, simulate
from core.measures.cuped import CupedResult, cuped, pre_period_covariates
from core.measures.design import WEEKS_IN_A_YEAR, DesignPlan, plan_experiment, power_curve
from core.measures.multiplicity import Multiplicity, multiplicity
from core.measures.repeats import CompareSummary, RepeatSummary, compare_models, repeat_experiment
from core.measures.stats import LiftReport
from core.present.charts import label
from core.present.glossary import net_value_defined

__all__ = [
    "DEFAULT_REPEATS", "REPEAT_CHOICES", "PRE_PERIOD_DAYS", "DEFAULT_MIN_EFFECT", "HILLSTROM_MIN_EFFECT", "GREYED_COLOR",
    "ModelRun", "LiftView", "build_view", "planned_model", "ComparisonView", "comparison", "Story", "story",
    "design_sentence", "TableView", "model_tables", "column_warnings", "strip_frames", "PlanView", "plan", "CupedView",
    "cuped_view", "staged_upload", "CsvChoices", "csv_choices", "csv_lift", "csv_rows", "hillstrom_defaults",
    "times_in_ten", "width_change", "money", "pp", "the",
]

#: Repeated tests per model on the page: 500 pins a share near 80% to +-1.8 pp (one Monte Carlo
#: SE) and costs about 0.1 s per model on the default world (core/measures/repeats.py benchmark).
DEFAULT_REPEATS = 500
REPEAT_CHOICES = (200, 500, 1000, 2000)
#: Pre-period for CUPED: the 28 days before each unit's first message, as ``audience-lab
#: simulate-lift --cuped`` uses (assumed: four weekly cycles; Deng et al. 2013).
PRE_PERIOD_DAYS = 28.0
#: Default smallest lift worth detecting in the planner: +2 pp of conversion. Assumed — a round
#: figure between the e-mail lifts of Hillstrom's test (+0.5 to +0.7 pp) and a triggered
#: campaign's (several pp); the user sets their own.
DEFAULT_MIN_EFFECT = 0.02
#: Smallest lift worth detecting offered for the Hillstrom test: +0.5 pp of conversion. Assumed —
#: below the +0.68 pp the men's e-mail is published to have (Hillstrom 2008), so the power row
#: asks whether the test could have seen a somewhat smaller effect.
HILLSTROM_MIN_EFFECT = 0.005
TARGETED = ("crm", "cdp", "hybrid")
#: Grey used for figures from a test whose holdout is too small (the page's Styler and charts).
GREYED_COLOR = "#9A9A9A"


# --------------------------------------------------------------------------- words and numbers
def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def money(x: Any) -> str:
    v = _finite(x)
    return "–" if v is None else f"{v:,.0f}"


def pp(x: Any, digits: int = 2) -> str:
    """A fraction as signed percentage points: 0.0804 → '+8.04 pp'."""
    v = _finite(x)
    return "–" if v is None else f"{v * 100:+.{digits}f} pp"


def _share(x: Any) -> str:
    v = _finite(x)
    if v is None:
        return "–"
    if 0 < v < 0.005:
        return "<1%"
    return f"{v:.0%}"


def _right_share(share: float | None) -> str:
    """'7 times in 10 (68%)' — the exact share beside the rounded picture, once (small shares are already
    said as a percentage)."""
    words = times_in_ten(share)
    v = _finite(share)
    return words if v is None or "%" in words else f"{words} ({_share(v)})"


def times_in_ten(share: float | None) -> str:
    """'8 times in 10' for a share a room can picture; small and large shares as percentages."""
    v = _finite(share)
    if v is None:
        return "–"
    if v < 0.095:
        return f"in {_share(v)} of tests"
    if v >= 0.995:
        return "every time"
    if v >= 0.95:
        return f"almost every time ({v:.0%})"
    n = int(round(v * 10))
    return f"{n} time{'s' if n != 1 else ''} in 10"


#: Model names inside a sentence ("the true effect of the CDP audience").
_THE = {"crm": "the CRM segment", "cdp": "the CDP audience", "hybrid": "the hybrid", "blast": "the blast to everyone"}


def the(model: str) -> str:
    return _THE.get(model, f"the {label(model)}")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def width_change(change: float) -> str:
    """'18.2% narrower', '<0.1% narrower', 'unchanged' (CUPED never widens an interval)."""
    if change >= 0:
        return "unchanged"
    return ("<0.1%" if -change < 0.001 else f"{-change:.1%}") + " narrower"


def _with_ci(value: str, lo: str, hi: str) -> str:
    return f"{value} (95% CI {lo} to {hi})"


def _weeks(w: float | None) -> str:
    v = _finite(w)
    if v is None:
        return "–"
    return f"{v:,.0f} weeks" if v >= 20 else f"{v:.1f} weeks"


# --------------------------------------------------------------------------- the simulated campaigns
@dataclass(frozen=True)
class ModelRun:
    """One model's campaign: the single simulated run, its units, and its test repeated."""

    model: str
    result: CampaignResult
    units: pd.DataFrame            # by_unit(result.targets) + send_at (the unit's first message)
    weeks: float | None            # from the first message to the end of the period
    repeat: RepeatSummary | None   # None when there is nothing to repeat (see ``message``)

    @property
    def title(self) -> str:
        return label(self.model)

    @property
    def report(self) -> LiftReport | None:
        return self.result.report

    @property
    def greyed(self) -> bool:
        """True when the test's holdout is too small to measure anything: grey its figures out."""
        return self.report is not None and self.report.holdout_too_small

    @property
    def message(self) -> str:
        return self.result.message or ""

    @property
    def arrivals_per_week(self) -> float | None:
        if not self.weeks or len(self.units) == 0:
            return None
        return len(self.units) / self.weeks

    @property
    def baseline(self) -> float | None:
        return float(self.units["p0"].mean()) if len(self.units) else None

    @property
    def true_effect(self) -> float | None:
        """The estimand of the test: mean over units of p1 - p0 (= the report's true_abs_lift)."""
        return float((self.units["p1"] - self.units["p0"]).mean()) if len(self.units) else None


@dataclass(frozen=True)
class LiftView:
    """Every model's campaign on this play, with its repeated tests."""

    play_title: str
    holdout_share: float
    fixed_cost: float
    repeats: int
    seed: int
    runs: dict[str, ModelRun]
    outcome_event: str = "purchase"

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.runs)


def campaign_units(targets: pd.DataFrame) -> pd.DataFrame:
    """by_unit plus each unit's first send time (for CUPED's pre-period and the weekly looks): the
    randomised units the single report, the repeats, the planner and the comparison all measure."""
    units = by_unit(targets)
    if len(units):
        first = targets.groupby("unit_id", sort=True)["send_at"].min()
        units["send_at"] = first.reindex(units["unit_id"]).to_numpy()
    return units


def _span_weeks(units: pd.DataFrame, end: pd.Timestamp) -> float | None:
    if len(units) == 0 or "send_at" not in units:
        return None
    weeks = (end - pd.Timestamp(units["send_at"].min())) / pd.Timedelta(days=7)
    return float(weeks) if weeks > 0 else None


def build_view(run: PlayRun, cfg: CampaignConfig, n_repeats: int = DEFAULT_REPEATS,
               models: tuple[str, ...] | None = None) -> LiftView:
    """Simulate each model's campaign (and the blast) once, then repeat each one's holdout test.

    Repeats are analysed per randomised unit (``campaign.by_unit``), like the single run's report,
    so the single run is one draw from the distribution the repeats show.
    """
    models = models or (*run.models, "blast")
    runs: dict[str, ModelRun] = {}
    for m in models:
        result = simulate(run, m, cfg)
        units = campaign_units(result.targets)
        rep = None
        if len(units) >= 2:
            rep = repeat_experiment(units, cfg.holdout_share, n_repeats, cfg.seed, peek="send_at")
        runs[m] = ModelRun(m, result, units, _span_weeks(units, run.end), rep)
    return LiftView(run.play.title, cfg.holdout_share, cfg.fixed_cost, int(n_repeats), cfg.seed, runs,
                    run.play.response.outcome_event)


def planned_model(view: LiftView) -> str | None:
    """The targeted model with the highest true net value: the one a team would want to prove."""
    cands = [r for m, r in view.runs.items() if m in TARGETED and len(r.units) >= 2]
    if not cands:
        return None
    return max(cands, key=lambda r: r.result.true_net_value).model


# --------------------------------------------------------------------------- which model wins
@dataclass(frozen=True)
class ComparisonView:
    a: str
    b: str
    summary: CompareSummary | None
    reason: str | None              # why there is no comparison

    @property
    def right_share(self) -> float | None:
        return None if self.summary is None else self.summary.right_winner_share

    def sentence(self) -> str:
        """'The CDP audience truly adds 6,577 more ...; the measured comparison named it 8 times in 10 ...'"""
        if self.summary is None:
            return self.reason or "No comparison."
        s = self.summary
        if s.true_winner is None:
            return (f"{_cap(the(self.a))} and {the(self.b)} truly add the same incremental revenue; a test can only "
                    f"find a difference that is not there (a significant 'winner' in "
                    f"{_share(s.significant_wrong_share)} of tests).")
        win, lose = (self.a, self.b) if s.true_winner == self.a else (self.b, self.a)
        return (f"{_cap(the(win))} truly adds {money(abs(s.true_diff))} more incremental revenue than {the(lose)}. "
                f"Over {s.measurable:,} repeated tests with a {s.holdout_share:.0%} holdout, the measured comparison "
                f"was significant and right {_right_share(s.significant_right_share)}, significant and wrong in {_share(s.significant_wrong_share)} "
                f"and inconclusive in {_share(s.inconclusive_share)}; its sign alone pointed to {the(win)} in "
                f"{_share(s.right_winner_share)}.")


def comparison(view: LiftView, a: str = "crm", b: str = "cdp") -> ComparisonView:
    """How often the paired comparison of two models' measured revenue names the true winner."""
    if a == b or a not in view.runs or b not in view.runs:
        return ComparisonView(a, b, None, f"pick two different models among {', '.join(label(m) for m in view.runs)}")
    ra, rb = view.runs[a], view.runs[b]
    for r in (ra, rb):
        if len(r.units) < 2:
            return ComparisonView(a, b, None, f"{r.title} targeted fewer than 2 contacts/profiles, so there is no "
                                              "test to compare: " + (r.message or "its audience was empty"))
    cols = ["unit_id", "person_id", "key", "p0", "p1", "value"]
    summary = compare_models(ra.units[cols], rb.units[cols], view.holdout_share, view.repeats, view.seed,
                             labels=(a, b), metric="revenue")
    return ComparisonView(a, b, summary, None)


# --------------------------------------------------------------------------- the story
@dataclass(frozen=True)
class Story:
    headline: str
    lines: tuple[str, ...]


def _net_ranking(view: LiftView) -> str:
    """'True net value ...: CDP audience 11,174, Hybrid 11,103, CRM segment 4,161, Blast (everyone) -5,814.'"""
    order = sorted(view.runs.values(), key=lambda r: -r.result.true_net_value)
    parts = [f"{r.title} {money(r.result.true_net_value)}" for r in order]
    return f"True {net_value_defined('campaign')}: " + ", ".join(parts) + "."


def design_sentence(run: ModelRun, holdout_share: float, weeks: float | None = None,
                    target: float = 0.8) -> str:
    """The planner's answer in words, for the model's true effect."""
    p = plan(run, holdout_share, weeks if weeks is not None else run.weeks, None, target)
    return p.sentences[0] if p.sentences else p.reason or ""


def story(view: LiftView, cmp: ComparisonView | None) -> Story:
    """The headline and the three lines that carry the page at its defaults."""
    lines = [_net_ranking(view)]
    headline = "How often would a holdout test tell the truth?"
    if cmp is not None and cmp.summary is not None and cmp.summary.true_winner is not None:
        headline = (f"A {view.holdout_share:.0%} holdout test names the right model, significantly "
                    f"({label(cmp.a)} vs {label(cmp.b)}), {times_in_ten(cmp.summary.significant_right_share)}")
    if cmp is not None:
        small = [view.runs[m].title for m in (cmp.a, cmp.b) if m in view.runs and view.runs[m].greyed]
        lines.append(cmp.sentence() + (f" Careful: the holdout of {' and of '.join(small)} is below the minimum "
                                       "needed to measure anything, so each single test is indicative only." if small else ""))
    target = planned_model(view)
    if target is not None:
        lines.append(design_sentence(view.runs[target], view.holdout_share))
    return Story(headline, tuple(lines))


# --------------------------------------------------------------------------- the tables
@dataclass(frozen=True)
class TableView:
    """A table of formatted cells (rows = measures, columns = models) and which cells to grey out."""

    frame: pd.DataFrame
    greyed: dict[str, tuple[str, ...]] = field(default_factory=dict)   # column title -> greyed row labels
    notes: tuple[str, ...] = ()

    def styler(self) -> Any:
        """A pandas Styler that greys out the flagged cells (for st.table / st.dataframe)."""
        def paint(frame: pd.DataFrame) -> pd.DataFrame:
            css = pd.DataFrame("", index=frame.index, columns=frame.columns)
            for col, rows in self.greyed.items():
                for row in rows:
                    css.loc[row, col] = f"color: {GREYED_COLOR}; font-style: italic"
            return css
        return self.frame.style.apply(paint, axis=None)


ROI_ROW = "Net ROI, (revenue − cost) / cost (95% CI)"
BH_ROW = "p-value adjusted for the models read together (Benjamini–Hochberg)"
MEASURED_ROWS = ("Measured incremental revenue (95% CI)", "Measured lift per contact/profile (95% CI)", "p-value",
                 BH_ROW, ROI_ROW)


def net_roi(x: float) -> str:
    """Net ROI as a signed percentage (+250% = the campaign returned its cost and 2.5 times more)."""
    return f"{x:+,.0%}"


def _roi_cell(rep: LiftReport, notes: dict[str, int]) -> str:
    """Net ROI with its interval whenever it can be computed — never only when significant."""
    if rep.roi is not None:
        return f"{net_roi(rep.roi)} ({net_roi(rep.roi_ci_low)} to {net_roi(rep.roi_ci_high)})"
    reason = (rep.roi_reason or "not supported by this test").replace(" (fixed_cost)", "")
    mark = notes.setdefault(reason, len(notes) + 1)
    return f"not shown ({mark})"


def _value_column(r: ModelRun, notes: dict[str, int], fixed_cost: float) -> dict[str, str]:
    res, rep = r.result, r.report
    per_k = 1000 * res.true_net_value / res.sends if res.sends else None
    col = {
        "True incremental revenue": money(res.true_incremental_revenue),
        "Measured incremental revenue (95% CI)": "–",
        "True net value": money(res.true_net_value),  # defined once, in the story above (glossary)
        "True net value per 1,000 sends": money(per_k),
        "True lift per contact/profile": pp(r.true_effect) if len(r.units) else "–",
        "Measured lift per contact/profile (95% CI)": "–",
        "p-value": "–",
        BH_ROW: "–",
        "Power at the true effect": "–",
        "Cost (sends + fixed)": money(res.send_cost + fixed_cost),
        ROI_ROW: "–",
        "Held out (contacts/profiles)": "–",
        "Sample ratio check": "–",
    }
    if rep is None:
        return col
    col["Measured incremental revenue (95% CI)"] = (
        f"{money(rep.incremental_revenue)} ({money(rep.incremental_revenue_ci_low)} to "
        f"{money(rep.incremental_revenue_ci_high)})" if rep.incremental_revenue_ci_low is not None
        else money(rep.incremental_revenue))
    col["Measured lift per contact/profile (95% CI)"] = (
        f"{pp(rep.abs_lift)} ({pp(rep.abs_lift_ci_low).removesuffix(' pp')} to {pp(rep.abs_lift_ci_high).removesuffix(' pp')})")
    col["p-value"] = _p(rep.p_value)
    if rep.power_at_effect is not None:
        col["Power at the true effect"] = f"{rep.power_at_effect:.0%}" + (" (underpowered)" if rep.underpowered else "")
    col["Cost (sends + fixed)"] = money(rep.cost)
    col[ROI_ROW] = _roi_cell(rep, notes)
    col["Held out (contacts/profiles)"] = f"{rep.n_holdout:,}" + (" — too small" if rep.holdout_too_small else "")
    if rep.srm_p_value is not None:
        col["Sample ratio check"] = (f"mismatch (p = {rep.srm_p_value:.1e})" if rep.srm_mismatch
                                     else f"ok (p = {rep.srm_p_value:.2f})")
    return col


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def multiplicity_note(view: LiftView) -> Multiplicity:
    """The page reads every model's test at once: BH-adjusted p beside each, and how many are chance."""
    return multiplicity([r.report.p_value if r.report is not None else None for r in view.runs.values()])


def _reach_column(r: ModelRun) -> dict[str, str]:
    res = r.result
    return {
        "Messages sent": f"{res.sends:,}",
        "Contacts/profiles targeted (incl. holdout)": f"{res.units:,}",
        "People behind them": f"{res.people:,}",
        "Double sends (a need messaged again)": f"{res.double_sends:,}",
        "People in both arms": f"{res.people_in_both_arms:,}",
        "Sends that landed while the need was open": _share(res.relevant_share) if res.sends else "–",
        "Send cost": money(res.send_cost),
        "Unsubscribe (fatigue) cost": money(res.fatigue_cost),
    }


def _pipeline_words(frame: pd.DataFrame, view: LiftView) -> pd.DataFrame:
    """B2B plays: the true money row reads "expected pipeline value" with the extra demo requests beside it."""
    if view.outcome_event != "demo_requested":
        return frame
    from core.present.labels import money_row, pipeline_text

    row = frame.loc["True incremental revenue"].copy()
    for r in view.runs.values():
        row[r.title] = pipeline_text(row[r.title], r.result.true_incremental_conversions)
    frame.loc["True incremental revenue"] = row
    return frame.rename(index={"True incremental revenue": money_row(view.outcome_event)})


def model_tables(view: LiftView) -> tuple[TableView, TableView]:
    """(value: true and measured, reach and cost), one column per model incl. "Blast (everyone)"."""
    notes: dict[str, int] = {}
    value = {r.title: _value_column(r, notes, view.fixed_cost) for r in view.runs.values()}
    mult = multiplicity_note(view)
    for r, adj in zip(view.runs.values(), mult.p_adjusted):
        if adj is not None:
            value[r.title][BH_ROW] = _p(adj)
    reach = {r.title: _reach_column(r) for r in view.runs.values()}
    greyed = {r.title: MEASURED_ROWS for r in view.runs.values() if r.greyed}
    value_frame = _pipeline_words(pd.DataFrame(value), view)
    value_frame.index.name = "measure"
    reach_frame = pd.DataFrame(reach)
    reach_frame.index.name = "measure"
    text = tuple(f"({n}) Net ROI not shown: {reason}." for reason, n in sorted(notes.items(), key=lambda kv: kv[1]))
    if mult.tests > 1:
        text += (mult.sentence[:1].upper() + mult.sentence[1:] + ".",)
    return TableView(value_frame, greyed, text), TableView(reach_frame)


def column_warnings(view: LiftView) -> list[tuple[str, str]]:
    """(model title, warning) for every column whose test cannot be read at face value."""
    out = []
    for r in view.runs.values():
        rep = r.report
        if rep is None:
            out.append((r.title, r.message or "nothing to measure"))
            continue
        if rep.holdout_too_small:
            out.append((r.title, f"{rep.holdout_reason}. Its measured figures are greyed out."))
        if rep.srm_mismatch:
            out.append((r.title, next(w for w in rep.warnings if w.startswith("sample ratio"))))
    return out


# --------------------------------------------------------------------------- the decision and weekly looks
def decision_table(view: LiftView) -> pd.DataFrame:
    """Per model, what the repeated tests would have told a team: significant and right, significant
    and wrong, inconclusive — and, secondary, how often the estimate's sign alone was right."""
    rows = {}
    for r in view.runs.values():
        rep = r.repeat
        if rep is None or rep.inconclusive_share is None:
            continue
        rows[r.title] = {
            "Significant and right": _share(rep.significant_right_share) if rep.true_abs_lift != 0 else "–",
            "Significant and wrong": _share(rep.significant_wrong_share),
            "Inconclusive (interval includes 0)": _share(rep.inconclusive_share),
            "Sign alone right (secondary)": _share(rep.sign_right_share) if rep.sign_right_share is not None else "–",
        }
    frame = pd.DataFrame(rows)
    frame.index.name = "repeated tests"
    return frame


def peeking_table(view: LiftView) -> pd.DataFrame:
    """Per model, the repeated tests read every week: fixed-horizon vs always-valid (mSPRT) intervals."""
    rows = {}
    for r in view.runs.values():
        pk = None if r.repeat is None else r.repeat.peeking
        if not pk:
            continue
        f, q = pk["fixed_horizon"], pk["sequential"]
        rows[r.title] = {
            "Weekly looks": f"{pk['looks']}",
            "Fixed-horizon: covers the truth at every look": _share(f["coverage_every_look"]),
            "Always-valid (mSPRT): covers the truth at every look": _share(q["coverage_every_look"]),
            "Fixed-horizon: ever significant": _share(f["ever_significant"]),
            "Always-valid: ever significant": _share(q["ever_significant"]),
            "Always-valid interval at the last look vs fixed": (
                f"{q['final_width'] / f['final_width']:.1f}× as wide" if f["final_width"] > 0 else "–"),
        }
    frame = pd.DataFrame(rows)
    frame.index.name = "read every week"
    return frame


def peeking_sentence(view: LiftView) -> str:
    """One line for the room: what weekly looks do to a fixed-horizon interval, and what the fix costs."""
    pks = [(r, r.repeat.peeking) for r in view.runs.values() if r.repeat is not None and r.repeat.peeking]
    if not pks:
        return "No campaign ran long enough to be read week by week."
    fixed = [pk["fixed_horizon"]["coverage_every_look"] for _, pk in pks]
    seq = [pk["sequential"]["coverage_every_look"] for _, pk in pks]
    return (f"Read every week and stopped at the first significant look, the usual 95% interval covered the truth at "
            f"every look in only {_share(min(fixed))} to {_share(max(fixed))} of repeated tests; the always-valid "
            f"interval (a mixture sequential test, as GrowthBook and Statsig offer) in {_share(min(seq))} to "
            f"{_share(max(seq))}, at the price of a wider interval.")


# --------------------------------------------------------------------------- the strip chart's data
def strip_frames(view: LiftView) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(draws, marks) for charts.repeated_lifts.

    draws: model, abs_lift, significant — one row per repeated test. marks: one row per model with
    the true lift, this run's measured lift, the share of tests that detect the effect (power, or
    the false-positive rate when the true lift is 0), and whether its holdout is too small.
    """
    draws, marks = [], []
    for m, r in view.runs.items():
        if r.repeat is None:
            continue
        d = r.repeat.draws
        ok = d["abs_lift"].notna()
        draws.append(pd.DataFrame({"model": m, "abs_lift": d.loc[ok, "abs_lift"].to_numpy(),
                                   "significant": d.loc[ok, "significant"].to_numpy(dtype=bool)}))
        detect = r.repeat.power if r.repeat.power is not None else r.repeat.false_positive_rate
        if r.greyed:
            note = "holdout too small"
        elif r.repeat.power is not None:
            note = f"detects it {times_in_ten(detect)}"
        else:
            note = f"no true effect; 'detects' one {times_in_ten(detect)}"
        marks.append({"model": m, "true_abs_lift": r.repeat.true_abs_lift,
                      "abs_lift": None if r.report is None else r.report.abs_lift,
                      "detect_share": detect, "greyed": r.greyed, "note": note})
    cols = {"model": str, "abs_lift": float, "significant": bool}
    draws_df = pd.concat(draws, ignore_index=True) if draws else pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
    return draws_df, pd.DataFrame(marks, columns=["model", "true_abs_lift", "abs_lift", "detect_share", "greyed", "note"])


# --------------------------------------------------------------------------- the planner
@dataclass(frozen=True)
class PlanView:
    model: str
    holdout_share: float
    weeks: float | None
    plan: DesignPlan | None
    curve: pd.DataFrame | None      # power against weeks, one line per effect
    sentences: tuple[str, ...]
    reason: str | None = None


def _effect_sentence(model: str, e: Any, h: float, weeks: float | None, target: float,
                     power_now: float | None, repeats: int | None) -> str:
    """One effect of the plan in words a room can repeat ("… 5 times in 10. Detecting it 8 times in 10 needs …")."""
    span = f" over {_weeks(weeks)}" if weeks else ""
    if e.label == "true":
        what = f"the true effect of {the(model)} ({pp(e.effect_abs)})"
    else:
        what = f"a lift of {pp(e.effect_abs)} (the smallest worth detecting) from {the(model)}"
    how = f" (in {repeats:,} repeated tests)" if repeats else ""
    head = f"With a {h:.0%} holdout{span}, this test would detect {what} {times_in_ten(power_now)}{how}"
    goal = f"{round(target * 10)} times in 10"
    if power_now is not None and power_now >= target:
        return head + f": at least the {goal} a test should manage."
    need = []
    if e.weeks_needed is not None and e.weeks_needed > WEEKS_IN_A_YEAR:
        smallest = (f"the smallest lift a quarter could detect is {pp(e.quarter_mde)}" if e.quarter_mde is not None
                    else "no lift is detectable within a quarter")
        share = (f" (a {e.holdout_share_needed:.0%} holdout would get there over the same {_weeks(weeks)})"
                 if e.holdout_share_needed is not None and weeks else "")
        return head + f". Not detectable within a year at this size{share}; {smallest}."
    if e.weeks_needed is not None:
        need.append(f"about {_weeks(e.weeks_needed)} at a {h:.0%} holdout")
    elif e.n_total_needed is not None:
        need.append(f"{e.n_total_needed:,} contacts/profiles at a {h:.0%} holdout")
    if e.holdout_share_needed is not None:
        need.append(f"a {e.holdout_share_needed:.0%} holdout" + (f" over the same {_weeks(weeks)}" if weeks else ""))
    if not need:
        return head + f"; no campaign length or holdout up to 50% gets it to {goal}."
    return head + f". Detecting it {goal} needs " + ", or ".join(need) + "."


def plan(run: ModelRun, holdout_share: float, weeks: float | None, min_effect: float | None,
         target: float = 0.8) -> PlanView:
    """Power now, and the holdout share and campaign length needed, at the true and a minimum effect.

    At the simulated design itself (same holdout share and length) the true effect's power is the
    share of repeated tests that detected it, so the sentence and the strip chart say the same;
    elsewhere it is the analytic power (design.power_two_proportions).
    """
    if len(run.units) < 2 or run.baseline is None or run.arrivals_per_week is None:
        return PlanView(run.model, holdout_share, weeks, None, None, (),
                        f"{run.title} reached too few contacts/profiles to plan a test: " + (run.message or "empty audience"))
    weeks = float(weeks) if weeks else run.weeks
    audience = max(int(round(run.arrivals_per_week * weeks)), 2)
    true_e = run.true_effect
    base = run.baseline
    if min_effect is not None and not (0 < base + min_effect <= 1):
        raise DataError(f"a minimum effect of {pp(min_effect)} on a baseline of {base:.2%} is not a conversion rate; "
                        f"give a lift between 0 and {pp(1 - base)}")
    if not true_e and min_effect is None:
        return PlanView(run.model, holdout_share, weeks, None, None, (),
                        f"the true effect of {the(run.model)} is 0: there is nothing to detect; give the smallest lift "
                        "worth detecting to plan for it")
    p = plan_experiment(base, holdout_share=holdout_share, true_effect=true_e if true_e else None,
                        min_effect=min_effect, audience_size=audience, arrivals_per_week=run.arrivals_per_week,
                        power=target)
    simulated = (run.repeat is not None and run.repeat.power is not None
                 and math.isclose(holdout_share, run.repeat.holdout_share)
                 and abs(weeks - (run.weeks or 0)) <= 0.051)  # the page offers the length to 0.1 week
    sentences = []
    for e in p.effects:
        from_repeats = simulated and e.label == "true"
        power_now = run.repeat.power if from_repeats else e.power_now
        sentences.append(_effect_sentence(run.model, e, holdout_share, weeks, target, power_now,
                                          run.repeat.measurable if from_repeats else None))
    effects = {("true effect" if e.label == "true" else "smallest lift worth detecting") + f" ({pp(e.effect_abs)})":
               e.effect_abs for e in p.effects}
    curve = power_curve(base, effects, holdout_share, arrivals_per_week=run.arrivals_per_week)
    reason = None if true_e else f"the true effect of {the(run.model)} is 0: there is nothing to detect"
    return PlanView(run.model, holdout_share, weeks, p, curve, tuple(sentences), reason)


# --------------------------------------------------------------------------- CUPED
@dataclass(frozen=True)
class CupedView:
    model: str
    single: CupedResult | None       # CUPED on this run's test
    repeated: dict[str, Any] | None  # coverage, mean_width_change, power over the repeats
    power_plain: float | None
    sentence: str


def cuped_view(view: LiftView, model: str, events: pd.DataFrame) -> CupedView:
    """CUPED with each unit owner's visits in the 28 days before its first message."""
    r = view.runs[model]
    if r.report is None or len(r.units) < 4:
        return CupedView(model, None, None, None, f"{r.title}: nothing to adjust ({r.message or 'no test'}).")
    pre = pre_period_covariates(events, r.units["send_at"], person_ids=r.units["person_id"],
                                lookback_days=PRE_PERIOD_DAYS)
    units = r.units.assign(pre_visits=pre["pre_visits"].to_numpy())
    hold = units["holdout"].to_numpy(dtype=bool)
    single = None
    y, x = units["y"].to_numpy(dtype=float), units["pre_visits"].to_numpy(dtype=float)
    if (~hold).sum() >= 2 and hold.sum() >= 2:
        rep = r.report
        single = cuped(y[~hold], y[hold], x[~hold], x[hold], covariate="pre-period visits",
                       base=(rep.abs_lift, rep.abs_lift_ci_low, rep.abs_lift_ci_high))
    summary = repeat_experiment(units[["person_id", "key", "p0", "p1", "pre_visits"]], view.holdout_share,
                                view.repeats, view.seed, covariate="pre_visits")
    cs = summary.cuped_summary
    plain = summary.power
    if cs is None:
        return CupedView(model, single, None, plain, f"{r.title}: no repeated test could be adjusted.")
    change = cs["mean_width_change"]
    word = "narrows" if change < 0 else "leaves"
    size = ("by <0.1%" if -change < 0.001 else f"by {-change:.1%}") if change < 0 else "unchanged"
    power_part = ""
    if cs.get("power") is not None and plain is not None:
        power_part = f"; power {plain:.0%} without it, {cs['power']:.0%} with it"
    sentence = (f"CUPED with each person's visits in the {PRE_PERIOD_DAYS:.0f} days before the message {word} the "
                f"interval of {the(model)} {size} on average over {summary.measurable:,} repeated tests"
                f" (coverage {cs['coverage']:.0%}){power_part}.")
    if abs(change) < 0.02:
        sentence += (" Past visits say little about whether someone converts within days of a message, so the "
                     "gain on a conversion outcome is small; it is larger on revenue or visit outcomes.")
    return CupedView(model, single, cs, plain, sentence)


# --------------------------------------------------------------------------- real experiments
_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _safe_name(name: str) -> str:
    """The uploaded file's base name, stripped of path parts and odd characters, at most 120 chars."""
    base = Path(str(name or "")).name.replace("\\", "_")
    base = _SAFE.sub("_", base).strip(" .")[:120]
    return base or "upload.csv"


@contextmanager
def staged_upload(data: BinaryIO, name: str, size: int) -> Iterator[Path]:
    """An upload as a file in a private temporary directory, removed when the block ends.

    Refused by ``size`` before a byte is read; copied in 1 MiB chunks with the same limit, so a
    stream longer than it declared is refused too. The file keeps the upload's base name so the
    checks of :mod:`core.measures.liftcsv` name the file the user chose.
    """
    shown = _safe_name(name)
    liftcsv.check_upload_size(int(size), f"CSV {shown}")
    limit = liftcsv.MAX_FILE_BYTES
    with tempfile.TemporaryDirectory(prefix="audience-lab-upload-") as folder:
        path = Path(folder) / shown
        copied = 0
        with open(path, "xb") as out:
            if hasattr(data, "seek"):
                data.seek(0)
            while True:
                chunk = data.read(liftcsv.READ_CHUNK)
                if not chunk:
                    break
                copied += len(chunk)
                if copied > limit:
                    liftcsv.check_upload_size(copied, f"CSV {shown}")
                out.write(chunk)
        if copied == 0:
            liftcsv.check_upload_size(0, f"CSV {shown}")
        yield path


@dataclass(frozen=True)
class CsvChoices:
    """What a page offers for a CSV: its columns and, per column, the values seen in the preview."""

    name: str
    columns: tuple[str, ...]
    values: Mapping[str, tuple[str, ...]]
    rows_previewed: int

    def arms(self, column: str) -> tuple[str, ...]:
        return self.values.get(column, ())

    def default(self, options: tuple[str, ...], *preferred: str, fallback: int = 0) -> int:
        for p in preferred:
            if p in options:
                return options.index(p)
        return min(fallback, max(len(options) - 1, 0))


def csv_choices(path: Path, nrows: int = 2000) -> CsvChoices:
    """Check the file (liftcsv.inspect_csv) and read a preview; one DataError for anything wrong."""
    frame = liftcsv.read_preview(path, nrows=nrows)
    columns = tuple(str(c) for c in frame.columns)
    if len(columns) < 2:
        raise DataError(f"CSV {path.name} has {len(columns)} column ({', '.join(columns) or 'none'}); an experiment "
                        "needs at least two: the arm (treatment/control) and an outcome")
    values = {c: tuple(sorted({str(v).strip() for v in frame[c].dropna().unique()[:50]})) for c in columns}
    return CsvChoices(path.name, columns, values, len(frame))


def csv_lift(path: Path, arm: str, treatment: str, control: str, outcome: str, *, revenue: str | None = None,
             covariate: str | None = None, planned_control_share: float = 0.5,
             min_effect: float | None = None) -> LiftReport:
    """The lift report of a real experiment, with the sample-ratio check always on."""
    if not (0 < float(planned_control_share) < 1):
        raise DataError(f"the planned control share must be between 0 and 1 (got {planned_control_share})")
    return liftcsv.lift_from_csv(path, arm, treatment, control, outcome, revenue=revenue, covariate=covariate,
                                 planned_control_share=planned_control_share, min_effect=min_effect)


def csv_rows(rep: LiftReport) -> list[tuple[str, str]]:
    """(label, value) lines of a real experiment's report, money first, ratios only with intervals."""
    binary = rep.binary
    fmt = pp if binary else (lambda v: "–" if _finite(v) is None else f"{float(v):+,.4g}")
    rows = []
    if rep.incremental_revenue is not None:
        rev = money(rep.incremental_revenue)
        if rep.incremental_revenue_ci_low is not None:
            rev = _with_ci(rev, money(rep.incremental_revenue_ci_low), money(rep.incremental_revenue_ci_high))
        rows.append(("Incremental revenue (treated arm)", rev))
    rows.append(("Treated / control", f"{rep.n_treated:,} / {rep.n_holdout:,}"))
    rows.append(("Absolute lift" if binary else "Difference of means",
                 _with_ci(fmt(rep.abs_lift), fmt(rep.abs_lift_ci_low), fmt(rep.abs_lift_ci_high))))
    if rep.rel_lift is not None:
        rows.append(("Relative lift", f"{rep.rel_lift:+.1%} (95% CI {rep.rel_lift_ci_low:+.1%} to {rep.rel_lift_ci_high:+.1%})"))
    else:
        rows.append(("Relative lift", f"not shown: {rep.rel_lift_reason}"))
    rows.append(("p-value", "<0.001" if rep.p_value < 0.001 else f"{rep.p_value:.3f}"))
    if rep.power_at_effect is not None:
        rows.append((f"Power at the {rep.power_basis}", f"{rep.power_at_effect:.0%} ({fmt(rep.power_effect)})"))
    else:
        rows.append(("Power", "give the smallest lift worth detecting to judge it"))
    rows.append(("Minimum detectable effect (80% power)", "–" if rep.mde_abs is None else fmt(rep.mde_abs).lstrip("+")))
    if rep.srm_p_value is not None:
        rows.append(("Sample ratio check", (f"mismatch (p = {rep.srm_p_value:.1e})" if rep.srm_mismatch
                                            else f"ok (p = {rep.srm_p_value:.2f}, planned control share "
                                                 f"{rep.planned_holdout_share:.0%})")))
    if rep.cuped is not None:
        c = rep.cuped
        rows.append((f"CUPED on {c.covariate}",
                     _with_ci(fmt(c.abs_lift), fmt(c.abs_lift_ci_low), fmt(c.abs_lift_ci_high))
                     + f"; interval {width_change(c.width_change)}"))
    rows.append(("Method", rep.test))
    if rep.revenue_method:
        rows.append(("Revenue measured by", rep.revenue_method))
    return rows


def hillstrom_defaults() -> dict[str, Any]:
    """How the bundled Hillstrom test is read by default: men's e-mail vs no e-mail, conversion,
    spend as revenue, pre-period spend (``history``) for CUPED, equal arms planned."""
    return {"arm": "segment", "treatment": "Mens E-Mail", "control": "No E-Mail", "outcome": "conversion",
            "revenue": "spend", "covariate": "history", "planned_control_share": 0.5,
            "min_effect": HILLSTROM_MIN_EFFECT}
