"""The corpus in tests/broken: each broken input gets the message or quarantine reason it should."""

import tomllib
from pathlib import Path

import pytest

from analytics.io import LoadError, load_history

CORPUS = Path(__file__).parent / "broken"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))
NOW = "2026-01-01"


def _load(name):
    folder = CORPUS / name
    profile = folder / "profile.toml"
    return load_history(folder, profile if profile.exists() else "generic", now=NOW)


def test_corpus_is_large_enough():
    assert len(CASES) >= 25
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
    assert counts["rows_read"] == counts["rows_loaded"] + 1
    assert len(getattr(history, table)) == counts["rows_loaded"]


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
    if "client" in case:
        assert history.complaints["client_id"].iloc[0] == case["client"]
