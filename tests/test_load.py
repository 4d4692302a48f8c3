"""Loading the sample, the real CFPB export and other layouts, with every row accounted for."""

import csv

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.features import data_end
from analytics.io import History, ValidationFailed, load_history
from analytics.schemas import Clients, Complaints, Interactions


def accounted_for(history: History) -> None:
    """Rows read = rows loaded + rows quarantined, per table and source, and in the tables."""
    counts = history.report.counts
    assert (counts["rows_read"] == counts["rows_loaded"] + counts["rows_quarantined"]).all()
    # rows set aside (a bad value in an optional column costs only its cell, and the row loads)
    rows = history.quarantine.loc[history.quarantine["level"] == "row"]
    quarantined = rows.groupby(["table", "source"])["row"].nunique()
    for row in counts.itertuples():
        assert quarantined.get((row.table, row.source), 0) == row.rows_quarantined
    by_table = counts.groupby("table")["records"].sum()
    for table, loaded in by_table.items():
        assert len(getattr(history, table)) == loaded


def test_sample_loads_clean_and_matches_the_schemas(sample_history):
    accounted_for(sample_history)
    assert sample_history.quarantine.empty
    from analytics.sample._export import SAMPLE_CLIENTS

    assert len(sample_history.clients) == SAMPLE_CLIENTS
    assert 10_000 < len(sample_history.complaints) < 16_000
    Clients.validate(sample_history.clients)
    Complaints.validate(sample_history.complaints)
    Interactions.validate(sample_history.interactions)
    assert str(sample_history.complaints["opened_at"].dtype) == "timestamp[us, tz=UTC][pyarrow]"


def test_real_cfpb_export_is_fully_accounted_for(cfpb_path):
    history = load_history(cfpb_path, "cfpb")
    accounted_for(history)
    counts = history.report.counts.iloc[0]
    assert counts["rows_read"] == 20_000
    assert counts["rows_loaded"] + counts["rows_quarantined"] == 20_000
    assert counts["exact_duplicates"] == 23 == counts["rows_quarantined"]
    assert len(history.clients) == 1_196 and history.clients_derived
    disputed = history.complaints["disputed"].dropna()
    assert round(float(disputed.mean()), 3) == 0.204
    assert set(history.complaints["channel"].dropna()) <= {"web", "phone", "email", "other"}
    assert history.report.unmapped.empty  # every channel and response is mapped by the profile
    assert {"sub_product", "state", "zip_code"} <= set(history.complaints.columns)  # extra columns kept


def test_official_18_column_cfpb_layout_loads_with_the_same_profile(cfpb_path, tmp_path):
    real = pd.read_csv(cfpb_path, dtype=str, nrows=300)
    official = pd.DataFrame({
        "Date received": pd.to_datetime(real["Date received"]).dt.strftime("%m/%d/%Y"),
        "Product": real["Product"],
        "Sub-product": real["Sub-product"],
        "Issue": ["Billing disputes", "Communication tactics", "Incorrect information on your report"] * 100,
        "Sub-issue": None,
        "Consumer complaint narrative": "I was charged twice, call me at 555-123-4567",
        "Company public response": None,
        "Company": real["Company"],
        "State": real["State"],
        "ZIP code": real["ZIP code"],
        "Tags": None,
        "Consumer consent provided?": real["Consumer consent provided?"],
        "Submitted via": real["Submitted via"],
        "Date sent to company": real["Date received"],
        "Company response to consumer": real["Company response to consumer"],
        "Timely response?": real["Timely response?"].map({"1": "Yes", "0": "No"}),
        "Consumer disputed?": real["Consumer disputed?"].map({"1": "Yes", "0": "No"}),
        "Complaint ID": [str(1_000_000 + i) for i in range(300)],
    })
    path = tmp_path / "complaints.csv"
    official.to_csv(path, index=False)
    history = load_history(path, "cfpb")
    accounted_for(history)
    assert len(history.complaints) == 300
    assert history.complaints["complaint_id"].iloc[0] == "1000000"
    assert list(history.complaints["trigger"][:3]) == ["billing", "poor_communication", "technical_failure"]
    assert history.complaints["disputed"].notna().sum() == real["Consumer disputed?"].notna().sum()
    assert history.complaints["opened_at"].iloc[0].strftime("%Y-%m-%d") == real["Date received"].iloc[0]


