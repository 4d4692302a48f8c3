"""Event logs folded into tickets, checked against a fold written plainly, ticket by ticket,
and the exact-duplicate rule checked against pandas' own ``duplicated``."""

import json
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from analytics.io import ProfileError, load_history
from analytics.schemas import empty_table
from tests.test_load import accounted_for

#: under mutation testing, where each mutant runs these tests again: fewer examples, and a
#: failure is not shrunk to its simplest form (a failure is all a mutant run needs)
MUTATING = bool(os.environ.get("MUTANT_UNDER_TEST"))
EXAMPLES = 15 if MUTATING else 80
PHASES = (Phase.explicit, Phase.reuse, Phase.generate) if MUTATING else tuple(Phase)
COLUMNS = ["Ticket ID", "Organization", "Event Time", "Status", "Via", "Ticket Type", "Priority", "Group", "Assignee"]
FIRST_RESPONSE, RESOLVED, CLOSED = {"pending"}, {"solved"}, {"closed"}

EVENT = st.tuples(
    st.sampled_from(["T1", "T2", "T3"]),
    st.one_of(st.integers(0, 40), st.just(None)),  # minutes after 09:00 (ties happen); None: an unreadable time
    st.sampled_from(["new", "pending", "Pending", "solved", "SOLVED", "open", "closed", ""]),
    st.sampled_from(["", "Tier 1", "Tier 2"]),
)


def reference_fold(events: pd.DataFrame) -> dict[str, dict]:
    """The fold as its docstring states it, one ticket at a time: events in time order (ties
    in row order); the first event opens, the first in pending responds, the last in solved
    resolves unless the ticket ended in another status, the last in closed closes; a move
    from solved to anything but solved or closed reopens; a column keeps its latest value."""
    tickets = {}
    for ticket, group in events.sort_values(["at", "row"], kind="stable").groupby("ticket", sort=True):
        status = [s.strip().lower() for s in group["status"]]
        at = list(group["at"])
        resolved = [t for t, s in zip(at, status, strict=True) if s in RESOLVED]
        teams = [t for t in group["team"] if t]
        tickets[ticket] = {
            "opened_at": at[0],
            "first_response_at": next((t for t, s in zip(at, status, strict=True) if s in FIRST_RESPONSE), None),
            "resolved_at": resolved[-1] if resolved and status[-1] in RESOLVED | CLOSED else None,
            "closed_at": ([t for t, s in zip(at, status, strict=True) if s in CLOSED] or [None])[-1],
            "reopen_count": sum(1 for a, b in zip(status, status[1:], strict=False) if a in RESOLVED and b not in RESOLVED | CLOSED),
            "team": teams[-1] if teams else None,
            "rows": len(group),
        }
    return tickets


@settings(max_examples=EXAMPLES, phases=PHASES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(EVENT, min_size=1, max_size=25))
# always tried: answered, solved, reopened, solved and closed; reopened and left open; events
# out of order, at the same minute and unreadable, over three tickets
@example(rows=[("T2", 5, "new", "Tier 1"), ("T1", 0, "new", ""), ("T1", 3, "pending", "Tier 1"), ("T1", 9, "solved", ""),
               ("T1", 12, "open", "Tier 2"), ("T1", 20, "SOLVED", ""), ("T1", 25, "closed", ""), ("T3", 1, "new", "Tier 2"),
               ("T3", 1, "Pending", ""), ("T3", 4, "solved", "Tier 1"), ("T3", 8, "open", ""), ("T2", None, "pending", "Tier 2")])
