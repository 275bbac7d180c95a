"""Property tests: whatever JSON reaches the rule parser, validator and SQL compiler, the answer is
a valid result or a rule error — never a traceback — and every rule that compiles runs in DuckDB.

Three sources of input: random JSON (shapes no person would write, made of the grammar's own
keys and words so the parser gets past its first check), rules drawn from the grammar with edge
values (the bulk of valid rules), and random mutations of the play library's rules (what a person
editing JSON by hand produces). Examples are derandomised so ``make test`` sees the same inputs on
every run, and bounded so the file takes about 20 s.
"""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.engine.plays import PLAYS
from core.engine.rules import FIELD_OPS, TRAITS, Rule, parse_rule
from core.engine.schema import CHANNELS, EVENT_TYPES, PAGES
from core.engine.sqlcompile import compile_change_points, compile_membership, inline_params
from core.engine.views import VIEWS, Engine
from core.errors import RuleError, UserError

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

REGISTRY = {r.name: r for r in (
    parse_rule({"name": "Buyers", "event": "purchase", "within": "30d"}),
    parse_rule({"name": "Loop A", "in_segment": "Loop B"}),
    parse_rule({"name": "Loop B", "not": {"in_segment": "Loop A"}}),
)}

GRAMMAR_KEYS = ["name", "description", "list", "frozen_at", "all", "any", "and", "or", "not", "field",
                "op", "value", "event", "where", "page", "channel", "count", "within", "between",
                "first", "then", "then_not", "lookback", "trait", "days", "before", "account",
                "min_people", "in_segment", "member_of"]
FIELDS = ["country", "city", "lifecycle_stage", "industry", "employees", "total_spend", "orders_count",
          "last_purchase_date", "abandoned_checkout_date", "email", "no_such_field"]
DURATIONS = ["1m", "30m", "1h", "24h", "48h", "7d", "30d", "90d", "1095d", "1096d", "26280h", "0d",
             "-1h", "5x", "", " 3d ", "1.5h", "٣d"]
DATES = ["2024-05-01", "2026-10-01T00:00:00Z", "2026-09-15T12:00:00+02:00", "1677-09-22", "2262-04-11",
         "99999-01-01", "not a date", "", "2026-02-30"]
OPS = list(FIELD_OPS) + ["=", "==", "!=", ">=", "<", "is not", "exists", "is-empty", "nin", "like", ""]
NUMBERS = [0, 1, 2, 3, -1, 7, 30, 1095, 1096, 10**6, 10**15, 10**16, 2**63, 0.5, -0.0, 1e15, 1e300,
           float("nan"), float("inf"), True, False]
WORDS = sorted(EVENT_TYPES | PAGES | CHANNELS | set(TRAITS) | {"active", "static", "Buyers", "Loop A",
                                                               "nobody"}) + FIELDS + DURATIONS + DATES + OPS

scalars = (st.none() | st.booleans() | st.sampled_from(NUMBERS) | st.integers(-2**70, 2**70)
           | st.floats() | st.sampled_from(WORDS) | st.text(max_size=12))
random_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(GRAMMAR_KEYS) | st.text(max_size=6), inner, max_size=4),
    max_leaves=25)


# --------------------------------------------------------------------------- grammar
# Every choice is usually a good value and sometimes an edge or wrong one, so most rules reach
# the validator and the compiler and the rest probe one mistake at a time.


def mostly(good, bad):
    """``good`` nine times in ten, ``bad`` otherwise (shrinking moves towards ``good``)."""
    return st.sampled_from([True] * 9 + [False]).flatmap(lambda ok: good if ok else bad)


def _words(*items):
    return st.sampled_from(list(items))


def _maybe(draw, key: str, strategy, p: float = 0.5) -> dict:
    return {key: draw(strategy)} if draw(st.sampled_from(range(100))) < p * 100 else {}


GOOD_DURATIONS = ["30m", "1h", "24h", "48h", "7d", "30d"]
durations = mostly(st.sampled_from(GOOD_DURATIONS),
                   st.sampled_from(DURATIONS) | st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**7), st.sampled_from("mhd")))
