"""The ``planlib`` command: gathers arguments and calls the library.

    planlib plan --config templates/plan.yaml [--version v003] [--quiet] [-p NAME VALUE]
    planlib review --plan reports/FY2027/v001 --as-of 2027-03-31 [--actuals new_deals.csv] [--config ...]
    planlib params notebooks/01_market_analysis.ipynb
    planlib stages
    planlib init export.csv [--reps reps.csv] [--out plan.yaml]
    planlib commits-template --plan reports/FY2027/v001 [--out commits.xlsx] [--team East-1 ...]

Every fault ends in one line on stderr, ``planlib <command>: error: <what and what to do>``; ``planlib --debug
<command> ...`` prints the traceback before it.
"""
from __future__ import annotations

import argparse
import signal
import sys
import traceback

from planlib.core.errors import PlanlibError

__all__ = ["Stopped", "build_parser", "describe_error", "format_stages", "main"]


def _plan(args: argparse.Namespace) -> int:
    from planlib.report.params import parse_cli_value
    from planlib.report.runner import run_plan

    parameters = {name: parse_cli_value(value) for name, value in args.parameter}
    run_plan(args.config, version=args.version, parameters=parameters,
             progress=None if args.quiet else print)
    return 0


def _review(args: argparse.Namespace) -> int:
    from planlib.report.params import parse_cli_value
    from planlib.report.review_runner import run_review

    parameters = {name: parse_cli_value(value) for name, value in args.parameter}
    run_review(args.config, args.plan, args.as_of, actuals=args.actuals, parameters=parameters,
               progress=None if args.quiet else print)
    return 0


def _init(args: argparse.Namespace) -> int:
    from planlib.report.init import init_project

    config, reps, found = init_project(args.sales, reps_file=args.reps, out=args.out)
    print(f"wrote {config}: {len(found.mapping)} columns mapped, each with its evidence")
    for guess in found.mapping:
        print(f"  {guess.evidence}")
    for missing in found.missing:
        print(f"  {missing}: no column found; fill it in the config")
    if found.preset:
        o = found.outcomes
        print(f"  preset {found.preset}: {o['won']:,} won deals are the sales, {o['open']:,} open deals the "
              f"pipeline, {o['lost']:,} lost deals are counted, not used")
    if reps is not None:
        print(f"wrote {reps}: the roster inferred from the deal owners; complete it")
    print(f"next: planlib plan --config {config}")
    return 0


def _commits_template(args: argparse.Namespace) -> int:
    from pathlib import Path

    from planlib.data.bundle import read_plan_bundle
    from planlib.report.commits_template import commit_rows, write_commits_template

    bundle = read_plan_bundle(args.plan, base_dir=Path.cwd())
    cfg = bundle.config
    rows = commit_rows(bundle.targets, level=args.level, period_type=args.periods, teams=args.team or None)
    out = Path(args.out or f"commits_FY{cfg.fiscal.year}_{bundle.name}.xlsx")  # never into the plan of record
    write_commits_template(rows, out, title=f"{cfg.company.name}: commits for FY{cfg.fiscal.year} "
                                             f"(plan {bundle.name})", currency=cfg.company.currency)
    print(f"wrote {out}: {len(rows)} rows to fill in ({args.level} x {args.periods})")
    if cfg.allocation.commits != "ignore" and cfg.data.commits is not None:
        print(f"note: {bundle.name}'s targets were negotiated with commits (allocation.commits: "
              f"{cfg.allocation.commits}); a plan reading the filled file sets it against the top-down targets")
    return 0


def _params(args: argparse.Namespace) -> int:
    from planlib.report.params import describe

    print(describe(args.notebook))
    return 0


def _stages(args: argparse.Namespace) -> int:
    from planlib.core.graph import describe_stages

    print(format_stages(describe_stages()))
    return 0


