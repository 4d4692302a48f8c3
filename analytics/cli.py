"""The ``client-health`` command.

Long because each command declares its options with their help and checks its inputs
before any long work starts (a wrong path fails in a second, not after a load).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from analytics.sample import SAMPLE_CLIENTS, SAMPLE_END, SAMPLE_SEED, SAMPLE_START

app = typer.Typer(help="Client Health Analytics: complaint history -> churn risk, root causes, reviews.", no_args_is_help=True)
profile_app = typer.Typer(help="Profiles: how an export maps onto the canonical tables.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")
console = Console(stderr=True)
# piped output (a log, CI) gets room for the report's columns; a terminal keeps its width
stdout = Console(width=None if sys.stdout.isatty() else 120)


@app.command()
def validate(
    source: str = typer.Argument(..., help="A folder, a file, or a database URL."),
    profile: str = typer.Option("generic", "--profile", "-p", help="Shipped profile name or a .toml path."),
    strict: bool = typer.Option(False, help="Exit non-zero when any row or value fails."),
    quarantine: Path = typer.Option(Path("quarantine.csv"), help="Where to write the quarantined rows (CSV)."),
    html: Path | None = typer.Option(None, help="Also write the load report as an HTML page."),
    engine: str | None = typer.Option(None, help="Check the rows in this engine, duckdb or spark: a folder of Parquet files is "
                                      "checked there; other sources are read here."),
    into: Path | None = typer.Option(None, help="Write the checked history to this folder from the engine (duckdb unless --engine "
                                     "spark): the loaded rows never pass through this process. Reports and analyses read the folder."),
) -> None:
    """Load SOURCE, print what was loaded and quarantined, and write the quarantine."""
    import pandas as pd

    from analytics._markup import sanitised
    from analytics.io import LoadError, ProfileError, load_history, load_into
    from analytics.reports import writable_folder
    from analytics.tables import write_csv

    for target in (quarantine, html):  # before a long load, not after it
        if target is not None:
            writable_folder(target.parent)
    if into is not None:
        writable_folder(into)
    try:
        _engine_available(engine)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("reading", total=None)
        try:
            if into is not None:
                report = load_into(source, into, profile, engine=engine or "duckdb")
                rejected, summary = pd.read_parquet(into / "quarantine.parquet"), ""
            else:
                history = load_history(source, profile, progress=lambda done, total: bar.update(task, completed=done, total=total), engine=engine)
                report, rejected, summary = history.report, history.quarantine, history._repr_html_()
        except (LoadError, ProfileError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from error
    table = Table(title=f"Load report (profile {report.profile})")
    for column in ("table", "source", "read", "loaded", "quarantined", "cells emptied", "exact dup."):
        table.add_column(column, justify="left" if column in ("table", "source") else "right", no_wrap=True)
    for row in report.counts.itertuples():
        table.add_row(row.table, Path(row.source).name, f"{row.rows_read:,}", f"{row.rows_loaded:,}", f"{row.rows_quarantined:,}",
                      f"{row.cells_quarantined:,}", f"{row.exact_duplicates:,}")
    stdout.print(table)
    if len(report.reasons):
        reasons = Table(title="Quarantine reasons")
        for column in ("table", "column", "check", "set aside", "rows", "example"):
            reasons.add_column(column)
        for row in report.reasons.itertuples():
            reasons.add_row(row.table, row.column, row.check, row.level, f"{row.rows:,}", row.example)
        stdout.print(reasons)
    for note in report.notes:
        stdout.print(f"- {note}", highlight=False)
    try:
        quarantine.parent.mkdir(parents=True, exist_ok=True)
        write_csv(rejected, quarantine)
        stdout.print(f"quarantine: {len(rejected):,} problems written to {quarantine}")
        if into is not None:
            stdout.print(f"checked history: {into.resolve()}")
        if html:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(_page("Load report", sanitised(summary + report.to_html())), encoding="utf-8")
            stdout.print(f"load report: {html.resolve()}")
    except OSError as error:
        typer.echo(f"error: cannot write {error.filename or quarantine}: {error.strerror or error}", err=True)
        raise typer.Exit(2) from None
    if strict and len(rejected):
        raise typer.Exit(1)


@app.command()
def report(
    kind: str = typer.Argument(..., help="quarterly, workshop, review or quality."),
    client: str | None = typer.Option(None, help="The client for the relationship review."),
    source: str | None = typer.Option(None, help="A folder, a file or a database URL (default: the shipped sample); a saved history's folder, or a URL Spark reads, stays where it is."),
    profile: str | None = typer.Option(None, "--profile", "-p", help="Shipped profile name or a .toml path."),
    cutoff: str | None = typer.Option(None, help="Review as of this date, YYYY-MM-DD (quarterly also takes a quarter, 2025Q4); "
                                      "inside the data's range (default: the end of the data)."),
    out: Path = typer.Option(Path("reports"), help="Folder to write the report into."),
    engine: str | None = typer.Option(None, help="Where the history is analysed (snapshots, KPIs), and a folder of Parquet files checked: duckdb (in this process) or spark "
                                      "(local mode; needs Java and the spark extra). Quarterly and review reports."),
) -> None:
    """Run a report's notebook and write it as one standalone HTML file."""
    from analytics.reports import NOTEBOOKS, ReportFailed, render

    if kind not in NOTEBOOKS:
        typer.echo(f"error: the report must be one of {', '.join(NOTEBOOKS)}, not {kind!r}", err=True)
        raise typer.Exit(2)
    named = {k: v for k, v in {"client_id": client, "source": source, "profile": profile, "cutoff": cutoff, "engine": engine}.items()
             if v is not None}
    try:
        _options_taken(kind, named)  # first: it needs neither the data nor its libraries
        _engine_available(engine)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    from analytics.io import load_profile

    # the notebook runs in its own folder: paths are the caller's, and are checked before a kernel starts
    if source is not None and "://" not in source:  # a database, or a saved history Spark reads, is checked by reading it
        if not Path(source).exists():
            typer.echo(f"error: {source}: no such file or folder; give a folder of exports, a file, or a database URL", err=True)
            raise typer.Exit(2)
        source = str(Path(source).resolve())
    if profile is not None:
        profile = str(Path(profile).resolve()) if Path(profile).suffix else profile
        load_profile(profile)  # a problem with it is one line now, not a failed cell later
    given = {k: v for k, v in {"client_id": client, "source": source, "profile": profile, "cutoff": cutoff, "engine": engine}.items()
             if v is not None}
    try:  # what the notebook would only find out after its kernel started
        given |= _checked_inputs(kind, given)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    signal.signal(signal.SIGTERM, _exit_on_signal)  # a killed run cleans up as an interrupted one does
    try:
        path = render(kind, out, given)
    except (ReportFailed, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    stdout.print(f"{kind} report: {path.resolve()}", highlight=False)


@app.command()
def actions(
    source: str | None = typer.Option(None, help="A folder, a file or a database URL (default: the shipped sample); a saved history's folder stays where it is."),
    profile: str = typer.Option("generic", "--profile", "-p", help="Shipped profile name or a .toml path."),
    cutoff: str | None = typer.Option(None, help="As of this date, YYYY-MM-DD: what was known before it "
                                      "(default: the day after the data's last)."),
    out: Path = typer.Option(Path("reports"), help="Folder to write actions-<date>.csv and .xlsx into."),
) -> None:
    """Write the action list (at-risk clients, largest value at risk first, with their next
    step), the alerts, and each open complaint's practice to add, as CSV and Excel: for a
    weekly run."""
    import pandas as pd

    from analytics.features import open_history
    from analytics.io import LoadError, ProfileError
    from analytics.reports import writable_folder

    moment = None
    if cutoff is not None:
        try:
            moment = _iso_date(cutoff)
        except (ValueError, TypeError):
            typer.echo(f"error: --cutoff {cutoff!r} is not a date; write it as YYYY-MM-DD", err=True)
            raise typer.Exit(2) from None
    if source is not None and not _is_url(source) and not Path(source).exists():
        typer.echo(f"error: {source}: no such file or folder; give a folder of exports, a file, or a database URL", err=True)
        raise typer.Exit(2)
    writable_folder(out)
    try:
        history = open_history(source or _sample_folder(), profile)  # a saved history stays where it is
    except (LoadError, ProfileError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    from analytics.actions import action_list
    from analytics.features import data_end

    if moment is not None:
        first, last = (t.tz_convert(None) for t in (history.span[0], data_end(history)))
        if not first < moment.tz_localize(None) <= last + pd.Timedelta(days=1):
            typer.echo(f"error: --cutoff {cutoff} is outside the data, which runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}", err=True)
            raise typer.Exit(2)
    with console.status("ranking clients and choosing next steps"):
        result = action_list(history, moment)
    stem = out / f"actions-{result.cutoff:%Y-%m-%d}"
    written = [result.to_csv(stem.with_suffix(".csv")), result.to_excel(stem.with_suffix(".xlsx"))]
    if len(result.open_complaints):
        written.append(result.to_open_csv(out / f"open-complaints-{result.cutoff:%Y-%m-%d}.csv"))
    line = f"as of {result.cutoff:%Y-%m-%d}: {len(result.table):,} clients to call"
    if len(result.open_complaints):
        line += f"; {len(result.open_complaints):,} open complaints, {int(result.open_complaints['reliable'].sum()):,} with a practice that reliably helps"
    if result.previous is not None:
        line += f"; since {result.previous:%Y-%m-%d}: " + ", ".join(f"{n:,} {kind}" for kind, n in result.alert_counts().items())
    stdout.print(line, highlight=False)
    for path in written:
        stdout.print(f"written: {path.resolve()}", highlight=False)


def _iso_date(text: str):
    """``text`` as a date if written YYYY-MM-DD: 01/02/2025 means January to some and
    February to others, so only the one unambiguous form is taken."""
    import re

    import pandas as pd

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise ValueError(text)
    return pd.Timestamp(text.strip())


def _is_url(source: str) -> bool:
    from analytics.io import is_database_url

    return is_database_url(source)


def _checked_inputs(kind: str, given: dict) -> dict:
    """Check the options against what the report takes and, for a cutoff or a client,
    against the data (loaded once here, in seconds for the sample); return corrections
    (a client id in the data's own case). Raises ValueError with one line to show."""
    import difflib

    _options_taken(kind, given)
    if "cutoff" not in given and "client_id" not in given:
        return {}
    import pandas as pd

    cutoff = given.get("cutoff")
    if cutoff is not None:
        quarter = kind == "quarterly" and pd.Series([cutoff]).str.fullmatch(r"\d{4}Q[1-4]").iloc[0]
        try:
            moment = (pd.Period(cutoff, "Q").end_time if quarter else _iso_date(cutoff)).tz_localize(None)
        except (ValueError, TypeError):
            raise ValueError(f"--cutoff {cutoff!r} is not a date; write it as YYYY-MM-DD"
                             + (" or a quarter such as 2025Q4" if kind == "quarterly" else "")) from None
    from analytics.features import data_end, is_url, open_history
    from analytics.io import LoadError, ProfileError

    source = given.get("source", _sample_folder())
    try:  # a saved history is read where it is: only its clients and dates come here (at a URL, by the report's engine)
        history = open_history(source, given.get("profile", "generic"), engine=given.get("engine") if is_url(source) else None)
    except (LoadError, ProfileError) as error:
        raise ValueError(str(error)) from None
    corrections = {}
    if cutoff is not None and history.span is not None:
        first, last = (t.tz_convert(None) for t in (history.span[0], data_end(history)))
        if not first < moment <= last + pd.Timedelta(days=1):
            raise ValueError(f"--cutoff {cutoff} is outside the data, which runs from {first:%Y-%m-%d} to {last:%Y-%m-%d}")
    client = given.get("client_id")
    if client is not None:
        ids = history.clients["client_id"].astype(str)
        exact = ids[ids.str.casefold() == client.casefold()]
        if exact.empty:
            close = difflib.get_close_matches(client.upper(), ids.str.upper().tolist(), n=3, cutoff=0.6)
            hint = f"; close: {', '.join(ids[ids.str.upper().isin(close)])}" if close else ""
            raise ValueError(f"--client {client}: no such client in the data ({len(ids):,} clients){hint}")
        corrections["client_id"] = exact.iloc[0]
    return corrections


def _options_taken(kind: str, given: dict) -> None:
    """Raise ValueError naming the options ``kind``'s notebook does not take, and those it does."""
    from analytics.reports import report_parameters

    takes = report_parameters(kind)
    foreign = [name for name in given if name not in takes]
    if foreign:
        options = ", ".join(f"--{name.removesuffix('_id')}" for name in takes if name in ("source", "profile", "cutoff", "client_id", "engine"))
        raise ValueError(f"the {kind} report does not take {', '.join('--' + n.removesuffix('_id') for n in foreign)}; it takes {options}")


def _engine_available(engine: str | None) -> None:
    """Raise ValueError unless ``engine`` is one the reports can use on this machine."""
    import importlib.util

    if engine is None or engine == "duckdb":
        return
    if engine != "spark":
        raise ValueError(f"--engine must be duckdb or spark, not {engine!r}")
    if importlib.util.find_spec("pyspark") is None:
        raise ValueError("--engine spark needs PySpark: install the spark extra (pip install 'client-health-analytics[spark]') and Java")


def _sample_folder() -> str:
    from analytics.datasets import SAMPLE_FOLDER

    return str(SAMPLE_FOLDER)


@profile_app.command("init")
def profile_init(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="An export file (CSV, Parquet, Excel)."),
    table: str = typer.Option("complaints", help="Which canonical table the file holds."),
    out: Path | None = typer.Option(None, help="Write the draft here instead of printing it."),
) -> None:
    """Draft a profile for an unknown export by matching its headers to canonical names."""
    from analytics.io import draft_profile, load_profile, read_sources

    raw = read_sources(file, load_profile("generic"))["complaints"][0]
    draft = draft_profile(raw.frame, table)
    if out:
        out.write_text(draft, encoding="utf-8")
        console.print(f"draft profile written to {out}; check every line before using it")
    else:
        typer.echo(draft)


@app.command()
def sample(
    out: Path = typer.Option(Path("data/sample"), help="Folder to write the sample into."),
    clients: int = typer.Option(SAMPLE_CLIENTS, help="Number of clients."),
    seed: int = typer.Option(SAMPLE_SEED, help="Random seed."),
    defects: float = typer.Option(0.0, help="Share of complaint rows to make faulty; writes CSV exports instead of Parquet."),
) -> None:
    """Rebuild the synthetic sample data (the default call reproduces data/sample exactly)."""
    from analytics.sample import simulate, write_export, write_sample
    from analytics.tables import write_csv

    history, _ = simulate(clients, SAMPLE_START, SAMPLE_END, random_state=seed)
    if defects:
        injected = write_export(history, out, defects=defects, random_state=seed)
        write_csv(injected, out / "injected_defects.csv")
        console.print(f"wrote CSV exports with {len(injected):,} faulty complaint rows to {out} (listed in injected_defects.csv)")
        return
    for path in write_sample(history, out):
        console.print(f"wrote {path}")


def _exit_on_signal(number, frame) -> None:
    raise SystemExit(128 + number)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse;margin:1em 0}"
        " td,th{border:1px solid #ccc;padding:4px 8px}</style></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


def main() -> None:
    """The command; a problem with an input or an output is one line, never a traceback."""
    try:
        app()
    except Exception as error:
        from analytics.io import LoadError, ProfileError  # here: a command that needs no data starts without them

        if isinstance(error, (LoadError, ProfileError)):
            typer.echo(f"error: {error}", err=True)
            sys.exit(2)
        if isinstance(error, OSError):
            typer.echo(f"error: {error.filename}: {error.strerror}" if error.filename else f"error: {error}", err=True)
            sys.exit(2)
        raise
