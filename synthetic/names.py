"""Seeded pools of human-looking values, drawn once from Faker and indexed with numpy.

Faker is slow per call, so it fills a bounded pool (a few thousand names) per seed and the
generator picks from the pool with vectorised integer indices — the Faker "provider" idea
(data in class tuples, one seeded generator) without a Python call per row.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from faker import Faker


class Domains:
    """Static data, Faker-provider style: values in class tuples."""

    INDUSTRIES: tuple[str, ...] = ("Software", "Financial Services", "Healthcare", "Manufacturing",
                                   "Retail", "Education", "Media", "Logistics")
    REGIONS: tuple[str, ...] = ("North America", "EMEA", "APAC", "LATAM")
    REGION_WEIGHTS: tuple[float, ...] = (0.45, 0.32, 0.16, 0.07)
    EMPLOYEE_BANDS: tuple[tuple[str, int, int], ...] = (("1-10", 1, 10), ("11-50", 11, 50),
                                                         ("51-200", 51, 200), ("201-1000", 201, 1000),
                                                         ("1001-5000", 1001, 5000), ("5000+", 5001, 50000))
    BAND_WEIGHTS: tuple[float, ...] = (0.22, 0.30, 0.22, 0.15, 0.07, 0.04)
    CONSUMER_DOMAINS: tuple[str, ...] = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "proton.me")
    COUNTRIES: tuple[str, ...] = ("US", "GB", "DE", "FR", "NL", "ES", "CA", "AU")


@dataclass(frozen=True)
class NamePool:
    first: np.ndarray
    last: np.ndarray
    companies: np.ndarray
    cities: np.ndarray
    first_slug: np.ndarray
    last_slug: np.ndarray
    first_initial: np.ndarray


@lru_cache(maxsize=8)
def name_pool(seed: int, size: int = 500) -> NamePool:
    """Faker-generated names for one seed; cached because every world of a seed shares it.

    500 first × 500 last names already give 250,000 combinations (emails add the person id, so
    they stay unique); a bigger pool only costs start-up time (~2 ms per Faker call).
    """
    fake = Faker("en_US")
    fake.seed_instance(seed)
    first = np.array([fake.first_name() for _ in range(size)], dtype=object)
    last = np.array([fake.last_name() for _ in range(size)], dtype=object)
    companies = np.array(sorted({fake.company() for _ in range(size)}), dtype=object)
    cities = np.array([fake.city() for _ in range(100)], dtype=object)
    first_slug = slug(first)
    return NamePool(first, last, companies, cities, first_slug, slug(last), first_slug.astype(str).astype("<U1").astype(object))


def slug(values: np.ndarray) -> np.ndarray:
    """Lower-case ascii-ish slugs for email local parts and company domains."""
    import pandas as pd

    s = pd.Series(values, dtype="string").str.lower().str.replace(r"[^a-z0-9]+", "", regex=True)
    return s.to_numpy(dtype=object)
