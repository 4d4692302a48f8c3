"""The corpus in tests/broken: each broken input gets the message or quarantine reason it should."""

import json
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from analytics.io import LoadError, load_history

CORPUS = Path(__file__).parent / "broken"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
NOW = "2026-01-01"


def physical_rows(path: Path) -> int:
    """Data rows as a person counts them in a file of one record per line: non-blank lines after the header."""
    return sum(1 for line in path.read_bytes().splitlines() if line.strip()) - 1


def _load(name):
    folder = CORPUS / name
    profile = folder / "profile.toml"
    return load_history(folder, profile if profile.exists() else "generic", now=NOW)


def test_corpus_is_large_enough():
    assert len(CASES) >= 75
    assert {p.name for p in CORPUS.iterdir() if p.is_dir()} == set(CASES)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "check" in c])
def test_row_problem_is_quarantined_with_its_reason(name):
    case = CASES[name]
    history = _load(name)
    table = case.get("table", "complaints")
    problems = history.quarantine
    assert len(problems) == 1, problems[["row", "column", "reason"]]
    problem = problems.iloc[0]
    assert problem["table"] == table
    assert problem["check"] == case["check"]
    assert problem["column"] == case["column"] or problem["column"].startswith(case["column"] + " (")
    assert problem["row"] == case["row"]
    assert case["reason"] in problem["reason"]
    assert problem["source"].endswith(f"{table}.csv")
    counts = history.report.counts.set_index("table").loc[table]
    assert counts["rows_read"] == case.get("rows", physical_rows(CORPUS / name / f"{table}.csv"))  # counted from the file itself
    assert len(getattr(history, table)) == counts["rows_loaded"]
    level = case.get("level", "row")
    assert problem["level"] == level
    if level == "row":
        assert counts["rows_read"] == counts["rows_loaded"] + 1 and counts["cells_quarantined"] == 0
    else:  # the row is loaded, with the bad value missing and every other value as written
        assert counts["rows_read"] == counts["rows_loaded"] and counts["cells_quarantined"] == 1
        loaded = getattr(history, table).iloc[case["row"] - 1]
        assert pd.isna(loaded[case["column"]])
        id_column = {"complaints": "complaint_id", "clients": "client_id", "interactions": "interaction_id"}[table]
        assert loaded[id_column] == json.loads(problem["record"])[id_column]  # the same row, loaded


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "unmapped" in c])
def test_unknown_taxonomy_value_is_loaded_and_counted(name):
    case = CASES[name]
    history = _load(name)
    table = case.get("table", "complaints")
    assert history.quarantine.empty
    unmapped = history.report.unmapped
    assert unmapped.to_dict(orient="records") == [{"table": table, "column": case["unmapped"], "value": case["value"], "rows": 1}]
    frame = getattr(history, table)
    raw_column = "category_raw" if case["unmapped"] == "trigger" else f"{case['unmapped']}_raw"
    row = frame.loc[frame[raw_column] == case["value"]]
    assert len(row) == 1
    expected = case.get("becomes")
    assert (row[case["unmapped"]].iloc[0] == expected) if expected else row[case["unmapped"]].isna().iloc[0]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "error" in c])
def test_file_problem_raises_one_clear_error(name):
    with pytest.raises(LoadError) as error:
        _load(name)
    message = str(error.value)
    assert CASES[name]["error"] in message
    assert name in message  # names the file or folder


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "loads" in c])
def test_awkward_but_valid_file_loads(name):
    case = CASES[name]
    history = _load(name)
    assert len(history.complaints) == case["loads"]
    assert history.quarantine.empty
    assert history.report.rows_quarantined == 0 and history.report.rows_read == len(history.complaints) + (0 if history.clients_derived else len(history.clients))
    complaints_file = CORPUS / name / "complaints.csv"
    if complaints_file.exists():  # compressed exports are counted by the reader alone
        counts = history.report.counts.set_index("table").loc["complaints"]
        assert counts["rows_read"] == case.get("rows", physical_rows(complaints_file))
    if "client" in case:
        assert history.complaints["client_id"].iloc[0] == case["client"]
    for column, expected in case.get("expect", {}).items():  # values as the file wrote them, nothing silently changed
        values = history.complaints.sort_values("complaint_id")[column]
        assert [("" if pd.isna(v) else v if isinstance(v, float) else str(v)) for v in values] == expected
    if "note" in case:
        assert any(case["note"] in note for note in history.report.notes), history.report.notes


# --- inputs too large or too particular to keep as files -------------------------------------


def _folder(tmp_path, content: bytes, name="complaints.csv"):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / name).write_bytes(content)
    return folder


def test_a_long_field_beside_a_malformed_row_is_a_value_not_an_error(tmp_path):
    long_text = "x" * (200 << 10)  # beyond the CSV module's default field limit of 128 KiB
    folder = _folder(tmp_path, f"complaint_id,client_id,opened_at,text\nC1,CL1,2025-01-01,{long_text}\nC2,CL2,2025-01-02,a,extra\n".encode())
    history = load_history(folder, now=NOW)
    assert history.complaints["text"].tolist() == [long_text]
    assert history.quarantine[["row", "check"]].values.tolist() == [[2, "malformed_row"]]
    assert history.report.rows_read == 2