@example(rows=[("T1", 0, "solved", ""), ("T1", 0, "new", "Tier 1"), ("T2", 2, "closed", "Tier 2")])
@example(rows=[("T1", 0, "new", ""), ("T2", 1, "new", ""), ("T2", 7, "pending", ""), ("T2", 3, "pending", "Tier 1"), ("T2", 9, "solved", "")])
@example(rows=[("T1", None, "new", "Tier 1")])  # no readable event: no ticket
@example(rows=[("T1", 0, "new", ""), ("T1", 2, "pending", ""), ("T2", 1, "new", ""), ("T2", 6, "pending", ""), ("T2", 4, "pending", "")])
def test_the_fold_agrees_with_a_fold_written_ticket_by_ticket(tmp_path_factory, rows):
    start = pd.Timestamp("2024-01-10 09:00")  # winter: London is on UTC
    export = pd.DataFrame({
        "Ticket ID": [r[0] for r in rows],
        "Organization": "Acme",
        "Event Time": [(start + pd.Timedelta(minutes=r[1])).strftime("%Y-%m-%d %H:%M:%S") if r[1] is not None else "not a time" for r in rows],
        "Status": [r[2] for r in rows],
        "Via": "Mail", "Ticket Type": "Incident", "Priority": "high",
        "Group": [r[3] for r in rows],
        "Assignee": [f"agent {i}" for i in range(len(rows))],  # no two events identical: duplicates are tested apart
    })[COLUMNS]
    path = tmp_path_factory.mktemp("events") / "ticket_events.csv"
    export.to_csv(path, index=False)
    history = load_history(path, "helpdesk_events", now="2030-01-01")
    accounted_for(history)
    assert history.report.rows_read == len(rows)

    readable = pd.DataFrame({
        "ticket": export["Ticket ID"], "row": range(1, len(rows) + 1), "status": export["Status"], "team": export["Group"],
        "at": [(start + pd.Timedelta(minutes=r[1])).tz_localize("UTC") if r[1] is not None else None for r in rows],
    }).dropna(subset=["at"])
    expected = reference_fold(readable)
    loaded = history.complaints.set_index("complaint_id")
    assert list(loaded.index) == sorted(expected)  # in ticket order
    assert history.complaints["reopen_count"].dtype == empty_table("complaints")["reopen_count"].dtype
    for ticket, want in expected.items():
        got = loaded.loc[ticket]
        for column in ("opened_at", "first_response_at", "resolved_at", "closed_at"):
            assert (pd.isna(got[column]) and want[column] is None) or got[column] == want[column], (ticket, column)
        assert got["reopen_count"] == want["reopen_count"], ticket
        assert (pd.isna(got["team"]) and want["team"] is None) or got["team"] == want["team"], ticket
    unreadable = sum(r[1] is None for r in rows)
    assert (history.quarantine["check"] == "unparseable").sum() == unreadable
    assert history.report.counts.iloc[0]["rows_loaded"] == sum(t["rows"] for t in expected.values()) == len(rows) - unreadable


def test_an_event_without_its_ticket_is_quarantined_not_lost(tmp_path):
    export = pd.DataFrame(
        [("T1", "Acme", "2024-03-01 09:00:00", "new"), ("", "Acme", "2024-03-01 09:30:00", "pending"), ("T1", "Acme", "2024-03-01 10:00:00", "solved")],
        columns=COLUMNS[:4],
    ).assign(**{"Via": "Mail", "Ticket Type": "Incident", "Priority": "high", "Group": "Tier 1", "Assignee": "ana"})
    export.to_csv(tmp_path / "ticket_events.csv", index=False)
    history = load_history(tmp_path / "ticket_events.csv", "helpdesk_events", now="2030-01-01")
    accounted_for(history)
    assert history.report.rows_read == 3 and len(history.complaints) == 1
    lost = history.quarantine.iloc[0]
    assert (lost["row"], lost["check"]) == (2, "missing_required") and "must name its ticket" in lost["reason"]
    assert pd.isna(history.complaints.iloc[0]["first_response_at"])  # the unnamed event answered no ticket


@settings(max_examples=EXAMPLES, phases=PHASES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["C1", "C2"]), st.sampled_from(["A", "B"]), st.sampled_from(["2024-01-01", "2024-01-02", ""])),
                     min_size=1, max_size=20))
