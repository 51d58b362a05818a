"""The `sweep` command line: parse, call one library function, render.

User errors (allocator.SpecError) become one line on stderr and exit code 2; anything
unexpected keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from allocator import registered_mixes, registered_policies
from allocator.params.errors import SpecError
from allocator.params.units import parse_duration
from allocator.policies import UPSTREAM

from .commands import compile as compile_cmd
from .commands import describe as describe_cmd
from .commands import nightly as nightly_cmd
from .commands import query as query_cmd
from .commands import report as report_cmd
from .commands import run as run_cmd
from .commands import simulate as simulate_cmd
from .commands.trace import trace_app
from .executors import EXECUTORS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate the Linux page allocator (upstream PCP vs the RFC pcp buddy allocator) and "
    "sweep how it scales.",
    rich_markup_mode=None,
)
app.add_typer(trace_app, name="trace")
out = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from allocator import SIM_VERSION

        from .store import provenance

        info = provenance()
        print(f"pcp-sweep simulator {SIM_VERSION}, git {info.get('git_revision', 'unknown')}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Print the simulator version and git revision, and exit."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Let Ray's own messages and its workers' output "
                           "through (kept out of the terminal otherwise).")] = False,
) -> None:
    """Simulate the Linux page allocator (upstream PCP vs the RFC pcp buddy allocator) and
    sweep how it scales."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"

VERBOSE_ENV = "PCP_SWEEP_VERBOSE"  # read by executors/ray_executor.py

KernelOpt = Annotated[
    str | None,
    typer.Option(help="Upstream kernel the model runs: v6.6, v6.7, v6.12, v6.15, v6.16, v6.19 or "
                 "v7.0 (the default); `sweep describe --kernel V --commits` lists its commits."),
]
RevertOpt = Annotated[
    list[str] | None,
    typer.Option("--revert", metavar="COMMIT",
                 help="Revert this commit (12-character id) of --kernel. Repeatable."),
]

SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Any other parameter: cost.<name>, knob.<name>, mix.<mix>.<param>. Repeatable.",
    ),
]

@app.command()
def simulate(
    cpus: Annotated[int | None, typer.Option(help="CPUs (1 to 4096).")] = None,
    mem: Annotated[str | None, typer.Option(help="Memory, e.g. 512MiB, 64GiB, 1TiB.")] = None,
    nodes: Annotated[int | None, typer.Option(
        help="NUMA nodes, CPUs and memory split evenly (default 1); one node is simulated "
        "and the machine reported (knob.symmetric_nodes = 1), or every node "
        "(knob.symmetric_nodes = 0).")] = None,
    zoneinfo: Annotated[str | None, typer.Option(
        help="Simulate a machine shaped like this /proc/zoneinfo (its zones' managed pages "
        "and its CPUs).")] = None,
    mix: Annotated[
        str,
        typer.Option(help=f"Workload mix: {', '.join(sorted(registered_mixes()))} (README, "
                     "'Workload mixes'), or module:Class."),
    ] = "kbuild",
    policy: Annotated[str, typer.Option(
        help=f"PCP policy: {', '.join(sorted(registered_policies()))}, or module:Class.",
    )] = UPSTREAM,
    seed: Annotated[int, typer.Option(help="Random seed of the workload.")] = 0,
    duration: Annotated[
        str,
        typer.Option(help="Simulated time, e.g. 100ms, 2s; or auto: until every key metric's "
                     "95% half-width is within --precision, at most --duration-cap."),
    ] = "100ms",
    warmup: Annotated[
        str | None,
        typer.Option(help="Simulated time before counting; or auto: found from the run's "
                     "series (MSER-5 and pcp->high settling). Default: auto with --duration "
                     "auto, else 0."),
    ] = None,
    sample_interval: Annotated[str, typer.Option(help="Time-series interval.")] = "1ms",
    duration_cap: Annotated[
        str | None, typer.Option(help="With --duration auto: the most simulated time (10s).")
    ] = None,
    precision: Annotated[
        float | None,
        typer.Option(help="With --duration auto: the relative 95% half-width to reach (0.02)."),
    ] = None,
    kernel: KernelOpt = None,
    revert: RevertOpt = None,
    sets: SetOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    samples_csv: Annotated[
        Path | None, typer.Option("--samples-csv", help="Write the time series to this CSV.")
    ] = None,
    check_invariants: Annotated[
        str | None,
        typer.Option(help="Check every invariant at this simulated interval, e.g. 10ms."),
    ] = None,
    emit_trace: Annotated[
        Path | None,
        typer.Option(help="Write the run's kmem events (after the warm-up) to this file, in "
                     "ftrace's text format."),
    ] = None,
    trace_events: Annotated[
        int, typer.Option(help="At most this many events for --emit-trace.", min=1)
    ] = 1_000_000,
    buddyinfo: Annotated[
        bool, typer.Option("--buddyinfo", help="Print the end state as /proc/buddyinfo.")
    ] = False,
    pagetypeinfo: Annotated[
        bool, typer.Option("--pagetypeinfo",
                           help="Print the end state as /proc/pagetypeinfo (the three "
                           "migratetypes the model has).")
    ] = False,
    vmstat: Annotated[
        bool, typer.Option("--vmstat", help="Print the window's counters as /proc/vmstat "
                           "lines (pgalloc_normal, pgfree, pgsteal_*, allocstall_normal, ...).")
    ] = False,
    samples_json: Annotated[
        bool, typer.Option("--samples-json",
                           help="With --json: add the time series under \"samples\".")
    ] = False,
) -> None:
    """Run one simulation point and print its metrics.

    Example: sweep simulate --cpus 32 --mem 32GiB --mix kbuild --policy upstream --json
    """
    spec = simulate_cmd.build_spec(
        cpus=cpus,
        mem=mem,
        mix=mix,
        policy=policy,
        seed=seed,
        duration=duration,
        warmup=warmup if warmup is not None else (
            "auto" if duration.strip().lower() == "auto" else "0"),
        sample_interval=sample_interval,
        duration_cap=duration_cap,
        precision=precision,
        sets=sets,
        nodes=nodes,
        zoneinfo=zoneinfo,
        kernel=kernel,
        reverts=revert,
    )
    procfs = [name for name, on in (("--buddyinfo", buddyinfo), ("--pagetypeinfo", pagetypeinfo),
                                    ("--vmstat", vmstat)) if on]
    asked = simulate_cmd.Outputs(
        json=json_out, samples_json=samples_json, samples_csv=samples_csv,
        emit_trace=emit_trace, trace_events=trace_events, procfs=procfs,
        check_every_ns=parse_duration(check_invariants, "--check-invariants")
        if check_invariants else 0)
    simulate_cmd.check_outputs(asked)
    simulate_cmd.execute(spec, asked, mem or f"zoneinfo {zoneinfo}", out, err)