numbers = mostly(st.integers(0, 5), st.sampled_from(NUMBERS) | st.floats())
counts = mostly(st.integers(1, 4) | st.builds(lambda op, n: {op: n}, _words("gte", "gt", "lte", "lt", "eq"), st.integers(0, 4)),
                st.sampled_from(NUMBERS) | st.dictionaries(_words("gte", "gt", "lte", "lt", "eq", "ne"),
                                                           st.sampled_from(NUMBERS), min_size=1, max_size=2))
pages = mostly(st.sampled_from(sorted(PAGES)) | st.lists(st.sampled_from(sorted(PAGES)), min_size=1, max_size=3),
               st.sampled_from(WORDS) | st.lists(scalars, max_size=3))
channels = mostly(st.sampled_from(sorted(CHANNELS)), st.lists(st.sampled_from(sorted(CHANNELS) + ["fax"]), max_size=3))
value_bounds = mostly(st.dictionaries(_words("gte", "lt", ">", "lte"), st.integers(0, 500), min_size=1, max_size=2),
                      st.dictionaries(_words("gte", "eq", "≈"), st.sampled_from(NUMBERS), max_size=2) | scalars)
#: (field, type) pairs the b2c and b2b views know, plus one that none knows
TYPED_FIELDS = {"text": ["country", "city", "lifecycle_stage", "industry"], "number": ["total_spend", "orders_count", "employees"],
                "date": ["last_purchase_date", "abandoned_checkout_date"]}
GOOD_VALUES = {"text": st.sampled_from(["US", "DE", "customer", "mql", "Software", "a%b'c?"]),
               "number": st.integers(0, 1000) | st.floats(0, 1e6), "date": st.sampled_from(DATES[:5])}
GOOD_OPS = {"text": ["eq", "neq", "in", "not_in", "contains", "is_set", "is_not_set", "=", "is not"],
            "number": ["gt", "gte", "lt", "lte", "eq", "in", ">=", "is_set"],
            "date": ["before", "after", "within_last_days", "is_set", "is_not_set"]}


@st.composite
def event_specs(draw) -> dict:
    spec = {"event": draw(mostly(st.sampled_from(sorted(EVENT_TYPES)), st.sampled_from(["", "nap", 3, None])))}
    where = {**_maybe(draw, "page", pages, 0.4), **_maybe(draw, "channel", channels, 0.2),
             **_maybe(draw, "value", value_bounds, 0.15)}
    if where:
        spec["where"] = where
    return spec


@st.composite
def field_conditions(draw) -> dict:
    ftype = draw(_words("text", "number", "date"))
    name = draw(mostly(st.sampled_from(TYPED_FIELDS[ftype]), st.sampled_from(FIELDS + ["", "x" * 50])))
    op = draw(mostly(st.sampled_from(GOOD_OPS[ftype]), st.sampled_from(OPS)))
    canon = {"=": "eq", "is not": "neq", ">=": "gte"}.get(op, op)
    if canon in ("is_set", "is_not_set"):
        return {"field": name, "op": op, **_maybe(draw, "value", scalars, 0.1)}
    if canon in ("in", "not_in"):
        value = draw(mostly(st.lists(GOOD_VALUES[ftype], min_size=1, max_size=4), scalars))
    elif canon == "within_last_days":
        value = draw(mostly(st.integers(1, 30), st.sampled_from(NUMBERS)))
    else:
        value = draw(mostly(GOOD_VALUES[ftype], st.sampled_from(NUMBERS + DATES) | st.lists(scalars, max_size=2)))
    return {"field": name, "op": op, "value": value}


TRAIT_SHAPES = {"days_since_last": ("op", "value"), "count": ("days", "op", "value"), "total_value": ("op", "value", "days"),
                "first_time": ("within",), "stopped": ("within", "before")}


@st.composite
def traits(draw) -> dict:
    kind = draw(mostly(st.sampled_from(sorted(TRAIT_SHAPES)), _words("vibes", "")))
    out = {"trait": kind, **draw(event_specs())}
    for key in TRAIT_SHAPES.get(kind, ("op", "value", "within")):
        strategy = {"op": mostly(_words("gte", "gt", "lt", "lte", "eq", ">"), st.sampled_from(OPS)), "value": numbers,
                    "days": mostly(st.integers(1, 60), st.sampled_from(NUMBERS)), "within": durations,
                    "before": durations}[key]
        out.update(_maybe(draw, key, strategy, 0.95 if key != "days" or kind == "count" else 0.5))
    return out


