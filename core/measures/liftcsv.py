"""The lift calculator on a real randomised experiment stored as a CSV (e.g. Hillstrom's).

The same :func:`core.measures.stats.lift_report` that reads simulated campaigns reads real ones, so a user
can check the calculator against published figures before trusting it on synthetic worlds. Every
way a file can be wrong becomes a :class:`DataError` that names what was found, because the person
fixing it cannot see our code.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataError
from core.measures.stats import LiftReport, lift_report

__all__ = ["lift_from_csv", "read_arms"]


def _read_header(path: Path) -> list[str]:
    """Column names only, so a missing column is reported before parsing a large file."""
    if not path.exists():
        raise DataError(f"CSV file not found: {path}")
    if not path.is_file():
        raise DataError(f"not a file: {path}")
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except pd.errors.EmptyDataError:
        raise DataError(f"CSV file is empty: {path}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read CSV {path}: {exc}") from None


def _check_columns(found: list[str], wanted: list[str], path: Path) -> None:
    missing = [c for c in wanted if c not in found]
    if missing:
        raise DataError(
            f"column(s) {', '.join(repr(c) for c in missing)} not in {path.name}; "
            f"columns found: {', '.join(found)}"
        )


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    """Numbers, or a DataError that quotes a few offending cells."""
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        shown = ", ".join(repr(str(v)) for v in column[bad].unique()[:3])
        raise DataError(f"column {name!r} must be numeric; found {shown}")
    if values.isna().any():
        raise DataError(f"column {name!r} has {int(values.isna().sum())} empty value(s) in the arms compared")
    return values.to_numpy(dtype=float)


def read_arms(
    path: str | Path, arm_column: str, treatment: str, control: str, columns: list[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{column: (treated values, control values)}`` for the requested numeric columns.

    Arm labels are compared as text (stripped), so ``--treatment 1`` matches a numeric 1 column.
    """
    path = Path(path)
    if str(treatment) == str(control):
        raise DataError(f"treatment and control are the same arm ({treatment!r}); pick two arms")
    found = _read_header(path)
    _check_columns(found, [arm_column, *columns], path)
    usecols = list(dict.fromkeys([arm_column, *columns]))
    try:
        frame = pd.read_csv(path, usecols=usecols, dtype={arm_column: str})
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read CSV {path}: {exc}") from None
    arms = frame[arm_column].fillna("").str.strip()
    is_t, is_c = arms == str(treatment).strip(), arms == str(control).strip()
    for label, mask in ((treatment, is_t), (control, is_c)):
        if not mask.any():
            present = ", ".join(repr(v) for v in sorted(arms.unique())[:20])
            raise DataError(f"arm {label!r} not found in column {arm_column!r}; values present: {present}")
    return {c: (_numeric(frame.loc[is_t, c], c), _numeric(frame.loc[is_c, c], c)) for c in columns}


def lift_from_csv(
    path: str | Path,
    arm_column: str,
    treatment: str,
    control: str,
    outcome: str,
    binary: bool | None = None,
    *,
    revenue: str | None = None,
    cost_per_send: float = 0.0,
    fixed_cost: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> LiftReport:
    """Lift of ``treatment`` over ``control`` on ``outcome`` (optionally money from ``revenue``)."""
    columns = [outcome] if revenue is None or revenue == outcome else [outcome, revenue]
    arms = read_arms(path, arm_column, treatment, control, columns)
    y1, y0 = arms[outcome]
    r1, r0 = arms[revenue] if revenue is not None else (None, None)
    try:
        return lift_report(
            y1, y0, binary=binary, alpha=alpha, power=power,
            revenue_treated=r1, revenue_control=r0,
            cost_per_send=cost_per_send, fixed_cost=fixed_cost,
        )
    except DataError as exc:
        raise DataError(f"outcome {outcome!r}: {exc}") from None
