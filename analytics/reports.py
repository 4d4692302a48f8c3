"""Reports: a notebook executed with papermill and exported as one standalone HTML file.

The file has no code, works offline (plotly.js is embedded once), redacts e-mail
addresses, phone numbers, card numbers and IBANs in every output, and is written atomically: a failed or
interrupted run leaves no half-written report and says which cell failed and why.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analytics._markup import markdown_html, sanitised
from analytics.redaction import PERSONAL_DETAILS, redact

__all__ = ["render", "report_parameters", "beside_report", "to_html", "prepared", "navigable", "writable_folder", "ReportFailed", "FolderNotWritable"]

if TYPE_CHECKING:
    from nbformat import NotebookNode

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
TEMPLATE_FOLDER = Path(__file__).resolve().parent / "report_template"
PLOTLY = "application/vnd.plotly.v1+json"
SAFE_KINDS = ("text/plain", "image/png", "image/jpeg")


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
    {'source': 'a folder, a file or a database URL', 'profile': 'how the export maps onto the canonical tables'}
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


def to_html(notebook: NotebookNode, title: str) -> str:
    """One standalone page from an executed notebook: outputs only, redacted, figures drawn
    by the embedded plotly.js.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    >>> from analytics.reports import to_html
    >>> cells = [new_markdown_cell("## Clients at risk"), new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="Call ann@example.com\\n")])]
    >>> page = to_html(new_notebook(cells=cells), "Quarterly retention review")
    >>> "<title>Quarterly retention review</title>" in page, "ann@example.com" in page, "print(1)" in page
    (True, False, False)
    """
    from nbconvert import HTMLExporter
    from plotly.offline import get_plotlyjs

    exporter = HTMLExporter(
        template_name="lab", extra_template_paths=[str(TEMPLATE_FOLDER)], template_file="report.html.j2",
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )
    from analytics.tables import INTERACTIVE

    shown = prepared(notebook)
    resources = {
        "metadata": {"name": title},
        "plotly_js": get_plotlyjs(),
        "interactive_class": INTERACTIVE,
        "footer": f"Client Health Analytics · generated {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC · e-mail addresses, phone numbers, card numbers and IBANs redacted",
    }
    if any(INTERACTIVE in output.get("data", {}).get("text/html", "") for cell in shown.cells for output in cell.get("outputs", [])):
        resources |= _datatables()
    page, _ = exporter.from_notebook_node(shown, resources=resources)
    return navigable(page)


def _datatables() -> dict:
    """DataTables as itables packages it for offline use: the module (base64) and its styles."""
    import base64
    from importlib.resources import files

    bundle = files("itables") / "html"
    return {"datatables_js": base64.b64encode((bundle / "dt_bundle.js").read_bytes()).decode("ascii"),
            "datatables_css": (bundle / "dt_bundle.css").read_text(encoding="utf-8")}


#: statistical terms a report may use, each explained in a footnote where it first appears
GLOSSARY = {
    "ROC AUC": "the chance that a client who left was ranked above one who stayed; 0.5 is guessing, 1 is a perfect ranking.",
    "PR AUC": "average precision: how well the ranking finds the clients who left; guessing scores the churn rate.",
    "Brier score": "the mean squared gap between a probability and what happened (0 or 1); lower is better.",
    "expected calibration error": "the average gap between predicted and observed churn across probability bands; 0 means a 10% risk leaves one client in ten.",
    "95% CI": "95% confidence interval: the range that holds the true value in 95 of 100 samples like this one.",
    "95% interval": "the range that holds the true value in 95 of 100 samples like this one.",
    "Kaplan-Meier": "the share still with us (or not yet repeated) over time, counting each client only while we could observe it.",
    "doubly robust": "an effect estimate adjusted for which complaints got the practice (AIPW: a model of the outcome and a model of who got the practice, each correcting the other), so the comparison is like for like.",
    "naive": "the plain difference between complaints with and without the practice, not adjusted for which complaints got it.",
    "propensity": "the estimated chance that a complaint got the practice given its severity, trigger, channel, team, segment and history; values near 0 or 1 mean there were few comparable complaints without (or with) it.",
    "macro-F1": "the classifier's accuracy averaged over triggers, so rare triggers count as much as common ones (1 is perfect).",
    "Wilson": "Wilson score interval: a 95% interval for a rate that stays honest for small groups.",
    "pts": "percentage points: the difference between two percentages (20% to 25% is +5 pts).",
    "lift": "how many times more often the highest-risk tenth left than the average client.",
}


def navigable(page: str) -> str:
    """``page`` with a table of contents linking to every section, and a footnote on the
    first use of each statistical term (:data:`GLOSSARY`), explained at the end.

    Examples
    --------
    >>> from analytics.reports import navigable
    >>> page = navigable("<html><body><h2>Churn risk</h2><p>The ROC AUC is 0.81.</p></body></html>")
    >>> 'href="#' in page, "ROC AUC" in page
    (True, True)
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    sections = [(h["id"], h.get_text(" ", strip=True).removesuffix("¶").strip()) for h in soup.select("h2[id]")]
    if _footnotes(soup):
        sections.append(("terms-used", "Terms used"))
    title = soup.find("h1")
    if sections and title is not None:
        nav = soup.new_tag("nav", attrs={"class": "report-contents", "aria-label": "Contents"})
        nav.append(soup.new_tag("strong", string="Contents"))
        items = soup.new_tag("ol")
        for anchor, text in sections:
            item = soup.new_tag("li")
            item.append(soup.new_tag("a", href=f"#{anchor}", string=text))
            items.append(item)
        nav.append(items)
        title.insert_after(nav)
    return str(soup)


