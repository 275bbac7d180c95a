"""Worlds are generated in fixed units of people, so a world does not depend on how it is cut up.

A unit is :data:`UNIT_PEOPLE` consecutive people (the last one may be smaller). Everything random
about a unit comes from its own generator, seeded by ``(seed, unit index)``; accounts and
households never span two units. So a world is the same whether it is generated in one piece, in
blocks of any number of units, or by any number of worker processes: only the numbering of
events, sessions and contacts runs across units, and that is assigned in unit order when the
units are joined (:mod:`synthetic.generator`).

The only thing a unit needs to know about the units before it is where its accounts start (their
ids and company names are global); :func:`plan_units` draws every unit's committee sizes from a
separate small stream first, which costs microseconds per unit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.config import WorldConfig
from synthetic.presets import PRESETS

#: People per unit. Fixed: changing it changes every world (it is part of the generator version).
UNIT_PEOPLE = 4096
_TAG = 20261129
_MAIN, _ACCOUNTS = 0, 1
_NAMED = 2
#: The random streams of a unit, one per subsystem (:func:`stream_rng`). The world itself (people,
#: intent, behaviour, pipeline and deals) draws only from its own streams, and each system's
#: record of it (CRM, CDP tracking, logins identified) from its own, so moving one system's
#: operating knobs changes what that system records and nothing else (issue 19).
STREAMS: tuple[str, ...] = ("people", "intent", "behaviour", "identity", "pipeline", "email", "decay", "login",
                            "crm", "crm_record", "tracking")


@dataclass(frozen=True)
class Unit:
    """One unit of people: its index, first person position and size, and its accounts."""

    index: int
    first: int                  # global position of the unit's first person (person_id = position + 1)
    people: int
    first_account: int          # global position of the unit's first account
    committee: np.ndarray       # B2B: people per account (sums to ``people``); empty for B2C


def unit_rng(seed: int, unit: int, stream: int = _MAIN) -> np.random.Generator:
    """The random generator of one unit (stream 0: everything; stream 1: its account plan)."""
    return np.random.default_rng(np.random.SeedSequence([seed, _TAG, unit, stream]))


def stream_rng(seed: int, unit: int, name: str) -> np.random.Generator:
    """The random generator of one subsystem of one unit, keyed by the subsystem's name.

    Streams are independent: how many numbers one subsystem draws (e.g. the CRM drawing more
    duplicates at a higher ``duplicate_rate``) never shifts what another draws."""
    if name not in STREAMS:
        raise ValueError(f"unknown random stream {name!r}; accepted: {', '.join(STREAMS)}")
    return np.random.default_rng(np.random.SeedSequence([seed, _TAG, unit, _NAMED, STREAMS.index(name)]))


def _committees(config: WorldConfig, unit: int, people: int) -> np.ndarray:
    """Buying committees of 1–10 contacts with mean ``committee_size`` filling the unit."""
    rng = unit_rng(config.seed, unit, _ACCOUNTS)
    mean = config.behaviour.committee_size
    p = min(max((mean - 1) / 9, 0.0), 1.0)
    sizes = 1 + rng.binomial(9, p, size=int(people / mean * 1.5) + 10)
    cum = np.cumsum(sizes)
    k = int(np.searchsorted(cum, people)) + 1
    sizes = sizes[:k].copy()
    sizes[-1] -= cum[k - 1] - people
    return sizes.astype(np.int64)


def plan_units(config: WorldConfig) -> list[Unit]:
    """Every unit of the world in order, with the global position of its first account."""
    b2b = PRESETS[config.preset].model == "b2b"
    units, first_account = [], 0
    for index, first in enumerate(range(0, config.people, UNIT_PEOPLE)):
        people = min(UNIT_PEOPLE, config.people - first)
        committee = _committees(config, index, people) if b2b else np.zeros(0, dtype=np.int64)
        units.append(Unit(index, first, people, first_account, committee))
        first_account += len(committee)
    return units


def anonymous_ids(seed: int, unit: int, count: int) -> np.ndarray:
    """Browser/app anonymous ids ``anon-xxxxxxxxxx``: unique across the world by construction.

    The pair (unit, device) is packed into 40 bits and scrambled by a keyed bijection (multiply by
    an odd constant, xor-shift, add a key — each step invertible modulo 2**40), so ids look like
    the random ids SDKs mint, never collide, and need no knowledge of other units.
    """
    mask = (1 << 40) - 1
    key = int(np.random.SeedSequence([seed, _TAG, 99]).generate_state(1, np.uint64)[0]) & mask
    x = ((np.uint64(unit) << np.uint64(20)) | np.arange(count, dtype=np.uint64)) & np.uint64(mask)
    for mult, shift in ((0x9E3779B97F4A7C15, 19), (0xBF58476D1CE4E5B9, 23), (0x94D049BB133111EB, 17)):
        x = (x * np.uint64(mult & mask | 1)) & np.uint64(mask)
        x ^= x >> np.uint64(shift)
        x = (x + np.uint64(key)) & np.uint64(mask)
    return hex_strings("anon-", x, 10)


def hex_strings(prefix: str, values: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + fixed-width lower-case hex of each value, built on whole arrays (no per-row format)."""
    digits = np.array(list("0123456789abcdef"))
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (values.astype(np.uint64)[:, None] >> shifts[None, :]) & np.uint64(15)
    chars = np.concatenate([np.broadcast_to(np.array(list(prefix)), (len(values), len(prefix))),
                            digits[nibbles.astype(np.int64)]], axis=1)
    joined = np.ascontiguousarray(chars).view(f"<U{len(prefix) + width}").ravel()
    return joined.astype(object)


def padded_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded decimal (``usr_0000042``), vectorised like :func:`hex_strings`."""
    digits = np.array(list("0123456789"))
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    d = (np.asarray(numbers, dtype=np.int64)[:, None] // powers[None, :]) % 10
    chars = np.concatenate([np.broadcast_to(np.array(list(prefix)), (len(numbers), len(prefix))), digits[d]], axis=1)
    return np.ascontiguousarray(chars).view(f"<U{len(prefix) + width}").ravel().astype(object)
