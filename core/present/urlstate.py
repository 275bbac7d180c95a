"""Dashboard state as URL query parameters, and the catalogue of knobs the dashboard shows.

Pure functions (no Streamlit): ``encode(scenario, play) -> dict[str, str]`` and
``decode(params) -> (scenario, play)``. A shared link carries the preset, seed, size, play, only
the knobs that differ from their defaults, the edited segment / audience of the play (one
compressed parameter per model, :func:`encode_rule`) and the page's own view (the Journeys person,
the Overlap time). :func:`make_link` keeps the whole query under :data:`MAX_QUERY_CHARS` and says
which rule it had to leave out. Decoding never raises: an unknown or invalid parameter is dropped
and described in the warnings of :func:`decode_link`.
"""
from __future__ import annotations

import ast
import base64
import binascii
import inspect
import json
import math
import textwrap
import zlib
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from typing import Any, Mapping
from urllib.parse import urlencode

from core.engine.activation import ActivationConfig
from core.measures.campaign import CampaignConfig
from core.errors import UserError
from core.engine.identity import IdentityConfig
from core.engine.plays import YARDSTICKS, PLAYS, plays_for
from core.engine.rulelimits import read_json
from core.engine.rules import parse_rule
from core.advice.scenario import Scenario, default_play
from core.advice.stacks import ROLE_TITLES, STACK_KEYS, STACKS, stacks_for
from core.present.labels import CHOICES, LABELS, snap
from synthetic.config import Behaviour, Knobs
from synthetic.presets import PRESETS, preset_config

#: Default size of the dashboard world. 10,000 people (not the CLI's 20,000) keeps the first
#: load of a page near 12 s on a 2-core machine; 20,000 takes ~20 s (measured, see README).
DEFAULT_PEOPLE = 10_000
PEOPLE_CHOICES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
DEFAULT_PRESET = "b2c-retail"
DEFAULT_SEED = 7
DEFAULT_DAYS = 90
BASE_KEYS = ("preset", "seed", "people", "days", "play")
#: One parameter per model for an edited rule (zlib-compressed canonical JSON, base64url).
RULE_PARAMS = {"crm": "crm_rule", "cdp": "cdp_rule"}
#: Link parameters that carry the chosen stack profile of each role (stack_crm=hubspot-active-lists).
_STACK_ROLE = {key: role for role, key in STACK_KEYS.items()}
#: Parameters a page owns (its view, not the scenario): the Journeys case and person, the Overlap time.
VIEW_PARAMS = ("case", "person", "at")
#: Longest query string a link may carry. Browsers accept far more, but chat tools, mail clients
#: and slide decks cut or mangle long links; about 2,000 characters is the long-standing safe
#: length for a whole URL (Microsoft KB 208427 for Internet Explorer; sitemaps.org caps URLs at
#: 2,048), which leaves ~1,800 for the query after the host and page.
MAX_QUERY_CHARS = 1_800
#: A rule blob larger than this (or decompressing past MAX_RULE_BYTES) is refused, not inflated.
MAX_RULE_BLOB = 8_000
MAX_RULE_BYTES = 64_000

#: Dashboard groups: world knob groups plus the engine's identity, activation and campaign settings.
GROUP_TITLES = {
    "tracking": "Tracking & identity",
    "identity": "Tracking & identity",
    "crm": "CRM hygiene & sync",
    "activation": "Activation & team speed",
    "campaign": "Campaign",
    "behaviour": "Customer behaviour",
}


@dataclass(frozen=True)
class KnobSpec:
    name: str
    kind: str            # 'float' | 'int' | 'bool' | 'choice'
    lo: float | None
    hi: float | None
    default: Any         # dataclass default (world knobs: use preset_default)
    help: str
    group: str           # tracking | crm | behaviour | identity | activation | campaign
    choices: tuple = ()


def _attribute_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings (a string literal right after a field) of a dataclass, by field name."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for prev, node in zip(body, body[1:]):
        if (isinstance(prev, ast.AnnAssign) and isinstance(prev.target, ast.Name)
                and isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)
                and isinstance(node.value.value, str)):
            docs[prev.target.id] = " ".join(node.value.value.split())
    return docs