def test_excel_workbook_with_a_sheet_per_table(sample_history, tmp_path):
    path = tmp_path / "export.xlsx"
    clients = sample_history.clients.head(20)
    complaints = sample_history.complaints.loc[sample_history.complaints["client_id"].isin(clients["client_id"])]
    with pd.ExcelWriter(path) as writer:
        for name, frame in (("Clients", clients), ("Complaints", complaints)):
            frame.astype(str).replace({"<NA>": "", "NaT": "", "nan": ""}).to_excel(writer, sheet_name=name, index=False)
    history = load_history(path)
    accounted_for(history)
    assert history.quarantine.empty
    assert len(history.complaints) == len(complaints)
    pd.testing.assert_series_equal(history.complaints["opened_at"], complaints["opened_at"].reset_index(drop=True))


def test_single_complaints_file_derives_clients(sample_history, tmp_path):
    path = tmp_path / "tickets.csv"
    sample_history.complaints.head(500).to_csv(path, index=False)
    history = load_history(path)
    accounted_for(history)
    assert history.clients_derived
    assert set(history.clients["client_id"]) == set(sample_history.complaints.head(500)["client_id"])
    canonical = list(Complaints.to_schema().columns)
    pd.testing.assert_frame_equal(history.complaints[canonical], sample_history.complaints.head(500)[canonical])


def test_parquet_round_trip_keeps_everything(sample_history, tmp_path):
    sample_history.save(tmp_path / "saved")
    again = History.read(tmp_path / "saved")
    for table in ("clients", "complaints", "interactions"):
        pd.testing.assert_frame_equal(getattr(again, table), getattr(sample_history, table))
    assert again.report.counts.equals(sample_history.report.counts)


def test_as_of_knows_only_the_past(sample_history):
    moment = pd.Timestamp("2024-06-30", tz="UTC")
    past = sample_history.as_of(moment)
    assert (past.complaints["opened_at"] < moment).all()
    for column in ("first_response_at", "resolved_at", "closed_at"):
        assert not (past.complaints[column] >= moment).any()
    open_then = past.complaints["resolved_at"].isna()
    assert past.complaints.loc[open_then, ["csat", "disputed", "resolution"]].isna().all().all()
    assert not (past.clients["contract_start"] >= moment).any()
    assert set(past.clients["status"]) <= {"active", "churned", "ended_by_us"}
    assert not (past.clients["ended_at"] >= moment).any()
    assert (past.interactions["at"] < moment).all()


