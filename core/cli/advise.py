"""``audience-lab advise``: the fit advisor on the command line.

    audience-lab advise --answers FILE.json [--json]

prints the recommendation (CRM, CDP or hybrid), the reasons that drove it (each quoting a figure
from the simulated run), net value per model over 12 months and the crossover values of the
sweep. A bad answer file prints one line naming the answer to fix and exits 2.
"""
from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("advise", help="recommend CRM, CDP or hybrid for a business described in a JSON answers file")
    p.add_argument("--answers", required=True, metavar="FILE.json",
                   help="JSON object of answers (see docs/fit.md); missing answers take their defaults")
    p.add_argument("--json", action="store_true",
                   help="print JSON: recommendation, reasons, risks, net_value per model, crossovers")
    p.add_argument("--no-sweep", action="store_true", help="skip the sensitivity sweep (no crossovers; faster)")
    p.set_defaults(func=run_advise)


def load_answers(path: str):
    """Read and validate an answers file; every problem is an AnswerError naming the answer."""
    from core.advice.fit import AnswerError, Answers

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise AnswerError("--answers", f"file not found: {path}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise AnswerError("--answers", f"cannot read {path}: {exc.__class__.__name__}") from None
    return Answers.from_json(text)


def run_advise(args: argparse.Namespace) -> int:
    from core.advice.fit import advise, text_report

    answers = load_answers(args.answers)
    advice = advise(answers, sweep=not args.no_sweep)
    if args.json:
        json.dump(advice.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_report(advice))
    return 0
