"""The fit questionnaire: what the advisor asks, validated, with the same questions for both sides.

The advisor's verdict must follow how well *each* side would be run, so the CRM team is asked
about as closely as the data team: people who run the CRM (admins, RevOps, marketing ops),
whether marketing automation is in place (it decides whether the CRM can trigger messages and
whether it sees behaviour at all) and how its data is kept (duplicates, missing and wrong values).
The answers are plain values in a frozen dataclass; :mod:`core.advice.fit` turns them into knobs.

Every problem raises :class:`AnswerError` naming the answer to fix. Pure Python; no Streamlit.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from core.errors import UserError


class AnswerError(UserError):
    """An answer that is missing, of the wrong type, out of range or contradicting another one.

    ``field`` names the answer to fix (the key in the JSON file / the question on the page).
    """

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"answer '{field_name}': {message}")


BUSINESS_MODELS: dict[str, str] = {
    "sales-led-b2b": "Sales-led B2B (reps, demos, buying committees)",
    "product-led": "Product-led B2B (free trial or freemium, self-serve upgrades)",
    "b2c-ecommerce": "B2C e-commerce",
    "omnichannel-retail": "Omnichannel retail (web, app and stores)",
    "hybrid-b2b2c": "Hybrid B2B2C (sell through partners, serve their end customers)",
}
CADENCES: dict[str, str] = {"weekly": "Weekly batch campaigns", "daily": "Daily sends",
                            "continuous": "Continuous, triggered journeys"}
TRACKING_LEVELS: dict[str, str] = {"none": "None (a pixel or two)", "basic": "Basic (client-side)",
                                   "good": "Good (client + server)", "advanced": "Advanced (server-side, QA)"}
YES_NO: dict[str, str] = {"yes": "Yes", "no": "No"}
HYGIENE: dict[str, str] = {
    "managed": "Managed (an owner, duplicate rules, required fields, regular clean-ups)",
    "partly": "Partly (some rules, clean-ups now and then)",
    "unmanaged": "Unmanaged (nobody owns duplicates, gaps or errors)",
}
CDP_OPERATORS: dict[str, str] = {
    "data-team": "A data / engineering team (as many FTE as entered)",
    "marketers": "Marketers, with a no-code audience builder (no data team needed; about a quarter of a person)",
}
#: Answers that mean "estimate it from the team" (a company without a CDP cannot know its ship time).
ESTIMATE = -1.0

#: The page groups the questions; every answer belongs to exactly one group.
GROUPS: dict[str, tuple[str, ...]] = {
    "Your business": ("business_model", "sales_cycle_days", "channels", "monthly_active_customers",
                      "monthly_events", "order_value", "employees", "login_share", "tracking_maturity", "cadence"),
    "CRM team": ("crm_admins", "marketing_automation", "crm_hygiene", "crm_seats", "crm_ship_days"),
    "CDP / data team": ("data_people", "cdp_operator", "cdp_ship_days"),
    "Your tools": ("crm_tool", "cdp_tool", "sending_tool"),
    "Costs": ("horizon_years", "crm_seat_cost_month", "marketing_automation_year", "sending_tool_year", "person_cost_year",
              "cdp_licence_year", "cdp_implementation", "cdp_upkeep_year", "connector_year", "budget_year",
              "cost_per_send"),
    "Simulation": ("sim_people", "sim_days", "seed"),
}


def _q(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


def tool_choices(role: str) -> tuple[str, ...]:
    """The stack profiles a user can pick for a role ('' = a generic tool of that kind)."""
    from core.advice.stacks import stacks_for

    return ("", *(p.name for p in stacks_for(role)))


@dataclass(frozen=True)
class Answers:
    """What the advisor asks, in plain language, with sensible defaults (a mid-size e-commerce shop)."""

    # ---- the business
    business_model: str = _q("b2c-ecommerce", "How the business sells. Picks the synthetic preset and the plays that matter.",
                             choices=tuple(BUSINESS_MODELS))
    sales_cycle_days: float = _q(30.0, "Typical days from opportunity to signed deal (B2B business models; it sets the research phase length). Not used for B2C.",
                                 lo=1, hi=730)
    channels: int = _q(3, "Customer-facing channels you run (web, app, email, ads, stores, sales...). More channels: more CRM field sprawl.",
                       lo=1, hi=12)
    monthly_active_customers: int = _q(50_000, "People (contacts, shoppers, users) active in a typical month. Each simulated world's monthly actives are scaled to them.",
                                       lo=1, hi=500_000_000)
    monthly_events: int = _q(1_000_000, "Tracked events per month (page views, clicks, purchases, product usage). Sets how active people are; 0 = unknown.",
                             lo=0, hi=1e13)
    order_value: float = _q(85.0, "Average order value (B2C) or deal value (B2B) in currency units.", lo=1, hi=1e7)
    employees: int = _q(200, "People in the company.", lo=1, hi=10_000_000)
    login_share: float = _q(0.25, "Share of visits in which the person is logged in or otherwise identified (0–1). Decides how much either system can tie a visit to a person.",
                            lo=0, hi=1)
    tracking_maturity: str = _q("basic", "How well behaviour on your site is tracked (for the CDP's tag and the CRM's tracking script alike): none, basic, good or advanced.",
                                choices=tuple(TRACKING_LEVELS))
    cadence: str = _q("weekly", "How your campaigns go out, whatever system picks the people: weekly batches, daily sends or continuous triggered journeys. Applies to the CRM and the CDP alike.",
                      choices=tuple(CADENCES))
    # ---- the CRM team
    crm_admins: float = _q(1.0, "People (FTE) who run the CRM: admins, RevOps, marketing operations. About one FTE runs lists, workflows, syncs and hygiene well.",
                           lo=0, hi=1_000_000)
    marketing_automation: str = _q("yes", "Marketing automation on the CRM (HubSpot Marketing Hub, Account Engagement, Dynamics Customer Insights – Journeys): "
                                          "it triggers workflows on list entry and tracks known contacts' visits. Without it the CRM exports lists for batch sends and sees no behaviour.",
                                   choices=tuple(YES_NO))
    crm_hygiene: str = _q("partly", "How CRM data is kept: managed (duplicate rules, required fields, regular clean-ups), partly, or unmanaged.",
                          choices=tuple(HYGIENE))
    crm_seats: int = _q(10, "Paid CRM / marketing-automation seats.", lo=0, hi=1_000_000)
    crm_ship_days: float = _q(ESTIMATE, "Days the team needs to ship a new CRM segment campaign; −1 = estimate from the CRM team.", lo=-1, hi=365)
    # ---- the CDP / data team
    data_people: float = _q(1.0, "Data / engineering people (FTE) who would run a CDP: tracking plan, identity rules, audiences, syncs. About one FTE runs it well.",
                            lo=0, hi=1_000_000)
    cdp_operator: str = _q("data-team", "Who would run the CDP day to day: a data team (its FTE above) or marketers with a no-code "
                                        "audience builder — a level between no data team and one data FTE.",
                           choices=tuple(CDP_OPERATORS))
    cdp_ship_days: float = _q(ESTIMATE, "Days to ship a new CDP audience campaign, engineering tickets included; −1 = estimate from the data team.", lo=-1, hi=365)
    # ---- the tools (stack profiles; '' = generic)
    crm_tool: str = _q("", "The CRM you have or consider ('' = a generic marketing CRM).", choices_of="crm")
    cdp_tool: str = _q("", "The CDP you have or consider ('' = a generic CDP).", choices_of="cdp")
    sending_tool: str = _q("", "The tool that sends the messages ('' = a generic ESP / journey tool).", choices_of="sending")
    # ---- costs (sources in core/advice/costs.py)
    horizon_years: int = _q(3, "Years the choice is valued over: build time is a one-off delay in year one and one-off costs "
                               "(the CDP's implementation) are spread over these years.", lo=1, hi=10)
    crm_seat_cost_month: float = _q(100.0, "Cost of one CRM seat per month (HubSpot Sales Hub Professional lists about 100, Salesforce Sales Cloud Enterprise 165).",
                                    lo=0, hi=1e6)
    marketing_automation_year: float = _q(ESTIMATE, "Marketing-automation tier per year, counted when marketing automation is in place; "
                                                    "−1 = from the published marketing-contact tier at your monthly active customers (core/advice/costs.py).",
                                          lo=-1, hi=1e9)
    sending_tool_year: float = _q(12_000.0, "Sending tool (ESP or journey platform) per year, in every model (assumed: 1,000 a month for a mid-size list).",
                                  lo=0, hi=1e9)
    person_cost_year: float = _q(120_000.0, "Loaded yearly cost of one CRM admin or data/engineering person (assumed).", lo=0, hi=1e8)
    cdp_licence_year: float = _q(ESTIMATE, "CDP licence per year (vendors price on profiles or events); −1 = from the published "
                                           "per-tracked-user tier at your monthly active customers (core/advice/costs.py).",
                                 lo=-1, hi=1e9)
    cdp_implementation: float = _q(50_000.0, "One-off CDP implementation (agency or internal project), paid in year one and spread over the horizon.", lo=0, hi=1e9)
    cdp_upkeep_year: float = _q(20_000.0, "Yearly CDP upkeep: tracking fixes, new sources, warehouse costs.", lo=0, hi=1e9)
    connector_year: float = _q(12_000.0, "Yearly cost of the CDP→CRM sync connector / reverse ETL a hybrid needs.", lo=0, hi=1e9)
    budget_year: float = _q(0.0, "Marketing-technology budget per year (0 = not set). Flagged as a risk when a model costs more.", lo=0, hi=1e10)
    cost_per_send: float = _q(0.01, "Cost per message sent (ESP fees, creative amortised).", lo=0, hi=100)
    # ---- the simulation
    seed: int = _q(7, "First seed of the simulated worlds (same answers and seed: same numbers).", lo=0, hi=2**32 - 1)
    sim_people: int = _q(1000, "People in each simulated world (more: slower but less noisy; the advice averages several seeds).",
                         lo=300, hi=50_000)
    sim_days: int = _q(60, "Days simulated (scaled to a year of steady state; build times are applied to the horizon, not to the simulated days).", lo=30, hi=180)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> "Answers":
        """Validate a mapping of answers (from JSON, a form or URL params); missing keys take defaults."""
        if not isinstance(data, Mapping):
            raise AnswerError("$", f"the answers must be a JSON object of question → value (got {type(data).__name__}); "
                                   f"accepted keys: {', '.join(f.name for f in fields(cls))}")
        known = {f.name: f for f in fields(cls)}
        unknown = [k for k in data if k not in known]
        if unknown:
            raise AnswerError(str(unknown[0]), f"unknown question; accepted: {', '.join(known)}")
        values: dict[str, Any] = {}
        for name, f in known.items():
            if name not in data or data[name] is None or (data[name] == "" and not _is_tool(f)):
                continue
            values[name] = _coerce(name, f, data[name])
        answers = cls(**values)
        answers.check()
        return answers

    def check(self) -> "Answers":
        """Range and consistency checks; raise :class:`AnswerError` naming the answer to fix."""
        for f in fields(self):
            _coerce(f.name, f, getattr(self, f.name))
        if self.data_people + self.crm_admins > self.employees:
            name = "data_people" if self.data_people >= self.crm_admins else "crm_admins"
            raise AnswerError(name, f"{self.data_people:g} data people and {self.crm_admins:g} CRM admins are more than the "
                                    f"{self.employees} employees; lower them or raise employees")
        if self.crm_seats > self.employees:
            raise AnswerError("crm_seats", f"{self.crm_seats} CRM seats is more than the {self.employees} employees")
        if self.monthly_events and self.monthly_events < self.monthly_active_customers:
            raise AnswerError("monthly_events", f"{self.monthly_events:,} events a month is fewer than the "
                                                f"{self.monthly_active_customers:,} active customers (each does at least one thing); "
                                                "raise monthly_events or set it to 0 if unknown")
        for name in ("crm_ship_days", "cdp_ship_days", "cdp_licence_year", "marketing_automation_year"):
            v = getattr(self, name)
            if v < 0 and v != ESTIMATE:
                what = "from the published tier" if name in ("cdp_licence_year", "marketing_automation_year") else "from the team"
                raise AnswerError(name, f"must be 0 or more, or −1 to estimate it {what} (got {v:g})")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Answers":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnswerError("$", f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
        return cls.from_dict(data)

    def to_query(self) -> dict[str, str]:
        """Only the answers that differ from the defaults, as strings (for URL query parameters)."""
        default = Answers()
        return {k: _fmt_query(v) for k, v in self.to_dict().items() if v != getattr(default, k)}

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> "Answers":
        known = {f.name for f in fields(cls)}
        return cls.from_dict({k: (v[0] if isinstance(v, list) else v) for k, v in params.items() if k in known})

    @staticmethod
    def questions() -> list[dict[str, Any]]:
        """Each question: name, group, default, help, and its choices or range (for forms and docs)."""
        group_of = {n: g for g, names in GROUPS.items() for n in names}
        out = []
        for f in fields(Answers):
            out.append({"name": f.name, "group": group_of.get(f.name), "default": f.default, "help": f.metadata["help"],
                        "type": _kind(f).__name__, "choices": _choices(f), "lo": f.metadata.get("lo"),
                        "hi": f.metadata.get("hi")})
        return out


def _is_tool(f) -> bool:
    return "choices_of" in f.metadata


def _choices(f) -> tuple[str, ...] | None:
    if _is_tool(f):
        return tool_choices(f.metadata["choices_of"])
    return f.metadata.get("choices")


def _kind(f) -> type:
    return {"str": str, "int": int, "float": float}[f.type if isinstance(f.type, str) else f.type.__name__]


def _fmt_query(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _coerce(name: str, f, raw: Any) -> Any:
    kind = _kind(f)
    meta = f.metadata
    if kind is str:
        choices = _choices(f) or ()
        shown = ", ".join(c or "'' (generic)" for c in choices)
        if not isinstance(raw, str):
            raise AnswerError(name, f"must be one of {shown} (got {raw!r})")
        value = raw.strip() if _is_tool(f) else raw.strip().lower()
        if value not in choices:
            raise AnswerError(name, f"must be one of {shown} (got {raw!r})")
        return value
    if isinstance(raw, bool):
        raise AnswerError(name, f"must be a number (got {raw!r})")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise AnswerError(name, f"must be a {'whole ' if kind is int else ''}number (got {raw!r})") from None
    if not math.isfinite(number):
        raise AnswerError(name, f"must be a finite number (got {raw!r})")
    if kind is int:
        if number != int(number):
            raise AnswerError(name, f"must be a whole number (got {raw!r})")
        number = int(number)
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and number < lo:
        what = "negative" if lo == 0 else f"below {lo:g}"
        raise AnswerError(name, f"must be at least {lo:g} (got {raw!r}, which is {what})")
    if hi is not None and number > hi:
        raise AnswerError(name, f"must be at most {hi:g} (got {raw!r})")
    return number


# --------------------------------------------------------------------------------------------
# Answers from an imported data profile (issue 11)
# --------------------------------------------------------------------------------------------

#: Profile figures → answers. Only what the data shows is filled; the rest keeps the user's answer.
PROFILE_FILLS = ("monthly_active_customers", "monthly_events", "login_share", "tracking_maturity", "order_value")


def answers_from_profile(profile: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Pre-fill the answers the data shows from ``audience-lab profile --json`` output.

    - ``monthly_active_customers``: the users seen, per 30 days of the profile's period (a user is a
      stitched identity; see core/measures/profile.py), at least 1;
    - ``monthly_events``: events per 30 days;
    - ``login_share``: the identified-event share, where the export has anonymous traffic at all;
    - ``tracking_maturity``: lowered to basic only where loss is visible — a stream with more
      purchases than add-to-carts (purchases arrive server-side while client-side carts are lost;
      Baymard's average cart abandonment of about 70% means about 0.3 purchases per cart). Nothing
      else in a profile shows tracking quality, so it is never raised;
    - ``order_value``: the average order value, where purchases carry values.

    Returns a dict of answers (``base`` updated), validated by :meth:`Answers.from_dict`.
    """
    if not isinstance(profile, Mapping) or "counts" not in profile:
        raise AnswerError("--profile", "not a data profile: expected the JSON of 'audience-lab profile --json' "
                                       "(an object with counts, rates, days)")
    counts = profile.get("counts") or {}
    rates = profile.get("rates") or {}
    try:
        days = float(profile.get("days") or 0)
        users = int(counts.get("users") or 0)
        events = int(counts.get("events") or 0)
    except (TypeError, ValueError):
        raise AnswerError("--profile", "counts.users, counts.events and days must be numbers") from None
    if days <= 0 or users <= 0 or events <= 0:
        raise AnswerError("--profile", f"the profile shows no activity (users {users}, events {events}, days {days:g})")
    out: dict[str, Any] = dict(base or {})
    per_month = 30.0 / max(days, 1.0)
    # Users active in a month: a period shorter than a month holds fewer users than a month would;
    # a longer one holds more than any single month. Scale linearly to 30 days (assumed steady).
    out["monthly_active_customers"] = max(1, int(round(users * min(1.0, per_month) if days >= 30 else users)))
    out["monthly_events"] = max(out["monthly_active_customers"], int(round(events * per_month)))
    ident = rates.get("identified_event_share")
    if isinstance(ident, (int, float)) and math.isfinite(ident):
        out["login_share"] = round(min(1.0, max(0.0, float(ident))), 3)
    carts, buys = int(counts.get("add_to_carts") or 0), int(counts.get("purchases") or 0)
    if carts > 0 and buys > 0:
        if buys > carts and out.get("tracking_maturity", "basic") in ("good", "advanced"):
            out["tracking_maturity"] = "basic"
    aov = rates.get("average_order_value")
    if isinstance(aov, (int, float)) and math.isfinite(aov) and aov >= 1:
        out["order_value"] = round(float(aov), 2)
    Answers.from_dict(out)
    return out
