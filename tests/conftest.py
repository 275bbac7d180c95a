"""Shared fixtures. Worlds are expensive: build each one once per session and never mutate it."""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

from synthetic import generate, preset_config
from synthetic.presets import PRESETS

SMALL_PEOPLE, SMALL_DAYS = 3000, 60

# Property tests draw the same examples on every run, so CI passes or fails on the code, never on the
# luck of the draw; explore more locally with HYPOTHESIS_PROFILE=explore. A case found while
# exploring is pinned with @example.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def make_world():
    """``make_world(preset, people=3000, days=60, seed=7, **overrides)``, cached for the session."""
    cache: dict = {}

    def make(preset: str, people: int = SMALL_PEOPLE, days: int = SMALL_DAYS, seed: int = 7, **overrides):
        key = (preset, people, days, seed, tuple(sorted(overrides.items())))
        if key not in cache:
            cache[key] = generate(preset_config(preset, seed=seed, people=people, days=days, overrides=overrides))
        return cache[key]

    return make


@pytest.fixture(scope="session", params=sorted(PRESETS))
def small_world(request, make_world):
    """A small world (3000 people, 60 days, defaults) of each preset in turn."""
    return make_world(request.param)


@pytest.fixture(scope="session")
def small_worlds(make_world):
    """The small default world of every preset, by name."""
    return {name: make_world(name) for name in PRESETS}


@pytest.fixture(scope="session", autouse=True)
def private_disk_cache(tmp_path_factory):
    """Every test run gets its own disk cache of worlds and results (core/advice/diskcache.py), so
    runs never share state with each other or with a developer's ~/.cache; servers the tests start
    inherit it through the environment."""
    before = {k: os.environ.get(k) for k in ("AUDIENCE_LAB_CACHE_DIR", "AUDIENCE_LAB_CACHE_MB")}
    os.environ["AUDIENCE_LAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("audience-lab-cache"))
    os.environ["AUDIENCE_LAB_CACHE_MB"] = "512"
    yield os.environ["AUDIENCE_LAB_CACHE_DIR"]
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
