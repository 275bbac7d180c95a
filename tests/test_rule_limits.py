"""Limits on rules: hostile rules end in one RuleError naming the limit and where, never a
RecursionError or a database error; rules at every limit at once still compile and run."""
from __future__ import annotations

import json

import pytest

from core.cli.main import main
from core.engine.plays import PLAYS
from core.engine.rulelimits import LIMITS, check_text
from core.engine.rules import All, Any_, iter_conditions, parse_rule, read_rule_file, validate
from core.engine.schema import ViewSchema
from core.engine.views import Engine
from core.errors import RuleError, UserError

CDP = ViewSchema("cdp", {"industry": "text", "employees": "number"})
LEAF = {"event": "purchase"}


def err(obj, schema=None, registry=None) -> RuleError:
    with pytest.raises(RuleError) as info:
        rule = parse_rule(obj)
        if schema is not None:
            validate(rule, schema, registry)
    return info.value


def nested_text(levels: int) -> str:
    return '{"name": "deep", ' + '"not": {' * levels + '"event": "purchase"' + "}" * levels + "}"


def nested_dict(levels: int) -> dict:
    cond: dict = dict(LEAF)
    for _ in range(levels):
        cond = {"not": cond}
    return {"name": "deep", **cond}


# --------------------------------------------------------------------------- depth


@pytest.mark.parametrize("levels", [900, 100_000])
def test_deep_rule_text_is_refused_before_json_parsing(levels):
    e = err(nested_text(levels))
    assert e.path == "$"
    assert "max_json_depth" in str(e) and "line 1, column" in str(e)


@pytest.mark.parametrize("levels", [900, 100_000])
def test_deep_rule_dict_is_refused_without_recursion(levels):
    e = err(nested_dict(levels))
    assert "max_json_depth" in str(e)
    assert e.path.startswith("$.not.not") and len(str(e)) < 300  # one readable line


def test_a_rule_that_contains_itself_is_refused():
    rule: dict = {"name": "loop"}
    rule["not"] = rule
    assert "max_json_depth" in str(err(rule))


def test_group_nesting_names_the_first_group_too_deep():
    ok = nested_dict(LIMITS.max_condition_depth)
    assert parse_rule(ok).name == "deep"
    e = err(nested_dict(LIMITS.max_condition_depth + 1))
    assert e.path == "$" + ".not" * LIMITS.max_condition_depth
    assert "max_condition_depth" in str(e)


def test_brackets_and_escaped_quotes_inside_strings_do_not_count_as_depth():
    name = "[" * 500 + '\\"' + "{" * 500 + "\\\\"
    rule = parse_rule('{"name": "' + name + '", "event": "purchase"}')
    assert rule.name.startswith("[[[") and '"' in rule.name
    # a closing quote after an escaped backslash ends the string: the brackets after it count
    assert check_text('{"a": "x\\\\", "b": [[1]]}')


# --------------------------------------------------------------------------- size


def test_two_thousand_or_ed_conditions_name_the_first_one_over():
    e = err({"name": "wide", "any": [LEAF] * 2000})
    assert e.path == f"$.any[{LIMITS.max_conditions}]"
    assert "max_conditions" in str(e) and "in_segment" in str(e)


def test_conditions_are_counted_across_groups():
    half = LIMITS.max_conditions // 2 + 1
    e = err({"name": "wide", "all": [{"any": [LEAF] * half}, {"any": [LEAF] * half}]})
    assert "max_conditions" in str(e) and e.path.startswith("$.all[1].any[")


@pytest.mark.parametrize("rule, path, limit", [
    ({"name": "x", "field": "industry", "op": "in", "value": ["a"] * 1001}, "$.value", "max_list_values"),
    ({"name": "x", "event": "page_view", "where": {"page": ["home"] * 1001}}, "$.where.page", "max_list_values"),
    ({"name": "x", "event": "purchase", "within": "1096d"}, "$.within", "max_window_days"),
    ({"name": "x", "event": "purchase", "within": "26305h"}, "$.within", "max_window_days"),
    ({"name": "x", "event": "purchase", "within": "9" * 1500 + "d"}, "$.within", "max_window_days"),
    ({"name": "x", "first": {"event": "add_to_cart"}, "then_not": {"event": "purchase"}, "within": "1h",
      "lookback": "2000d"}, "$.lookback", "max_window_days"),
    ({"name": "x", "trait": "count", "event": "login", "days": 5000, "op": "gte", "value": 1}, "$.days", "max_window_days"),
    ({"name": "x", "trait": "days_since_last", "event": "login", "op": "gte", "value": 10**6}, "$.value", "max_window_days"),
    ({"name": "x", "field": "last_demo", "op": "within_last_days", "value": 10**9}, "$.value", "max_window_days"),
    ({"name": "x", "event": "purchase", "count": {"gte": 10**9}}, "$.count.gte", "max_count"),
    ({"name": "x", "event": "purchase", "count": 10**20}, "$.count", "max_abs_number"),
    ({"name": "x", "field": "employees", "op": "gt", "value": 1e300}, "$.value", "max_abs_number"),
    ({"name": "x" * 2001, "event": "purchase"}, "$.name", "max_string_chars"),
    ({"name": "x", "description": "d" * 10_000, "event": "purchase"}, "$.description", "max_string_chars"),
    ({"name": "x", "field": "industry", "op": "eq", "value": "v" * 5000}, "$.value", "max_string_chars"),
    ({"name": "x", "event": "purchase", "k" * 3000: 1}, "$", "max_string_chars"),
])
def test_each_limit_is_named_with_its_path(rule, path, limit):
    e = err(rule)
    assert e.path == path and limit in str(e), str(e)
    assert len(str(e)) < 300