def _kind(value: Any, annotation: Any = None) -> str:
    """'bool' | 'int' | 'float' | 'choice' from the default, or from the annotation without one."""
    if value is None and annotation is not None:
        text = str(getattr(annotation, "__name__", annotation))
        for kind in ("bool", "int", "float"):
            if text.split("|")[0].strip() == kind:
                return kind
        return "choice"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "choice"


#: Engine fields that are settings of the run, not knobs a person moves.
NOT_KNOBS = ("seed", "max_user_ids_per_profile")


@lru_cache(maxsize=1)
def knob_catalog() -> dict[str, KnobSpec]:
    """Every knob a user can move, by name, with its range, help text and group.

    World knobs carry their range in ``synthetic.config``; engine knobs take theirs from their
    line in ``core/present/labels.py`` (activation delays default to 0–525,600 minutes or 0–365
    days). A choice knob's values come from ``labels.CHOICES``."""
    out: dict[str, KnobSpec] = {}
    for cls in (Knobs, Behaviour):
        for f in fields(cls):
            lo, hi = f.metadata["range"]
            out[f.name] = KnobSpec(f.name, _kind(f.default), lo, hi, f.default, f.metadata["help"], f.metadata["group"])
    for cls, group in ((IdentityConfig, "identity"), (ActivationConfig, "activation"), (CampaignConfig, "campaign")):
        docs = _attribute_docs(cls)
        for f in fields(cls):
            if f.name in NOT_KNOBS:
                continue
            default = f.default if f.default is not MISSING else None
            kind = _kind(default, f.type)
            entry = LABELS.get(f.name)
            lo, hi = (entry.lo, entry.hi) if entry is not None else (None, None)
            if lo is None and hi is None and kind == "float" and group == "activation":
                lo, hi = 0.0, 525_600.0 if "minutes" in f.name else 365.0
            choices: tuple = ()
            if kind == "choice":
                choices = tuple(CHOICES.get(f.name, {})) or ((default,) if default is not None else ())
            out[f.name] = KnobSpec(f.name, kind, lo, hi, default, docs.get(f.name, f.name.replace("_", " ")), group, choices)
    return out


@lru_cache(maxsize=8)
def preset_defaults(preset: str) -> dict[str, Any]:
    """The value every knob has in a preset before the user moves it."""
    cfg = preset_config(preset, seed=DEFAULT_SEED, people=1000, days=DEFAULT_DAYS)
    values: dict[str, Any] = {}
    for part in (cfg.knobs, cfg.behaviour):
        for f in fields(part):
            values[f.name] = getattr(part, f.name)
    for name, spec in knob_catalog().items():
        values.setdefault(name, spec.default)
    return values


def _parse_value(spec: KnobSpec, raw: Any) -> Any:
    """A knob value from a URL string (or a Python value); raises UserError when invalid."""
    text = str(raw).strip()
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise UserError(f"{spec.name} must be true or false (got {text!r})")
    if spec.kind == "choice":
        if text not in spec.choices:
            raise UserError(f"{spec.name} must be one of {', '.join(spec.choices)} (got {text!r})")
        return text
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{spec.name} must be a number (got {text!r})") from None
    if not math.isfinite(value):
        raise UserError(f"{spec.name} must be a finite number (got {text!r})")
    if spec.lo is not None and value < spec.lo or spec.hi is not None and value > spec.hi:
        raise UserError(f"{spec.name} must be between {spec.lo} and {spec.hi} (got {text})")
    if spec.kind == "int":
        if value != int(value):
            raise UserError(f"{spec.name} must be a whole number (got {text})")
        return int(value)
    return snap(spec.name, value, spec.lo, spec.hi, spec.kind)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return str(value)


def encode(scenario: Scenario, play: str | Any) -> dict[str, str]:
    """URL query parameters for a scenario and play (only knobs that differ from the preset default)."""
    name = getattr(play, "name", play)
    params = {"preset": scenario.preset, "seed": str(scenario.seed), "people": str(scenario.people)}
    if scenario.days != DEFAULT_DAYS:
        params["days"] = str(scenario.days)
    params["play"] = str(name)
    defaults = preset_defaults(scenario.preset)
    for key, value in scenario.settings:
        if key in defaults and _fmt(defaults[key]) == _fmt(value):
            continue
        params[key] = _fmt(value)
    return params


