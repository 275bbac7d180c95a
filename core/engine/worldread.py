"""Narrow reads of a world for the measures: only the rows and columns a measure needs.

The measures (response, campaign, overlap, depth, activation) need a few slices of a world: the
outcome events of a play (purchases, demo requests — not the page views), the people's ids and
addresses, the CRM's e-mail records. An in-memory world (:class:`synthetic.world.World`, an
observed world) answers by filtering its frames. A world read from its folder
(:class:`core.engine.folder.FolderWorld`) answers from the Parquet files with the filter and the
column list pushed down to the reader (``events_of`` / ``people_columns`` / ``crm_changes_of``
methods), so a 1M-person world's 42M-row event log is never loaded whole to find its 1M purchases.

Both give the same rows in the same order (the file order, which is the frames' order) with the
same dtypes (the same Parquet → pandas conversion), so a measure's figures do not depend on
where the world lies (tests/test_compare_folder.py).
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd


def _kept(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c in frame.columns]


def events_of(world, event_types: Iterable[str], columns: Iterable[str]) -> pd.DataFrame:
    """The world's events of these types, these columns only (those the world has), in log order."""
    return _rows_of(world, "events_of", "events", "event_type", tuple(event_types), tuple(columns))


def people_columns(world, columns: Iterable[str]) -> pd.DataFrame:
    """The people table with these columns only (those the world has): one row per person."""
    columns = tuple(columns)
    own = getattr(type(world), "people_columns", None)
    if own is not None:
        return world.people_columns(columns)
    people = world.people
    return people[_kept(people, columns)]


def crm_changes_of(world, fields: Iterable[str], columns: Iterable[str]) -> pd.DataFrame:
    """The CRM's field records for these fields, these columns only, in log order."""
    return _rows_of(world, "crm_changes_of", "crm_changes", "field", tuple(fields), tuple(columns))


def _rows_of(world, method: str, table: str, key: str, values: tuple, columns: tuple) -> pd.DataFrame:
    """A log's rows whose ``key`` is one of ``values``: the world's own narrow read when it has one
    (a folder pushes the filter to its Parquet files), else a filter of its frame."""
    if getattr(type(world), method, None) is not None:
        return getattr(world, method)(values, columns)
    frame = getattr(world, table)
    return frame.loc[frame[key].isin(values).to_numpy(), _kept(frame, columns)]


__all__ = ["crm_changes_of", "events_of", "people_columns"]