@st.composite
def leaves(draw) -> dict:
    kind = draw(mostly(_words("field", "event", "event", "sequence", "trait", "account", "segment"), st.just("junk")))
    if kind == "junk":
        return draw(random_json)
    if kind == "field":
        return draw(field_conditions())
    if kind == "event":
        return {**draw(event_specs()), **_maybe(draw, "count", counts, 0.4),
                **_maybe(draw, "within", durations, 0.5),
                **_maybe(draw, "between", mostly(st.just(["2026-09-01", "2026-09-20"]), st.lists(st.sampled_from(DATES), max_size=3)), 0.1)}
    if kind == "sequence":
        second = draw(mostly(_words("then", "then_not"), _words("and_then", "first")))
        lookback = draw(mostly(_words("3d", "7d", "30d"), durations))
        return {"first": draw(event_specs()), second: draw(event_specs()), "within": draw(durations),
                **({"lookback": lookback} if draw(st.booleans()) else {})}
    if kind == "trait":
        return draw(traits())
    if kind == "account":
        return {"account": draw(event_specs()), **_maybe(draw, "within", durations, 0.9),
                **_maybe(draw, "min_people", mostly(st.integers(1, 4), st.sampled_from(NUMBERS)), 0.5)}
    key = draw(mostly(_words("in_segment", "member_of"), _words("segment", "in_segment ")))
    return {key: draw(mostly(st.sampled_from(sorted(REGISTRY)), _words("nobody", "", 7)))}


conditions = st.recursive(
    leaves(),
    lambda inner: st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any", "and", "or"]),
                            st.lists(inner, min_size=1, max_size=4))
    | st.builds(lambda item: {"not": item}, inner),
    max_leaves=8)


@st.composite
def grammar_rules(draw) -> dict:
    body = draw(conditions)
    rule = {"name": draw(st.sampled_from(["Fuzzed", "Buyers", "Loop A"])), **(body if isinstance(body, dict) else {"all": body})}
    if draw(st.sampled_from(range(10))) == 9:
        rule["list"] = draw(mostly(st.just("static"), _words("active", "dynamic")))
        rule["frozen_at"] = draw(mostly(st.sampled_from(["2026-09-15", "2026-09-01T08:00:00Z"]), st.sampled_from(DATES)))
    return rule


# --------------------------------------------------------------------------- mutations


def _library() -> list[dict]:
    out = []
    for play in PLAYS.values():
        out += [dict(play.truth_rule()), dict(play.crm), dict(play.cdp)]
    return out


LIBRARY = _library()


def _slots(obj) -> list[tuple]:
    """(parent, key) of every value inside a rule but its name, iteratively (a missing name is
    the random-JSON test's business; here the mutations should reach the conditions)."""
    out, stack = [], [obj]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if not (node is obj and key == "name"):
                out.append((node, key))
            stack.append(value)
    return out[::-1]  # deepest first: shrinking moves towards mutating a leaf value