def test_a_line_longer_than_a_read_block_loads(tmp_path):
    long_text = "y" * (40 << 20)
    folder = _folder(tmp_path, f"complaint_id,client_id,opened_at,text\nC1,CL1,2025-01-01,{long_text}\nC2,CL2,2025-01-02,b\n".encode())
    history = load_history(folder, now=NOW)
    assert history.complaints["text"].str.len().tolist() == [len(long_text), 1]


def test_a_nul_byte_far_into_the_file_is_refused_with_its_line(tmp_path):
    rows = "".join(f"C{i},CL{i},2025-01-01,text number {i} with some words\n" for i in range(60_000))
    folder = _folder(tmp_path, ("complaint_id,client_id,opened_at,text\n" + rows + "C9,CL9,2025-01-02,b\x00c\n").encode())
    assert (folder / "complaints.csv").stat().st_size > 1 << 21
    with pytest.raises(LoadError, match="line 60,002 holds a NUL byte"):
        load_history(folder, now=NOW)


def test_excel_keeps_words_that_look_missing(tmp_path):
    path = tmp_path / "export.xlsx"
    pd.DataFrame({"complaint_id": ["C1", "C2"], "client_id": ["NA", "CL2"], "opened_at": ["2025-01-01", "2025-01-02"],
                  "text": ["N/A", None]}).to_excel(path, sheet_name="complaints", index=False)
    history = load_history(path, now=NOW)
    assert history.complaints["client_id"].tolist() == ["NA", "CL2"]
    assert history.complaints["text"].iloc[0] == "N/A" and pd.isna(history.complaints["text"].iloc[1])


@pytest.mark.parametrize(("profile", "message"), [
    ('[complaints.dates]\ntimezone = "Europe/Berln"\n', "timezone 'Europe/Berln' is not a time zone name; closest: Europe/Berlin"),
    ('[format]\ndecimal = ","\nthousands = ","\n', "decimal = ',' and thousands = ',' cannot both hold"),
    ('[complaints.column]\nclient_id = "Account"\n', "unknown key 'complaints.column'; did you mean 'complaints.columns'?"),
    ('[complaints.dates]\nfromat = "%d/%m/%Y"\n', "unknown key 'complaints.dates.fromat'; did you mean 'complaints.dates.format'?"),
    ('extend = "cfpb"\n', "unknown key 'extend'; did you mean 'extends'?"),
    ('extends = "cfbp"\n', "no profile named 'cfbp'; shipped profiles: cfpb, freshdesk, generic, helpdesk_events, hubspot_tickets"),
    ('[complaints.dates]\nformat = "mixed"\norder = "dmy"\n', "order = 'dmy'; expected \"day_first\" or \"month_first\""),
])
def test_a_profile_that_cannot_hold_is_one_clear_error(tmp_path, profile, message):
    from analytics.io import ProfileError

    path = tmp_path / "profile.toml"
    path.write_text(profile, encoding="utf-8")
    with pytest.raises(ProfileError, match=re.escape(message)):
        load_history(CORPUS / "semicolon_auto", path)


def test_a_profile_extends_a_shipped_one_and_changes_only_what_differs(cfpb_path, tmp_path):
    """A CFPB file whose headers were renamed loads in one step with a profile of a few lines."""
    renames = {"Date received": "DateReceived", "Company": "CompanyName", "Consumer disputed?": "ConsumerDisputedSts",
               "Company response to consumer": "CompanyResponse"}
    pd.read_csv(cfpb_path, dtype=str, keep_default_na=False).head(500).rename(columns=renames).to_csv(tmp_path / "renamed.csv", index=False)
    (tmp_path / "mine.toml").write_text(
        'name = "cfpb renamed"\nextends = "cfpb"\n\n[complaints.columns]\nopened_at = "DateReceived"\nclient_id = "CompanyName"\n'
        'disputed = "ConsumerDisputedSts"\nresolution = "CompanyResponse"\n', encoding="utf-8")
    renamed = load_history(tmp_path / "renamed.csv", tmp_path / "mine.toml")
    original = load_history(cfpb_path, "cfpb")
    assert renamed.report.profile == "cfpb renamed" and renamed.report.rows_read == 500
    first = original.complaints.head(len(renamed.complaints))
    for column in ("opened_at", "client_id", "channel", "resolution", "disputed", "sla_met"):
        assert renamed.complaints[column].tolist() == first[column].tolist(), column
    assert renamed.complaints["resolution"].notna().mean() > 0.9  # the value maps came from the shipped profile


def test_a_declared_day_order_quarantines_a_date_written_the_other_way(tmp_path):
    (tmp_path / "complaints.csv").write_text("complaint_id,client_id,opened_at\nC1,CL1,12/31/2016\nC2,CL2,31/12/2016\nC3,CL3,01/02/2016\n")
    (tmp_path / "us.toml").write_text('[complaints.dates]\nformat = "mixed"\norder = "month_first"\n')
    history = load_history(tmp_path / "complaints.csv", tmp_path / "us.toml", now=NOW)
    assert [str(t.date()) for t in history.complaints["opened_at"]] == ["2016-12-31", "2016-01-02"]
    problem = history.quarantine.iloc[0]
    assert len(history.quarantine) == 1 and (problem["row"], problem["column"], problem["check"]) == (2, "opened_at", "unparseable")
    assert "written day first, but the profile's dates order says month first" in problem["reason"]
