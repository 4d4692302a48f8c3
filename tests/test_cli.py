"""The client-health command, as a user runs it."""

import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from analytics.cli import app
from tests.conftest import SAMPLE

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
    for line in ('opened_at = "Date received"', 'client_id = "Company"', 'channel = "Submitted via"', 'id_from = "row"'):
        assert line in text
    from analytics.io import load_history

    history = load_history(cfpb_path, draft)
    assert history.report.rows_read == 20_000


def test_installed_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "analytics", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "validate" in result.stdout
