"""A report's page: an executed notebook's outputs made safe (redacted, sanitised, no
script), laid out as one standalone HTML page with its contents and glossary.
:mod:`analytics.reports` runs the notebook and writes the page."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analytics._markup import markdown_html, sanitised
from analytics.redaction import PERSONAL_DETAILS, redact

if TYPE_CHECKING:
    from nbformat import NotebookNode

TEMPLATE_FOLDER = Path(__file__).resolve().parent / "report_template"
PLOTLY = "application/vnd.plotly.v1+json"
SAFE_KINDS = ("text/plain", "image/png", "image/jpeg")


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
    for cell in shown.cells:  # the page draws each figure from its HTML: the exporter need not copy the data again
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(PLOTLY, None)
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

    # a copy of the structure only: every output's data is rebuilt below, and copying a
    # figure of many clients deeply would cost seconds
    notebook = copy.copy(notebook)
    notebook.cells = [copy.copy(cell) for cell in notebook.cells]
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in map(copy.copy, cell.get("outputs", [])):
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
