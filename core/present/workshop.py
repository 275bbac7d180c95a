"""The workshop story: four steps, each setting operational knobs and making a claim the room can
check on the page it points to — with the figures read from the results, never written by hand.

A facilitator clicks "Set the knobs"; the sidebar then shows the step's text with the live numbers
("the CDP reaches 41% of qualifying episodes inside the 24-hour window, the CRM 22%"). Because
the text is rendered from the same results the page shows, it cannot promise a figure the page
does not show; and when a world does not bear a step's point out (another preset or play), the
text says what happened instead of asserting the script. ``tests/test_workshop.py`` runs every
step on the default world and checks the claims.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import pandas as pd

from core.advice.ops import ops_settings


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    page: str                    # the page the step points to (its URL path)
    settings: Mapping[str, Any]  # knobs the step sets (replacing the others)
    intro: str                   # what the facilitator says before the figures
    claim: Callable[["Figures"], tuple[bool, str]]  # (does the world bear it out, the sentence)
    plays: Mapping[str, str] | None = None  # preset → the play this step switches to (None: keep the current play)
    ask: Callable[["Figures"], str] | None = None  # the question the facilitator puts to the room, from the figures
    minutes: int = 10                # how long the step takes in the room (assumed; see MINUTES_NOTE)
    compare: tuple[str, str] = ("crm", "cdp")  # the comparison Campaign lift opens on for this step

    def play_for(self, preset: str) -> str | None:
        return (self.plays or {}).get(preset)


@dataclass(frozen=True)
class Figures:
    """The numbers a step's sentence cites, read from a scenario's results."""

    window_hours: float
    timely: Mapping[str, float]      # share of qualifying episodes reached inside the action window
    net: Mapping[str, float]         # true net value per model, blast included
    build_days: Mapping[str, float]  # days to launch a campaign per side
    episodes: int

    @classmethod
    def of(cls, results, activation) -> "Figures":
        f = results.freshness.set_index("model")
        lift = results.lift.set_index("model")
        return cls(window_hours=float(results.run.play.action_window_hours),
                   timely={m: float(f.loc[m, "share_within_window"]) for m in f.index},
                   net={m: float(lift.loc[m, "true_net_value"]) for m in lift.index},
                   build_days={"crm": float(activation.crm_build_days), "cdp": float(activation.cdp_build_days)},
                   episodes=int(f["n_qualified"].max()) if len(f) else 0)


def pct(x: float) -> str:
    if x != x:
        return "–"
    if 0 < x < 0.01:
        return "<1%"
    return f"{x:.0%}"


def money(x: float) -> str:
    return f"{x:,.0f}"


def _days(x: float) -> str:
    return f"{x:g} day" + ("" if x == 1 else "s")


def _fast_crm(f: Figures) -> tuple[bool, str]:
    ok = f.build_days["crm"] < f.build_days["cdp"]
    return ok, (f"Segments shows the rule as a sentence; a CRM campaign launches in {_days(f.build_days['crm'])}, "
                f"a CDP audience in {_days(f.build_days['cdp'])}.")


def _fresh_cdp(f: Figures) -> tuple[bool, str]:
    cdp, crm = f.timely.get("cdp", 0.0), f.timely.get("crm", 0.0)
    w = f"{f.window_hours:g}-hour"
    if f.episodes == 0:
        return False, "Nobody truly qualifies for this play in this world, so there is nothing to be fresh about."
    if cdp > crm:
        return True, (f"On Freshness the CDP reaches {pct(cdp)} of the {f.episodes:,} qualifying episodes inside the "
                      f"{w} window, the CRM {pct(crm)}.")
    return False, (f"Here the CRM still reaches more inside the {w} window ({pct(crm)} vs the CDP's {pct(cdp)}): "
                   "this play's signal is one the CRM sees in time.")


def _crm_beats_poor_cdp(f: Figures) -> tuple[bool, str]:
    crm, cdp = f.net.get("crm", 0.0), f.net.get("cdp", 0.0)
    if crm > cdp:
        return True, (f"On Campaign lift the CRM's true net value is {money(crm)} against the poorly run CDP's "
                      f"{money(cdp)}: execution beats precision.")
    return False, (f"Even poorly run, the CDP nets {money(cdp)} against the CRM's {money(crm)} on this play: "
                   "its signal is one the CRM cannot see at all.")


def _hybrid(f: Figures) -> tuple[bool, str]:
    hyb, crm, cdp = f.net.get("hybrid", 0.0), f.net.get("crm", 0.0), f.net.get("cdp", 0.0)
    best_pure = max(crm, cdp)
    if hyb >= best_pure:
        return True, (f"On Campaign lift the hybrid nets {money(hyb)}, the CDP alone {money(cdp)} and the CRM alone "
                      f"{money(crm)}: CDP data, the CRM's tool.")
    return False, (f"On this play the hybrid nets {money(hyb)}, the CDP alone {money(cdp)} and the CRM alone "
                   f"{money(crm)}: without CRM fields in the rule, the extra sync only adds delay.")


def _ask_simple(f: Figures) -> str:
    gap = f.build_days["cdp"] - f.build_days["crm"]
    return (f"Which of your campaigns would still matter if it shipped {_days(gap)} later? "
            "What does your team's segment look like as one sentence?")


def _ask_fresh(f: Figures) -> str:
    missed = 1 - f.timely.get("crm", 0.0)
    return (f"The CRM misses {pct(missed)} of these moments inside the {f.window_hours:g}-hour window: which of "
            "your plays live or die on that window, and which can wait a day?")


def _ask_execution(f: Figures) -> str:
    return (f"The well-run CRM nets {money(f.net.get('crm', 0.0))}, the poorly run CDP {money(f.net.get('cdp', 0.0))}: "
            "which knob on the Scenario page would you fix first on your own CDP, and who owns it?")


def _ask_hybrid(f: Figures) -> str:
    return (f"The hybrid nets {money(f.net.get('hybrid', 0.0))} against the CDP's {money(f.net.get('cdp', 0.0))}: "
            "which CRM field would your best audience need, and how quickly does it reach your sending tool today?")


#: Step durations are assumed: a 45-minute session (a common workshop slot) split by how much each
#: step has to show — the two money steps need the Campaign lift page explained, so they get more.
MINUTES_NOTE = "assumed: a 45-minute session split by how much each step has to show"

STEPS: tuple[Step, ...] = (
    Step("crm-simple", "1 · A CRM segment is simple and fast to ship", "Segments",
         {**ops_settings({"crm": "well-run"}), "cdp_build_days": 3.0},
         "A CRM segment is a filter on fields and tracked visits a team already has.", _fast_crm,
         ask=_ask_simple, minutes=8),
    Step("cdp-fresh", "2 · A well-run CDP is fresh and cross-channel", "Freshness",
         ops_settings({"cdp": "well-run"}),
         "With good tracking and real-time audiences the CDP sees behaviour minutes after it happens.", _fresh_cdp,
         ask=_ask_fresh, minutes=10),
    Step("execution", "3 · A poorly run CDP loses to a well-run CRM", "Campaign_lift",
         ops_settings({"crm": "well-run", "cdp": "poorly-run"}),
         "Low tracking coverage, few identified sessions, daily batches and six weeks to ship an audience.",
         _crm_beats_poor_cdp, ask=_ask_execution, minutes=12),
    Step("hybrid", "4 · Hybrid: CDP audiences, the CRM's sending tool", "Campaign_lift",
         {**ops_settings({"crm": "well-run", "cdp": "well-run"}), "hybrid_sync_minutes": 15.0},
         "The CDP collects and resolves identity, the CRM stays the system of record, and its marketing tool "
         "sends the synced audience: on a play whose need is a CRM fact plus fresh behaviour, only the hybrid "
         "has both halves.", _hybrid,
         plays={"b2c-retail": "valued-browse-abandonment", "omnichannel": "valued-browse-abandonment",
                "b2b-saas": "open-deal-pricing"},
         ask=_ask_hybrid, minutes=15, compare=("cdp", "hybrid")),
)


def step(key: str) -> Step:
    for s in STEPS:
        if s.key == key:
            return s
    raise KeyError(key)


def narrate(s: Step, results, activation) -> tuple[bool, str]:
    """The step's sentence with the live figures, and whether this world bears the point out."""
    ok, sentence = s.claim(Figures.of(results, activation))
    return ok, f"{s.intro} {sentence}"