def format_stages(rows: list[dict[str, str]]) -> str:
    """Return the stage graph as text: each stage in the order they run, what it reads, what reads it."""
    lines = ["The plan's stages, in the order they are computed. Each reads only what it declares;",
             "its cache key is made of exactly that (plus planlib's code and the numeric packages' versions).", ""]
    for row in rows:
        lines.append(f"{row['stage']}  ({row['module']})")
        lines.append(f"    config:  {row['config']}")
        lines.append(f"    needs:   {row['needs']}")
        if row["outside the config"] != "-":
            lines.append(f"    reads:   its input {row['outside the config']} (their sha256 is in the key)")
        lines.append(f"    read by: {row['read by']}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``planlib`` command, one subcommand per task."""
    parser = argparse.ArgumentParser(prog="planlib", description="Sales planning workbook.")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error before its one-line message")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = commands.add_parser(
        "plan", help="run the notebooks into a new plan bundle <output_dir>/FY<year>/<version>/",
        description="Run the config's notebooks with papermill into a new, never overwritten plan bundle.")
    plan.add_argument("--config", default="templates/plan.yaml",
                      help="the plan config (default: templates/plan.yaml, found from here or a parent folder)")
    plan.add_argument("--version", help="the bundle's version folder, e.g. v003 (default: the next free one)")
    plan.add_argument("--quiet", action="store_true", help="print nothing but errors")
    plan.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                      help="a parameter for every notebook (true/false, a number or text); "
                           "each notebook must declare it")
    plan.set_defaults(func=_plan)

    review = commands.add_parser(
        "review", help="review a plan of record against actuals into a new folder beside it",
        description="Run the quarterly review notebook(s) of review.notebooks into <plan>-review-<quarter>/, "
                    "beside the plan of record, which is read and never changed.")
    review.add_argument("--plan", required=True, help="the plan of record's bundle, e.g. reports/FY2027/v001; "
                                                      "latest: the newest of the config's fiscal year")
    review.add_argument("--as-of", required=True, dest="as_of",
                        help="the review date, ISO (2027-03-31): months ending on or before it are closed")
    review.add_argument("--actuals", help="a CSV/Excel/Parquet file of the deals after the plan's history, in the "
                                          "layout of data.sales, or a HubSpot deals export or Salesforce "
                                          "opportunity report as the CRM writes it (told by its headers) "
                                          "(default: the config's sales source holds them)")
    review.add_argument("--config", default="templates/plan.yaml",
                        help="the config whose data sources and review settings are used (default: "
                             "templates/plan.yaml); the plan's own settings come from the bundle")
    review.add_argument("--quiet", action="store_true", help="print nothing but errors")
    review.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter for the review notebook(s); each must declare it")
    review.set_defaults(func=_review)

    params = commands.add_parser("params", help="list the parameters a notebook declares",
                                 description="List a notebook's parameters with their types, defaults and docs.")
    params.add_argument("notebook", help="path of the .ipynb file")
    params.set_defaults(func=_params)

    init = commands.add_parser(
        "init", help="infer a config from a sales export (CSV or Excel) and write it beside the file",
        description="Profile the export's columns, map them onto planlib's fields with the evidence of each guess, "
                    "and write an annotated config (never over an existing file); without --reps, a roster "
                    "inferred from the deal owners is written as reps.csv beside it.")
    init.add_argument("sales", help="the sales export (CSV or .xlsx)")
    init.add_argument("--reps", help="the roster file, if you have one")
    init.add_argument("--out", help="the config to write (default: plan.yaml beside the export)")
    init.set_defaults(func=_init)

    template = commands.add_parser(
        "commits-template", help="write the Excel file managers fill in with their commits beside the targets",
        description="Write a workbook with one row per entity and period: today's target beside an empty, "
                    "validated commit column; the filled file is read back as data.commits.")
    template.add_argument("--plan", required=True, help="the published plan bundle, e.g. reports/FY2027/v001")
    template.add_argument("--out", help="the .xlsx file to write (default: commits_FY<year>_<version>.xlsx here)")
    template.add_argument("--team", action="append", help="only this team (repeat for several; level team)")
    template.add_argument("--level", default="team", choices=["region", "team", "rep"],
                          help="who commits (default: team)")
    template.add_argument("--periods", default="quarter", choices=["year", "quarter", "month"],
                          help="the periods committed to (default: quarter)")
    template.set_defaults(func=_commits_template)

    graph = commands.add_parser("stages", help="print the plan's stage graph: what each stage reads, what reads it",
                                description="Print every stage of a plan with the config sections and upstream "
                                            "stages it declares (its whole cache key) and the stages that read it.")
    graph.set_defaults(func=_stages)
    return parser


class Stopped(KeyboardInterrupt):
    """The run was stopped by a signal (SIGTERM); like Ctrl-C, cleanup runs and nothing is published."""


def _stop(signum, frame):
    raise Stopped(signal.Signals(signum).name)


def describe_error(exc: BaseException) -> str:
    """Return the one-line message the command prints for ``exc`` (without the ``planlib <command>:`` prefix)."""
    from planlib.report.runner import output_error

    if isinstance(exc, KeyboardInterrupt):
        how = f"by {exc.args[0]}" if exc.args else "by Ctrl-C"
        return f"stopped {how}; nothing was published and the unfinished bundle was removed: run the command again"
    if isinstance(exc, PlanlibError):
        return f"error: {exc}"
    fault = output_error(exc, getattr(exc, "filename", None) or "the output folder", "the output")
    if fault is not None:
        return f"error: {fault}"
    detail = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return f"error: {detail} (run `planlib --debug ...` to see where it came from)"


def main(argv: list[str] | None = None) -> int:
    """Run the ``planlib`` command; return the exit status (0 ok, 1 an error, 2 bad arguments, 130 stopped).

    No traceback reaches the user: each error is one message (``--debug`` prints the traceback too).
    """
    args = build_parser().parse_args(argv)
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _stop)  # a killed run cleans up like Ctrl-C
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        return args.func(args)
    except (Exception, KeyboardInterrupt) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"planlib {args.command}: {describe_error(exc)}", file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
