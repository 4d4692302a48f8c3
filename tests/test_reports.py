"""Reports end to end: the CLI runs a notebook, writes one HTML file, and a real headless
Chromium opens it offline."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analytics.labels import TAXONOMY_VALUES, VALUE_WORDS
from analytics.reports import NOTEBOOK_FOLDER, ReportFailed, prepared, render
from tests.conftest import ROOT, SAMPLE, need_debian_package

ARTEFACTS = ROOT / "reports" / "test-artefacts"
ATTACK = '<img src=x onerror="window.attacked = 1">'
SCRIPT = "<script>window.attacked = 2</script>"
EMAIL, PHONE = "jo.doe@example.com", "+1 212 555 0199"
#: personal details of every kind a report must never show, by kind
CANARIES = {"email": EMAIL, "phone (US)": PHONE, "phone (UK)": "020 7946 0959", "mobile (UK)": "07700 900123",
            "phone (DE)": "0049 30 901820", "card": "4111 1111 1111 1111", "IBAN": "GB29 NWBK 6016 1331 9268 19"}
#: all of them as people write them, each after a word
CANARY_TEXT = ", ".join(f"{kind.split()[0]} {value}" for kind, value in CANARIES.items())
TEXT_ATTACK = "<b onmouseover=alert(3)>bold</b><script>window.attacked = 3</script>"


#: markup that would run if data ever became markup; each sets window.attacked or opens a dialog
PAYLOADS = ["<script>window.attacked = 4</script>", '<img src=x onerror="window.attacked = 5">', "[click](javascript:window.attacked=6)",
            '<a href="javascript:window.attacked=7">link</a>', '<svg onload="alert(8)">', "javascript:alert(9)", '"><iframe src="javascript:alert(10)">']


#: the distinctive openings of some complaint texts of the sample
COMPLAINT_TEXTS = pd.read_parquet(SAMPLE / "complaints.parquet")["text"].dropna().str.slice(0, 60).drop_duplicates().sample(200, random_state=0).tolist()
#: the complaints about one kind of failure, which the hostile fixture laces with markup
SYNC_TEXTS = [text for text in pd.read_parquet(SAMPLE / "complaints.parquet")["text"].dropna().drop_duplicates() if "sync job" in text][:200]


def _laced(values: pd.Series, every: int = 1) -> pd.Series:
    """Values with a payload appended: each distinct value always the same one (so that groups
    stay groups and summaries name laced values), on every ``every``-th row."""
    values = values.astype("string").copy()
    codes = {v: PAYLOADS[i % len(PAYLOADS)] for i, v in enumerate(values.dropna().unique())}
    rows = values.index[::every]
    values[rows] = [v if pd.isna(v) else f"{v} {codes[v]}" for v in values[rows]]
    return values


@pytest.fixture(scope="module")
def hostile_sample(tmp_path_factory):
    """The sample with markup in every text field of every table (client id and name, segment,
    owner, region, team, agent, channel, trigger, category, resolution, text), an e-mail address
    and a phone number in every client name, and a complaint whose severity is a script (it is
    quarantined, and shown as such)."""
    folder = tmp_path_factory.mktemp("hostile")
    clients = pd.read_parquet(SAMPLE / "clients.parquet")
    complaints = pd.read_parquet(SAMPLE / "complaints.parquet")
    interactions = pd.read_parquet(SAMPLE / "interactions.parquet")
    new_ids = dict(zip(clients["client_id"], _laced(clients["client_id"]), strict=True))
    for table in (clients, complaints, interactions):
        table["client_id"] = table["client_id"].map(new_ids)
    clients["name"] = clients["name"] + f" {ATTACK} {CANARY_TEXT}"
    for column in ("segment", "owner", "region"):
        clients[column] = _laced(clients[column])
    for column in ("team", "agent", "category_raw"):
        complaints[column] = _laced(complaints[column])
    for column in ("channel", "trigger", "resolution"):  # unknown values: loaded as other (or empty) and kept raw
        complaints[column] = _laced(complaints[column], every=40)
    complaints["severity"] = complaints["severity"].astype("string")
    complaints.loc[0, "severity"] = SCRIPT
    complaints.loc[1, "severity"] = CANARY_TEXT  # quarantined: its value is shown in the quality report
    complaints.loc[complaints.index[::5], "text"] += " " + CANARY_TEXT
    # every complaint about one kind of failure carries markup, so that topic's examples would show it
    sync = complaints["text"].str.contains("sync job", na=False)
    complaints.loc[sync, "text"] = TEXT_ATTACK + " " + complaints.loc[sync, "text"]
    complaints["text"] = _laced(complaints["text"], every=3)
    interactions["channel"] = _laced(interactions["channel"], every=40)
    clients.to_parquet(folder / "clients.parquet")
    interactions.to_parquet(folder / "interactions.parquet")
    complaints.to_csv(folder / "complaints.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    binary = need_debian_package("/usr/bin/chromium", "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(binary), args=["--no-sandbox"])
        yield browser
        browser.close()


#: elements that would run script when shown or clicked: event handlers, javascript: links, frames
UNSAFE_ELEMENTS = """[...document.querySelectorAll('*')].filter(e => e.tagName === 'IFRAME' || e.tagName === 'EMBED' || e.tagName === 'OBJECT'
    || [...e.attributes].some(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value))).map(e => e.outerHTML.slice(0, 200))"""

#: what the charts draw as text (titles, ticks, legends), the links and bold runs plotly made of markup, and
#: the data's strings holding a tag, which plotly would read as markup in hover text
CHART_TEXT = """({text: [...document.querySelectorAll('.js-plotly-plot svg text')].map(t => t.textContent),
    links: document.querySelectorAll('.js-plotly-plot svg a').length,
    styled: document.querySelectorAll('.js-plotly-plot svg tspan[style*="font-weight:bold"], .js-plotly-plot svg tspan[style*="font-weight: bold"]').length,
    markup: [...document.querySelectorAll('.js-plotly-plot')].flatMap(chart => chart.data.flatMap(t => [t.name, t.x, t.y, t.customdata, t.text].flat(2)))
        .filter(value => typeof value === 'string' && value.includes('<'))})"""


#: tables wider than the page, whose last columns a reader must scroll sideways to see
TOO_WIDE = """[...document.querySelectorAll('table')].filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
    .map(t => [t.querySelector('thead th')?.innerText, t.scrollWidth, t.parentElement.clientWidth])"""


def open_report(browser, path: Path, screenshot: str) -> dict:
    """Open ``path`` with the network cut off; what the page did, and a screenshot."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    seen = {"errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda message: seen["errors"].append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))

    def offline(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            seen["requests"].append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    seen["figures"] = page.locator(".js-plotly-plot").count()
    seen["drawn"] = page.locator(".js-plotly-plot .main-svg").count() // 3  # plotly draws three layers per figure
    seen["attacked"] = page.evaluate("window.attacked === undefined ? null : window.attacked")
    seen["unsafe"] = page.evaluate(UNSAFE_ELEMENTS)
    seen["chart_text"] = page.evaluate(CHART_TEXT)
    seen["text"] = page.inner_text("body")
    seen["raw"] = plain_words_problems(page)
    seen["links"] = page.evaluate(LINKS)
    seen["contents"] = page.locator("nav.report-contents a").count()
    seen["first_rows"] = page.evaluate("""[...document.querySelectorAll('table.interactive-table')].map(t =>
        [[...t.querySelectorAll('thead th')].map(th => th.innerText.trim()), [...t.querySelectorAll('tbody tr')].map(tr => [...tr.children].map(td => td.innerText.trim()))])""")
    seen["table_info"] = [e.inner_text() for e in page.locator(".dt-info").all()]
    seen["too_wide"] = page.evaluate(TOO_WIDE)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTEFACTS / screenshot, full_page=True)
    page.close()
    return seen