@dataclass(frozen=True)
class Notes:
    """What the facilitator says, asks and how long the step takes, from the live figures."""

    say: str
    ask: str
    minutes: int
    holds: bool  # whether this world bears the step's point out (else ``say`` says what happened)

    def lines(self) -> list[str]:
        return [f"Say: {self.say}", f"Ask: {self.ask}", f"Time: about {self.minutes} minutes ({MINUTES_NOTE})."]


def notes(s: Step, results, activation) -> Notes:
    """The facilitator's notes for one step, rendered from the same results the page shows."""
    fig = Figures.of(results, activation)
    ok, sentence = s.claim(fig)
    ask = s.ask(fig) if s.ask else "What surprised you on this page?"
    return Notes(say=f"{s.intro} {sentence}", ask=ask, minutes=s.minutes, holds=ok)


def comparison_for(step_key: str | None) -> tuple[str, str]:
    """The pair Campaign lift compares first: the hybrid step is about CDP vs hybrid, the rest CRM vs CDP."""
    for s in STEPS:
        if s.key == step_key:
            return s.compare
    return ("crm", "cdp")


def figures_table(results) -> pd.DataFrame:
    """The figures the story cites, one row per model, for a hand-out."""
    f = results.freshness.set_index("model")[["share_within_window"]]
    lift = results.lift.set_index("model")[["true_net_value"]]
    return f.join(lift, how="outer").reset_index()
