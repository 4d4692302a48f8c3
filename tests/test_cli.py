"""The client-health command, as a user runs it."""

import re
import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from analytics.cli import app
from analytics.io import History, load_history
from tests.conftest import ROOT, SAMPLE

runner = CliRunner()


def test_validate_prints_the_report_and_writes_the_quarantine(tmp_path):
    quarantine = tmp_path / "q.csv"
    result = runner.invoke(app, ["validate", "tests/broken/severity_out_of_range", "--quarantine", str(quarantine), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "Load report" in result.output and "out_of_range" in result.output
    rows = pd.read_csv(quarantine)
    assert rows[["row", "column", "check"]].values.tolist() == [[2, "severity", "out_of_range"]]
    assert "Load report" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_strict_validate_exits_non_zero_when_anything_failed(tmp_path):
    failing = runner.invoke(app, ["validate", "tests/broken/severity_out_of_range", "--strict", "--quarantine", str(tmp_path / "q.csv")])
    assert failing.exit_code == 1
    clean = runner.invoke(app, ["validate", str(SAMPLE), "--strict", "--quarantine", str(tmp_path / "q2.csv")])
    assert clean.exit_code == 0, clean.output


def test_file_level_error_is_one_clear_line_and_exit_code_2(tmp_path):
    result = runner.invoke(app, ["validate", "tests/broken/missing_columns", "--quarantine", str(tmp_path / "q.csv")])
    assert result.exit_code == 2
    assert "required column(s) missing for the complaints table" in result.output and "open_date" in result.output
    assert "Traceback" not in result.output


def test_profile_init_drafts_a_usable_profile_for_the_real_cfpb_export(cfpb_path, tmp_path):
    draft = tmp_path / "draft.toml"
    result = runner.invoke(app, ["profile", "init", str(cfpb_path), "--out", str(draft)])
    assert result.exit_code == 0, result.output
    text = draft.read_text(encoding="utf-8")
    assert 'extends = "cfpb"' in text and "[complaints.columns]" not in text  # the shipped profile fits as it is
    from analytics.io import load_history

    history = load_history(cfpb_path, draft)
    assert history.report.rows_read == 20_000 and history.report.rows_quarantined == load_history(cfpb_path, "cfpb").report.rows_quarantined


def test_profile_init_takes_a_renamed_export_to_a_working_profile_in_one_step(cfpb_path, tmp_path):
    from analytics.io import load_history

    renames = {"Date received": "DateReceived", "Company": "CompanyName", "Consumer disputed?": "ConsumerDisputedSts",
               "Company response to consumer": "CompanyResponse"}
    export = tmp_path / "renamed.csv"
    pd.read_csv(cfpb_path, dtype=str, keep_default_na=False).head(3000).rename(columns=renames).to_csv(export, index=False)
    assert runner.invoke(app, ["profile", "init", str(export), "--out", str(tmp_path / "draft.toml")]).exit_code == 0
    text = (tmp_path / "draft.toml").read_text(encoding="utf-8")
    assert 'extends = "cfpb"' in text and 'opened_at = "DateReceived"' in text and 'resolution = "CompanyResponse"' in text
    history = load_history(export, tmp_path / "draft.toml")
    assert history.report.rows_read == 3000 and history.complaints["resolution"].notna().all()
    assert not [n for n in history.report.notes if n.startswith("warning:")]


def test_profile_init_recognises_an_event_log_its_dates_and_its_missing_marker(tmp_path):
    """An incident event log in the ServiceNow layout: ids repeat with a state, dates are
    day-month-year, '?' means empty, priorities are '3 - Moderate'."""
    from analytics.io import load_history

    rows = []
    for ticket in range(60):
        opened = pd.Timestamp("2024-01-01 08:00") + pd.Timedelta(hours=37 * ticket)
        for step, state in enumerate(["New", "In Progress", "Resolved", "Closed"][: 2 + ticket % 3]):
            at = opened + pd.Timedelta(hours=5 * step)
            rows.append({"number": f"INC{ticket:07d}", "company": f"Co {ticket % 7}", "incident_state": state,
                         "sys_updated_on": f"{at:%d-%m-%Y %H:%M}", "opened_at": f"{opened:%d-%m-%Y %H:%M}",
                         "resolved_at": f"{at:%d-%m-%Y %H:%M}" if state == "Resolved" else "?",
                         "priority": ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"][ticket % 4],
                         "contact_type": ["Phone", "Email", "Self service"][ticket % 3], "assigned_to": "?" if step == 0 else f"agent {ticket % 5}"})
    export = tmp_path / "incident_event_log.csv"
    pd.DataFrame(rows).to_csv(export, index=False)
    assert runner.invoke(app, ["profile", "init", str(export), "--out", str(tmp_path / "draft.toml")]).exit_code == 0
    text = (tmp_path / "draft.toml").read_text(encoding="utf-8")
    for line in ('null_values = ["?"]', 'format = "%d-%m-%Y %H:%M"', "[complaints.events]", 'resolved = ["resolved"]', '"3 - Moderate" = "2"', '"1 - Critical" = "4"',
                 '"Self service" = "web"'):
        assert line in text, line
    history = load_history(export, tmp_path / "draft.toml", now="2030-01-01")
    assert history.report.rows_read == len(rows) and len(history.quarantine) == 0 and len(history.complaints) == 60
    first = history.complaints.set_index("complaint_id").loc["INC0000002"]
    assert first["opened_at"] == pd.Timestamp("2024-01-04 10:00", tz="UTC") and first["resolved_at"] == pd.Timestamp("2024-01-04 20:00", tz="UTC")
    assert first["severity"] == 2 and first["channel"] == "web"  # "3 - Moderate": the second least severe of four


def test_installed_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "analytics", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "validate" in result.stdout


def _client_health(*arguments, **options):
    return subprocess.run([sys.executable, "-m", "analytics", *map(str, arguments)], capture_output=True, text=True, timeout=600, **options)


def test_an_unusable_output_is_refused_at_once_without_a_traceback(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for arguments, expected in (
        (["report", "quarterly", "--out", a_file], "is a file, not a folder"),
        (["report", "quarterly", "--out", "/proc/client-health"], "cannot write into /proc/client-health"),
        (["validate", SAMPLE, "--quarantine", "/proc/client-health/q.csv"], "cannot write into /proc/client-health"),
        (["validate", SAMPLE, "--quarantine", "/dev/full"], "cannot write /dev/full: No space left on device"),
        (["profile", "init", ROOT / "tests/broken/nul_byte_inside/complaints.csv"], "line 3 holds a NUL byte"),
        (["sample", "--out", "/proc/client-health", "--clients", "50"], "/proc/client-health"),
    ):
        done = _client_health(*arguments)
        assert done.returncode != 0 and expected in done.stderr, (arguments, done.stderr[-2000:])
        assert "Traceback" not in done.stderr + done.stdout


def test_report_inputs_are_checked_before_a_kernel_starts(tmp_path):
    """Each error names what was wrong and what would do, and no report (nor kernel) is made."""
    for arguments, expected in (
        (["report", "quarterly", "--cutoff", "2030-01-01"], "outside the data, which runs from 2023-01-01 to 2025-12-31"),
        (["report", "quarterly", "--cutoff", "2022-06-30"], "outside the data"),
        (["report", "quarterly", "--cutoff", "the end of June"], "write it as YYYY-MM-DD or a quarter such as 2025Q4"),
        (["report", "review", "--cutoff", "01/02/2025"], "is not a date; write it as YYYY-MM-DD"),  # January or February?
        (["actions", "--cutoff", "31/12/2025"], "is not a date; write it as YYYY-MM-DD"),
        (["actions", "--cutoff", "2031-01-01"], "outside the data, which runs from 2023-01-01 to 2025-12-31"),
        (["report", "review", "--client", "CL999999"], "no such client in the data (3,000 clients); close: CL000999"),
        (["report", "quarterly", "--client", "CL000001"], "the quarterly report does not take --client; it takes --source, --profile, --cutoff"),
        (["report", "quality", "--cutoff", "2025-01-01"], "the quality report does not take --cutoff"),
        (["report", "quarterly", "--engine", "snowflake"], "--engine must be duckdb or spark, not 'snowflake'"),
        (["report", "quality", "--engine", "spark"], "the quality report does not take --engine; it takes --source, --profile"),
    ):
        done = _client_health(*arguments, "--out", tmp_path)
        assert done.returncode == 2 and expected in done.stderr, (arguments, done.stderr[-2000:])
        assert "Traceback" not in done.stderr and "Executing" not in done.stderr and not list(tmp_path.iterdir())


def test_a_client_id_in_another_case_is_the_data_s_own():
    from analytics.cli import _checked_inputs

    assert _checked_inputs("review", {"client_id": "cl000001"}) == {"client_id": "CL000001"}
    assert _checked_inputs("quarterly", {"cutoff": "2025Q3"}) == {}


def test_a_killed_report_run_leaves_no_scratch_notebook_kernel_or_partial_file(tmp_path):
    import os
    import signal
    import time

    scratch, out = tmp_path / "tmp", tmp_path / "out"
    scratch.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "analytics", "report", "quarterly", "--out", str(out)], env={**os.environ, "TMPDIR": str(scratch)},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(scratch.rglob("kernel.json")) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    assert list(scratch.rglob("kernel.json"))  # the run was under way (the executed notebook is written only at the end)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=60)
    time.sleep(1)
    assert run.returncode != 0
    assert list(scratch.iterdir()) == []  # scratch notebook and connection file gone
    assert [p.name for p in out.iterdir()] == []  # no report, no hidden .partial
    import psutil

    assert not [p for p in psutil.process_iter(["cmdline"]) if any(str(scratch) in part for part in p.info["cmdline"] or [])]


def test_a_report_takes_a_profile_path_relative_to_the_callers_folder(cfpb_path, tmp_path):
    (tmp_path / "mine.toml").write_text('extends = "cfpb"\n', encoding="utf-8")
    done = _client_health("report", "quality", "--source", cfpb_path, "--profile", "mine.toml", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Read from complaints.csv with the mine profile." in (tmp_path / "out" / "quality.html").read_text(encoding="utf-8")
    for arguments, expected in ((["--profile", "nope.toml"], "profile file"), (["--profile", "cfbp"], "no profile named 'cfbp'"),
                                (["--source", "no-such-folder"], "no-such-folder: no such file or folder")):
        failed = _client_health("report", "quality", *arguments, cwd=tmp_path)
        assert failed.returncode == 2 and expected in failed.stderr and "Traceback" not in failed.stderr


def test_an_option_a_report_does_not_take_is_refused_before_the_data_stack_loads():
    """The error comes in about a second: neither the loaders nor nbformat (whose schema
    checks alone take 1.5 s to import) are needed to say which options a report takes."""
    code = ("import sys\nfrom analytics.cli import _options_taken\ntry:\n    _options_taken('quarterly', {'client_id': 'x'})\n"
            "except ValueError as error:\n    print(error)\nprint(sorted(m for m in ('nbformat', 'analytics.io', 'duckdb') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["the quarterly report does not take --client; it takes --source, --profile, --cutoff, --engine", "[]"]


def test_the_weekly_actions_run_writes_the_list_and_the_open_complaints(tmp_path):
    result = runner.invoke(app, ["actions", "--cutoff", "2025-10-01", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["actions-2025-10-01.csv", "actions-2025-10-01.xlsx", "open-complaints-2025-10-01.csv"]
    advised = pd.read_csv(tmp_path / "open-complaints-2025-10-01.csv")
    counted = re.search(r"([\d,]+) open complaints, ([\d,]+) with a practice that reliably helps", result.output)
    assert int(counted[1].replace(",", "")) == len(advised)
    reliable = ~advised["practice to add (measured here)"].str.startswith("No practice")
    assert int(counted[2].replace(",", "")) == reliable.sum()
    assert set(pd.to_datetime(advised["opened"])) and pd.to_datetime(advised["opened"]).max() < pd.Timestamp("2025-10-01")


def test_the_quarterly_report_on_spark_gives_the_same_action_list_quietly_from_a_saved_history_at_a_url_too_and_the_workshop_runs_there(tmp_path):
    import pytest

    from tests.conftest import need_debian_package

    need_debian_package("/usr/lib/jvm/*/bin/java", "openjdk-17-jre-headless")
    pytest.importorskip("pyspark", reason="pyspark is installed by the test extra")
    lists = {}
    # the last: a saved history at a URL, as a cluster reads shared storage, which stays there
    saved = load_history(SAMPLE).save(tmp_path / "saved").as_uri()
    for name, engine, source in (("duckdb", "duckdb", []), ("spark", "spark", []), ("stored", "spark", ["--source", saved])):
        done = _client_health("report", "quarterly", "--engine", engine, *source, "--cutoff", "2025Q3", "--out", tmp_path / name)
        assert done.returncode == 0, done.stderr[-3000:]
        # Spark's notes stay off the terminal (Java's own one line on its incubator modules cannot be turned off)
        assert not re.search(r" (WARN|INFO) ", done.stderr) and "log level" not in done.stderr and "log4j" not in done.stderr
        lists[name] = pd.read_csv(tmp_path / name / "quarterly-2025Q3-actions.csv")
    pd.testing.assert_frame_equal(lists["duckdb"], lists["spark"])
    pd.testing.assert_frame_equal(lists["duckdb"], lists["stored"])
    # the workshop too reads the saved history where it is, on the report's engine
    done = _client_health("report", "workshop", "--engine", "spark", "--source", saved, "--out", tmp_path / "workshop")
    assert done.returncode == 0 and not re.search(r" (WARN|INFO) ", done.stderr), done.stderr[-3000:]
    page = (tmp_path / "workshop" / "workshop-2025-12-27.html").read_text(encoding="utf-8")
    assert "13,119 complaints opened from 2023-01-01 to 2025-12-27." in page and "Handling cost $" in page


def test_validate_checks_a_parquet_folder_in_the_engine_and_writes_the_checked_history(tmp_path):
    checked = tmp_path / "checked"
    result = runner.invoke(app, ["validate", str(SAMPLE), "--into", str(checked), "--quarantine", str(tmp_path / "q.csv"), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert "checked in duckdb and written from there" in result.output and "13,119" in result.output
    assert History.read(checked).complaints.equals(load_history(SAMPLE).complaints)
    in_engine = runner.invoke(app, ["validate", str(SAMPLE), "--engine", "duckdb", "--quarantine", str(tmp_path / "q2.csv")])
    assert in_engine.exit_code == 0 and "checked in duckdb." in in_engine.output
    wrong = runner.invoke(app, ["validate", str(SAMPLE), "--engine", "postgres", "--quarantine", str(tmp_path / "q3.csv")])
    assert wrong.exit_code == 2 and "--engine must be duckdb or spark" in wrong.output