def run_report(kind: str, source: Path, out: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "analytics", "report", kind, "--source", str(source), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "IPKernelApp" not in done.stderr and "WARNING" not in done.stderr  # no kernel noise on the terminal
    path = Path(re.search(rf"^{kind} report: (.+\.html)$", done.stdout, re.MULTILINE)[1])
    assert path.parent == out.resolve() and path.exists()
    return path


#: what a manager must never read in a table: raw names (technical_failure, repeat_rate) and raw values
RAW_TEXT = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
RAW_VALUES = {"True", "False", "nan", "NaN", "None", "<NA>", "NaT"}
TABLE_TEXT = """[...document.querySelectorAll('table')].map(table => {
    const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
    const cells = [...table.querySelectorAll('tbody tr')].flatMap(tr => [...tr.children].map((td, i) => [headers[i] || '', td.innerText.trim()]));
    return {headers, cells};
})"""
LINKS = """[...document.querySelectorAll('a[href^="#"]')].map(a => [a.getAttribute('href'), !!document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1)))])"""


def plain_words_problems(page) -> list[str]:
    """Headers in snake_case, and cells holding a raw taxonomy value (the package knows its
    words), a raw boolean or a missing marker; text the data itself wrote (a laced category)
    is shown as written. Under two headers of the data quality report raw names are the point: a
    canonical "column" name is what a profile maps, and a "value as exported" is what
    the export wrote."""
    problems = []
    for table in page.evaluate(TABLE_TEXT):
        problems += [f"header {h!r}" for h in table["headers"] if RAW_TEXT.search(h)]
        for header, text in table["cells"]:
            if text in RAW_VALUES:
                problems.append(f"{header}: {text!r}")
            elif header not in ("column", "value as exported") and RAW_TEXT.fullmatch(text) and (text in TAXONOMY_VALUES or text in VALUE_WORDS):
                problems.append(f"{header}: {text[:80]!r}")  # a value the package knows, left untranslated
    return problems


@pytest.mark.parametrize(("kind", "figures"), [("quarterly", 6), ("quality", 1), ("review", 2), ("workshop", 5)])
def test_report_opens_in_chromium_offline_and_data_never_runs(kind, figures, hostile_sample, chromium, tmp_path):
    path = run_report(kind, hostile_sample, tmp_path)
    page = path.read_text(encoding="utf-8")
    seen = open_report(chromium, path, f"{kind}.png")

    assert seen["errors"] == [] and seen["dialogs"] == []
    assert seen["requests"] == []  # everything it needs is in the file
    assert seen["figures"] == figures and seen["drawn"] == figures
    assert seen["attacked"] is None and seen["unsafe"] == []
    # markup in the data shows in the charts as written: no link, no bold text made of it
    assert seen["chart_text"]["links"] == 0 and seen["chart_text"]["styled"] == 0 and seen["chart_text"]["markup"] == []
    if kind == "review":  # the health chart's title names a client whose ID is laced
        assert any(payload in text for text in seen["chart_text"]["text"] for payload in PAYLOADS if "<" in payload)
    assert {kind: value for kind, value in CANARIES.items() if value in page or value.replace(" ", "") in page} == {}
    assert not [text for text in COMPLAINT_TEXTS if text in page]  # no complaint's words, in any report
    if kind in ("quarterly", "review"):  # client names are shown: markup as text, contact details redacted
        assert ATTACK in seen["text"] and "[email]" in seen["text"] and "[phone]" in seen["text"]
    elif kind == "quality":  # the quarantined severity is shown as text
        assert SCRIPT in seen["text"]
    else:  # no complaint text by default: topics show their terms, not a client's words
        # a topic's terms may be words of its complaints ("sync job"), its examples may not
        assert TEXT_ATTACK not in seen["text"] and not [text for text in SYNC_TEXTS if text in seen["text"]]
        assert any(payload in seen["text"] for payload in PAYLOADS)  # laced categories and teams shown as text
    assert "Traceback" not in seen["text"] and "def " not in seen["text"]  # code cells are hidden
    assert seen["raw"] == []  # plain words in every table
    assert seen["too_wide"] == []  # every column in view: text wraps, even markup written into names
    assert seen["contents"] >= 3 and seen["links"] and all(found for _, found in seen["links"])  # contents and footnotes lead somewhere
    if kind == "quarterly":  # the action list: first thing after the brief, ordered by value at risk, the same as its CSV
        assert path.name.startswith("quarterly-") and re.fullmatch(r"quarterly-\d{4}Q[1-4]\.html", path.name)
        csv = pd.read_csv(path.with_name(path.stem + "-actions.csv"), keep_default_na=False, na_values=[""])
        assert csv["value at risk"].is_monotonic_decreasing and csv["rank"].tolist() == list(range(1, len(csv) + 1))
        headers, rows = seen["first_rows"][0]
        shown = pd.DataFrame(rows, columns=headers)
        assert shown["client"].tolist() == csv["client"].head(len(shown)).tolist() and len(shown) == min(25, len(csv))
        assert seen["table_info"][0].endswith(f"of {len(csv):,} entries")
        assert seen["text"].index("Action list") < seen["text"].index("Alerts") < seen["text"].index("Who is at risk")


def test_a_failing_notebook_writes_no_report_and_names_the_cell(tmp_path):
    with pytest.raises(ReportFailed, match=r"cell \d+ failed with LoadError: .*does-not-exist"):
        render("quarterly", tmp_path / "out", {"source": str(tmp_path / "does-not-exist")}, progress=False)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_committed_notebooks_hold_no_outputs_and_no_functions():
    """Notebooks are committed without outputs (so no client name or complaint text lands in
    git), with one parameters cell, and call the package instead of defining code."""
    notebooks = sorted(NOTEBOOK_FOLDER.glob("*.ipynb"))
    assert [p.name for p in notebooks] == ["00_data_quality.ipynb", "01_quarterly_retention_review.ipynb", "02_root_cause_workshop.ipynb",
                                          "03_relationship_review.ipynb"]
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        assert sum("parameters" in c.metadata.get("tags", []) for c in notebook.cells) == 1, path.name
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            assert "def " not in cell.source and "class " not in cell.source, f"{path.name}: functions belong in analytics"
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: committed with outputs"


def test_prepared_notebook_redacts_figures_and_drops_warnings():
    figure = {"data": [{"type": "bar", "x": [1], "y": [2], "name": f"call {PHONE}"}], "layout": {"title": {"text": EMAIL}}}
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something"),
        nbformat.v4.new_output("stream", name="stdout", text=f"mail {EMAIL}"),
        nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": figure}),
    ])])
    outputs = prepared(notebook).cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream", "display_data"]
    assert outputs[0].text == "mail [email]"
    html = outputs[1].data["text/html"]
    assert PHONE not in html and EMAIL not in html and "[phone]" in html and "Plotly.newPlot" in html
    assert notebook.cells[0].outputs[1].text == f"mail {EMAIL}"  # the notebook given is left as it was


