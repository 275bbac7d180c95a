"""core/present/labels.py: every knob has a human label and unit, and shows only where it applies."""
from __future__ import annotations

import hashlib
from dataclasses import fields

import pandas as pd
import pytest

from core.engine.activation import ActivationConfig
from core.engine.identity import IdentityConfig
from core.measures.campaign import CampaignConfig
from core.present import labels
from core.present.urlstate import knob_catalog
from synthetic import generate, preset_config
from synthetic.config import Behaviour, Knobs, knob_specs
from synthetic.presets import PRESETS

KNOB_CLASSES = (Knobs, Behaviour, ActivationConfig, IdentityConfig, CampaignConfig)
ALL_FIELDS = sorted({f.name for cls in KNOB_CLASSES for f in fields(cls)})


@pytest.mark.parametrize("name", ALL_FIELDS)
def test_every_knob_has_a_label(name):
    assert name in labels.LABELS, (f"knob {name!r} has no label: add one line "
                                   f'"{name}": L("<what it is, in words>", "<unit>") to core/present/labels.py')
    entry = labels.LABELS[name]
    assert entry.text.strip() and entry.text[0].isupper(), f"{name}: the label must be a sentence-case phrase"
    assert "_" not in entry.text, f"{name}: the label reads like a field name ({entry.text!r})"


def test_catalogue_has_no_orphans_and_valid_presets():
    orphans = sorted(set(labels.LABELS) - set(ALL_FIELDS))
    assert not orphans, f"labels for knobs that no longer exist: {orphans}"
    for name, entry in labels.LABELS.items():
        assert entry.presets is None or set(entry.presets) <= set(PRESETS), name


def test_shares_are_percentages_and_numbers_carry_a_unit():
    catalog = knob_catalog()
    for name, spec in catalog.items():
        unit = labels.unit(name)
        if spec.kind in ("bool", "choice") or name in labels.CHOICES:
            continue
        assert unit, f"{name} ({spec.kind}) has no unit"
        if unit == "%":
            assert spec.hi is not None and spec.hi <= 1, f"{name} is a percentage but its range goes to {spec.hi}"


def test_every_engine_knob_has_a_range_and_every_choice_its_words():
    """The engine's dataclasses carry no slider range and no words for their choices: the label
    line (lo, hi) and labels.CHOICES give them, or the Scenario page cannot draw the knob well."""
    problems = []
    for name, spec in knob_catalog().items():
        if spec.kind in ("int", "float") and name not in labels.CHOICES and (spec.lo is None or spec.hi is None):
            problems.append(f"{name}: no range; add lo and hi to its line in core/present/labels.py")
        if spec.kind == "choice" and not labels.CHOICES.get(name):
            problems.append(f"{name}: a choice without words; add its values to CHOICES in core/present/labels.py")
        if name in labels.CHOICES and spec.kind == "choice" and spec.default not in labels.CHOICES[name]:
            problems.append(f"{name}: its default {spec.default!r} is not one of CHOICES")
    assert not problems, "\n".join(problems)


def test_labels_speak_the_business_language():
    assert labels.label("order_value", "b2b-saas") == "Median deal value (currency units)"
    assert labels.label("order_value", "b2c-retail") == "Median order value (currency units)"
    assert labels.label("p_cart", "b2c-retail") == "Chance an in-market session adds to cart"  # % shown by the widget
    assert labels.label("cdp_sync_minutes") == "Minutes between CDP → sending-tool syncs (minutes)"
    assert labels.words("b2b")["Purchases"] == "Deals won" and labels.words("b2c")["Purchases"] == "Purchases"