def test_strict_raises_one_error_listing_every_failure(tmp_path):
    path = tmp_path / "complaints.csv"
    path.write_text(
        "complaint_id,client_id,opened_at,severity\n"
        "C1,A,2024-01-01,2\nC2,A,nonsense,2\nC3,A,2024-01-02,9\nC4,,2024-01-03,1\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as error:
        load_history(path, strict=True)
    message = str(error.value)
    assert "2 of 4 rows failed validation, and 1 values in optional columns (3 problems)" in message
    for fragment in ("row 2, column opened_at", "row 3, column severity", "row 4, column client_id"):
        assert fragment in message
    assert len(error.value.quarantine) == 3


def test_helpdesk_event_log_is_folded_into_tickets(tmp_path):
    events = pd.DataFrame(
        [
            ("T1", "Acme", "2024-03-01 09:00:00", "new", "Web form", "Incident", "high", "Tier 1", "ana", "outage"),
            ("T1", "Acme", "2024-03-01 10:30:00", "pending", "Web form", "Incident", "high", "Tier 1", "ana", "outage"),
            ("T1", "Acme", "2024-03-02 12:00:00", "solved", "Web form", "Incident", "urgent", "Tier 1", "ana", "outage"),
            ("T1", "Acme", "2024-03-03 08:00:00", "open", "Web form", "Incident", "urgent", "Tier 2", "bo", "outage"),
            ("T1", "Acme", "2024-03-04 17:00:00", "solved", "Web form", "Incident", "urgent", "Tier 2", "bo", "outage"),
            ("T2", "Beta", "2024-03-05 09:00:00", "new", "Twitter", "Question", "low", "Social", "cy", "no reply"),
            ("T2", "Beta", "not a time", "pending", "Twitter", "Question", "low", "Social", "cy", "no reply"),
            ("T3", "Beta", "2024-03-06 09:00:00", "new", "Mail", "Question", "normal", "Billing", "di", "invoice"),
        ],
        columns=["Ticket ID", "Organization", "Event Time", "Status", "Via", "Ticket Type", "Priority", "Group", "Assignee", "Reason"],
    )
    path = tmp_path / "ticket_events.csv"
    events.to_csv(path, index=False)
    history = load_history(path, "helpdesk_events")
    accounted_for(history)
    tickets = history.complaints.set_index("complaint_id")
    assert list(tickets.index) == ["T1", "T2", "T3"]
    t1 = tickets.loc["T1"]
    assert t1["opened_at"] == pd.Timestamp("2024-03-01 09:00", tz="Europe/London")
    assert t1["first_response_at"] == pd.Timestamp("2024-03-01 10:30", tz="Europe/London")
    assert t1["resolved_at"] == pd.Timestamp("2024-03-04 17:00", tz="Europe/London")
    assert t1["reopen_count"] == 1 and t1["severity"] == 4 and t1["team"] == "Tier 2"
    assert t1["trigger"] == "technical_failure" and t1["channel"] == "web"
    assert tickets.loc["T2", "channel"] == "social_public" and pd.isna(tickets.loc["T2", "resolved_at"])
    assert history.quarantine["reason"].str.contains("not a valid date").sum() == 1
    assert history.report.counts.iloc[0]["rows_read"] == 8


JUNK = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(JUNK, JUNK, JUNK, JUNK, JUNK, JUNK), min_size=1, max_size=30))
def test_arbitrary_junk_rows_are_loaded_or_quarantined_never_lost(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("junk") / "complaints.csv"
    frame = pd.DataFrame(rows, columns=["complaint_id", "client_id", "opened_at", "severity", "channel", "disputed"])
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)  # quoted, a stray "\r" is a value, not a line break
    try:
        history = load_history(path, now="2026-01-01")
    except Exception as error:  # only a clear, file-level error is acceptable
        from analytics.io import LoadError

        assert isinstance(error, LoadError), repr(error)
        return
    accounted_for(history)
    assert history.report.rows_read == len(rows)


def test_validate_says_when_a_provided_column_gives_nothing(tmp_path):
    """A profile that maps a column onto an empty export column, or values the taxonomy does
    not know, loads every row; the report says so instead of staying silent."""
    (tmp_path / "complaints.csv").write_text(
        "Ticket,Account,Created,Outcome,Reason\n"
        "T1,A,2024-01-01,,Late parcel\nT2,B,2024-01-02,,Wrong size\nT3,C,2024-01-03,,Late parcel\n", encoding="utf-8")
    (tmp_path / "profile.toml").write_text(
        '[complaints.columns]\ncomplaint_id = "Ticket"\nclient_id = "Account"\nopened_at = "Created"\nresolution = "Outcome"\ntrigger = "Reason"\n',
        encoding="utf-8")
    history = load_history(tmp_path / "complaints.csv", tmp_path / "profile.toml")
    assert history.report.rows_read == 3 == len(history.complaints)
    coverage = history.report.coverage.set_index("column")
    assert coverage.loc["resolution", "filled"] == 0 and coverage.loc["trigger", "other"] == 1 and coverage.loc["client_id", "filled"] == 1
    warnings = [n for n in history.report.notes if n.startswith("warning:")]
    assert warnings == [
        "warning: complaints.resolution is empty in every loaded row: check which export column the profile maps onto it",
        "warning: complaints.trigger is 'other' in every loaded row: map the export's values in [complaints.values.trigger] "
        "(the unmapped values are listed in the load report)",
    ]
    assert "Columns the export provides" in history.report.to_html()