def _footnotes(soup) -> int:
    """Mark the first use of each glossary term and explain them at the end; how many."""
    import re

    from bs4 import NavigableString

    body = soup.find("main") or soup.body
    if body is None:
        return 0
    patterns = {term: re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])") for term in GLOSSARY}
    skipped = ["script", "style", "nav", "sup", "a", "h1", "h2", "h3", "title", "footer"]
    queue = [t for t in body.find_all(string=True) if type(t) is NavigableString and t.find_parent(skipped) is None]
    used = []
    while queue:
        text = queue.pop(0)
        value = str(text)
        hits = [(m.start(), m.end(), term) for term, pattern in patterns.items() if term not in used and (m := pattern.search(value))]
        if not hits:
            continue
        _, end, term = min(hits)
        used.append(term)
        before, after = soup.new_string(value[:end]), soup.new_string(value[end:])
        mark = soup.new_tag("sup", attrs={"class": "term-note"})
        mark.append(soup.new_tag("a", href=f"#term-{len(used)}", string=str(len(used))))
        text.replace_with(before)
        before.insert_after(mark)
        mark.insert_after(after)
        queue.insert(0, after)  # the rest of the text may hold other terms
    if not used:
        return 0
    section = soup.new_tag("section", attrs={"id": "terms-used", "class": "report-terms"})
    section.append(soup.new_tag("h2", string="Terms used"))
    notes = soup.new_tag("ol")
    for number, term in enumerate(used, start=1):
        item = soup.new_tag("li", attrs={"id": f"term-{number}"})
        item.append(soup.new_tag("strong", string=term))
        item.append(f": {GLOSSARY[term]}")
        notes.append(item)
    section.append(notes)
    footer = body.find(class_="report-footer")
    footer.insert_before(section) if footer is not None else body.append(section)
    return len(used)


def prepared(notebook: NotebookNode) -> NotebookNode:
    """The notebook as a report shows it: warnings on stderr dropped, contact details
    redacted in every output, each figure drawn from its (redacted) plotly data, and every
    other rich output turned into sanitised HTML (Markdown included), so that no output can
    carry a script: data is escaped where it is composed, and this is the second wall.

    Examples
    --------
    >>> import nbformat
    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> from analytics.reports import prepared
    >>> cell = new_code_cell("table", outputs=[new_output("display_data", data={"text/html": "<p onclick=alert(1)>ann@example.com</p>"})])
    >>> html = prepared(new_notebook(cells=[cell])).cells[0].outputs[0].data["text/html"]
    >>> "onclick" in html, "ann@example.com" in html
    (False, False)
    """
    import nbformat  # here: its schema checks cost a second and a half of imports
    import plotly.io as pio

    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                if output.name == "stderr":
                    continue
                output.text = _redacted(output.text)
            elif output.output_type in ("display_data", "execute_result"):
                data = output.data
                if PLOTLY in data:
                    figure = _redacted(data[PLOTLY])
                    shown = {PLOTLY: figure, "text/html": pio.to_html(figure, include_plotlyjs=False, full_html=False, validate=False,
                                                                      config={"responsive": True})}
                elif "text/html" in data:
                    shown = {"text/html": sanitised(_redacted(data["text/html"]))}
                elif "text/markdown" in data:
                    shown = {"text/html": markdown_html(_redacted(data["text/markdown"]))}
                else:  # plain text is escaped by the exporter; pictures are data; anything else (scripts, SVG) is dropped
                    shown = {kind: _redacted(value) if kind == "text/plain" else value for kind, value in data.items() if kind in SAFE_KINDS}
                output.data = nbformat.NotebookNode(shown)
            kept.append(output)
        cell.outputs = kept
    return notebook


def _redacted(value):
    """Contact details redacted in every string inside ``value`` (text, or a figure's data)."""
    if isinstance(value, str):
        return redact(value, kinds=PERSONAL_DETAILS)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        if "bdata" in value:  # a typed array, base64-encoded numbers: its digits are not text
            return value
        return {k: _redacted(v) for k, v in value.items()}
    return value


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
