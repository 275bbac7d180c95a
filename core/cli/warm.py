"""``audience-lab warm``: build a workshop's worlds and play results into the dashboard's disk cache.

A facilitator runs it before the room arrives (or on the server's machine after an upgrade): every
link's world and its play's results are then read from disk by the dashboard — by any server
started later — instead of being generated and run while 30 people wait. It builds what a page
would build for the link (:mod:`core.advice.prebuild`, the same keys), into the cache the
dashboard uses (``AUDIENCE_LAB_CACHE_DIR``, ``AUDIENCE_LAB_CACHE_MB``).
"""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("warm", help="pre-build a workshop's worlds and results into the dashboard's disk cache")
    p.add_argument("links", nargs="*", default=[""],
                   help="dashboard links or their query strings (e.g. '?seed=8&people=5000'); default: the default world")
    p.add_argument("--seeds", help="each link once per seed: a range 1000-1029 or a list 7,8,9")
    p.add_argument("--ops", action="append", metavar="SIDE=LEVEL",
                   help="also each link after that Scenario-page button, e.g. cdp=poorly-run (repeatable)")
    p.add_argument("--workers", type=int, default=1, help="processes building at once (default 1; one per core at most)")
    p.set_defaults(func=run)


def parse_seeds(text: str | None) -> list[int] | None:
    """``1000-1029`` or ``7,8,9`` → seeds; None when not given."""
    from core.errors import UserError

    if text is None:
        return None
    try:
        if "-" in text.strip().lstrip("-"):
            lo, hi = (int(x) for x in text.split("-", 1))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--seeds must be a range such as 1000-1029 or a list such as 7,8,9 (got {text!r})") from None
    if not seeds or len(seeds) > 1000 or any(not 0 <= s < 2**32 for s in seeds):
        raise UserError(f"--seeds must give 1 to 1000 seeds from 0 to 4294967295 (got {text!r})")
    return seeds


def items(links: list[str], seeds: list[int] | None, ops: list[str] | None) -> list:
    """(scenario, play) for every link, seed and ops button, as the dashboard would open them."""
    from dataclasses import replace
    from urllib.parse import parse_qs, urlsplit

    from core.advice.ops import OPS, parse_ops
    from core.engine.plays import get_play, with_rules
    from core.present.stackview import with_ops
    from core.present.urlstate import decode_link

    levels = parse_ops(ops)
    out = []
    for text in links:
        query = urlsplit(text).query if "?" in text or "://" in text else text
        link = decode_link(parse_qs(query.lstrip("?"), keep_blank_values=False))
        if link.warnings:
            sys.stderr.write("".join(f"audience-lab warm: {w}\n" for w in link.warnings))
        play = get_play(link.play)
        if link.rules:
            play = with_rules(play, crm=link.rules.get("crm"), cdp=link.rules.get("cdp"))
        for seed in seeds or [link.scenario.seed]:
            base = replace(link.scenario, seed=seed)
            out.append((base, play))
            for side, level in levels.items():
                settings = with_ops(dict(base.settings), OPS[side][level])
                out.append((replace(base, settings=tuple(sorted(settings.items()))), play))
    return out


def run(args: argparse.Namespace) -> int:
    from core.advice.diskcache import CacheRefused, from_env
    from core.advice.prebuild import warm
    from core.errors import UserError

    if isinstance(args.workers, bool) or not 1 <= args.workers <= 64:
        raise UserError(f"--workers must be a whole number from 1 to 64 (got {args.workers})")
    try:
        cache = from_env()
    except (CacheRefused, ValueError) as exc:
        raise UserError(str(exc)) from None
    if cache is None:
        raise UserError("the disk cache is off (AUDIENCE_LAB_CACHE_DIR=off or AUDIENCE_LAB_CACHE_MB=0); nothing to warm")
    todo = items(args.links, parse_seeds(args.seeds), args.ops)
    for label, seconds in warm(cache, todo, workers=args.workers):
        sys.stdout.write(f"{label}: {seconds:.1f} s\n")
    entries = cache.entries()
    sys.stdout.write(f"{len(todo)} scenarios ready in {cache.root} ({len(entries)} entries, "
                     f"{sum(e['bytes'] for e in entries) / 2**20:.0f} MB of {cache.max_bytes / 2**20:.0f} MB)\n")
    return 0
