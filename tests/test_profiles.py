"""Shipped profiles for the exports people have: each is tried on a file written in its
product's export layout (headers, date format, value spellings), loaded in one step, and
recognised by `client-health profile init`."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analytics.cli import app
from analytics.io import load_history

runner = CliRunner()
ROWS = 40


def _times(rng, fmt: str):
    opened = pd.Timestamp("2024-03-01 08:00") + pd.to_timedelta(rng.integers(0, 60 * 24 * 90, ROWS), unit="min")
    resolved = opened + pd.to_timedelta(rng.integers(30, 60 * 24 * 10, ROWS), unit="min")
    resolved = pd.Series(resolved.strftime(fmt)).where(np.arange(ROWS) % 5 != 0, "")  # every fifth still open
    return pd.Series(opened.strftime(fmt)), resolved


def zendesk(rng) -> pd.DataFrame:
    opened, solved = _times(rng, "%Y-%m-%d %H:%M:%S +0000")
    return pd.DataFrame({
        "Summation column": 1, "Id": np.arange(1001, 1001 + ROWS), "Requester": "Jo Doe", "Requester id": rng.integers(1, 99, ROWS),
        "Assignee": rng.choice(["Ana", "Ben"], ROWS), "Group": rng.choice(["Support", "Billing"], ROWS), "Subject": "Printer offline again",
        "Tags": "hardware", "Status": np.where(solved == "", "open", "solved"), "Priority": rng.choice(["Low", "Normal", "High", "Urgent"], ROWS),
        "Via": rng.choice(["Web form", "Email", "Phone call (incoming)", "Chat", "Twitter"], ROWS),
        "Ticket type": rng.choice(["Incident", "Problem", "Question"], ROWS), "Created at": opened, "Updated at": opened,
        "Organization": rng.choice(["Acme", "Globex", "Initech"], ROWS), "Solved at": solved,
        "Satisfaction Score": rng.choice(["Good", "Bad", "Offered", "Unoffered"], ROWS), "Reopens": rng.integers(0, 3, ROWS),
        "First reply time in minutes": rng.integers(1, 600, ROWS),
    })


def freshdesk(rng) -> pd.DataFrame:
    opened, resolved = _times(rng, "%Y-%m-%d %H:%M:%S")
    first = (pd.to_datetime(opened) + pd.Timedelta(minutes=45)).dt.strftime("%Y-%m-%d %H:%M:%S")
    return pd.DataFrame({
        "Ticket ID": np.arange(1, ROWS + 1), "Subject": "Invoice charged twice", "Status": np.where(resolved == "", "Open", "Resolved"),
        "Priority": rng.choice(["Low", "Medium", "High", "Urgent"], ROWS), "Source": rng.choice(["Email", "Portal", "Phone", "Chat", "Twitter"], ROWS),
        "Type": rng.choice(["Incident", "Question", "Problem"], ROWS), "Agent": rng.choice(["Ana", "Ben", "--"], ROWS),
        "Group": rng.choice(["Billing", "Tier 1"], ROWS), "Created time": opened, "Due by Time": opened, "Resolved time": resolved,
        "Closed time": resolved, "Last update time": opened, "Initial response time": first, "Time tracked": "00:15:00",
        "First response time (in hrs)": "0.75", "Resolution status": np.where(resolved == "", "", rng.choice(["Within SLA", "SLA Violated"], ROWS)),
        "First response status": "Within SLA", "Tags": "", "Survey results": "", "Company Name": rng.choice(["Acme", "Globex"], ROWS),
        "Full name": "Jo Doe", "Email": "jo@example.com",
    })


def jira_service_management(rng) -> pd.DataFrame:
    opened, resolved = _times(rng, "%d/%b/%y %-I:%M %p")
    return pd.DataFrame({
        "Summary": "VPN drops every hour", "Issue key": [f"SD-{k}" for k in range(1, ROWS + 1)], "Issue id": np.arange(10_000, 10_000 + ROWS),
        "Issue Type": "Incident", "Status": np.where(resolved == "", "Waiting for support", "Resolved"),
        "Priority": rng.choice(["Lowest", "Low", "Medium", "High", "Highest"], ROWS), "Resolution": np.where(resolved == "", "", "Done"),
        "Assignee": rng.choice(["ana", "ben"], ROWS), "Reporter": "jo", "Created": opened, "Updated": opened, "Resolved": resolved,
        "Custom field (Organizations)": rng.choice(["Acme", "Globex"], ROWS),
        "Custom field (Request Type)": rng.choice(["Report a system problem", "Get IT help"], ROWS),
    })


def servicenow_incidents(rng) -> pd.DataFrame:
    opened, resolved = _times(rng, "%Y-%m-%d %H:%M:%S")
    return pd.DataFrame({
        "number": [f"INC{k:07d}" for k in range(1, ROWS + 1)], "opened_at": opened, "short_description": "Email not syncing",
        "caller_id": rng.choice(["Jo Doe", "Al Roe"], ROWS), "company": rng.choice(["Acme", "Globex"], ROWS),
        "priority": rng.choice(["1 - Critical", "2 - High", "3 - Moderate", "4 - Low", "5 - Planning"], ROWS),
        "state": np.where(resolved == "", "In Progress", "Resolved"), "category": rng.choice(["Software", "Hardware", "Network"], ROWS),
        "contact_type": rng.choice(["Phone", "Email", "Self-service", "Walk-in", "Chat"], ROWS),
        "assignment_group": rng.choice(["Service Desk", "Network"], ROWS), "assigned_to": rng.choice(["Ana", "Ben", ""], ROWS),
        "sys_updated_on": opened, "resolved_at": resolved, "closed_at": resolved.where(np.arange(ROWS) % 3 == 0, ""), "reopen_count": rng.integers(0, 2, ROWS),
        "made_sla": rng.choice(["true", "false"], ROWS),
    })


def salesforce_cases(rng) -> pd.DataFrame:
    opened, closed = _times(rng, "%-m/%-d/%Y %-I:%M %p")
    return pd.DataFrame({
        "Case Owner": rng.choice(["Ana Lee", "Ben Ito"], ROWS), "Subject": "Unit stopped working", "Date/Time Opened": opened,
        "Case Number": [f"{k:08d}" for k in range(1001, 1001 + ROWS)], "Account Name": rng.choice(["Acme", "Globex", "Initech"], ROWS),
        "Status": np.where(closed == "", "Working", "Closed"), "Priority": rng.choice(["Low", "Medium", "High", "Critical"], ROWS),
        "Case Origin": rng.choice(["Phone", "Email", "Web"], ROWS), "Type": rng.choice(["Problem", "Question", "Feature Request"], ROWS),
        "Case Reason": rng.choice(["Installation", "Performance", "Breakdown", "Feedback", "New problem"], ROWS),
        "Date/Time Closed": closed, "Escalated": rng.choice(["0", "1"], ROWS), "Closed": np.where(closed == "", "0", "1"),
    })


def hubspot_tickets(rng) -> pd.DataFrame:
    opened, closed = _times(rng, "%Y-%m-%d %H:%M")
    return pd.DataFrame({
        "Ticket ID": rng.permutation(np.arange(1_000_000, 1_000_000 + ROWS)), "Ticket name": "Cannot log in",
        "Pipeline": "Support Pipeline", "Ticket status": np.where(closed == "", "Waiting on us", "Closed"), "Create date": opened,
        "Close date": closed, "Priority": rng.choice(["Low", "Medium", "High", "Urgent"], ROWS),
        "Source": rng.choice(["Chat", "Email", "Form", "Phone"], ROWS), "Ticket owner": rng.choice(["Ana Lee", "Ben Ito"], ROWS),
        "Category": rng.choice(["Product issue", "Billing issue", "General inquiry"], ROWS),
        "Associated Company": rng.choice(["Acme", "Globex"], ROWS),
    })


LAYOUTS = {"salesforce_cases": salesforce_cases, "hubspot_tickets": hubspot_tickets, "zendesk": zendesk, "freshdesk": freshdesk, "jira_service_management": jira_service_management,
           "servicenow_incidents": servicenow_incidents}


@pytest.mark.parametrize("product", LAYOUTS)
def test_a_products_export_loads_with_its_shipped_profile_in_one_step(product, tmp_path):
    export = LAYOUTS[product](np.random.default_rng(0))
    path = tmp_path / f"{product}_tickets.csv"
    export.to_csv(path, index=False)
    history = load_history(path, product, now="2030-01-01")
    c = history.complaints
    assert history.report.rows_read == ROWS == len(c) and len(history.quarantine) == 0
    assert not [n for n in history.report.notes if n.startswith("warning:")]  # no mapped column empty or all 'other'
    assert c["opened_at"].notna().all() and c["resolved_at"].notna().sum() == ROWS - ROWS // 5
    assert (c["resolved_at"] >= c["opened_at"]).fillna(True).all()
    assert c["severity"].between(1, 4).all() and c["client_id"].nunique() >= 2
    if "channel" in history.report.coverage["column"].tolist():
        assert c["channel"].isin(["web", "email", "phone", "chat", "social_public", "in_person"]).all()
    if product == "zendesk":
        rated = export["Satisfaction Score"].isin(["Good", "Bad"]).to_numpy()
        assert c["csat"].notna().to_numpy().tolist() == rated.tolist() and set(c["csat"].dropna()) <= {1, 5}
    if product == "freshdesk":
        assert c["first_response_at"].notna().all() and c["sla_met"].notna().sum() == ROWS - ROWS // 5


@pytest.mark.parametrize("product", LAYOUTS)
def test_profile_init_recognises_the_product(product, tmp_path):
    path = tmp_path / "export.csv"
    LAYOUTS[product](np.random.default_rng(1)).to_csv(path, index=False)
    draft = tmp_path / "draft.toml"
    assert runner.invoke(app, ["profile", "init", str(path), "--out", str(draft)]).exit_code == 0
    assert f'extends = "{product}"' in draft.read_text(encoding="utf-8")
    assert len(load_history(path, draft, now="2030-01-01").complaints) == ROWS


def test_intercom_conversations_and_their_parts_load_in_one_step_with_handling_read(tmp_path):
    """Intercom's flattened API layout: Unix-second times, HTML bodies, author types; no
    practice or tone columns, so both are read from the parts' words."""
    start = int(pd.Timestamp("2024-03-01", tz="UTC").timestamp())
    conversations = pd.DataFrame({
        "id": ["101", "102", "103"], "company_id": ["c1", "c1", "c2"], "created_at": [start, start + 3600, start + 7200],
        "statistics_first_admin_reply_at": [start + 600, start + 4200, None], "statistics_last_close_at": [start + 86400, None, None],
        "priority": ["priority", "not_priority", "urgent"], "source_type": ["conversation", "twitter", "email"],
        "source_body": ["<p>The export failed again</p>", "<p>@brand your app is down</p>", "<p>Invoice question</p>"],
        "conversation_rating_rating": [4, None, None], "team_assignee_id": ["t1", "t2", None], "admin_assignee_id": ["a1", "a2", None],
    })
    parts = pd.DataFrame({
        "id": ["p1", "p2", "p3", "p4", "p5"], "conversation_id": ["101", "101", "101", "102", "102"],
        "created_at": [start + 600, start + 3000, start + 5000, start + 4200, start + 5000],
        "author_type": ["admin", "user", "admin", "admin", "user"],
        "body": ["<p>I&#39;m so sorry about this. You&#39;ll have a fix by Friday.</p>", "<p>Still waiting. This is unacceptable!!</p>",
                 "<p>Just checking in: is everything working now?</p>", "<p>Sorry to hear that! Please DM us your account email.</p>",
                 "<p>Thanks, sent.</p>"],
    })
    conversations.to_csv(tmp_path / "conversations.csv", index=False)
    parts.to_csv(tmp_path / "conversation_parts.csv", index=False)
    history = load_history(tmp_path, "intercom", now="2030-01-01")
    assert len(history.quarantine) == 0 and len(history.complaints) == 3 and len(history.interactions) == 5
    c = history.complaints.set_index("complaint_id")
    assert c.loc["101", "opened_at"] == pd.Timestamp("2024-03-01", tz="UTC")
    assert c.loc["101", "resolved_at"] == pd.Timestamp("2024-03-02", tz="UTC")
    assert c["channel"].tolist() == ["chat", "social_public", "email"] and c["severity"].tolist() == [3, 2, 4]
    assert c.loc["101", "apologized"] and c.loc["101", "set_expectations"] and c.loc["101", "followed_up"]
    assert c.loc["102", "moved_private"] and pd.isna(c.loc["101", "moved_private"])  # only a public complaint moves private
    assert pd.isna(c.loc["103", "apologized"])  # no reply at all: nothing to read
    tone = history.interactions.set_index("interaction_id")["tone"]
    assert tone["p2"] == "angry" and tone["p5"] == "calm" and tone[["p1", "p3", "p4"]].isna().all()