def test_workshop_report_on_the_real_cfpb_export_says_what_it_lacks(cfpb_path, chromium, tmp_path):
    done = subprocess.run([sys.executable, "-m", "analytics", "report", "workshop", "--source", str(cfpb_path), "--profile", "cfpb",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = open_report(chromium, next(tmp_path.glob("workshop-*.html")), "workshop_cfpb.png")
    assert seen["errors"] == [] and seen["figures"] == seen["drawn"] >= 2
    text = seen["text"]
    assert "Mortgage" in text and "Bank of America" in text  # dispute rates by product, most disputed companies
    assert "records no handling practices" in text and "records no complaint text" in text


def test_redaction_leaves_typed_arrays_of_figures_alone():
    """Plotly stores arrays as base64 ("bdata"); digits in it are bytes, not phone numbers."""
    typed = {"dtype": "f8", "bdata": "QUJD2125550199QUJDRA=="}
    figure = {"data": [{"type": "scatter", "x": typed, "y": typed, "name": f"call {PHONE}"}], "layout": {}}
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": figure}),
    ])])
    trace = prepared(notebook).cells[0].outputs[0].data["application/vnd.plotly.v1+json"]["data"][0]
    assert trace["y"] == typed and trace["name"] == "call [phone]"


def test_the_html_memo_runs_no_script_from_any_field(hostile_sample, chromium, tmp_path):
    from analytics.io import load_history
    from analytics.review import relationship_review

    review = relationship_review(load_history(hostile_sample))
    exits = review.clients.loc[review.clients["recommendation"] == "consider_exit", "client_id"]
    assert len(exits)
    path = tmp_path / "memo.html"
    page = "".join(review.memo(client, format="html") for client in exits.head(3))
    path.write_text(page, encoding="utf-8")
    seen = open_report(chromium, path, "memo.png")
    assert seen["attacked"] is None and seen["dialogs"] == [] and seen["unsafe"] == [] and seen["errors"] == []
    assert "Draft: ending the relationship with" in seen["text"] and ATTACK in seen["text"]  # the name's markup shown as text
    assert {kind: value for kind, value in CANARIES.items() if value in page or value.replace(" ", "") in page} == {}
