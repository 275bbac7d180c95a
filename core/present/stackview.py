"""What the Scenario page's "Your stack" panel shows, and the stack names in page titles.

One select box per role (CRM, CDP, sending tool); under each, the settings the chosen profile
applies in words, the knobs the user has moved themselves (which win over the profile), the
documented settings the simulator does not model, and the sources — claim and link — one click
away. The scenario carries only the names (``stack_crm`` …), so a link carries the choice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from core.advice.scenario import Scenario
from core.advice.stacks import (
    ROLE_TITLES, ROLES, STACK_KEYS, STACKS, NotModelled, Source, describe_map, stack_settings, stack_title, stacks_for,
    stacks_in,
)
from core.present import labels

NONE_LABEL = "None chosen — the simulator's defaults"


@dataclass(frozen=True)
class SettingLine:
    knob: str
    label: str
    value: str
    overridden_by: str | None = None
    """The user's own value of this knob, which wins over the profile (None = the profile applies)."""


@dataclass(frozen=True)
class RoleChoice:
    role: str
    title: str
    chosen: str                              # profile name, "" = none
    options: tuple[tuple[str, str], ...]     # (name, label), "" first
    settings: tuple[SettingLine, ...] = ()
    sources: tuple[Source, ...] = ()
    not_modelled: tuple[NotModelled, ...] = ()
    read: str = ""

    def index(self) -> int:
        return [name for name, _ in self.options].index(self.chosen)


def value_text(knob: str, value: Any, preset: str | None = None) -> str:
    """A profile's value in words: '2 minutes', '0%', 'page views, form fills …', 'real time …'."""
    if knob == "crm_event_types":
        return "no behaviour (fields only)" if value == "none" else ", ".join(str(value).split(","))
    if knob in ("audience_cadence_by_rule_type", "crm_list_refresh_by_rule_type"):
        return describe_map(knob, value)
    if knob in labels.CHOICES and value in labels.CHOICES[knob]:
        return labels.CHOICES[knob][value]
    if isinstance(value, bool):
        return "yes" if value else "no"
    unit = labels.unit(knob)
    if unit == "%":
        return f"{float(value):.0%}"
    if isinstance(value, (int, float)):
        unit = unit[:-1] if value == 1 and unit.endswith("s") else unit
        return f"{value:g} {unit}".strip()
    return str(value)


#: Engine knobs have no line in labels.LABELS (that table covers the page's sliders).
_ENGINE_LABELS = {"crm_event_types": "Tracked behaviour the CRM's lists can filter on"}


def knob_label(knob: str, preset: str | None = None) -> str:
    return _ENGINE_LABELS.get(knob) or labels.label(knob, preset, with_unit=False)


def stack_panel(scenario: Scenario) -> list[RoleChoice]:
    """One entry per role: its options, the chosen profile's settings (with the user's overrides),
    sources and the settings it documents but the simulator does not model."""
    own = dict(scenario.settings)
    chosen = scenario.stacks
    out = []
    for role in ROLES:
        options = (("", NONE_LABEL), *((p.name, p.label) for p in stacks_for(role)))
        name = chosen.get(role, "")
        if not name:
            out.append(RoleChoice(role, ROLE_TITLES[role], "", options))
            continue
        profile = STACKS[name]
        lines = []
        for knob, value in profile.settings:
            mine = own.get(knob)
            over = None if mine is None or mine == value else value_text(knob, mine, scenario.preset)
            lines.append(SettingLine(knob, knob_label(knob, scenario.preset),
                                     value_text(knob, value, scenario.preset), over))
        out.append(RoleChoice(role, ROLE_TITLES[role], name, options, tuple(lines), profile.sources,
                              profile.not_modelled, profile.read))
    return out


def with_stack(settings: Mapping[str, Any], role: str, name: str) -> dict[str, Any]:
    """The scenario settings with ``role``'s profile set to ``name`` ("" removes it)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; accepted: {', '.join(ROLES)}")
    out = {k: v for k, v in settings.items() if k != STACK_KEYS[role]}
    if name:
        if name not in STACKS or STACKS[name].role != role:
            raise ValueError(f"{name!r} is not a {ROLE_TITLES[role]} profile")
        out[STACK_KEYS[role]] = name
    return out


def with_ops(settings: Mapping[str, Any], ops: Mapping[str, Any]) -> dict[str, Any]:
    """The settings after an ops button ("well-run CDP"): its knobs replace the user's changes, the
    chosen stacks stay, and a knob a stack documents keeps the stack's value (a team cannot make a
    product faster than its vendor documents — the CLI's ``--ops`` < ``--stack`` < ``--set``)."""
    chosen = stacks_in(dict(settings))
    documented = stack_settings(chosen)
    return {**{k: v for k, v in ops.items() if k not in documented},
            **{STACK_KEYS[role]: name for role, name in chosen.items()}}


def stack_set(scenario: Scenario) -> set[str]:
    """Knobs whose value comes from a chosen stack (not moved by the user): marked on the page."""
    return set(stack_settings(scenario.stacks)) - set(dict(scenario.settings))


#: Short product names for page titles, as a strategist says them ("HubSpot active lists"); the
#: profile's label is the long form with its cadence, the profile name the exact ``--stack`` key.
SHORT_NAMES = {
    "hubspot-active-lists": "HubSpot active lists",
    "salesforce-account-engagement": "Salesforce Account Engagement",
    "dynamics-365-journeys": "Dynamics 365 real-time journeys",
    "sales-crm-nightly-import": "Sales CRM with nightly imports",
    "segment-realtime": "Segment real-time",
    "segment-batch": "Segment batch",
    "salesforce-data-cloud-standard": "Salesforce Data Cloud standard publish",
    "salesforce-data-cloud-rapid": "Salesforce Data Cloud rapid publish",
    "posthog-cohorts": "PostHog cohorts",
    "mparticle-realtime": "mParticle real-time",
    "bloomreach-engagement": "Bloomreach Engagement",
    "hightouch-hourly": "Hightouch hourly",
    "hightouch-realtime": "Hightouch real-time",
    "census-continuous": "Census continuous sync",
    "rudderstack-profiles": "RudderStack Profiles",
    "braze-streaming": "Braze streaming",
    "braze-cohorts": "Braze cohorts",
    "iterable-lists": "Iterable lists",
    "iterable-events": "Iterable triggered journeys",
    "mailchimp-synced": "Mailchimp synced lists",
    "esp-manual-upload": "ESP with daily list uploads",
}


def short_name(name: str) -> str:
    """A profile's product name for a title; a profile without one falls back to its label's
    first part ("Braze (…)" → "Braze"), never to the slug."""
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    label = STACKS[name].label if name in STACKS else name
    return label.split(" (")[0].split(" - ")[0].strip()


def titled(title: str, scenario: Scenario) -> str:
    """A page title with the chosen products, 'Freshness — HubSpot active lists · Segment real-time'
    (unchanged without one): a room reads product names, not the ``--stack`` slugs."""
    chosen = scenario.stacks
    names = " · ".join(short_name(chosen[r]) for r in ROLES if r in chosen)
    return f"{title} — {names}" if names else title


def stack_caption(scenario: Scenario) -> str:
    """The chosen products in words, for a line under a title ('' without a stack)."""
    return stack_title(scenario.stacks)


__all__ = ["NONE_LABEL", "RoleChoice", "SHORT_NAMES", "SettingLine", "short_name", "stack_caption", "stack_panel", "stack_set", "titled", "value_text", "with_ops",
           "with_stack"]