@pytest.mark.parametrize("text, words", [
    ('{"name": "x", "field": "employees", "op": "gt", "value": NaN}', "finite"),
    ('{"name": "x", "field": "employees", "op": "gt", "value": 1e400}', "finite"),
    ('{"name": "x", "field": "employees", "op": "gt", "value": -Infinity}', "finite"),
    ('{"name": "x", "event": "purchase", "count": ' + "9" * 5000 + "}", "4,300 digits"),
    ('{"name": "x", "event": "purchase", "between": ["99999999999999999999", "2024-01-01"]}', "unparseable date"),
])
def test_numbers_and_dates_that_would_overflow_are_rule_errors(text, words):
    assert words in str(err(text))


def test_oversized_text_and_bytes_are_refused_before_parsing():
    e = err(" " * (LIMITS.max_text_bytes + 1))
    assert "max_text_bytes" in str(e)
    e = err(("[" * 10) .encode() + b" " * LIMITS.max_text_bytes)
    assert "max_text_bytes" in str(e)
    assert "not UTF-8" in str(err(b"\xff\xfe\x00"))


def test_too_many_json_values_in_a_python_dict():
    e = err({"name": "x", "event": "purchase", "junk": list(range(LIMITS.max_json_values + 1))})
    assert "max_json_values" in str(e) and e.path == "$.junk"


# --------------------------------------------------------------------------- segments


def test_segment_chains_deeper_than_the_limit_are_refused():
    registry = {"s0": parse_rule({"name": "s0", "event": "purchase"})}
    for i in range(1, LIMITS.max_segment_depth + 2):
        registry[f"s{i}"] = parse_rule({"name": f"s{i}", "in_segment": f"s{i - 1}"})
    top = parse_rule({"name": "top", "in_segment": f"s{LIMITS.max_segment_depth + 1}"})
    e = err(top.to_dict(), CDP, registry)
    assert e.path == "$.in_segment" and "max_segment_depth" in str(e)
    ok = parse_rule({"name": "ok", "in_segment": f"s{LIMITS.max_segment_depth - 1}"})
    validate(ok, CDP, registry)


def test_segments_used_many_times_count_every_inlined_condition():
    """100 references to a 100-condition segment would compile to 10,000 subqueries."""
    big = parse_rule({"name": "big", "any": [LEAF] * LIMITS.max_conditions})
    fan = {"name": "fan", "any": [{"in_segment": "big"}] * LIMITS.max_conditions}
    e = err(fan, CDP, {"big": big})
    assert "max_conditions" in str(e) and "inlined" in str(e)


# --------------------------------------------------------------------------- files and CLI


def test_rule_file_over_the_limit_is_refused_by_size(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"name": "x", "event": "purchase"}' + " " * LIMITS.max_text_bytes)
    with pytest.raises(UserError, match="max_text_bytes") as info:
        read_rule_file(big)
    assert str(big) in str(info.value)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(PLAYS["cart-abandonment"].cdp))
    assert read_rule_file(ok).name == PLAYS["cart-abandonment"].cdp["name"]


@pytest.mark.parametrize("content, words", [
    (nested_text(900), "max_json_depth"),
    (json.dumps({"name": "wide", "any": [LEAF] * 2000}), "max_conditions"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff", "not UTF-8"),
])
def test_cli_members_prints_one_line_and_exits_2(tmp_path, capsys, content, words):
    rule = tmp_path / "rule.json"
    rule.write_bytes(content if isinstance(content, bytes) else content.encode())
    code = main(["members", "--world", str(tmp_path / "no-world"), "--rule", str(rule), "--view", "cdp"])
    err_text = capsys.readouterr().err
    assert code == 2 and words in err_text and err_text.count("\n") == 1


# --------------------------------------------------------------------------- generous enough


def test_the_play_library_is_far_inside_every_limit():
    for play in PLAYS.values():
        for model in ("truth", "crm", "cdp"):
            text = play.rule(model).to_json()
            assert len(text) < LIMITS.max_text_bytes / 100
            assert text.count("{") < LIMITS.max_conditions


def test_a_rule_at_every_limit_at_once_compiles_and_runs(make_world):
    """The limits sit below what the database accepts: a rule with the maximum number of
    conditions, nested to the maximum depth, with a full ``in`` list and the longest window,
    evaluates on a small world without an expression-depth error."""
    depth = LIMITS.max_condition_depth
    leaves = [{"event": "page_view", "where": {"page": "product"}, "within": f"{LIMITS.max_window_days}d"}
              for _ in range(LIMITS.max_conditions - depth + 1)]
    cond: dict = {"any": leaves}
    for i in range(depth - 2):  # inner any + depth - 2 alls + outer any = depth groups
        cond = {"all": [cond, {"event": "purchase", "within": f"{i + 1}d", "count": {"lte": LIMITS.max_count}}]}
    cond = {"any": [cond, {"field": "country", "op": "in", "value": [f"C{i}" for i in range(LIMITS.max_list_values)]}]}
    rule = parse_rule({"name": "at the limits", **cond})
    assert sum(1 for _ in iter_conditions(rule.root) if not isinstance(_, (All, Any_))) == LIMITS.max_conditions
    engine = Engine(make_world("b2c-retail", people=300, days=30))
    members = engine.members(rule, "truth")
    assert len(members) > 0