def test_exact_duplicates_are_the_rows_pandas_finds_duplicated(tmp_path_factory, rows):
    export = pd.DataFrame(rows, columns=["complaint_id", "client_id", "opened_at"])
    path = tmp_path_factory.mktemp("duplicates") / "complaints.csv"
    export.to_csv(path, index=False)
    history = load_history(path, now="2030-01-01")
    accounted_for(history)
    duplicated = export.duplicated(keep="first")
    found = history.quarantine.loc[history.quarantine["check"] == "exact_duplicate"]
    assert sorted(found["row"]) == [i + 1 for i in export.index[duplicated]]
    first = {tuple(r): i + 1 for i, r in export.loc[~duplicated].iterrows()}
    for row, reason in zip(found["row"], found["reason"], strict=True):
        assert reason == f"exact duplicate of row {first[tuple(export.loc[row - 1])]}"
    assert history.report.counts.iloc[0]["exact_duplicates"] == duplicated.sum()


DATE_PART = st.tuples(
    st.integers(0, 35), st.integers(0, 14), st.sampled_from(["2016", "16", "1999", "2300", "0016"]), st.sampled_from("/.-"),
    st.sampled_from(["", " {h}:{m:02d}", " {h:02d}:{m:02d}:{m:02d}", "T{h:02d}:{m:02d}"]), st.integers(0, 26), st.integers(0, 62),
)


@settings(max_examples=EXAMPLES, phases=PHASES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(DATE_PART, min_size=1, max_size=30))
def test_day_first_dates_read_as_the_general_parser_reads_them(tmp_path_factory, parts):
    """Mixed dates are read by fast fixed layouts where they can be; each value must come out
    as pandas' general (value-by-value) parser reads it, and a value written month first
    against the profile's order, or not a date, is quarantined."""
    written = [f"{d}{sep}{m}{sep}{y}" + time.format(h=h, m=minute) for d, m, y, sep, time, h, minute in parts]
    folder = tmp_path_factory.mktemp("dates")
    pd.DataFrame({"id": [f"C{i}" for i in range(len(written))], "client": "A", "opened": written}).to_csv(folder / "complaints.csv", index=False)
    (folder / "p.toml").write_text('[complaints.columns]\ncomplaint_id = "id"\nclient_id = "client"\nopened_at = "opened"\n\n'
                                   '[complaints.dates]\nformat = "mixed"\norder = "day_first"\ntimezone = "UTC"\n', encoding="utf-8")
    history = load_history(folder / "complaints.csv", folder / "p.toml", now="2200-01-01")
    accounted_for(history)
    loaded = history.complaints.set_index("complaint_id")["opened_at"]
    for i, (text, (_, month, *_)) in enumerate(zip(written, parts, strict=True)):
        expected = pd.to_datetime(text, format="mixed", dayfirst=True, errors="coerce", utc=True)
        if pd.isna(expected) or month > 12 or expected.year < 1970:
            assert f"C{i}" not in loaded.index, text
        else:
            assert loaded[f"C{i}"] == expected, text


def test_a_profile_can_let_the_events_decide_the_times(tmp_path):
    """By default the export's own creation time wins; ``times_from = "events"`` makes the
    first event the opening even where the export has a creation time, and a misspelt
    setting is refused."""
    export = pd.DataFrame(
        [("T1", "Acme", "2024-01-05 08:15:00", "2024-01-05 09:00:00", "new"), ("T1", "Acme", "2024-01-05 08:15:00", "2024-01-05 10:30:00", "solved")],
        columns=["Ticket ID", "Organization", "Created", "Event Time", "Status"],
    ).assign(**{"Via": "Mail", "Ticket Type": "Incident", "Priority": "high", "Group": "Tier 1", "Assignee": "ana"})
    export.to_csv(tmp_path / "ticket_events.csv", index=False)
    mapped = 'extends = "helpdesk_events"\n\n[complaints.optional_columns]\nopened_at = "Created"\n'
    opened = {}
    for times_from in ("export", "events"):
        (tmp_path / f"{times_from}.toml").write_text(mapped + f'\n[complaints.events]\ntimes_from = "{times_from}"\n', encoding="utf-8")
        opened[times_from] = load_history(tmp_path / "ticket_events.csv", tmp_path / f"{times_from}.toml").complaints["opened_at"].iloc[0]
    assert opened == {"export": pd.Timestamp("2024-01-05 08:15", tz="UTC"), "events": pd.Timestamp("2024-01-05 09:00", tz="UTC")}
    (tmp_path / "typo.toml").write_text(mapped + '\n[complaints.events]\ntimes_from = "event"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match='times_from = \'event\'; expected "export" or "events"'):
        load_history(tmp_path / "ticket_events.csv", tmp_path / "typo.toml")