@st.composite
def mutated_library_rules(draw) -> dict:
    rule = copy.deepcopy(draw(st.sampled_from(LIBRARY)))
    for _ in range(draw(mostly(st.just(1), st.integers(2, 3)))):
        slots = _slots(rule)
        if not slots:
            break
        parent, key = draw(st.sampled_from(slots))
        action = draw(mostly(st.just("alike"), st.sampled_from(["word", "number", "json", "delete", "wrap",
                                                                   "duplicate", "grammar"])))
        old = parent[key]
        if action == "alike":  # a value of the same kind: the edits a person makes by hand
            parent[key] = draw(st.sampled_from(WORDS) if isinstance(old, str)
                               else leaves() if isinstance(old, dict)
                               else st.lists(leaves(), min_size=1, max_size=3) if isinstance(old, list)
                               else st.sampled_from(NUMBERS))
        elif action == "delete":
            del parent[key]
        elif action == "wrap":
            parent[key] = {"not": parent[key]} if draw(st.booleans()) else [parent[key]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif action == "grammar":
            parent[key] = draw(leaves())
        else:
            new = {"word": st.sampled_from(WORDS), "number": st.sampled_from(NUMBERS), "json": random_json,
                   "duplicate": random_json}[action]
            parent[key] = draw(new)
    return rule


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def engines(make_world):
    """Tiny worlds, one B2C and one B2B (accounts), with all four views built."""
    out = {}
    for preset in ("b2c-retail", "b2b-saas"):
        engine = Engine(make_world(preset, people=300, days=30))
        for view in VIEWS:
            engine.schema(view)
        out[preset] = engine
    return out


def _placeholders(sql: str) -> int:
    """``?`` outside string literals: the compiler inlines nothing a user typed, only binds it."""
    return sum(part.count("?") for part in sql.split("'")[::2])


def compile_everywhere(obj, engines) -> list[tuple[Engine, str, Rule]]:
    """Parse, print and compile on every view; return where the rule compiled. Any exception other
    than a RuleError / UserError escapes and fails the test with the input that caused it."""
    try:
        rule = parse_rule(obj)
    except RuleError:
        return []
    assert parse_rule(rule.to_dict()) == rule, "to_dict must round-trip"
    assert rule.to_english().startswith("People who")
    ok = []
    for engine in engines.values():
        for view in VIEWS:
            schema = engine.schema(view)
            try:
                member = compile_membership(rule, schema, REGISTRY)
                points = compile_change_points(rule, schema, engine.world.start, engine.world.end, REGISTRY)
            except UserError:
                continue
            for compiled in (member, points):
                assert _placeholders(compiled.sql) == len(compiled.params), "one bound value per ?"
                inline_params(compiled.sql, compiled.params)  # the display form never fails
            ok.append((engine, view, rule))
    return ok


@settings(max_examples=250, **SETTINGS)
@given(random_json | st.builds(lambda body: {"name": "R", **body},
                                st.dictionaries(st.sampled_from(GRAMMAR_KEYS[4:]), random_json, min_size=1, max_size=4)))
def test_random_json_gives_a_rule_or_a_rule_error(engines, obj):
    compile_everywhere(obj, engines)


@settings(max_examples=250, **SETTINGS)
@given(grammar_rules())
def test_grammar_rules_with_edge_values_give_a_rule_or_a_rule_error(engines, obj):
    compile_everywhere(obj, engines)


@settings(max_examples=250, **SETTINGS)
@given(mutated_library_rules())
def test_mutated_library_rules_give_a_rule_or_a_rule_error(engines, obj):
    compile_everywhere(obj, engines)


@settings(max_examples=60, **SETTINGS)
@given(st.one_of(grammar_rules(), mutated_library_rules()), st.integers(0, 10**6))
def test_compiled_rules_run_and_timelines_agree_with_snapshots(engines, obj, pick):
    """A sample of the rules that compiled runs on a 300-person world, and the exact timeline
    (change points) agrees with the one-time evaluation at the end of the period."""
    ok = compile_everywhere(obj, engines)
    if not ok:
        return
    engine, view, rule = ok[pick % len(ok)]
    end = engine.world.end
    now = engine.members(rule, view, end, registry=REGISTRY)
    spans = engine.intervals(rule, view, registry=REGISTRY)
    open_at_end = spans[(spans["enter"] <= end) & (spans["exit"].isna() | (spans["exit"] > end))]
    assert sorted(now["subject_id"]) == sorted(open_at_end["subject_id"]), rule.to_json()


def test_the_generators_reach_the_compiler_often(engines):
    """A fuzz test whose inputs all fail at the first check would prove nothing: at least a third
    of grammar rules and of mutated library rules must parse, and a fifth compile on some view."""
    @settings(max_examples=150, **SETTINGS)
    @given(st.one_of(grammar_rules(), mutated_library_rules()))
    def collect(obj):
        seen.append(obj)

    seen: list = []
    collect()
    parsed = compiled = 0
    for obj in seen:
        try:
            parse_rule(obj)
        except RuleError:
            continue
        parsed += 1
        compiled += bool(compile_everywhere(obj, engines))
    assert parsed >= len(seen) / 3, f"{parsed} of {len(seen)} parsed"
    assert compiled >= len(seen) / 5, f"{compiled} of {len(seen)} compiled"
