"""What the Segments page's rule form offers: only what the loaded world can produce.

The rule model accepts every event type and page any preset knows, but a B2C shop never emits
``trial_started`` or ``sales_meeting``; offering them invites a rule that silently selects nobody.
The lists here are read from the world the user is looking at, intersected with what the view
exposes to rules (the CRM sees only its tracked behaviour).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from core.engine.rules import parse_rule
from core.errors import UserError


def event_choices(engine: Any, view: str) -> list[str]:
    """Event types this world produced that a rule on ``view`` may use, sorted."""
    produced = set(engine.world.events["event_type"].astype(str).unique())
    return sorted(produced & set(engine.schema(view).event_types))


def page_choices(engine: Any, view: str) -> list[str]:
    """Page names this world's page views carry that a rule on ``view`` may use, sorted."""
    pages = engine.world.events["page"].dropna().astype(str).unique()
    return sorted(set(pages) & set(engine.schema(view).pages))


def condition_text(condition: Mapping[str, Any]) -> str:
    """One top-level condition of a rule in plain English (for "Remove condition" lists)."""
    try:
        return parse_rule({"name": "x", **dict(condition)}).to_english()
    except UserError:  # an unreadable condition is shown as its JSON, never hidden
        return json.dumps(dict(condition))[:80]