def test_a_line_that_does_not_split_into_the_header_is_quarantined_whole(tmp_path):
    path = tmp_path / "complaints.csv"
    path.write_text("complaint_id,client_id,opened_at\nC1,A,2024-01-01\nC2,A,2024-01-02,extra\nC3,B,2024-01-03\n", encoding="utf-8")
    history = load_history(path, now="2030-01-01")
    accounted_for(history)
    assert history.quarantine.drop(columns="source").to_dict(orient="records") == [{
        "table": "complaints", "row": 2, "column": "(whole row)", "value": "C2,A,2024-01-02,extra", "check": "malformed_row", "level": "row",
        "reason": "line 3: has 4 fields, expected 3 (delimiter ',')", "record": '{"text": "C2,A,2024-01-02,extra"}',
    }]
    assert list(history.complaints["complaint_id"]) == ["C1", "C3"]


def test_a_ticket_failing_a_check_is_quarantined_as_its_events_with_its_first_row(tmp_path):
    """Checks made after folding: a ticket whose events never name its client loses the
    ticket (all its events are accounted as quarantined, under its first event's row, as
    the export wrote it); a first response the export's own opening time follows costs
    only that cell."""
    export = pd.DataFrame(
        [("T1", "", "2024-01-05 08:00:00", "2024-01-05 09:00:00", "new"), ("T1", "", "", "2024-01-05 10:00:00", "solved"),
         ("T2", "Acme", "2024-01-05 12:00:00", "2024-01-05 09:30:00", "new"), ("T2", "Acme", "2024-01-05 12:00:00", "2024-01-05 11:00:00", "pending"),
         ("T2", "Acme", "2024-01-05 12:00:00", "not a time", "pending"), ("T2", "Acme", "2024-01-05 12:00:00", "2024-01-05 11:00:00", "pending")],
        columns=["Ticket ID", "Organization", "Created", "Event Time", "Status"],
    ).assign(**{"Via": "Mail", "Ticket Type": "Incident", "Priority": "high", "Group": "Tier 1", "Assignee": "ana"})
    export.to_csv(tmp_path / "ticket_events.csv", index=False)
    (tmp_path / "mine.toml").write_text('extends = "helpdesk_events"\n\n[complaints.optional_columns]\nopened_at = "Created"\n', encoding="utf-8")
    history = load_history(tmp_path / "ticket_events.csv", tmp_path / "mine.toml", now="2030-01-01")
    accounted_for(history)
    counts = history.report.counts.iloc[0]
    # events 5 (no time) and 6 (a copy of event 4) go on their own, before the fold
    assert (counts["rows_read"], counts["rows_loaded"], counts["rows_quarantined"], counts["cells_quarantined"]) == (6, 2, 4, 1)
    assert history.quarantine.set_index("row").loc[6, "reason"] == "exact duplicate of row 4"
    quarantine = history.quarantine.set_index("check")
    lost = quarantine.loc["missing_required"]  # each of the ticket's events, as the export wrote it
    assert lost["row"].tolist() == [1, 2] and set(lost["column"]) == {"client_id (Organization)"} and set(lost["level"]) == {"row"}
    assert lost["value"].tolist() == ["", ""]  # missing, shown empty
    assert [json.loads(r) for r in lost["record"]] == [
        {"complaint_id": "T1", "client_id": None, "opened_at": "2024-01-05 08:00:00", "event_at": "2024-01-05 09:00:00",
         "status": "new", "channel": "Mail", "category_raw": "Incident", "severity": "high", "team": "Tier 1", "agent": "ana"},
        {"complaint_id": "T1", "client_id": None, "opened_at": None, "event_at": "2024-01-05 10:00:00",
         "status": "solved", "channel": "Mail", "category_raw": "Incident", "severity": "high", "team": "Tier 1", "agent": "ana"}]
    cell = quarantine.loc["order"]  # shown at the event that gave the first response
    assert (cell["row"], cell["column"], cell["level"]) == (4, "first_response_at", "cell")
    assert json.loads(cell["record"]) == {"complaint_id": "T2", "client_id": "Acme", "opened_at": "2024-01-05 12:00:00", "event_at": "2024-01-05 11:00:00",
                                          "status": "pending", "channel": "Mail", "category_raw": "Incident", "severity": "high", "team": "Tier 1", "agent": "ana"}
    t2 = history.complaints.set_index("complaint_id").loc["T2"]
    assert t2["opened_at"] == pd.Timestamp("2024-01-05 12:00", tz="UTC") and pd.isna(t2["first_response_at"])


