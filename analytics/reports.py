"""Reports: a notebook executed with papermill and exported as one standalone HTML file.

The file has no code, works offline (plotly.js is embedded once), redacts e-mail
addresses, phone numbers, card numbers and IBANs in every output, and is written atomically: a failed or
interrupted run leaves no half-written report and says which cell failed and why.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pandas as pd

from analytics._pages import GLOSSARY, navigable, prepared, to_html

__all__ = ["render", "report_parameters", "beside_report", "to_html", "prepared", "navigable", "writable_folder", "ReportFailed", "FolderNotWritable",
           "GLOSSARY"]

NOTEBOOKS = {
    "quality": "00_data_quality.ipynb",
    "quarterly": "01_quarterly_retention_review.ipynb",
    "workshop": "02_root_cause_workshop.ipynb",
    "review": "03_relationship_review.ipynb",
}
TITLES = {
    "quality": "Data quality",
    "quarterly": "Quarterly retention review",
    "workshop": "Root-cause workshop",
    "review": "Relationship review",
}
#: the notebooks: beside the package in the repository, inside it when installed from a wheel
NOTEBOOK_FOLDER = next((p for p in (Path(__file__).resolve().parents[1] / "notebooks", Path(__file__).resolve().parent / "notebooks")
                        if p.is_dir()), Path(__file__).resolve().parent / "notebooks")


class ReportFailed(RuntimeError):
    """The notebook behind a report failed; no report was written.

    Examples
    --------
    >>> import tempfile
    >>> from analytics.reports import ReportFailed, render
    >>> try:
    ...     render("quality", out=tempfile.mkdtemp(), parameters={"source": "no/such/folder"}, progress=False)
    ... except ReportFailed as failed:
    ...     print(failed)
    00_data_quality.ipynb: cell 3 failed with LoadError: no/such/folder: no such file or folder; give a folder of exports, a file, or a database URL; no report written
    """


def report_parameters(report: str, notebooks: Path | str = NOTEBOOK_FOLDER) -> dict[str, str]:
    """The parameters the ``report``'s notebook takes, each with its comment (from the
    cell tagged ``parameters``): what may be passed to :func:`render`.

    Examples
    --------
    >>> from analytics.reports import report_parameters
    >>> report_parameters("quality")
    {'source': 'a folder, a file or a database URL; a saved history (folder or URL) is read where it is', 'profile': 'how the export maps onto the canonical tables'}
    """
    import ast
    import json

    # plain JSON: nbformat's schema checks cost a second and a half of imports
    notebook = json.loads((Path(notebooks) / NOTEBOOKS[report]).read_text(encoding="utf-8"))
    cell = next(c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    lines = source.splitlines()
    return {node.targets[0].id: lines[node.lineno - 1].partition("#")[2].strip()
            for node in ast.parse(source).body if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


def render(report: str, out: Path | str = "reports", parameters: dict | None = None, progress: bool = True,
           notebooks: Path | str = NOTEBOOK_FOLDER) -> Path:
    """Execute the ``report``'s notebook with ``parameters`` and write ``out/<report>-<period>.html``
    (``out/<report>.html`` when the notebook names no period), with the files the notebook
    put beside it (:func:`beside_report`) named the same way: ``quarterly-2025Q4-actions.csv``.

    Raises :class:`ReportFailed` naming the failed cell and the error; nothing is written then.

    Examples
    --------
    >>> import tempfile
    >>> from analytics.reports import render
    >>> page = render("quality", out=tempfile.mkdtemp(), progress=False)
    >>> page.name, "Data quality" in page.read_text(encoding="utf-8")
    ('quality.html', True)
    """
    import nbformat  # here: its schema checks cost a second and a half of imports
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if report not in NOTEBOOKS:
        raise ValueError(f"report must be one of {', '.join(NOTEBOOKS)}, not {report!r}")
    notebook = Path(notebooks) / NOTEBOOKS[report]
    if not notebook.exists():
        raise ReportFailed(f"the {report} report needs {notebook}, which does not exist")
    out = writable_folder(out)
    # the scratch folder holds the parameters, unredacted outputs and the kernel's connection
    # file (with its key): all of it goes when the run ends, however it ends
    with tempfile.TemporaryDirectory(prefix="client-health-") as scratch, _kernel_in(scratch) as kernel:
        executed = Path(scratch) / notebook.name
        attachments = Path(scratch) / "attachments"
        attachments.mkdir()
        parameters = dict(parameters or {})
        if "attachments" in report_parameters(report, notebooks):
            parameters["attachments"] = str(attachments)
        try:
            papermill.execute_notebook(
                str(notebook), str(executed), parameters=parameters, cwd=str(notebook.parent),
                kernel_name="python3", progress_bar=progress, log_output=False, km=kernel,
                # written once at the end: after every cell, a report of many clients would be
                # serialised again in full (seconds a cell)
                request_save_on_cell_execute=False,
            )
        except PapermillExecutionError as error:
            raise ReportFailed(f"{notebook.name}: cell {error.cell_index} failed with {error.ename}: {error.evalue}; no report written") from None
        period_file = attachments / PERIOD_FILE
        period = period_file.read_text(encoding="utf-8").strip() if period_file.exists() else None
        period_file.unlink(missing_ok=True)
        stem = f"{report}-{period}" if period else report
        page = to_html(nbformat.read(executed, as_version=4), f"{TITLES[report]}, {period}" if period else TITLES[report])
        for attachment in sorted(attachments.iterdir()):
            _move_atomically(attachment, out / f"{stem}-{attachment.name}")
    target = out / f"{stem}.html"
    _write_atomically(target, page)
    return target


PERIOD_FILE = "period.txt"


def beside_report(folder: Path | str | None, period: str | None = None, **tables) -> None:
    """What a notebook hands to :func:`render` (which passes ``folder`` as the notebook's
    ``attachments`` parameter): the ``period`` for the report's title and file name, and
    each table (a DataFrame or an action list) as CSV and Excel, to be written beside the
    report. Run by hand in JupyterLab (``folder`` None), it does nothing.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from analytics.reports import beside_report
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> beside_report(folder, period="2025Q4", at_risk=pd.DataFrame({"client": ["c1"], "risk": [0.4]}))
    >>> sorted(path.name for path in folder.iterdir())
    ['at_risk.csv', 'at_risk.xlsx', 'period.txt']
    >>> beside_report(None, at_risk=pd.DataFrame())  # run by hand in JupyterLab: nothing is written
    """
    if folder is None:
        return
    folder = Path(folder)
    if period:
        (folder / PERIOD_FILE).write_text(str(period), encoding="utf-8")
    from analytics.tables import spreadsheet_safe, write_csv

    for name, table in tables.items():
        if isinstance(table, pd.DataFrame):
            write_csv(table, folder / f"{name}.csv")
            spreadsheet_safe(table).to_excel(folder / f"{name}.xlsx", index=False)
        else:  # an action list: its own columns and sheets
            table.to_csv(folder / f"{name}.csv")
            table.to_excel(folder / f"{name}.xlsx")


class FolderNotWritable(OSError):
    """An output folder that is a file, or that nothing can be written into.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from analytics.reports import FolderNotWritable, writable_folder
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> _ = file.write_text("")
    >>> try:
    ...     writable_folder(file)
    ... except FolderNotWritable as refused:
    ...     print(str(refused).replace(str(file), "report.html"))
    report.html is a file, not a folder; give a folder to write into
    """


def writable_folder(folder: Path | str) -> Path:
    """``folder``, created if need be, once a file could be written in it: checked before a
    long run, so that a wrong ``--out`` fails at once and with its reason.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from analytics.reports import writable_folder
    >>> folder = writable_folder(pathlib.Path(tempfile.mkdtemp()) / "reports" / "2025Q4")
    >>> folder.is_dir(), list(folder.iterdir())
    (True, [])
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FolderNotWritable(f"{folder} is a file, not a folder; give a folder to write into")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise FolderNotWritable(f"cannot write into {folder}: {error.strerror or error}; give a folder you can write to") from None
    return folder


@contextlib.contextmanager
def _kernel_in(scratch: str):
    """A kernel manager whose connection file (it holds the kernel's key) and sockets lie in
    ``scratch``: local sockets, not TCP ports, so no other user can connect and the kernel
    has no unencrypted-TCP warning to print; no kernel started by the run outlives it, an
    interrupted run included."""
    import psutil
    from jupyter_client.manager import AsyncKernelManager

    try:
        yield AsyncKernelManager(kernel_name="python3", connection_file=str(Path(scratch) / "kernel.json"), transport="ipc",
                                 ip=str(Path(scratch) / "kernel"))
    finally:
        for child in psutil.Process().children(recursive=True):
            if any(scratch in part for part in _cmdline(child)):
                child.kill()


def _cmdline(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _move_atomically(source: Path, target: Path) -> None:
    """Copy beside the target and rename, with an ordinary file's permissions."""
    _write_atomically(target, source.read_bytes())


def _write_atomically(target: Path, text: str | bytes) -> None:
    """Write beside the target and rename: readers see the old file or the new, never half."""
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(text.encode("utf-8") if isinstance(text, str) else text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