def test_b2c_worlds_hide_b2b_knobs_and_stores_belong_to_omnichannel():
    for preset in ("b2c-retail", "omnichannel"):
        for name in ("committee_size", "trial_to_paid", "lead_to_mql", "p_demo", "sales_cycle_days", "coverage_sales"):
            assert not labels.applies(name, preset), f"{name} shown on {preset}"
        assert labels.applies("p_cart", preset)
    for name in ("store_visits_per_month", "loyalty_share", "coverage_store"):
        assert [p for p in PRESETS if labels.applies(name, p)] == ["omnichannel"], name
    assert labels.applies("trial_to_paid", "plg-saas") and not labels.applies("trial_to_paid", "b2b-saas")
    assert labels.applies("lead_to_mql", "b2b-saas") and not labels.applies("lead_to_mql", "plg-saas")
    assert all(labels.applies("cdp_sync_minutes", p) for p in PRESETS)


def test_snap_stores_sensible_values():
    assert labels.snap("holdout_share", 0.4902, 0.01, 0.5) == 0.49
    assert labels.snap("holdout_share", 0.4951, 0.01, 0.5) == 0.5
    assert labels.snap("holdout_share", 0.9, 0.01, 0.5) == 0.5, "clamped to the range"
    assert labels.snap("email_click_rate", 0.01749, 0, 1) == 0.017
    assert labels.snap("crm_build_days", 2.26, 0, 365) == 2.5
    assert labels.snap("cdp_sync_minutes", 14.6, 0, 525_600) == 15.0
    assert labels.snap("custom_field_sprawl", 2.6, 0, 6, "int") == 3 and isinstance(
        labels.snap("custom_field_sprawl", 2.6, 0, 6, "int"), int)
    assert labels.snap("merge_on_email", True) is True and labels.snap("cdp_mode", "batch") == "batch"
    assert repr(labels.snap("coverage_web", 0.1 + 0.2, 0, 1)) == "0.3", "no float noise in links"


# --------------------------------------------------------------------------- scope follows the generator
SCOPED = sorted(n for n, e in labels.LABELS.items() if e.presets is not None and n in knob_specs())
SMALL = {"people": 900, "days": 30, "seed": 7}


def _digest(world) -> str:
    h = hashlib.sha1()
    for table in ("people", "accounts", "events", "identifiers", "crm_changes", "intent", "traits"):
        df = getattr(world, table)
        h.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def _world(preset: str, **overrides) -> str:
    return _digest(generate(preset_config(preset, overrides=overrides, **SMALL)))


@pytest.fixture(scope="module")
def base_digests():
    return {p: _world(p) for p in PRESETS}


def _moved(name: str, preset: str):
    """A clearly different value inside the knob's range (half-way to the far end)."""
    lo, hi = knob_specs()[name].metadata["range"]
    cfg = preset_config(preset, **SMALL)
    value = getattr(cfg.knobs, name) if hasattr(cfg.knobs, name) else getattr(cfg.behaviour, name)
    top = min(hi, max(2 * value, 1.0)) if hi > 1 else hi
    new = (value + top) / 2 if value < top else (value + lo) / 2
    return int(round(new)) if isinstance(value, int) else new


@pytest.mark.slow
@pytest.mark.parametrize("name", SCOPED)
def test_a_shown_knob_changes_the_world(name, base_digests):
    """A knob offered on a preset must do something there: no dead sliders."""
    for preset in (p for p in PRESETS if labels.applies(name, p)):
        assert _world(preset, **{name: _moved(name, preset)}) != base_digests[preset], \
            f"{name} is shown on {preset} but moving it changes nothing there"


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_hidden_knobs_do_not_change_the_world(preset, base_digests):
    """A knob hidden on a preset must be one its generator ignores (or be hidden on purpose, with
    the reason in HIDDEN_ON_PURPOSE). All of them move at once; on a change each is tried alone."""
    hidden = [n for n in SCOPED if not labels.applies(n, preset) and n not in labels.HIDDEN_ON_PURPOSE]
    if _world(preset, **{n: _moved(n, preset) for n in hidden}) == base_digests[preset]:
        return
    used = [n for n in hidden if _world(preset, **{n: _moved(n, preset)}) != base_digests[preset]]
    assert not used, (f"hidden on {preset} but the generator uses them there: {used}; add {preset} to their "
                      "presets in core/present/labels.py (or a reason to HIDDEN_ON_PURPOSE)")
