"""``audience-lab advise``: the fit advisor on the command line.

    audience-lab advise [--answers FILE.json] [--profile PROFILE.json | --world DIR]
                        [--seeds N] [--knobs main|all|k1,k2] [--workers N] [--no-sweep] [--json]

prints the recommendation (CRM, CDP or hybrid) and whether it is robust, the reasons (each quoting
a figure), net value per model a year over the horizon (year one and a steady year beside it, and doing nothing) with every cost line, the crossovers (median and
range over the seeds), the well-run vs poorly run CDP comparison and the risks. ``--profile`` (the
JSON of ``audience-lab profile --json``) or ``--world`` (an imported or generated world folder)
pre-fills the answers the data shows; answers in ``--answers`` win over the pre-fill. A bad
answer prints one line naming it and exits 2.
"""
from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("advise", help="recommend CRM, CDP or hybrid for a business described in a JSON answers file")
    p.add_argument("--answers", metavar="FILE.json",
                   help="JSON object of answers (see docs/fit.md); missing answers take their defaults")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--profile", metavar="FILE.json",
                     help="a data profile ('audience-lab profile --json') that pre-fills customers, events, login share, order value")
    src.add_argument("--world", metavar="DIR", help="a world folder to profile and pre-fill the answers from")
    p.add_argument("--seeds", type=int, default=10, metavar="N",
                   help="simulated worlds (seeds) to average over and to take crossover ranges from (default 10)")
    p.add_argument("--knobs", default="main", metavar="LIST",
                   help="knobs to sweep: 'main' (both sides' operating levels and the CDP's cost; default), 'all', "
                        "or a comma list of crm_level, cdp_level, coverage_web, identified_share, cdp_cost_factor")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes for the seeds (0 = this process)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: recommendation, verdict, reasons, risks, net_value, costs, crossovers, ...")
    p.add_argument("--no-sweep", action="store_true", help="skip the sweeps (no crossovers or robustness check; faster)")
    p.set_defaults(func=run_advise)


def _read_json(path: str, what: str):
    from core.advice.answers import AnswerError

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise AnswerError(what, f"file not found: {path}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise AnswerError(what, f"cannot read {path}: {exc.__class__.__name__}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnswerError("$" if what == "--answers" else what,
                          f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def load_answers(path: str | None, profile: dict | None = None):
    """Answers from a file, pre-filled from a data profile; every problem is an AnswerError."""
    from core.advice.answers import AnswerError, Answers, answers_from_profile

    given = _read_json(path, "--answers") if path else {}
    if not isinstance(given, dict):
        return Answers.from_dict(given)  # names the problem ("$")
    base = answers_from_profile(profile) if profile is not None else {}
    if profile is not None and not isinstance(base, dict):
        raise AnswerError("--profile", "could not read answers from the profile")
    return Answers.from_dict({**base, **given})


def _knobs(spec: str):
    from core.advice.answers import AnswerError
    from core.advice.fit import MAIN_KNOBS, SWEEP_KNOBS

    if spec == "main":
        return MAIN_KNOBS
    if spec == "all":
        return tuple(SWEEP_KNOBS)
    names = tuple(k.strip() for k in spec.split(",") if k.strip())
    bad = [k for k in names if k not in SWEEP_KNOBS]
    if bad or not names:
        raise AnswerError("--knobs", f"unknown knob {bad[0] if bad else spec!r}; accepted: main, all, "
                                     f"or a comma list of {', '.join(SWEEP_KNOBS)}")
    return names


def run_advise(args: argparse.Namespace) -> int:
    from core.advice.answers import AnswerError
    from core.advice.fit import advise, text_report

    if not (args.answers or args.profile or args.world):
        raise AnswerError("--answers", "give an answers file (--answers FILE.json), a data profile (--profile) or a world (--world)")
    if not 1 <= args.seeds <= 100:
        raise AnswerError("--seeds", f"must be 1 to 100 (got {args.seeds}); 10 or more for crossover ranges")
    if not 0 <= args.workers <= 8:
        raise AnswerError("--workers", f"must be 0 to 8 (got {args.workers})")
    profile = None
    if args.profile:
        profile = _read_json(args.profile, "--profile")
    elif args.world:
        from core.measures.profile import profile_folder

        profile = profile_folder(args.world).to_dict()
    answers = load_answers(args.answers, profile)
    advice = advise(answers, sweep=not args.no_sweep, seeds=args.seeds, knobs=_knobs(args.knobs), workers=args.workers)
    if args.json:
        json.dump(advice.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_report(advice))
    return 0