def test_an_event_log_keeps_the_opening_time_its_export_provides(tmp_path):
    """The export's own creation time wins over the first event's (which may be a later triage)."""
    events = pd.DataFrame(
        [("T1", "Acme", "2024-03-01 08:15:00", "2024-03-01 09:00:00", "new"), ("T1", "Acme", "2024-03-01 08:15:00", "2024-03-01 10:30:00", "pending"),
         ("T1", "Acme", "2024-03-01 08:15:00", "2024-03-02 12:00:00", "solved"), ("T2", "Beta", "", "2024-03-05 09:00:00", "new")],
        columns=["Ticket ID", "Organization", "Created", "Event Time", "Status"],
    )
    events = events.assign(**{"Via": "Mail", "Ticket Type": "Incident", "Priority": "high", "Group": "Tier 1", "Assignee": "ana"})
    events.to_csv(tmp_path / "ticket_events.csv", index=False)
    (tmp_path / "mine.toml").write_text('extends = "helpdesk_events"\n\n[complaints.optional_columns]\nopened_at = "Created"\n', encoding="utf-8")
    history = load_history(tmp_path / "ticket_events.csv", tmp_path / "mine.toml")
    tickets = history.complaints.set_index("complaint_id")
    assert tickets.loc["T1", "opened_at"] == pd.Timestamp("2024-03-01 08:15", tz="Europe/London")  # the export's
    assert tickets.loc["T2", "opened_at"] == pd.Timestamp("2024-03-05 09:00", tz="Europe/London")  # none given: the first event
    assert tickets.loc["T1", "first_response_at"] == pd.Timestamp("2024-03-01 10:30", tz="Europe/London")