def test_a_ticket_of_an_unknown_client_is_quarantined_as_all_its_events(tmp_path):
    """A check across tables (the client is not in the clients table) moves every event of
    the ticket to the quarantine, and the counts say so."""
    (tmp_path / "clients.csv").write_text("client_id,name\nAcme,Acme Ltd\n", encoding="utf-8")
    export = pd.DataFrame([("T1", "Acme", "2024-01-05 09:00:00", "new"), ("T1", "Acme", "2024-01-05 10:00:00", "solved"),
                           ("T2", "Beta", "2024-01-05 09:00:00", "new"), ("T2", "Beta", "2024-01-05 11:00:00", "pending"),
                           ("T3", "Acme", "2024-01-06 09:00:00", "new"), ("T3", "Acme", "2024-01-06 09:30:00", "pending")], columns=COLUMNS[:4])
    export.assign(**{"Via": "Mail", "Ticket Type": "Incident", "Priority": "high", "Group": "Tier 1", "Assignee": "ana"}).to_csv(tmp_path / "ticket_events.csv", index=False)
    (tmp_path / "p.toml").write_text('extends = "helpdesk_events"\n\n[complaints]\nfiles = ["ticket_events*.csv"]\n\n[clients]\nfiles = ["clients.csv"]\n',
                                     encoding="utf-8")
    history = load_history(tmp_path, tmp_path / "p.toml", now="2030-01-01")
    accounted_for(history)
    complaints = history.report.counts.set_index("table").loc["complaints"]
    assert (complaints["rows_read"], complaints["rows_loaded"], complaints["rows_quarantined"]) == (6, 4, 2)
    assert history.quarantine["row"].tolist() == [3, 4] and set(history.quarantine["check"]) == {"unknown_reference"}
    assert history.quarantine["value"].tolist() == ["Beta", "Beta"] and set(history.quarantine["level"]) == {"row"}
    assert [json.loads(r)["status"] for r in history.quarantine["record"]] == ["new", "pending"]
    assert list(history.complaints["complaint_id"]) == ["T1", "T3"] and "_rows" not in history.complaints


