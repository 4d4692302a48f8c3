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
    """The notebook behind a report failed; no report was written."""


def report_parameters(report: str, notebooks: Path | str = NOTEBOOK_FOLDER) -> dict[str, str]:
    """The parameters the ``report``'s notebook takes, each with its comment (from the
    cell tagged ``parameters``): what may be passed to :func:`render`."""
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
    """Execute the ``report``'s notebook with ``parameters`` and write ``out/<report>.html``.

    Raises :class:`ReportFailed` naming the failed cell and the error; nothing is written then.
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
        try:
            papermill.execute_notebook(
                str(notebook), str(executed), parameters=parameters or {}, cwd=str(notebook.parent),
                kernel_name="python3", progress_bar=progress, log_output=False, km=kernel,
            )
        except PapermillExecutionError as error:
            raise ReportFailed(f"{notebook.name}: cell {error.cell_index} failed with {error.ename}: {error.evalue}; no report written") from None
        page = to_html(nbformat.read(executed, as_version=4), TITLES[report])
    target = out / f"{report}.html"
    _write_atomically(target, page)
    return target


class FolderNotWritable(OSError):
    """An output folder that is a file, or that nothing can be written into."""


def writable_folder(folder: Path | str) -> Path:
    """``folder``, created if need be, once a file could be written in it: checked before a
    long run, so that a wrong ``--out`` fails at once and with its reason."""
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
    """A kernel manager whose connection file (it holds the kernel's key) lies in ``scratch``;
    no kernel started by the run outlives it, an interrupted run included."""
    import psutil
    from jupyter_client.manager import AsyncKernelManager

    try:
        yield AsyncKernelManager(kernel_name="python3", connection_file=str(Path(scratch) / "kernel.json"))
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
    by the embedded plotly.js."""
    from nbconvert import HTMLExporter
    from plotly.offline import get_plotlyjs

    exporter = HTMLExporter(
        template_name="lab", extra_template_paths=[str(TEMPLATE_FOLDER)], template_file="report.html.j2",
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )
    resources = {
        "metadata": {"name": title},
        "plotly_js": get_plotlyjs(),
        "footer": f"Client Health Analytics · generated {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC · e-mail addresses, phone numbers, card numbers and IBANs redacted",
    }
    page, _ = exporter.from_notebook_node(prepared(notebook), resources=resources)
    return page


def prepared(notebook: NotebookNode) -> NotebookNode:
    """The notebook as a report shows it: warnings on stderr dropped, contact details
    redacted in every output, each figure drawn from its (redacted) plotly data, and every
    other rich output turned into sanitised HTML (Markdown included), so that no output can
    carry a script: data is escaped where it is composed, and this is the second wall."""
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


def _write_atomically(target: Path, text: str) -> None:
    """Write beside the target and rename: readers see the old file or the new, never half."""
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
