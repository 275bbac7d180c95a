"""``audience-lab plays``: list the play library and write each play's rule files."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plays", help="list the plays; with --out, write their truth/crm/cdp rule files")
    p.add_argument("--preset", help="only the plays for this preset")
    p.add_argument("--out", help="folder for the rule files (<play>.<model>.json)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.engine.plays import PLAYS, plays_for

    plays = plays_for(args.preset) if args.preset else list(PLAYS.values())
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            for play in plays:
                for model in ("truth", "crm", "cdp"):
                    (out / f"{play.name}.{model}.json").write_text(json.dumps(play.rule(model).to_dict(), indent=2) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write rule files to {out}: {exc.strerror or exc}") from None
    if args.json:
        json.dump([p.to_dict() for p in plays], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for play in plays:
        sys.stdout.write(f"{play.name:20} {play.title} — {play.goal} (presets: {', '.join(play.presets)})\n")
        for model in ("crm", "cdp"):
            sys.stdout.write(f"    {model.upper():4} {play.rule(model).to_english()}\n")
    return 0