def test_a_bad_optional_value_costs_its_cell_and_the_quarantine_keeps_the_row_as_written(tmp_path):
    """Row 1: a CSAT of 9 (out of range, optional) empties that cell only; row 2: the same and
    no client (required), so the row goes and its cell is not counted twice; row 3 repeats
    row 1 exactly. Records keep non-ASCII text as written, and a clean load's quarantine
    still has its columns and types."""
    path = tmp_path / "complaints.csv"
    path.write_text("complaint_id,client_id,opened_at,csat,channel\nC1,Zoë,2024-01-01,9,email\nC2,,2024-01-02,9,phone\n"
                    "C1,Zoë,2024-01-01,9,email\nC4,Zoë,2024-01-03,4,chat\n", encoding="utf-8")
    history = load_history(path, now="2030-01-01")
    accounted_for(history)
    counts = history.report.counts.iloc[0]
    assert (counts["rows_loaded"], counts["rows_quarantined"], counts["cells_quarantined"], counts["exact_duplicates"]) == (2, 2, 1, 1)
    loaded = history.complaints.set_index("complaint_id")
    assert pd.isna(loaded.loc["C1", "csat"]) and loaded.loc["C4", "csat"] == 4 and loaded.loc["C1", "channel"] == "email"
    q = history.quarantine.set_index(["row", "check"])
    assert q.loc[(1, "out_of_range"), "level"] == "cell" and q.loc[(1, "out_of_range"), "value"] == "9"
    assert json.loads(q.loc[(1, "out_of_range"), "record"])["client_id"] == "Zoë" and "Zoë" in q.loc[(1, "out_of_range"), "record"]
    assert q.loc[(2, "missing_required"), "level"] == "row" and q.loc[(3, "exact_duplicate"), "value"] == ""
    (tmp_path / "clean.csv").write_text("complaint_id,client_id,opened_at\nC1,A,2024-01-01\n", encoding="utf-8")
    clean = load_history(tmp_path / "clean.csv", now="2030-01-01").quarantine
    assert len(clean) == 0 and list(clean.columns) == ["table", "source", "row", "column", "value", "check", "level", "reason", "record"]
    assert str(clean["row"].dtype) == "int64" and str(clean["reason"].dtype) == "object"


def test_a_rejected_row_keeps_its_missing_times_as_null_in_its_record(tmp_path):
    (tmp_path / "clients.csv").write_text("client_id\nA\n", encoding="utf-8")
    (tmp_path / "complaints.csv").write_text("complaint_id,client_id,opened_at,resolved_at\nC1,A,2024-01-01,\nC2,B,2024-01-02,\n", encoding="utf-8")
    history = load_history(tmp_path, now="2030-01-01")
    accounted_for(history)
    rejected = history.quarantine.iloc[0]
    assert (rejected["row"], rejected["check"], rejected["level"]) == (2, "unknown_reference", "row")
    assert json.loads(rejected["record"])["resolved_at"] is None


def test_repeated_ids_hidden_characters_and_declared_blanks(tmp_path):
    """A second row with an id already used goes, naming the row kept; an id holding a
    zero-width character is the id without it (and said so); a cell the profile declares as
    "no value" is empty, while the same text elsewhere is kept as written."""
    path = tmp_path / "complaints.csv"
    path.write_text("complaint_id,client_id,opened_at,team\nC1,A,2024-01-01,?\nC2,B,2024-01-02,Tier ?\nC1,B,2024-01-03,Tier 1\n"
                    "C\u200b3,A,2024-01-04,Tier 2\nC4,?,2024-01-05,Tier 2\n", encoding="utf-8")
    (tmp_path / "p.toml").write_text('extends = "generic"\n\n[format]\nnull_values = ["?"]\n', encoding="utf-8")
    history = load_history(path, tmp_path / "p.toml", now="2030-01-01")
    accounted_for(history)
    q = history.quarantine.set_index("row")
    assert (q.loc[3, "check"], q.loc[3, "column"], q.loc[3, "reason"]) == ("duplicate_id", "complaint_id", "duplicate complaint_id (first seen at row 1; that row was kept)")
    assert (q.loc[5, "check"], q.loc[5, "column"]) == ("missing_required", "client_id")  # "?" declared as no value
    loaded = history.complaints.set_index("complaint_id")
    assert list(loaded.index) == ["C1", "C2", "C3"] and pd.isna(loaded.loc["C1", "team"]) and loaded.loc["C2", "team"] == "Tier ?"
    assert "complaints.csv: 1 complaint_id values held invisible zero-width characters, removed (first at row 4)" in " ".join(history.report.notes)
