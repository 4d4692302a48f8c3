"""Plain words in reports: one label map for taxonomy values, column names and booleans,
and pages a manager can navigate (contents, footnotes for statistical terms)."""

import pandas as pd

from analytics.labels import TAXONOMY_VALUES, column_label, group_label, plain, value_label
from analytics.reports import GLOSSARY, navigable
from analytics.tables import styled


def test_every_taxonomy_value_has_words_without_underscores():
    assert {"technical_failure", "social_public", "root_cause_fixed", "ended_by_us"} <= TAXONOMY_VALUES
    assert all("_" not in value_label(value) for value in TAXONOMY_VALUES)
    assert value_label("mid_market") == "mid-market" and value_label(False) == "no" and value_label("True") == "yes"
    assert value_label("Acme_Corp ltd") == "Acme_Corp ltd" and value_label(3.5) == 3.5  # names and numbers as they are


def test_column_names_read_as_words_and_interval_bounds_name_their_estimate():
    assert column_label("repeat_rate") == "repeat rate" and column_label("dispute_rate_low") == "dispute rate, low"
    assert column_label("client_id") == "client" and column_label("95% CI") == "95% CI"
    assert group_label("root_cause_fixed", True) == "root cause fixed: yes" and group_label("trigger", "billing") == "billing"


def test_styled_tables_show_words_and_keep_formats():
    frame = pd.DataFrame({"trigger": ["technical_failure", "billing"], "repeat_rate": [0.25, 0.5], "escalated": [True, False]})
    html = styled(frame, percent=["repeat_rate"]).to_html()
    assert "technical failure" in html and "technical_failure" not in html and "repeat rate" in html and "25.0%" in html
    assert ">yes<" in html and ">no<" in html and "True" not in html
    assert list(plain(frame).columns) == ["trigger", "repeat rate", "escalated"]


def test_an_interactive_table_takes_a_text_column_with_no_values():
    # a history without client names or owners: the column is all missing, in a string dtype
    frame = pd.DataFrame({"client": ["C1", "C2"], "name": pd.array([pd.NA, pd.NA], dtype="string"), "why": ["x" * 50, "short"]})
    html = styled(frame, interactive=True).to_html()
    assert 'class="data row0 col1" >–</td>' in html and 'class="data row1 col1" >–</td>' in html  # shown as missing, not wide
    assert 'class="data row1 col2 wide" >short</td>' in html  # a column with a sentence in it is wide


def test_a_page_gets_contents_and_a_footnote_on_each_terms_first_use():
    page = ("<html><body><main><h1>Review</h1><h2 id='Brief'>Brief</h2><p>ROC AUC 0.77 (95% CI 0.74 to 0.79) and ROC AUC again</p>"
            "<h2 id='Trust'>Trust</h2><table><tr><td>Brier score</td></tr></table></main><p class='report-footer'>footer</p></body></html>")
    shown = navigable(page)
    assert shown.count('href="#term-') == 3  # ROC AUC once, 95% CI, Brier score
    assert '<a href="#Brief">Brief</a>' in shown and '<a href="#terms-used">Terms used</a>' in shown
    assert shown.index('id="terms-used"') < shown.index("report-footer")
    assert f"ROC AUC</strong>: {GLOSSARY['ROC AUC']}" in shown


def test_the_workshop_brief_names_groups_in_words(sample_history):
    import re

    from analytics.rootcause import root_cause_workshop

    brief = root_cause_workshop(sample_history, bootstrap=20).headline()
    raw = [word for word in re.findall(r"[a-z]+(?:\\?_[a-z]+)+", brief) if word.replace("\\", "") in TAXONOMY_VALUES]
    assert raw == [] and "technical failure" in brief
