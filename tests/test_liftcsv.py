"""core.measures.liftcsv + `audience-lab lift` on Hillstrom's MineThatData e-mail experiment (bundled),
and every hostile file issue 15 lists: one DataError line, exit code 2, nothing on stdout.

Published figures (Hillstrom 2008): visit Mens 18.28%, Womens 15.14%, No E-Mail 10.62%;
conversion 1.25% / 0.88% / 0.57%; spend per customer $1.42 / $1.08 / $0.65.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.errors import DataError
from core.measures import liftcsv
from core.measures.liftcsv import check_upload_size, hillstrom_path, inspect_csv, lift_from_csv, read_preview

HILLSTROM = hillstrom_path()
ARMS = ["--csv", "hillstrom", "--arm-column", "segment", "--control", "No E-Mail"]

# (outcome, treatment arm, treated rate, holdout rate) as published, in the outcome's units
PUBLISHED = [
    ("visit", "Mens E-Mail", 0.1828, 0.1062),
    ("visit", "Womens E-Mail", 0.1514, 0.1062),
    ("conversion", "Mens E-Mail", 0.0125, 0.0057),
    ("conversion", "Womens E-Mail", 0.0088, 0.0057),
    ("spend", "Mens E-Mail", 1.42, 0.65),
    ("spend", "Womens E-Mail", 1.08, 0.65),
]


def test_bundled_copy_is_the_published_file():
    raw = gzip.decompress(HILLSTROM.read_bytes())
    # SOURCE.txt: the publisher's file minus its final CRLF
    assert hashlib.sha256(raw).hexdigest() == "ff9e59285e9dc3f5fa3e0975419e6631ea5bdccd65d818991473d2367e02979c"
    source = (HILLSTROM.parent / "SOURCE.txt").read_text()
    assert "Kevin Hillstrom" in source and "minethatdata" in source.lower()


@pytest.mark.parametrize(("outcome", "arm", "treated", "holdout"), PUBLISHED)
def test_reproduces_published_hillstrom_effects(outcome, arm, treated, holdout):
    r = lift_from_csv(HILLSTROM, "segment", arm, "No E-Mail", outcome, planned_control_share=0.5)
    binary = outcome != "spend"
    assert r.binary is binary
    places = 4 if binary else 2  # rates to 0.01 pp; dollars to the cent
    assert round(r.rate_treated, places) == pytest.approx(treated)
    assert round(r.rate_holdout, places) == pytest.approx(holdout)
    assert r.n_holdout == 21306 and r.n_treated == {"Mens E-Mail": 21307, "Womens E-Mail": 21387}[arm]
    assert r.abs_lift == pytest.approx(r.rate_treated - r.rate_holdout)
    assert r.rel_lift == pytest.approx(r.rate_treated / r.rate_holdout - 1)
    assert r.abs_lift_ci_low > 0 and r.rel_lift_ci_low > 0  # CIs exclude 0, and agree
    assert r.significant and r.p_value < 0.01
    assert r.abs_lift_ci_low <= treated - holdout <= r.abs_lift_ci_high  # published gap inside
    assert not r.srm_mismatch and not r.holdout_too_small  # equal thirds, as designed


def test_hillstrom_headline_p_values_are_tiny():
    visit = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "visit")
    conv = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "conversion")
    spend = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "spend")
    assert visit.p_value < 1e-100 and conv.p_value < 1e-10 and spend.p_value < 1e-5
    assert visit.abs_lift == pytest.approx(0.0766, abs=1e-4)
    assert visit.rel_lift == pytest.approx(0.721, abs=1e-3)
    assert visit.mde_abs < 0.01


def test_power_at_a_planned_minimum_effect():
    r = lift_from_csv(HILLSTROM, "segment", "Womens E-Mail", "No E-Mail", "conversion", min_effect=0.001)
    assert r.power_basis == "planned minimum effect" and r.underpowered and r.power_at_effect < 0.3
    r = lift_from_csv(HILLSTROM, "segment", "Womens E-Mail", "No E-Mail", "conversion", min_effect=0.003)
    assert r.power_at_effect > 0.8 and not r.underpowered


def test_revenue_and_roi_from_the_spend_column():
    r = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "conversion",
                      revenue="spend", cost_per_send=0.10, fixed_cost=500.0)
    # a conversion report values the conversion effect at the mean order value (rate x value), within
    # 0.5% of Hillstrom's difference in spend per customer ($1.42 - $0.65 over 21,307 men e-mailed)
    assert r.revenue_method.startswith("conversion effect x value")
    assert r.incremental_revenue == pytest.approx((1.422617 - 0.652789) * 21307, rel=0.005)
    assert r.incremental_revenue_ci_low > 0 and r.abs_lift_ci_low > 0  # money and conversions agree
    spend = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "spend")
    assert spend.abs_lift * 21307 == pytest.approx((1.422617 - 0.652789) * 21307, rel=1e-5)
    assert r.cost == pytest.approx(2630.70)
    assert r.roi == pytest.approx((r.incremental_revenue - r.cost) / r.cost)
    assert r.roi_ci_low < r.roi < r.roi_ci_high
    no_platform = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "conversion",
                                revenue="spend", cost_per_send=0.10)
    assert no_platform.roi is None and "fixed_cost" in no_platform.roi_reason


def test_cuped_with_purchase_history():
    r = lift_from_csv(HILLSTROM, "segment", "Mens E-Mail", "No E-Mail", "spend", covariate="history")
    assert r.cuped.covariate == "history" and r.cuped.width_change <= 0
    assert r.cuped.abs_lift_ci_low < r.abs_lift < r.cuped.abs_lift_ci_high


def test_sample_ratio_mismatch_on_a_csv(tmp_path):
    f = tmp_path / "skewed.csv"
    rows = ["arm,y"] + ["t,1"] * 5400 + ["t,0"] * 5000 + ["c,1"] * 4600 + ["c,0"] * 5000
    f.write_text("\n".join(rows) + "\n")
    r = lift_from_csv(f, "arm", "t", "c", "y", planned_control_share=0.5)
    assert r.srm_mismatch and "sample ratio mismatch" in r.warning


def test_read_preview_gives_text_columns():
    head = read_preview(HILLSTROM, nrows=50)
    assert len(head) == 50 and list(head.columns)[:3] == ["recency", "history_segment", "history"]
    assert set(head["segment"]) <= {"Mens E-Mail", "Womens E-Mail", "No E-Mail"}


def test_cli_text_report_leads_with_money(capsys):
    assert main(["lift", *ARMS, "--treatment", "Mens E-Mail", "--outcome", "visit", "--revenue", "spend"]) == 0
    out = capsys.readouterr().out
    assert "18.28% vs 10.62%" in out
    assert "+7.66 pp" in out and "+72.1%" in out
    assert "significant at alpha 0.05" in out
    lines = out.splitlines()
    assert lines[1].lstrip().startswith("incremental revenue")
    rows = [line for line in lines[1:] if not line.lstrip().startswith(("warning", "note"))]
    value_columns = {re.match(r"  \S+(?: \S+)*\s{2,}", line).end() for line in rows}
    assert len(rows) >= 8 and len(value_columns) == 1  # one aligned block


def test_cli_json_matches_library(capsys):
    args = ["lift", *ARMS, "--treatment", "Womens E-Mail", "--outcome", "spend", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    expected = lift_from_csv(HILLSTROM, "segment", "Womens E-Mail", "No E-Mail", "spend").to_dict()
    assert data == json.loads(json.dumps(expected))  # floats round-trip exactly through JSON
    assert data["binary"] is False and data["test"] == "Welch t-test"


def test_cli_forced_kinds_and_new_flags(capsys):
    assert main(["lift", *ARMS, "--treatment", "Mens E-Mail", "--outcome", "visit", "--continuous",
                 "--min-effect", "0.01", "--planned-control-share", "0.5", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["test"] == "Welch t-test" and d["power_basis"] == "planned minimum effect"
    assert d["srm_p_value"] > 0.9


# --------------------------------------------------------------------------- hostile and broken files


def _gzip(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0))
    return path


def _hostile_files(tmp: Path) -> list[tuple[Path, str]]:
    """(file, words the one-line error must contain)"""
    rng = np.random.default_rng(0)
    junk = tmp / "junk.csv"
    junk.write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    latin = tmp / "latin1.csv"
    latin.write_bytes("arm,y,city\nA,1,Montr\xe9al\nB,0,Qu\xe9bec\n".encode("latin-1"))
    utf16 = tmp / "utf16.csv"
    utf16.write_bytes("arm,y\nA,1\nB,0\n".encode("utf-16"))
    wide = tmp / "ten_million_columns.csv"
    with wide.open("wb") as f:  # a header line of 10,000,000 columns (20 MB), then one row
        f.write(b"a," * 9_999_999 + b"a\n1\n")
    many = tmp / "many_columns.csv"
    many.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join("1" * 20_000) + "\n")
    empty = tmp / "empty.csv"
    empty.write_bytes(b"")
    empty_gz = _gzip(tmp / "empty.csv.gz", b"")
    header_only = tmp / "header_only.csv"
    header_only.write_text("arm,y\n")
    ragged = tmp / "ragged.csv"
    ragged.write_text("arm,y\nA,1\nB,0,7,8\nA,0\n")
    damaged = tmp / "damaged.csv.gz"
    whole = gzip.compress(("arm,y\n" + "".join(f"A,{i}\n" for i in range(50_000))).encode())
    damaged.write_bytes(whole[: len(whole) // 2])  # cut off mid-stream
    return [
        (junk, "binary data"), (latin, "not UTF-8"), (utf16, "UTF-16"),
        (wide, "header line longer than"), (many, "20,000 columns"),
        (empty, "empty"), (empty_gz, "empty"), (header_only, "no rows"),
        (ragged, "cannot read CSV"), (damaged, "damaged gzip"),
    ]


def test_hostile_files_give_one_data_error_line(tmp_path):
    for path, words in _hostile_files(tmp_path):
        with pytest.raises(DataError) as info:
            lift_from_csv(path, "arm", "A", "B", "y")
        message = str(info.value)
        assert words in message and "\n" not in message, (path.name, message)
        assert path.name in message or "cannot read" in message, message


def test_hostile_files_through_the_cli_exit_2_with_one_line(tmp_path, capsys):
    for path, words in _hostile_files(tmp_path):
        code = main(["lift", "--csv", str(path), "--arm-column", "arm", "--treatment", "A", "--control", "B",
                     "--outcome", "y"])
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert code == 2 and captured.out == "", path.name
        assert "\n" not in err and err.startswith("audience-lab: error:") and words in err, (path.name, err)


def test_a_2_gb_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "huge.csv"
    with big.open("wb") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GB on paper, no disk used

    def must_not_open(path):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(liftcsv, "_open", must_not_open)
    with pytest.raises(DataError, match=r"huge.csv is 2,048 MB; the limit is 200 MB"):
        inspect_csv(big)
    with pytest.raises(DataError, match="limit is 200 MB"):
        check_upload_size(2 * 1024**3, "upload.csv")


def test_a_gzip_bomb_is_refused_after_reading_at_most_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(liftcsv, "MAX_TEXT_BYTES", 1024**2)
    monkeypatch.setattr(liftcsv, "READ_CHUNK", 64 * 1024)
    bomb = _gzip(tmp_path / "bomb.csv.gz", b"arm,y\n" + b"A,1\n" * 5_000_000)  # 20 MB of text in ~20 KB
    assert bomb.stat().st_size < 100_000
    reads = []
    real_open = liftcsv._open

    def counting_open(path):
        stream, kind = real_open(path)
        original = stream.read

        def read(n=-1):
            chunk = original(n)
            reads.append(len(chunk))
            return chunk

        stream.read = read
        return stream, kind

    monkeypatch.setattr(liftcsv, "_open", counting_open)
    with pytest.raises(DataError, match="decompresses to more than 1 MB.*decompression bomb"):
        lift_from_csv(bomb, "arm", "A", "B", "y")
    assert sum(reads) <= 1024**2 + 64 * 1024  # stopped at the limit, not at 20 MB


def test_gzip_csv_is_read_whatever_its_name(tmp_path):
    f = _gzip(tmp_path / "experiment.csv", b"arm,y\n" + b"A,1\nA,0\n" * 100 + b"B,0\nB,0\nB,1\n" * 100)
    r = lift_from_csv(f, "arm", "A", "B", "y")
    assert r.n_treated == 200 and r.n_holdout == 300 and r.rate_treated == 0.5


def test_utf8_bom_is_accepted(tmp_path):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfarm,y\nA,1\nA,0\nB,0\nB,0\n")
    assert lift_from_csv(f, "arm", "A", "B", "y").rate_treated == 0.5


def _bad_cases(tmp: Path) -> list[tuple[list[str], str]]:
    text = tmp / "text.csv"
    text.write_text("arm,y\nA,yes\nB,no\n")
    base = ["--arm-column", "segment", "--treatment", "Mens E-Mail", "--control", "No E-Mail"]
    return [
        (["--csv", str(tmp / "nope.csv"), *base, "--outcome", "visit"], "not found"),
        (["--csv", "hillstrom", *base, "--outcome", "visits"], "columns found: recency"),
        (["--csv", "hillstrom", "--arm-column", "segment", "--treatment", "Mens", "--control", "No E-Mail",
          "--outcome", "visit"], "values present: 'Mens E-Mail'"),
        (["--csv", "hillstrom", *base, "--outcome", "channel"], "must be numeric"),
        (["--csv", "hillstrom", *base, "--outcome", "spend", "--binary"], "not binary"),
        (["--csv", str(text), "--arm-column", "arm", "--treatment", "A", "--control", "B",
          "--outcome", "y"], "must be numeric; found 'yes'"),
        (["--csv", "hillstrom", "--arm-column", "segment", "--treatment", "No E-Mail", "--control",
          "No E-Mail", "--outcome", "visit"], "same arm"),
        (["--csv", "hillstrom", *base, "--outcome", "visit", "--planned-control-share", "1.5"],
         "planned holdout share must be between 0 and 1"),
    ]


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
    assert r.binary and r.rate_treated == 0.5 and r.rel_lift is None and r.rel_lift_reason
    with pytest.raises(DataError, match="not a file"):
        lift_from_csv(tmp_path, "arm", "1", "0", "y")