def test_a_servicenow_incident_event_log_loads_with_its_shipped_profile(tmp_path):
    """The layout of ServiceNow's incident audit export: '?' for empty, day-first dates,
    priorities like '3 - Moderate', one row per update of an incident."""
    updates = [
        ("INC0000045", "New", "Caller 2403", "29/2/2016 01:16", "29/2/2016 01:23", "?", "?", "Phone", "Category 55", "3 - Moderate", "Group 56", "?", "true"),
        ("INC0000045", "Active", "Caller 2403", "29/2/2016 01:16", "29/2/2016 08:53", "?", "?", "Phone", "Category 55", "3 - Moderate", "Group 56", "Resolver 89", "true"),
        ("INC0000045", "Resolved", "Caller 2403", "29/2/2016 01:16", "29/2/2016 11:29", "29/2/2016 11:29", "?", "Phone", "Category 55", "3 - Moderate", "Group 56", "Resolver 89", "true"),
        ("INC0000045", "Closed", "Caller 2403", "29/2/2016 01:16", "5/3/2016 12:00", "29/2/2016 11:29", "5/3/2016 12:00", "Phone", "Category 55", "3 - Moderate", "Group 56", "Resolver 89", "true"),
        ("INC0000047", "New", "Caller 2403", "29/2/2016 04:40", "29/2/2016 04:57", "?", "?", "Self service", "Category 40", "1 - Critical", "Group 70", "?", "false"),
        ("INC0000047", "Active", "Caller 2403", "29/2/2016 04:40", "13/3/2016 06:43", "?", "20/3/2016 09:00", "Self service", "Category 40", "1 - Critical", "Group 70", "Resolver 31", "false"),
    ]
    columns = ["number", "incident_state", "caller_id", "opened_at", "sys_updated_at", "resolved_at", "closed_at", "contact_type", "category",
               "priority", "assignment_group", "assigned_to", "made_sla"]
    pd.DataFrame(updates, columns=columns).to_csv(tmp_path / "incident_event_log.csv", index=False)
    history = load_history(tmp_path / "incident_event_log.csv", "servicenow_incident_events", now="2030-01-01")
    assert history.report.rows_read == 6 and len(history.quarantine) == 0
    incidents = history.complaints.set_index("complaint_id")
    closed, open_ = incidents.loc["INC0000045"], incidents.loc["INC0000047"]
    assert closed["opened_at"] == pd.Timestamp("2016-02-29 01:16", tz="UTC") and closed["resolved_at"] == pd.Timestamp("2016-02-29 11:29", tz="UTC")
    assert closed["first_response_at"] == pd.Timestamp("2016-02-29 08:53", tz="UTC") and closed["closed_at"] == pd.Timestamp("2016-03-05 12:00", tz="UTC")
    assert (closed["severity"], closed["channel"], closed["agent"], bool(closed["sla_met"])) == (2, "phone", "Resolver 89", True)
    assert pd.isna(open_["resolved_at"]) and open_["severity"] == 4 and open_["channel"] == "web"
    # the export's last event, not a later date one of its columns carries, is where the data ends
    assert history.seen_until == pd.Timestamp("2016-03-13 06:43", tz="UTC") == data_end(history)
    assert data_end(history.as_of("2016-03-01")) == pd.Timestamp("2016-03-01", tz="UTC")
    assert History.read(history.save(tmp_path / "saved")).seen_until == history.seen_until


def test_a_profile_parses_only_the_columns_it_maps(tmp_path):
    """An export header named like a canonical column ('resolved_at', holding '?' here) is
    not parsed when the profile maps columns and leaves it out: it is kept as written, and
    no row is lost over it. With a profile that maps nothing, canonical headers are used."""
    (tmp_path / "complaints.csv").write_text(
        "Ticket,Account,Created,resolved_at,severity\n"
        "T1,A,2024-01-01,?,urgent\nT2,B,2024-01-02,2024-01-03,3\n", encoding="utf-8")
    (tmp_path / "profile.toml").write_text('[complaints.columns]\ncomplaint_id = "Ticket"\nclient_id = "Account"\nopened_at = "Created"\n',
                                           encoding="utf-8")
    history = load_history(tmp_path / "complaints.csv", tmp_path / "profile.toml")
    assert history.report.rows_read == 2 == len(history.complaints) and history.report.cells_quarantined == 0
    c = history.complaints
    assert c["resolved_at"].isna().all() and c["severity"].isna().all()  # not mapped: not read
    assert c["export_resolved_at"].tolist() == ["?", "2024-01-03"] and c["export_severity"].astype(str).tolist() == ["urgent", "3"]

    (tmp_path / "canonical.csv").write_text("complaint_id,client_id,opened_at,resolved_at\nT1,A,2024-01-01,2024-01-02\n", encoding="utf-8")
    assert load_history(tmp_path / "canonical.csv", "generic").complaints["resolved_at"].notna().all()


def test_quality_tables_say_when_there_is_nothing_to_show_and_when_they_are_cut(sample_history, cfpb_path):
    from analytics.quality import completeness_table, quarantine_table

    assert "No problems found" in quarantine_table(sample_history).data
    real = load_history(cfpb_path, "cfpb")
    cut = quarantine_table(real, top=5).to_html()
    assert f"the first 5 of {len(real.quarantine):,} problems" in cut
    assert "recorded" in completeness_table(real).to_html()