def _int_param(params: Mapping[str, str], key: str, default: int, lo: int, hi: int, warnings: list[str]) -> int:
    if key not in params:
        return default
    raw = str(params[key]).strip()
    try:
        value = int(raw)
    except ValueError:
        warnings.append(f"ignored {key}={raw!r}: not a whole number; using {default}")
        return default
    if not lo <= value <= hi:
        warnings.append(f"ignored {key}={raw!r}: must be between {lo} and {hi}; using {default}")
        return default
    return value


# --------------------------------------------------------------------------- edited rules
def encode_rule(rule: Mapping[str, Any]) -> str:
    """A rule as one URL-safe token: canonical JSON (sorted keys, no spaces), zlib, base64url.

    Canonical JSON makes the token a function of the rule alone, so the same edit always gives
    the same link; a typical edited audience takes 150–400 characters."""
    text = json.dumps(rule, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii").rstrip("=")


def decode_rule(token: str) -> dict:
    """The rule dict inside a token from :func:`encode_rule`; a UserError says what is wrong.

    Refuses tokens over MAX_RULE_BLOB characters and rules over MAX_RULE_BYTES once inflated, so a
    crafted link cannot make the server inflate a zip bomb. The rule is validated by the rule model."""
    token = str(token).strip()
    if not token:
        raise UserError("the rule is empty")
    if len(token) > MAX_RULE_BLOB:
        raise UserError(f"the rule is {len(token):,} characters long; a link may carry {MAX_RULE_BLOB:,}")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise UserError("the rule is not valid base64url text (was the link cut?)") from None
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(raw, MAX_RULE_BYTES)
    except zlib.error:
        raise UserError("the rule is not a compressed rule (was the link cut or edited?)") from None
    if inflate.unconsumed_tail:
        raise UserError(f"the rule inflates past {MAX_RULE_BYTES:,} bytes")
    try:  # bounded reader (core.engine.rulelimits): depth and size are checked before anything recurses
        obj = read_json(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError("the rule is not valid UTF-8 text") from None
    if not isinstance(obj, dict):
        raise UserError("a rule must be a JSON object")
    parse_rule(obj)  # RuleError (a UserError) names the path of the problem
    return obj


# --------------------------------------------------------------------------- whole links
@dataclass(frozen=True)
class Link:
    """Everything a shared link restores: the scenario, the play, the play's edited rules by
    model, the page's own view parameters, and a warning per parameter it could not restore."""

    scenario: Scenario
    play: str
    rules: dict[str, dict] = field(default_factory=dict)
    view: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Encoded:
    """Query parameters for a link and the rules left out because the link would be too long
    (model → characters the rule needed)."""

    params: dict[str, str]
    too_large: dict[str, int] = field(default_factory=dict)


def make_link(scenario: Scenario, play: str | Any, rules: Mapping[str, Mapping[str, Any]] | None = None,
              view: Mapping[str, Any] | None = None, limit: int = MAX_QUERY_CHARS) -> Encoded:
    """Query parameters for the scenario, play, edited rules and view, within ``limit`` characters.

    When the whole query would exceed the limit, the largest rule is left out first (and named in
    ``too_large``); the scenario and the view always fit."""
    params = encode(scenario, play)
    for key, value in (view or {}).items():
        if key in VIEW_PARAMS and value is not None and str(value) != "":
            params[key] = str(value)
    tokens = {model: encode_rule(rule) for model, rule in (rules or {}).items() if model in RULE_PARAMS and rule}
    too_large: dict[str, int] = {}
    for model in sorted(tokens, key=lambda m: -len(tokens[m])):
        rest = {RULE_PARAMS[m]: tokens[m] for m in tokens if m != model and m not in too_large}
        if len(urlencode({**params, **rest, RULE_PARAMS[model]: tokens[model]})) > limit:
            too_large[model] = len(RULE_PARAMS[model]) + 2 + len(tokens[model])
    for model in sorted(tokens):
        if model not in too_large:
            params[RULE_PARAMS[model]] = tokens[model]
    return Encoded(params, too_large)


def decode_link(params: Mapping[str, Any]) -> Link:
    """Scenario, play, edited rules and view from URL parameters, plus a warning for each parameter
    dropped. Never raises: what cannot be restored falls back to the default and is named."""
    params = {str(k): (v[-1] if isinstance(v, (list, tuple)) and v else v) for k, v in dict(params).items()}
    warnings: list[str] = []
    preset = str(params.get("preset", DEFAULT_PRESET))
    if preset not in PRESETS:
        warnings.append(f"ignored preset={preset!r}: accepted {', '.join(PRESETS)}; using {DEFAULT_PRESET}")
        preset = DEFAULT_PRESET
    seed = _int_param(params, "seed", DEFAULT_SEED, 0, 2**32 - 1, warnings)
    people = _int_param(params, "people", DEFAULT_PEOPLE, 100, 200_000, warnings)
    days = _int_param(params, "days", DEFAULT_DAYS, 7, 365, warnings)
    play = str(params.get("play", "")) or default_play(preset).name
    play_ok = play in {p.name for p in plays_for(preset)}
    if not play_ok:
        if "play" in params:
            warnings.append(f"ignored play={play!r}: plays for {preset} are "
                            f"{', '.join(p.name for p in plays_for(preset))}")
        play = default_play(preset).name
    catalog = knob_catalog()
    settings: dict[str, Any] = {}
    rules: dict[str, dict] = {}
    view: dict[str, str] = {}
    by_param = {param: model for model, param in RULE_PARAMS.items()}
    for key, raw in params.items():
        if key in BASE_KEYS:
            continue
        if key in VIEW_PARAMS:
            view[key] = str(raw)
            continue
        if key in by_param:
            if not play_ok:
                warnings.append(f"ignored {key}: it was edited for play {params.get('play')!r}, which is not "
                                f"available; showing the library rules of {play!r}")
                continue
            try:
                rules[by_param[key]] = decode_rule(str(raw))
            except UserError as exc:
                warnings.append(f"ignored {key}: {exc}; showing the library rule")
            continue
        if key in _STACK_ROLE:  # the chosen product profile of a role (core.advice.stacks)
            role, name = _STACK_ROLE[key], str(raw).strip()
            if name in STACKS and STACKS[name].role == role:
                settings[key] = name
            else:
                warnings.append(f"ignored {key}={name!r}: {ROLE_TITLES[role]} profiles are "
                                f"{', '.join(p.name for p in stacks_for(role))}")
            continue
        if key == "yardstick":  # what truth is (core.engine.plays.YARDSTICKS); latent by default
            if str(raw) in YARDSTICKS:
                if str(raw) != "latent":
                    settings["yardstick"] = str(raw)
            else:
                warnings.append(f"ignored yardstick={str(raw)!r}: accepted {', '.join(YARDSTICKS)}")
            continue
        spec = catalog.get(key)
        if spec is None:
            warnings.append(f"ignored unknown parameter {key!r}")
            continue
        try:
            settings[key] = _parse_value(spec, raw)
        except UserError as exc:
            warnings.append(f"ignored {key}: {exc}")
    scenario = Scenario.make(preset, seed, people, days, settings)
    try:  # cross-field validation by the engine's own config classes
        scenario.world_config(), scenario.engine_config(), scenario.activation(), scenario.campaign()
    except UserError as exc:
        warnings.append(f"ignored the changed knobs: {exc}")
        scenario = Scenario.make(preset, seed, people, days)
    return Link(scenario, play, rules, view, warnings)


def decode_with_warnings(params: Mapping[str, Any]) -> tuple[Scenario, str, list[str]]:
    """Scenario and play name from URL parameters, plus a warning for each parameter dropped."""
    link = decode_link(params)
    return link.scenario, link.play, link.warnings


def decode(params: Mapping[str, Any]) -> tuple[Scenario, str]:
    """Scenario and play name from URL parameters; invalid parameters fall back to defaults."""
    scenario, play, _ = decode_with_warnings(params)
    return scenario, play


def default_scenario(preset: str = DEFAULT_PRESET, people: int = DEFAULT_PEOPLE) -> Scenario:
    return Scenario.make(preset, DEFAULT_SEED, people, DEFAULT_DAYS)


def known_play(name: str) -> bool:
    return name in PLAYS
