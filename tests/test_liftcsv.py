"""core.measures.liftcsv + `audience-lab lift` on Hillstrom's MineThatData e-mail experiment.

Published figures (Hillstrom 2008): visit Mens 18.28%, Womens 15.14%, No E-Mail 10.62%;
conversion 1.25% / 0.88% / 0.57%; spend per customer $1.42 / $1.08 / $0.65.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.cli import main
from core.errors import DataError
from core.measures.liftcsv import lift_from_csv

REPO = Path(__file__).resolve().parents[1]
HILLSTROM = REPO.parent / "shared" / "data" / "hillstrom" / "hillstrom.csv"
needs_hillstrom = pytest.mark.skipif(
    not HILLSTROM.exists(), reason=f"Hillstrom CSV not found at {HILLSTROM} (shared data not mounted)"
)
ARMS = ["--csv", str(HILLSTROM), "--arm-column", "segment", "--control", "No E-Mail"]

# (outcome, treatment arm, treated rate, holdout rate) as published, in the outcome's units
PUBLISHED = [
    ("visit", "Mens E-Mail", 0.1828, 0.1062),
    ("visit", "Womens E-Mail", 0.1514, 0.1062),
    ("conversion", "Mens E-Mail", 0.0125, 0.0057),
    ("conversion", "Womens E-Mail", 0.0088, 0.0057),
    ("spend", "Mens E-Mail", 1.42, 0.65),
    ("spend", "Womens E-Mail", 1.08, 0.65),
]


@needs_hillstrom
@pytest.mark.parametrize(("outcome", "arm", "treated", "holdout"), PUBLISHED)
def test_reproduces_published_hillstrom_effects(outcome, arm, treated, holdout):
    r = lift_from_csv(HILLSTROM, "segment", arm, "No E-Mail", outcome)
    binary = outcome != "spend"
    assert r.binary is binary
    places = 4 if binary else 2  # rates to 0.01 pp; dollars to the cent
    assert round(r.rate_treated, places) == pytest.approx(treated)
    assert round(r.rate_holdout, places) == pytest.approx(holdout)
    assert r.n_holdout == 21306 and r.n_treated == {"Mens E-Mail": 21307, "Womens E-Mail": 21387}[arm]
    assert r.abs_lift == pytest.approx(r.rate_treated - r.rate_holdout)
    assert r.rel_lift == pytest.approx(r.rate_treated / r.rate_holdout - 1)
    assert r.abs_lift_ci_low > 0 and r.rel_lift_ci_low > 0  # CIs exclude 0
    assert r.significant and r.p_value < 0.01
    assert r.abs_lift_ci_low <= treated - holdout <= r.abs_lift_ci_high  # published gap inside


@needs_hillstrom
def test_hillstrom_headline_p_values_are_tiny():
    visit = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "visit")
    conv = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "conversion")
    spend = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "spend")
    assert visit.p_value < 1e-100 and conv.p_value < 1e-10 and spend.p_value < 1e-5
    assert visit.abs_lift == pytest.approx(0.0766, abs=1e-4)
    assert visit.rel_lift == pytest.approx(0.721, abs=1e-3)
    assert not visit.underpowered and visit.mde_abs < 0.01


@needs_hillstrom
def test_revenue_and_roi_from_the_spend_column():
    r = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "conversion",
                      revenue="spend", cost_per_send=0.10)
    assert r.incremental_revenue == pytest.approx((1.422617 - 0.652789) * 21307, rel=1e-5)
    assert r.cost == pytest.approx(2130.70)
    assert r.roi == pytest.approx((r.incremental_revenue - r.cost) / r.cost)


@needs_hillstrom
def test_cli_text_report(capsys):
    assert main(["lift", *ARMS, "--treatment", "Mens E-Mail", "--outcome", "visit"]) == 0
    out = capsys.readouterr().out
    assert "18.28% vs 10.62%" in out
    assert "+7.66 pp" in out and "+72.1%" in out
    assert "significant at alpha 0.05" in out
    rows = [line for line in out.splitlines()[1:] if not line.lstrip().startswith(("warning", "note"))]
    value_columns = {re.match(r"  \S+(?: \S+)*\s{2,}", line).end() for line in rows}
    assert len(rows) >= 8 and len(value_columns) == 1  # one aligned block


@needs_hillstrom
def test_cli_json_matches_library(capsys):
    args = ["lift", *ARMS, "--treatment", "Womens E-Mail", "--outcome", "spend", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    expected = lift_from_csv(HILLSTROM, "segment", "Womens E-Mail", "No E-Mail", "spend").to_dict()
    assert data == expected  # floats round-trip exactly through JSON
    assert data["binary"] is False and data["test"] == "Welch t-test"


@needs_hillstrom
def test_cli_forced_kinds(capsys):
    assert main(["lift", *ARMS, "--treatment", "Mens E-Mail", "--outcome", "visit", "--continuous",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test"] == "Welch t-test"


def _bad_cases(tmp: Path) -> list[tuple[list[str], str]]:
    text = tmp / "text.csv"
    text.write_text("arm,y\nA,yes\nB,no\n")
    empty = tmp / "empty.csv"
    empty.write_text("")
    h = str(HILLSTROM)
    base = ["--arm-column", "segment", "--treatment", "Mens E-Mail", "--control", "No E-Mail"]
    return [
        (["--csv", str(tmp / "nope.csv"), *base, "--outcome", "visit"], "not found"),
        (["--csv", str(empty), *base, "--outcome", "visit"], "empty"),
        (["--csv", h, *base, "--outcome", "visits"], "columns found: recency"),
        (["--csv", h, "--arm-column", "segment", "--treatment", "Mens", "--control", "No E-Mail",
          "--outcome", "visit"], "values present: 'Mens E-Mail'"),
        (["--csv", h, *base, "--outcome", "channel"], "must be numeric"),
        (["--csv", h, *base, "--outcome", "spend", "--binary"], "not binary"),
        (["--csv", str(text), "--arm-column", "arm", "--treatment", "A", "--control", "B",
          "--outcome", "y"], "must be numeric; found 'yes'"),
        (["--csv", h, "--arm-column", "segment", "--treatment", "No E-Mail", "--control",
          "No E-Mail", "--outcome", "visit"], "same arm"),
    ]


@needs_hillstrom
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    for args, message in _bad_cases(tmp_path):
        assert main(["lift", *args]) == 2, args
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert captured.out == ""
        assert "\n" not in err and err.startswith("audience-lab: error:"), err
        assert message in err, (message, err)


def test_library_errors_are_data_errors(tmp_path):
    f = tmp_path / "exp.csv"
    f.write_text("arm,y\n1,0\n1,1\n0,0\n0,1\n0,\n")
    with pytest.raises(DataError, match="empty value"):
        lift_from_csv(f, "arm", "1", "0", "y")
    g = tmp_path / "ok.csv"
    g.write_text("arm,y\n1,0\n1,1\n0,0\n0,0\n")
    r = lift_from_csv(g, "arm", 1, 0, "y")  # numeric arm labels compare as text
    assert r.binary and r.rate_treated == 0.5 and r.rel_lift is None
    with pytest.raises(DataError, match="not a file"):
        lift_from_csv(tmp_path, "arm", "1", "0", "y")
