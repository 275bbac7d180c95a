"""What the Freshness and Overlap pages say, in words with their counts, computed without Streamlit.

Every headline says what it counts: shares travel with the number of qualifying episodes they
are shares of, medians with the number activated, stale reach as person-days beside the head
count, tiny shares as "<1%". When nobody truly qualifies, the pages say so instead of showing
percentages of nothing. The yardstick table shows how the picture moves when a play is judged on
one system's own rule instead of the latent need; the need table how the money moves when the need
itself is one system's rule.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.advice.verdict import need_sensitivity
from core.engine.playrun import PlayRun, rejudge
from core.engine.plays import YARDSTICKS
from core.measures.campaign import CampaignConfig
from core.measures.freshness import freshness_table
from core.measures.overlap import overlap_at

YARDSTICK_LABELS = {"latent": "The latent need (default)", "crm-rule": "The CRM segment's own rule",
                    "cdp-rule": "The CDP audience's own rule"}


def pct(x: float | None, digits: int = 0) -> str:
    """A share as people read it: '–' for nothing, '<1%' for a tiny non-zero share."""
    if x is None or x != x:
        return "–"
    if 0 < x < 0.01 and digits == 0:
        return "<1%"
    if 0.99 < x < 1 and digits == 0:
        return ">99%"
    return f"{x * 100:.{digits}f}%"


def hours(x: float | None) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:.1f} h" if x < 48 else f"{x / 24:.1f} days"


@dataclass(frozen=True)
class FreshnessCard:
    model: str
    timely: str        # "41%"
    timely_of: str     # "of 1,234 qualifying episodes"
    median: str        # "14.0 h"
    median_of: str     # "p90 2.1 days · over 512 activated"
    never: str
    stale: str         # "123 people"
    stale_days: str    # "456 person-days"


def freshness_cards(table: pd.DataFrame) -> list[FreshnessCard]:
    cards = []
    for r in table.itertuples():
        cards.append(FreshnessCard(
            model=r.model, timely=pct(r.share_within_window),
            timely_of=f"of {r.n_qualified:,} qualifying episodes ({r.n_people_qualified:,} people)",
            median=hours(r.median_hours),
            median_of=(f"p90 {hours(r.p90_hours)} · over {r.n_activated:,} activated" if r.n_activated
                       else "nobody activated"),
            never=pct(r.share_never), stale=f"{r.n_stale_people:,} people",
            stale_days=f"{r.stale_person_days:,.0f} person-days reachable while not qualifying"))
    return cards


def nobody_qualifies(run: PlayRun) -> str | None:
    """A sentence when the yardstick holds for nobody in this world (else None)."""
    if len(run.truth) == 0:
        return (f"Nobody truly qualifies for '{run.play.title}' in this world ({run.engine.world.config.preset}, "
                f"{len(run.engine.world.people):,} people): there is nothing to be timely, accurate or incremental "
                "about. Pick another play, a larger world or a longer period.")
    return None


def yardstick_table(run: PlayRun, cfg: CampaignConfig | None = None) -> pd.DataFrame:
    """Per yardstick: how timely and how complete each side looks.

    No money here: what a message does follows the need, not the yardstick, so a net-value column
    could not move; :func:`need_table` puts the need itself on trial instead."""
    mid = run.start + (run.end - run.start) / 2
    rows = []
    for y in YARDSTICKS:
        judged = run if y == run.play.yardstick else rejudge(run, y)
        f = freshness_table(judged).set_index("model")
        o = overlap_at(judged, mid)["models"]
        rows.append({"yardstick": YARDSTICK_LABELS[y],
                     "episodes": int(f["n_qualified"].max()) if len(f) else 0,
                     "CRM reached in time": pct(f.loc["crm", "share_within_window"]) if "crm" in f.index else "–",
                     "CDP reached in time": pct(f.loc["cdp", "share_within_window"]) if "cdp" in f.index else "–",
                     "CRM recall (mid-period)": pct(o.get("crm", {}).get("recall")),
                     "CDP recall (mid-period)": pct(o.get("cdp", {}).get("recall"))})
    return pd.DataFrame(rows)


NEED_LABELS = {"latent": "The latent need (default)", "crm-rule": "The CRM segment's rule on ground truth",
               "cdp-rule": "The CDP audience's rule on ground truth", "both-rules": "Both rules at once"}


def need_table(run: PlayRun, cfg: CampaignConfig) -> pd.DataFrame:
    """The need on trial: the true net value of each side and the winner when a message helps only
    people with this need (:func:`core.advice.verdict.need_sensitivity`). A winner that changes
    down the column means the definition of need, not operations, decides the play."""
    rows = []
    for r in need_sensitivity(run, cfg):
        net = r["net_value"]
        rows.append({"need": NEED_LABELS[r["need"]],
                     "CRM true net value": f"{net.get('crm', float('nan')):,.0f}",
                     "CDP true net value": f"{net.get('cdp', float('nan')):,.0f}",
                     "winner": r["winner"].upper()})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class OverlapCard:
    model: str
    reachable: str        # "96 people"
    precision: str
    recall: str
    members_line: str     # the secondary, membership-based line


def overlap_cards(ov: dict) -> list[OverlapCard]:
    cards = []
    for m, v in ov["models"].items():
        dup = f", {v['duplicate_reach']:,} reached twice" if v.get("duplicate_reach") else ""
        cards.append(OverlapCard(
            model=m, reachable=f"{v['reachable_persons']:,} people{dup}", precision=pct(v["precision"]),
            recall=pct(v["recall"]),
            members_line=(f"All members, anonymous profiles included: {v['members_subjects']:,} "
                          f"({v['members_persons']:,} people), recall {pct(v['membership_recall'])}")))
    return cards


def equal_size_line(ov: dict) -> str | None:
    eq = ov.get("equal_size") or {}
    if not eq.get("k"):
        return None
    names = {"crm": "CRM", "cdp": "CDP", "hybrid": "hybrid"}  # as the cards above name them
    parts = ", ".join(f"{names.get(m, m)} {pct(p)}" for m, p in eq["precision_at_k"].items())
    return (f"At equal size — each model's {eq['k']:,} most recently activated people — the share who truly "
            f"qualify: {parts}.")


def accounts_line(ov: dict) -> str | None:
    acc = ov.get("accounts")
    if not acc:
        return None
    parts = "; ".join(f"{m.upper()} {v['reachable_accounts']:,} accounts (precision {pct(v['precision'])}, "
                      f"recall {pct(v['recall'])})" for m, v in acc["models"].items())
    return f"By account: {acc['truth_accounts']:,} accounts truly qualify. {parts}."
