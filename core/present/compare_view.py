"""The Compare page: two full scenario links side by side — today's stack against a proposed one,
or one team's ops level against another — with their freshness, overlap, lift and net value and
the differences (pages/9_Compare.py draws it).

A pasted link is read by the same decoder as every page (:func:`core.present.urlstate.decode_link`),
but strictly: a page falls back to a default for a parameter it cannot restore and warns, while a
comparison built on a silently replaced knob would compare the wrong thing, so here any such
parameter is an error naming it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

import pandas as pd

from core.advice.scenario import Scenario
from core.engine.plays import get_play
from core.errors import UserError
from core.present.charts import label
from core.present.headline import MEASURES, headline_values, scenario_values
from core.present.measureview import hours
from core.present.stackview import knob_label, short_name, value_text
from core.present.urlstate import MAX_QUERY_CHARS, RULE_PARAMS, Link, decode_link, make_link, preset_defaults

#: A pasted link longer than this is refused before parsing (a page's own links stay under
#: MAX_QUERY_CHARS; the host and path add a few hundred characters at most).
MAX_LINK_CHARS = MAX_QUERY_CHARS + 1_000
SIDES = ("A", "B")


def parse_scenario_link(text: str, side: str = "A") -> Link:
    """A scenario from a pasted link: a whole address (``http://host/Freshness?preset=…``) or its
    query (``preset=…&seed=…``). Raises UserError naming the side and the problem; an address with
    no query is the default scenario, as opening it would show."""
    raw = (text or "").strip()
    if not raw:
        raise UserError(f"link {side} is empty: paste the address of any scenario page (copy it from the browser's "
                        "address bar)")
    if len(raw) > MAX_LINK_CHARS:
        raise UserError(f"link {side} is {len(raw):,} characters long; a scenario link has at most "
                        f"{MAX_LINK_CHARS:,}")
    parts = urlsplit(raw)
    if parts.scheme:
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UserError(f"link {side} is not a web address of this dashboard ({parts.scheme}:…); paste an "
                            "http(s) address or its ?preset=… part")
        query = parts.query
    elif "=" in raw:
        query = raw.split("?", 1)[1] if "?" in raw else raw
    else:
        raise UserError(f"link {side} ({raw[:40]!r}) is not a scenario link: paste the address of a scenario page, "
                        "e.g. http://…/Freshness?preset=b2c-retail&seed=7")
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    link = decode_link(params)
    if link.warnings:
        raise UserError(f"link {side} has parameters this dashboard cannot restore — " + "; ".join(link.warnings))
    return link


def with_query(link: Link) -> str:
    """The query string of a link (what :func:`parse_scenario_link` reads back)."""
    return urlencode(make_link(link.scenario, link.play, link.rules).params)


def edited_play(link: Link):
    """The link's play with its edited rules, as the pages evaluate it."""
    from core.engine.plays import with_rules

    base = get_play(link.play)
    return with_rules(base, crm=link.rules.get("crm"), cdp=link.rules.get("cdp")) if link.rules else base


#: The ops levels a facilitator can set B to in one click (core.advice.ops), by button label.
OPS_CHOICES = ("Well-run CRM", "Poorly run CRM", "Well-run CDP", "Poorly run CDP")


def _ops(name: str) -> dict[str, Any]:
    from core.advice.ops import GOOD_CRM, POOR_CRM, POORLY_RUN, WELL_RUN

    return {"Well-run CRM": GOOD_CRM, "Poorly run CRM": POOR_CRM, "Well-run CDP": WELL_RUN,
            "Poorly run CDP": POORLY_RUN}[name]


def with_ops_level(link: Link, ops: str) -> str:
    """The link's scenario with one side run another way (an ops button), as a query: only that
    side's knobs move, the user's other knobs and the chosen products (and their documented
    figures) stay — so A and B differ in that side's operations alone."""
    from core.present.stackview import with_ops

    if ops not in OPS_CHOICES:
        raise UserError(f"unknown ops level {ops!r}; accepted: {', '.join(OPS_CHOICES)}")
    s = link.scenario
    b = Scenario.make(s.preset, s.seed, s.people, s.days, {**dict(s.settings), **with_ops(dict(s.settings), _ops(ops))})
    return with_query(Link(b, link.play, link.rules))


def example_pair(params: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The page's starting pair: A = the scenario these parameters describe (the defaults without
    any), B = the same business with a poorly run CDP — two ops levels, the product's point that
    execution beats precision."""
    link = decode_link(dict(params or {}))
    return with_query(link), with_ops_level(link, "Poorly run CDP")


# --------------------------------------------------------------------------- what differs
def _knobs(s: Scenario) -> dict[str, Any]:
    """Every knob's value in a scenario (its stacks' documented settings and its own on top)."""
    return {**preset_defaults(s.preset), **s.effective_settings()}


def setting_differences(a: Link, b: Link) -> list[str]:
    """What differs between the two links, in words: business, size, period, seed, play, rules,
    products and every knob whose value differs (A → B). Empty when they are the same scenario."""
    sa, sb = a.scenario, b.scenario
    out: list[str] = []
    for attr, words in (("preset", "Business"), ("people", "People"), ("days", "Days"), ("seed", "Seed")):
        va, vb = getattr(sa, attr), getattr(sb, attr)
        if va != vb:
            out.append(f"{words}: {va:,} → {vb:,}" if isinstance(va, int) else f"{words}: {va} → {vb}")
    if a.play != b.play:
        out.append(f"Play: {get_play(a.play).title} → {get_play(b.play).title}")
    for model in RULE_PARAMS:
        if a.rules.get(model) != b.rules.get(model):
            name = "CRM segment" if model == "crm" else "CDP audience"
            out.append(f"{name}: " + ("edited" if a.rules.get(model) else "library rule") + " → "
                       + ("edited" if b.rules.get(model) else "library rule"))
    roles = sorted(set(sa.stacks) | set(sb.stacks))
    for role in roles:
        na, nb = sa.stacks.get(role), sb.stacks.get(role)
        if na != nb:
            out.append(f"{role.upper() if role != 'sending' else 'Sending tool'} product: "
                       f"{short_name(na) if na else 'none chosen'} → {short_name(nb) if nb else 'none chosen'}")
    ka, kb = _knobs(sa), _knobs(sb)
    stack_keys = {"stack_crm", "stack_cdp", "stack_sending"}
    for knob in sorted((set(ka) | set(kb)) - stack_keys):
        va, vb = ka.get(knob), kb.get(knob)
        if va != vb:
            preset = sb.preset
            words = knob_label(knob, preset)
            out.append(f"{words}: {_value(knob, va, sa.preset)} → {_value(knob, vb, preset)}")
    return out


def _value(knob: str, value: Any, preset: str) -> str:
    if value is None or value == "":
        # an empty cadence map means one cadence for every rule (core.advice.stacks.map_choices)
        return "one cadence for every rule" if knob.endswith("_by_rule_type") else "not set"
    return value_text(knob, value, preset)


# --------------------------------------------------------------------------- side by side
@dataclass(frozen=True)
class SideBySide:
    """The two scenarios' headline figures and their differences, ready to print."""

    table: pd.DataFrame          # Measure, Model, A, B, B − A (formatted)
    values: pd.DataFrame         # measure key, model, a, b, diff (raw numbers; NaN = not measured)
    overall: pd.DataFrame        # scenario-level rows: Measure, A, B, B − A
    sentences: tuple[str, ...]   # what a strategist reads first