@app.command()
def describe(
    cpus: Annotated[int | None, typer.Option(help="CPUs (1 to 4096).")] = None,
    mem: Annotated[str | None, typer.Option(help="Memory, e.g. 512MiB, 64GiB, 1TiB.")] = None,
    nodes: Annotated[int | None, typer.Option(help="NUMA nodes (default 1).")] = None,
    zoneinfo: Annotated[
        str | None, typer.Option(help="A real /proc/zoneinfo: derive its machine and compare.")
    ] = None,
    kernel: KernelOpt = None,
    revert: RevertOpt = None,
    commits: Annotated[bool, typer.Option(
        "--commits", help="List the upstream commits the model knows for --kernel and whether "
        "each is in (after --revert), instead of the zones.")] = False,
    sets: SetOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print what the kernel derives at boot for every zone of a machine (min_free_kbytes,
    watermarks, protection, PCP batch and high), in /proc/zoneinfo's names and layout.

    With --zoneinfo FILE, the machine is the file's (managed pages per zone, CPUs per node)
    and each printed value is shown beside the model's, differences marked and explained.
    With --commits, the commits of --kernel instead (no machine needed).

    Examples: sweep describe --cpus 224 --mem 512GiB --nodes 2;
    sweep describe --zoneinfo /proc/zoneinfo; sweep describe --kernel v6.6 --commits
    """
    if commits:
        print(describe_cmd.describe_commits(kernel, revert or [], json_out))
        return
    print(describe_cmd.describe(cpus, mem, nodes, sets, zoneinfo, json_out, kernel, revert))


# Typer raises click's exceptions, or those of its vendored copy of click in newer releases.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


ResultsOpt = Annotated[
    str,
    typer.Option(
        "--results",
        envvar="SWEEP_RESULTS",
        help="Results location: a directory or a pyarrow filesystem URI (s3://...).",
    ),
]


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario TOML file.")],
    results: ResultsOpt = "results",
    executor: Annotated[str, typer.Option(help="ray (default) or serial.")] = "ray",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (else RAY_ADDRESS, else local).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local Ray worker processes (default: all CPUs).")
    ] = None,
    retries: Annotated[int, typer.Option(help="Retries of a point that raises.")] = 1,
    force: Annotated[bool, typer.Option(help="Rerun points already stored.")] = False,
    rerun_stale: Annotated[
        bool, typer.Option(help="Rerun points stored by another simulator version.")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the plan and stop.")] = False,
    max_points: Annotated[
        int, typer.Option(help="Refuse a grid of more points than this, before expanding it.")
    ] = 100_000,
    dashboard: Annotated[
        bool, typer.Option(help="Start Ray's dashboard with a local instance (on loopback).")
    ] = False,
) -> None:
    """Expand a scenario, run the points not stored yet, store each as Parquet.

    Example: sweep run scenarios/smoke.toml --results results
    Exit code 1 if any point failed.
    """
    if retries < 0:
        raise SpecError(f"--retries must be at least 0, got {retries}")
    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be at least 1, got {workers}")
    if max_points < 1:
        raise SpecError(f"--max-points must be at least 1, got {max_points}")
    if executor not in EXECUTORS:
        raise SpecError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    plan = run_cmd.plan_scenario(scenario, results, force=force, rerun_stale=rerun_stale,
                                 max_points=max_points)
    local_workers = workers or 1 if executor == "serial" else workers or os.cpu_count() or 1
    out.print(run_cmd.plan_table(plan, local_workers))
    if dry_run:
        return
    summary = run_cmd.compile_and_run(plan, results, err, executor=executor, address=address,
                                      workers=workers, retries=retries, dashboard=dashboard)
    run_cmd.print_summary(summary, plan, results, out, err)
    if summary.interrupted:
        sys.exit(130)
    if summary.failed:
        sys.exit(1)


@app.command(name="compile")
def compile_(
    scenario: Annotated[
        str | None, typer.Argument(help="Scenario TOML file (default: every built-in pair).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Pairs compiled at once (default: all CPUs).")
    ] = None,
) -> None:
    """Compile the engine of every (policy, mix) pair a scenario needs, into the cache every
    later run loads from (once per machine and simulator version).

    Example: sweep compile scenarios/scaling-laptop.toml
    """
    compile_cmd.compile_scenario(scenario, workers, out, err)


@app.command()
def index(
    sweep: Annotated[str | None, typer.Argument(help="Sweep name (default: every sweep).")] = None,
    results: ResultsOpt = "results",
) -> None:
    """Compact the point files into the index segments queries read (`sweep run` does it as it
    finishes; reads never write, so a store filled another way is compacted here).

    Example: sweep index scaling-laptop
    """
    from .commands.index import index as index_cmd

    index_cmd(results, sweep, out)


@app.command()
def verify(
    sweep: Annotated[str | None, typer.Argument(help="Sweep name (default: every sweep).")] = None,
    results: ResultsOpt = "results",
) -> None:
    """Open every stored file and check it whole; exit 1 if any is damaged (`sweep run` moves
    damaged point files aside and reruns their points).

    Example: sweep verify scaling-laptop
    """
    from .commands.verify import verify_and_print

    sys.exit(verify_and_print(results, sweep, out))


@app.command()
def status(
    scenario: Annotated[str, typer.Argument(help="Scenario TOML file.")],
    results: ResultsOpt = "results",
) -> None:
    """What of a scenario is stored, missing, stale (another simulator version) or failed,
    per axis value.

    Example: sweep status scenarios/scaling.toml
    """
    from .commands.status import status as status_cmd

    status_cmd(scenario, results, out)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One SELECT over the views.")],
    results: ResultsOpt = "results",
    fmt: Annotated[
        str, typer.Option("--format", help="table, csv, json or markdown.")
    ] = "table",
) -> None:
    """Read-only DuckDB SQL over the stored results. Views: points, samples, failures, gains
    (pcp-buddy against upstream on the same workload), curves (gain against CPUs: mean and 95%
    CI over seeds). The same views from plain DuckDB: sweep/views.sql.

    Example: sweep query "select mix, cpus, mean, ci95_lo, ci95_hi from curves
    where metric = 'sys_gain' and mem_bytes = 1099511627776 order by mix, cpus"
    """
    query_cmd.print_query(sql, results, fmt, out)


@app.command()
def report(
    sweep: Annotated[
        str | None, typer.Argument(help="Sweep name (default: scaling, else the first).")
    ] = None,
    results: ResultsOpt = "results",
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("report"),
    min_slope: Annotated[
        float,
        typer.Option(help="Smallest growth of a gain worth the name, per doubling (0.005 = "
                     "0.5 percentage point)."),
    ] = 0.005,
    sim_version: Annotated[
        str | None,
        typer.Option(help="Simulator version of the points (default: the only one stored, "
                     "else this simulator's)."),
    ] = None,
    history: Annotated[str | None, typer.Option(
        help="Draw the nightly history kept here (sweep nightly) instead: history.md, .html "
        "and a figure per mix in --out.")] = None,
) -> None:
    """Scaling curves, plots (PNG, SVG) and the verdict on the RFC's claim per mix:
    report.md and index.html, whose first lines say whether pcp-buddy's gain grows with CPUs
    and with memory, with the numbers.

    Example: sweep report scaling --results results --out report
    """
    report_cmd.report(results, sweep, out_dir, min_slope, sim_version, history, out)


@app.command()
def regress(
    baseline: Annotated[str, typer.Option(help="Baseline results (directory or URI).")],
    candidate: Annotated[str, typer.Option(help="Candidate results (directory or URI).")],
    sweep: Annotated[str | None, typer.Option(help="Compare this sweep only.")] = None,
    baseline_version: Annotated[
        str | None, typer.Option(help="Simulator version of the baseline points.")
    ] = None,
    candidate_version: Annotated[
        str | None, typer.Option(help="Simulator version of the candidate points.")
    ] = None,
    min_effect: Annotated[float, typer.Option(help="Smallest worsening that counts.")] = 0.05,
    min_slope: Annotated[
        float, typer.Option(help="Smallest worsening of a scaling slope per doubling.")
    ] = 0.02,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary here.")] = None,
) -> None:
    """Compare a candidate result set with a baseline on the points they share; exit 0 (no
    regression), 1 (regression), 3 (inconclusive) or 2 (usage error).

    Example: sweep regress --baseline results-main --candidate results --junit regress.xml
    """
    from .commands.regress import regress as regress_cmd

    sys.exit(regress_cmd(baseline, candidate, sweep=sweep, baseline_version=baseline_version,
                         candidate_version=candidate_version, min_effect=min_effect,
                         min_slope=min_slope, junit=junit, markdown=markdown))


@app.command()
def compare(
    baseline: Annotated[
        str | None, typer.Option(help="Baseline results (directory or URI).")] = None,
    candidate: Annotated[
        str | None, typer.Option(help="Candidate results (directory or URI).")] = None,
    results: Annotated[
        str | None, typer.Option(help="With --policies: the one result set.")] = None,
    policies: Annotated[
        str | None, typer.Option(help="BASE,CANDIDATE: two policies of one result set.")
    ] = None,
    sweep: Annotated[str | None, typer.Option(help="Only this sweep.")] = None,
    baseline_version: Annotated[
        str | None, typer.Option(help="Baseline's simulator version (with --policies: the "
                                 "set's).")] = None,
    candidate_version: Annotated[
        str | None, typer.Option(help="Candidate's simulator version.")] = None,
    markdown_out: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the table as Markdown here.")
    ] = None,
) -> None:
    """Two result sets, or two policies of one, side by side as mmtests' compare-kernels
    prints two kernels: means over seeds, the candidate's gain in percent, * where a paired
    t-test over seeds says p < 0.05.

    Example: sweep compare --results results --policies upstream,pcp-buddy --sweep scaling-laptop
    """
    from .commands import compare as compare_cmd
    from .store import write_atomic

    rows, base_name, cand_name = compare_cmd.compare(
        baseline=baseline, candidate=candidate, results=results, policies=policies,
        sweep=sweep, baseline_version=baseline_version, candidate_version=candidate_version)
    print(compare_cmd.text(rows, base_name, cand_name), end="")
    if markdown_out is not None:
        write_atomic(markdown_out, compare_cmd.markdown(rows, base_name, cand_name))


@app.command()
def nightly(
    scenario: Annotated[str, typer.Argument(help="Scenario TOML file.")],
    baseline: Annotated[str, typer.Option(help="Baseline results to compare against.")],
    results: ResultsOpt = "results",
    baseline_version: Annotated[
        str | None, typer.Option(help="Simulator version of the baseline points, if several.")
    ] = None,
    executor: Annotated[str, typer.Option(help="ray (default) or serial.")] = "ray",
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    report_dir: Annotated[Path, typer.Option("--report", help="Report directory.")] = Path(
        "report"
    ),
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write a Markdown summary here.")] = None,
    history: Annotated[str | None, typer.Option(
        help="Keep tonight's headline numbers here (default: BASELINE-history beside a local "
        "baseline; '' for none); `sweep report --history` draws them.")] = None,
) -> None:
    """Run a scenario, write its report, compare it with a baseline, exit with the verdict
    (0 pass, 1 regression, 3 inconclusive, 2 error): a nightly job in one line.

    Example: sweep nightly scenarios/scaling.toml --baseline /srv/pcp-sweep/main --junit r.xml
    """
    sys.exit(nightly_cmd.nightly(scenario, baseline, results, out, err,
                                 baseline_version=baseline_version, executor=executor,
                                 address=address, report_dir=report_dir, junit=junit,
                                 markdown=markdown, history=history))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, prog_name="sweep", standalone_mode=False)
    except SpecError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted", markup=False)
        sys.exit(130)
    except _CLICK_EXCEPTION as exc:  # usage errors typer found: bad option values, etc.
        # one line, as every other error: the message, and where the usage is
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
        err.print(f"error: {message}{where}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
