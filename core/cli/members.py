"""``audience-lab members``: who is in a rule's audience in a view at a time (or its SQL)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.args import check_as_of, read_rule_file
from core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("members", help="evaluate a rule file on a world's truth/crm/cdp/hybrid view")
    p.add_argument("--world", required=True, help="world folder written by 'audience-lab generate' or 'import'")
    p.add_argument("--rule", required=True, help="rule JSON file; event names: the simulator's (page_view, add_to_cart, "
                   "purchase, …) and, on an imported world, every event name the import kept (its summary lists them)")
    p.add_argument("--view", required=True, choices=("truth", "crm", "cdp", "hybrid"))
    p.add_argument("--as-of", help="ISO time (default: the end of the world's period)")
    p.add_argument("--out", help="CSV file to write (default: stdout)")
    p.add_argument("--sql", action="store_true", help="print the compiled SQL instead of members")
    from core.cli.args import add_stack_argument

    add_stack_argument(p)
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="where the world is evaluated, identity resolution included (default: duckdb, "
                        "in-process, reading a generated world's Parquet files out of core within "
                        "AUDLAB_DUCKDB_MEMORY, default 2GB; spark: a local Spark session over the same files)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.engine.folder import folder_kind
    from core.engine.views import Engine
    from core.ingest import is_observed, open_world
    from core.present.export import to_safe_csv

    rule = read_rule_file(args.rule)
    if args.engine == "spark" and not args.sql:
        return _run_spark(args, rule)  # Spark reads the Parquet files itself: no pandas copy here
    kind = folder_kind(args.world)
    if kind == "observed" and args.view == "truth":
        raise UserError(f"{args.world} holds imported data, which has no ground truth, so it has no truth view; "
                        "use --view cdp, crm or hybrid (or build a twin with 'audience-lab twin')")
    if kind is not None:  # DuckDB reads the world's Parquet files, within its memory limit
        return _run_folder(args, rule)
    world = open_world(args.world)
    if is_observed(world) and args.view == "truth":
        raise UserError(f"{args.world} holds imported data, which has no ground truth, so it has no truth view; "
                        "use --view cdp, crm or hybrid (or build a twin with 'audience-lab twin')")
    from core.cli.worldmeta import stack_engine_config

    engine = Engine(world, stack_engine_config(args.world, args.stack))
    if args.sql:
        sys.stdout.write(engine.sql(rule, args.view) + "\n")
        return 0
    check_as_of(args.as_of, world.start, world.end)
    members = engine.members(rule, args.view, args.as_of)
    if is_observed(world):  # no true persons: say who each member is by the identifier a person knows
        import pandas as pd

        from core.measures.observed import member_source_ids

        out = pd.DataFrame({"subject_id": members["subject_id"].to_numpy(),
                            "user_id": member_source_ids(engine, args.view, members["subject_id"]).to_numpy()})
        data = to_safe_csv(out)
        return _emit(args, data, len(out))
    id_col = {"crm": "contact_id", "cdp": "profile_id", "hybrid": "profile_id"}.get(args.view)
    out = members[["person_id"]].copy()
    if id_col:
        out[id_col] = members["subject_id"]
    data = to_safe_csv(out)
    return _emit(args, data, len(out))


def _run_folder(args: argparse.Namespace, rule) -> int:
    """A generated or imported world evaluated out of core: the world's tables stay Parquet files,
    identity is resolved in SQL, and DuckDB spills past its memory limit (``AUDLAB_DUCKDB_MEMORY``), so the
    process holds the answer, not the world (core/engine/folder.py)."""
    from core.cli.worldmeta import stack_engine_config
    from core.engine.folder import FolderEngine
    from core.present.export import to_safe_csv

    engine = FolderEngine(args.world, stack_engine_config(args.world, args.stack), lazy=True)  # one question
    try:
        if args.sql:
            sys.stdout.write(engine.sql(rule, args.view) + "\n")
            return 0
        check_as_of(args.as_of, engine.world.start, engine.world.end)
        members = engine.members(rule, args.view, args.as_of)
        if engine.kind == "observed":  # no true persons: each member by the identifier a person knows
            import pandas as pd

            from core.measures.observed import member_source_ids

            out = pd.DataFrame({"subject_id": members["subject_id"].to_numpy(),
                                "user_id": member_source_ids(engine, args.view, members["subject_id"]).to_numpy()})
            return _emit(args, to_safe_csv(out), len(out))
    finally:
        engine.close()
    id_col = {"crm": "contact_id", "cdp": "profile_id", "hybrid": "profile_id"}.get(args.view)
    out = members[["person_id"]].copy()
    if id_col:
        out[id_col] = members["subject_id"]
    return _emit(args, to_safe_csv(out), len(out))


def _run_spark(args: argparse.Namespace, rule) -> int:
    """The same members, evaluated from the raw tables to the answer in a local Spark session."""
    from core.engine.spark import SparkEngine
    from core.present.export import to_safe_csv

    engine = SparkEngine(args.world)
    check_as_of(args.as_of, engine.start, engine.end)
    members = engine.members(rule, args.view, args.as_of)  # the JVM ends with this process
    id_col = {"crm": "contact_id", "cdp": "profile_id", "hybrid": "profile_id"}.get(args.view)
    out = members[["person_id"]].copy()
    if id_col:
        out[id_col] = members["subject_id"]
    return _emit(args, to_safe_csv(out), len(out))


def _emit(args: argparse.Namespace, data: bytes, n: int) -> int:
    if args.out:
        try:
            Path(args.out).write_bytes(data)
        except OSError as exc:
            raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        sys.stderr.write(json.dumps({"members": n, "out": args.out}) + "\n")
    else:
        sys.stdout.write(data.decode())
    return 0