def side_by_side(results_a: Any, results_b: Any, names: Mapping[str, str] | None = None) -> SideBySide:
    """Every headline measure of every model in both scenarios, with B − A, and the sentences."""
    names = dict(names or {"A": "A", "B": "B"})
    va, vb = headline_values(results_a), headline_values(results_b)
    models = [m for m in ("crm", "cdp", "hybrid", "blast") if m in va.index or m in vb.index]
    rows, raw = [], []
    for measure in MEASURES:
        for m in models:
            a = _get(va, m, measure.key)
            b = _get(vb, m, measure.key)
            if a is None and b is None:
                continue
            diff = None if a is None or b is None else b - a
            rows.append({"Measure": measure.title, "Model": label(m), "A": measure.fmt(a), "B": measure.fmt(b),
                         "B − A": measure.diff_fmt(diff)})
            raw.append({"measure": measure.key, "model": m, "a": a, "b": b, "diff": diff})
    sa, sb = scenario_values(results_a), scenario_values(results_b)
    overall = pd.DataFrame([
        {"Measure": "Truly qualifying people at mid-period", "A": _count(sa["truth"]), "B": _count(sb["truth"]),
         "B − A": _signed(_minus(sb["truth"], sa["truth"]), "{:+,.0f}")},
        {"Measure": "Overlap of CRM segment and CDP audience (Jaccard)", "A": _share(sa["jaccard"]),
         "B": _share(sb["jaccard"]), "B − A": _signed(_minus(_pts(sb["jaccard"]), _pts(sa["jaccard"])), "{:+.0f} pts")},
        {"Measure": "Best targeted model by true net value", "A": _best(sa), "B": _best(sb),
         "B − A": _signed(_minus(sb["best_net_value"], sa["best_net_value"]), "{:+,.0f}")},
    ])
    values = pd.DataFrame(raw, columns=["measure", "model", "a", "b", "diff"])
    return SideBySide(pd.DataFrame(rows, columns=["Measure", "Model", "A", "B", "B − A"]), values, overall,
                      tuple(_sentences(values, sa, sb, names)))


def _get(frame: pd.DataFrame, model: str, key: str) -> float | None:
    if model not in frame.index:
        return None
    v = frame.loc[model, key]
    return None if v != v else float(v)


def _minus(b: float | None, a: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _pts(x: float | None) -> float | None:
    return None if x is None else 100 * x


def _signed(x: float | None, fmt: str) -> str:
    return "–" if x is None else fmt.format(x)


def _count(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _share(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _best(s: Mapping[str, Any]) -> str:
    return "–" if s["best"] is None else f"{label(s['best'])} ({s['best_net_value']:,.0f})"


def _sentences(values: pd.DataFrame, sa: Mapping[str, Any], sb: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """The verdict on money first, then where the difference comes from (freshness of each model)."""
    a_name, b_name = names.get("A", "A"), names.get("B", "B")
    out = []
    if sa["best"] is not None and sb["best"] is not None:
        gap = sb["best_net_value"] - sa["best_net_value"]
        if abs(gap) < 0.5:
            out.append(f"Both make the same true net value with their best targeted model ({sa['best_net_value']:,.0f}).")
        else:
            better, worse = (b_name, a_name) if gap > 0 else (a_name, b_name)
            out.append(f"**{better}** makes more money: its best targeted model ({label((sb if gap > 0 else sa)['best'])}) "
                       f"earns a true net value of {max(sa['best_net_value'], sb['best_net_value']):,.0f} against "
                       f"{min(sa['best_net_value'], sb['best_net_value']):,.0f} for {worse}'s "
                       f"({label((sa if gap > 0 else sb)['best'])}), {abs(gap):,.0f} more.")
    timely = values[(values["measure"] == "in_time") & values["diff"].notna()]
    moved = [f"{label(r.model)} {_pair_pct(r.a, r.b)}" for r in timely.itertuples() if round(abs(r.diff) * 100) >= 1]
    if moved:
        out.append(f"Episodes reached in time, {a_name} → {b_name}: " + ", ".join(moved) + ".")
    elif len(timely):
        out.append("Freshness is the same in both: every model reaches the same share of episodes in time.")
    median = values[(values["measure"] == "median_hours") & values["diff"].notna()]
    slower = [f"{label(r.model)} {hours(r.a)} → {hours(r.b)}" for r in median.itertuples()
              if abs(r.diff) >= max(0.1 * min(r.a, r.b), 0.05)]
    if slower:
        out.append(f"Median time to activation, {a_name} → {b_name}: " + ", ".join(slower) + ".")
    return out


def _pair_pct(a: float, b: float) -> str:
    """'22% → 31%', with a decimal when whole percents would read as no change ('22.4% → 21.6%')."""
    digits = 0 if f"{a:.0%}" != f"{b:.0%}" else 1
    return f"{a:.{digits}%} → {b:.{digits}%}"


def pair_frame(values: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One measure's A and B values per model, for the side-by-side chart (models with a value)."""
    sub = values[values["measure"] == measure]
    return sub[sub["a"].notna() | sub["b"].notna()][["model", "a", "b"]].reset_index(drop=True)


def handout_html(links: Mapping[str, Link], view: SideBySide, differences: list[str], names: Mapping[str, str],
                 figures: Mapping[str, Any], addresses: Mapping[str, str] | None = None) -> str:
    """The comparison as a printable page (core.present.pdf prints it): both scenarios in words,
    what differs, the sentences, the overall and per-model tables with B − A, the two charts."""
    import html
    import re

    from core.present.export import print_page, scenario_lines

    def bold(text: str) -> str:  # the sentences' **markdown** as HTML, after escaping
        return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))

    sides = "".join(
        f"<h3>{html.escape(names[side])}</h3><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in
                  [f"Play: {get_play(links[side].play).title}", *scenario_lines(links[side].scenario)])
        + "</ul>" + (f"<p class='small'>{html.escape(addresses[side])}</p>" if addresses and addresses.get(side) else "")
        for side in SIDES)
    diff_html = ("<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in differences) + "</ul>") if differences else \
        "<p>The two links describe the same scenario.</p>"
    rename = {"A": names["A"], "B": names["B"], "B − A": f"{names['B']} − {names['A']}"}
    body = ("<h2>The two scenarios</h2>" + sides + f"<h2>What differs from {html.escape(names['A'])} to "
            f"{html.escape(names['B'])}</h2>" + diff_html + "<h2>Side by side</h2>"
            + "".join(f"<p>{bold(x)}</p>" for x in view.sentences)
            + view.overall.rename(columns=rename).to_html(index=False, escape=True)
            + "<h2>Every headline figure</h2>" + view.table.rename(columns=rename).to_html(index=False, escape=True))
    return print_page(f"Audience Lab — {names['A']} vs {names['B']}", body, figures)


__all__ = ["OPS_CHOICES", "SIDES", "handout_html", "with_ops_level", "SideBySide", "edited_play", "pair_frame", "parse_scenario_link", "setting_differences",
           "side_by_side", "with_query"]
