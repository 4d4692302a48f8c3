r"""Coercion and the row checks on a handful of values each, worked out by hand: every export
value becomes its canonical type or a failure saying what was expected, and every row is
loaded or quarantined with its reason. Fast enough to run for each mutant of
``io/_coerce.py`` and ``io/_validate.py``.

Mutants of those modules left alive, none of which can change what a user sees:

- a ``dtype`` dropped or set to None where the values already have it or are converted
  again (``np.asarray(mask, bool)`` of a boolean mask, the final ``astype(rule.dtype)``,
  ``pa.array(text, pa.string())`` of text), and ``fillna(True)`` on masks with no missing
  value (``isin``, comparisons where a missing value is already false);
- ``regex=`` left to pandas' default, or flipped, where the pattern holds no special
  character (``","``, ``r"\d"``);
- fast paths: a condition that only picks the quicker of two routes to the same values
  (``ids_unique``, ``_all_distinct``, typed numbers taken as they are, the min/max test
  before a range mask is built). Every mutant of ``_read_layout`` and ``_layouts``: a
  layout Arrow reads wrongly or not at all leaves the value to pandas' parser, which has the
  last word, so only the speed changes;
- the exact-duplicate grouping with another one-to-one code of group and value
  (``g * (n + 2) + c + 1``, ``+ 2``, ``g / (n + 1)``, ``- c``), or without narrowing the
  candidates;
- ``ignore_index`` dropped where the quarantine is renumbered when the history is built;
- DuckDB's SQL written in another case (it ignores case), or the table registered under
  another name (DuckDB finds the Python variable of that name);
- how a date column is read where the result is the same: ``utc`` given to a parse whose
  result is converted to UTC anyway, ``"UTC"`` written ``"utc"``, a typed date column read
  as text, every route through ``_to_datetime``'s layouts (pandas' parser, given the
  column's format and order, reads whatever they leave);
- arguments of the event time's coercion a date never reads (the profile's yes/no words,
  the unmapped counts, whether the text came from a file); ``_day_first``'s last
  ``return False`` when no value decides: the values that reach it read the same either way.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analytics.io import LoadError
from analytics.io._coerce import coerce, number_pattern
from analytics.io._problems import Problems
from analytics.io._profile import EventLog, Profile, TableProfile
from analytics.io._read import RawTable
from analytics.io._validate import validate_table
from analytics.schemas import column_rules

TEXT = pd.ArrowDtype(pa.string())
NOW = pd.Timestamp("2030-01-01", tz="UTC")
PLAIN = Profile("plain")
UNMAPPED = TableProfile()
UTC = pd.Timestamp


def coerced(values, column, table="complaints", profile=PLAIN, spec=UNMAPPED, dtype=TEXT):
    """``values`` coerced as ``column``: the result, failures by position as (check, reason),
    the unmapped counts and the frame (which may gain a raw column)."""
    values = values.array if isinstance(values, pd.Series) else values
    series = pd.Series(values, dtype=dtype, index=np.arange(100, 100 + len(values)))  # rows keep their labels
    problems, unmapped = Problems(len(series)), {}
    frame = pd.DataFrame({"_row": np.arange(1, len(series) + 1), column: series}, index=series.index)
    result = coerce(series, column_rules(table)[column], spec, profile, problems, unmapped, frame, True, "export.csv")
    assert result.index.equals(series.index)
    failures = {}
    for mask, failed_column, check, reason in problems.items:
        assert failed_column == column
        for i in np.flatnonzero(mask):
            failures[int(i)] = (check, reason if isinstance(reason, str) else reason[i])
    return result.reset_index(drop=True), failures, unmapped, frame.reset_index(drop=True)


def validated(export: dict, table="complaints", profile=PLAIN, source="export.csv", encoding=None, **spec):
    """One ``export`` (columns of text, rows numbered from 1) through the table's checks."""
    frame = pd.DataFrame(export, dtype=TEXT)
    frame["_row"] = pd.arrays.ArrowExtensionArray(pa.array(np.arange(1, len(frame) + 1)))
    if spec:
        profile = Profile("mapped", null_values=profile.null_values, tables={table: TableProfile(**spec)})
    return validate_table(RawTable(source, frame, encoding=encoding, text=True), table, profile, NOW)


def listed(values) -> list:
    """Values as a list, a missing one as None."""
    return [None if pd.isna(value) else value for value in values]


def entries(result) -> list[tuple]:
    """The quarantine as (row, column, value, check, level, reason)."""
    columns = ["row", "column", "value", "check", "level", "reason"]
    return [tuple(entry) for entry in result.quarantine[columns].itertuples(index=False)]


# --- numbers and yes/no ---------------------------------------------------------------


def test_numbers_follow_the_profiles_separators_and_say_which_they_expect():
    values = ["1.234,5", "1,234.5", "abc", "", None, " 7 ", "-,5", "2e3"]
    result, failures, _, _ = coerced(values, "handling_minutes", profile=Profile("de", decimal=",", thousands="."))
    assert listed(result) == [1234.5, None, None, None, None, 7.0, -0.5, 2000.0]
    hint = ("not a number (expected a number of at least 0, written like 1.234,5; "
            "set [format] decimal and thousands in the profile)")
    assert failures == {1: ("unparseable", hint), 2: ("unparseable", "not a number (expected a number of at least 0)")}
    assert str(result.dtype) == "double[pyarrow]"


def test_numbers_without_thousands_separators_refuse_grouped_digits():
    result, failures, _, _ = coerced(["1234", "1,234"], "credit_amount", profile=Profile("plain", thousands=""))
    assert listed(result) == [1234.0, None]
    assert failures[1][0] == "unparseable" and "written like 1234.5" in failures[1][1]


def test_whole_numbers_refuse_fractions_and_values_beyond_exact():
    result, failures, _, _ = coerced(["2", "2.5", "9007199254740994", "3", "4.0"], "severity")
    assert listed(result) == [2, None, None, 3, 4]
    assert str(result.dtype) == "int64[pyarrow]"
    assert failures == {1: ("unparseable", "not a whole number (expected a whole number from 1 to 4)"),
                        2: ("out_of_range", "out of range (expected a whole number from 1 to 4)")}
    # 2**53 is the largest whole number a float holds exactly, with every one below it
    result, failures, _, _ = coerced(["9007199254740992", "107", "2x", "x"], "reopen_count", profile=Profile("de", decimal=",", thousands="."))
    assert listed(result) == [2**53, 107, None, None]
    assert failures == {2: ("unparseable", "not a number (expected a whole number of at least 0, written like 1.234; "
                                           "set [format] decimal and thousands in the profile)"),
                        3: ("unparseable", "not a number (expected a whole number of at least 0)")}


def test_numbers_already_typed_are_kept_as_they_are():
    whole, failures, _, _ = coerced([3, None], "csat", dtype=pd.ArrowDtype(pa.int64()))
    assert listed(whole) == [3, None] and not failures
    assert str(whole.dtype) == "int64[pyarrow]"
    fraction, failures, _, _ = coerced([1.5, 2.0, None], "reopen_count", dtype=pd.ArrowDtype(pa.float64()))
    assert listed(fraction) == [None, 2, None]
    assert failures == {0: ("unparseable", "not a whole number (expected a whole number of at least 0)")}
    minutes, failures, _, _ = coerced([12.5], "handling_minutes", dtype=pd.ArrowDtype(pa.float64()))
    assert listed(minutes) == [12.5] and not failures


def test_the_number_pattern_groups_digits_in_threes_or_not_at_all():
    pattern = number_pattern(".", ",")
    for written in ["1", "-1", "+1.5", "1,234", "12,345,678.9", ".5", "1e-3", "1.", "1234"]:
        assert pd.Series([written]).str.fullmatch(pattern).all(), written
    for written in ["1,23", "12,3456", "1.2.3", "", "e3", "1,,234", "1 234"]:
        assert not pd.Series([written]).str.fullmatch(pattern).all(), written


def test_yes_no_values_read_the_profiles_words_in_any_case():
    result, failures, _, _ = coerced(["Yes", " no ", "maybe", "", "T", None], "escalated")
    assert listed(result) == [True, False, None, None, True, None]
    assert failures == {2: ("unparseable", "not a yes/no value (expected true/t/yes or false/f/no)")}
    own = Profile("own", true_values=("ja", "j"), false_values=("nein",))
    result, failures, _, _ = coerced(["JA", "nein", "yes"], "escalated", profile=own)
    assert listed(result) == [True, False, None]
    assert failures == {2: ("unparseable", "not a yes/no value (expected ja/j or nein)")}


def test_yes_no_values_read_as_numbers_and_as_booleans():
    result, failures, _, _ = coerced([1.0, 0.0, None], "sla_met", dtype=pd.ArrowDtype(pa.float64()))
    assert listed(result) == [True, False, None] and not failures
    result, failures, _, _ = coerced([1.0, 0.0, np.nan, 2.0], "sla_met", dtype="float64")  # as a spreadsheet gives them
    assert listed(result) == [True, False, None, None] and list(failures) == [3]
    assert str(result.dtype) == "bool[pyarrow]"
    result, _, _, _ = coerced([True, None], "sla_met", dtype=pd.ArrowDtype(pa.bool_()))
    assert listed(result) == [True, None] and str(result.dtype) == "bool[pyarrow]"


# --- text and the taxonomy ---------------------------------------------------------------


def test_taxonomy_values_are_mapped_and_the_unknown_become_other_and_are_counted():
    spec = TableProfile(values={"trigger": {"invoice": "billing"}})
    result, failures, unmapped, frame = coerced(["Invoice", "weird", "weird", None, "Weird "], "trigger", spec=spec)
    assert listed(result) == ["billing", "other", "other", None, "other"]
    assert not failures
    assert unmapped == {"trigger": {"weird": 2, "Weird ": 1}}
    # the words the export used are kept beside the mapped trigger
    assert listed(frame["category_raw"]) == ["Invoice", "weird", "weird", None, "Weird "]


def test_an_export_with_its_own_categories_keeps_the_unmapped_triggers_beside_them():
    values = pd.Series(["billing", "weird"], dtype=TEXT)
    frame = pd.DataFrame({"_row": [1, 2], "trigger": values, "category_raw": pd.Series(["Invoices", "Portal"], dtype=TEXT)})
    coerce(values, column_rules("complaints")["trigger"], TableProfile(), PLAIN, Problems(2), {}, frame, True, "export.csv")
    assert listed(frame["category_raw"]) == ["Invoices", "Portal"]
    assert listed(frame["trigger_raw"]) == ["billing", "weird"]
    # an export whose categories are all empty has them filled with the words it used
    frame["category_raw"] = pd.Series([None, None], dtype=TEXT)
    coerce(values, column_rules("complaints")["trigger"], TableProfile(), PLAIN, Problems(2), {}, frame, True, "export.csv")
    assert listed(frame["category_raw"]) == ["billing", "weird"]


def test_an_unknown_value_of_a_taxonomy_without_other_becomes_missing():
    result, _, unmapped, frame = coerced(["inbound", "sideways"], "direction", table="interactions")
    assert listed(result) == ["inbound", None]
    assert unmapped == {"direction": {"sideways": 1}}
    assert listed(frame["direction_raw"]) == ["inbound", "sideways"]


def test_canonical_taxonomy_values_pass_untouched():
    result, _, unmapped, frame = coerced(["email", "phone", None], "channel")
    assert listed(result) == ["email", "phone", None] and not unmapped
    assert list(frame.columns) == ["_row", "channel"]


def test_a_value_map_on_free_text_is_applied_before_it_is_trimmed():
    spec = TableProfile(values={"team": {"t1": "Tier 1"}})
    result, _, _, _ = coerced([" T1", "Tier 2 ", ""], "team", spec=spec)
    assert listed(result) == ["Tier 1", "Tier 2", None]


# --- dates -----------------------------------------------------------------------------


def test_local_times_the_clock_change_skips_or_repeats_are_quarantined_not_guessed():
    values = ["2024-03-31 01:30", "2024-10-27 01:30", "2024-07-01 12:00", "2024-07-01T12:00:00+02:00", "2024-02-30", "", None]
    result, failures, _, _ = coerced(values, "opened_at", spec=TableProfile(timezone="Europe/London"))
    assert listed(result) == [None, None, UTC("2024-07-01 11:00", tz="UTC"), UTC("2024-07-01 10:00", tz="UTC"), None, None, None]
    assert failures == {
        0: ("nonexistent_time", "this local time does not exist in Europe/London (the clocks went forward over it); write it with its UTC offset"),
        1: ("ambiguous_time", "this local time happens twice in Europe/London (the clocks went back over it), so which is meant is unknown; "
                              "write it with its UTC offset"),
        4: ("unparseable", "not a valid date (expected ISO 8601, e.g. 2024-03-31 or 2024-03-31T14:05:00Z)"),
    }
    assert str(result.dtype) == "timestamp[us, tz=UTC][pyarrow]"


def test_dates_already_typed_are_read_in_the_profiles_time_zone():
    naive = pd.Series(pd.to_datetime(["2024-07-01 12:00", None])).astype(pd.ArrowDtype(pa.timestamp("us")))
    result, failures, _, _ = coerced(naive, "opened_at", spec=TableProfile(timezone="Europe/London"), dtype=naive.dtype)
    assert listed(result) == [UTC("2024-07-01 11:00", tz="UTC"), None] and not failures
    skipped = pd.Series(pd.to_datetime(["2024-03-31 01:30"])).astype(pd.ArrowDtype(pa.timestamp("us")))
    result, failures, _, _ = coerced(skipped, "opened_at", spec=TableProfile(timezone="Europe/London"), dtype=skipped.dtype)
    assert listed(result) == [None] and failures[0][0] == "nonexistent_time"
    aware = pd.Series(pd.to_datetime(["2024-07-01 12:00+02:00"], utc=True)).astype(pd.ArrowDtype(pa.timestamp("us", "UTC")))
    result, _, _, _ = coerced(aware, "opened_at", spec=TableProfile(timezone="Europe/London"), dtype=aware.dtype)
    assert listed(result) == [UTC("2024-07-01 10:00", tz="UTC")]


def test_unix_times_are_seconds_or_milliseconds_since_1970():
    result, failures, _, _ = coerced(["1700000000", "x", None], "opened_at", spec=TableProfile(date_format="unix_seconds"))
    assert listed(result) == [UTC("2023-11-14 22:13:20", tz="UTC"), None, None]
    assert failures == {1: ("unparseable", "not a valid date (expected unix seconds since 1970-01-01 UTC, e.g. 1700000000)")}
    result, failures, _, _ = coerced(["1700000000000", "y", "1e17"], "opened_at", spec=TableProfile(date_format="unix_milliseconds"))
    assert listed(result) == [UTC("2023-11-14 22:13:20", tz="UTC"), None, None]
    assert failures[1][1] == "not a valid date (expected unix milliseconds since 1970-01-01 UTC, e.g. 1700000000000)"
    # beyond the years a timestamp holds (about 1677 to 2262): unreadable, and the load goes on
    result, failures, _, _ = coerced(["1e20", "-1e20", "9300000000"], "opened_at", spec=TableProfile(date_format="unix_seconds"))
    assert listed(result) == [None, None, None] and sorted(failures) == [0, 1, 2]


def test_a_fixed_layout_refuses_an_impossible_date_rather_than_rolling_it_over():
    spec = TableProfile(date_format="%d.%m.%Y %H:%M", timezone="Europe/Berlin")
    result, failures, _, _ = coerced(["31.12.2024 23:59", "31.02.2024 10:00", "1.7.2024 9:05", "12.12.12024 10:00"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-12-31 22:59", tz="UTC"), None, UTC("2024-07-01 07:05", tz="UTC"), None]
    assert failures == {i: ("unparseable", "not a valid date (expected %d.%m.%Y %H:%M)") for i in (1, 3)}
    # a fixed layout says which is the day: a date either order could read needs no other value
    result, failures, _, _ = coerced(["05.03.2024 10:00"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-03-05 09:00", tz="UTC")] and not failures


def test_a_layout_with_its_offset_is_read_at_that_offset_in_any_season():
    spec = TableProfile(date_format="%Y%m%d %H%M%z", timezone="Europe/London")
    result, failures, _, _ = coerced(["20240705 1000+0100", "20240305 1000+0100", "x"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-07-05 09:00", tz="UTC"), UTC("2024-03-05 09:00", tz="UTC"), None]
    assert failures == {2: ("unparseable", "not a valid date (expected %Y%m%d %H%M%z)")}


def test_iso_dates_of_any_precision_and_offset_read_together():
    values = ["2024-03-01", "2024-03-02T10:00:00Z", "2024-03-03 10:00", "2024-03-04T10:00:00.5+02:00"]
    result, failures, _, _ = coerced(values, "opened_at")
    assert listed(result) == [UTC("2024-03-01", tz="UTC"), UTC("2024-03-02 10:00", tz="UTC"), UTC("2024-03-03 10:00", tz="UTC"),
                              UTC("2024-03-04 08:00:00.5", tz="UTC")] and not failures


def test_mixed_dates_take_their_order_from_a_value_only_one_order_reads():
    spec = TableProfile(date_format="mixed")
    result, failures, _, _ = coerced(["05/03/2024", "13/03/2024 10:15", "2024-03-01", "5.3.2024"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-03-05", tz="UTC"), UTC("2024-03-13 10:15", tz="UTC"), UTC("2024-03-01", tz="UTC"), UTC("2024-03-05", tz="UTC")]
    assert not failures
    result, _, _, _ = coerced(["05/03/2024", "03/13/2024T08:00"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-05-03", tz="UTC"), UTC("2024-03-13 08:00", tz="UTC")]
    # 12 can be a month, and an ISO date tells nothing of the order
    result, _, _, _ = coerced(["12/05/2024", "05/13/2024", "2024-03-01"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-12-05", tz="UTC"), UTC("2024-05-13", tz="UTC"), UTC("2024-03-01", tz="UTC")]
    result, _, _, _ = coerced(["13/03/2024", "05/12/2024"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-03-13", tz="UTC"), UTC("2024-12-05", tz="UTC")]
    # the column's order holds for values written with an offset and without, in local time
    result, _, _, _ = coerced(["13/03/2024 10:00", "05/07/2024 10:00", "05/07/2024 10:00+02:00"], "opened_at",
                              spec=TableProfile(date_format="mixed", timezone="Europe/London"))
    assert listed(result) == [UTC("2024-03-13 10:00", tz="UTC"), UTC("2024-07-05 09:00", tz="UTC"), UTC("2024-07-05 08:00", tz="UTC")]
    result, failures, _, _ = coerced(["2024-03-01", "2024-03-02 10:00", None], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-03-01", tz="UTC"), UTC("2024-03-02 10:00", tz="UTC"), None] and not failures


def test_mixed_dates_in_both_orders_or_in_neither_are_refused_with_examples():
    spec = TableProfile(date_format="mixed")
    with pytest.raises(LoadError) as both:
        coerced(["05/03/2024", "13/03/2024", "03/13/2024"], "opened_at", spec=spec)
    assert str(both.value) == ("export.csv: column opened_at writes '13/03/2024' (row 2) day first but '03/13/2024' (row 3) month first; "
                               "export the dates in one order (ISO 8601 is safest)")
    with pytest.raises(LoadError) as neither:
        coerced([None, "05/05/2024", "05/03/2024"], "opened_at", spec=spec)
    assert str(neither.value) == ("export.csv: column opened_at: dates such as '05/03/2024' (row 3) read as day/month or month/day and no "
                                  'value tells which; set order = "day_first" or "month_first" in the profile\'s dates section '
                                  '(or a format such as "%d/%m/%Y")')
    # the same day and month read alike in both orders, so they need no decision
    result, _, _, _ = coerced(["05/05/2024"], "opened_at", spec=spec)
    assert listed(result) == [UTC("2024-05-05", tz="UTC")]


def test_a_declared_order_quarantines_a_date_written_the_other_way():
    result, failures, _, _ = coerced(["05/03/2024", "03/13/2024"], "opened_at", spec=TableProfile(date_format="mixed", day_first=True))
    assert result.iloc[0] == UTC("2024-03-05", tz="UTC")
    assert failures == {1: ("unparseable", "not a valid date (written month first, but the profile's dates order says day first)")}
    result, failures, _, _ = coerced(["05/03/2024", "13/03/2024"], "opened_at", spec=TableProfile(date_format="mixed", day_first=False))
    assert result.iloc[0] == UTC("2024-05-03", tz="UTC")
    assert failures == {1: ("unparseable", "not a valid date (written day first, but the profile's dates order says month first)")}


def test_repeated_dates_are_parsed_once_and_each_failure_lands_on_every_row_that_wrote_it():
    values = ["2024-01-02", "bad", None, "2024-01-02", "bad", "2024-01-03"]
    result, failures, _, _ = coerced(values, "opened_at")
    day = UTC("2024-01-02", tz="UTC")
    assert listed(result) == [day, None, None, day, None, UTC("2024-01-03", tz="UTC")]
    assert sorted(failures) == [1, 4]


# --- the row checks -------------------------------------------------------------------


def test_each_row_is_loaded_or_quarantined_with_its_reason():
    result = validated({
        "complaint_id": ["C1", "C2", "C2", "C3", "C4", "C5"],
        "client_id": ["A", "A", "A", "B", "B", None],
        "opened_at": ["2024-01-02", "2024-01-03", "2024-01-03", "2031-01-01", "1960-01-01", "2024-01-01"],
        "resolved_at": ["2024-01-01", "2024-01-04", "2024-01-04", "", "", ""],
        "severity": ["5", "2", "2", "", "", ""],
    })
    assert (result.rows_read, result.rows_loaded, result.cells_quarantined, result.exact_duplicates) == (6, 2, 2, 1)
    assert listed(result.loaded["complaint_id"]) == ["C1", "C2"]
    assert listed(result.loaded["resolved_at"]) == [None, UTC("2024-01-04", tz="UTC")]  # the bad cells are emptied
    assert listed(result.loaded["severity"]) == [None, 2]
    assert entries(result) == [
        (1, "resolved_at", "2024-01-01", "order", "cell", "resolved_at is before opened_at"),
        (1, "severity", "5", "out_of_range", "cell", "out of range (expected a whole number from 1 to 4)"),
        (3, "(all columns)", "", "exact_duplicate", "row", "exact duplicate of row 2"),
        (4, "opened_at", "2031-01-01", "future_date", "row", "date in the future (after the load time 2030-01-01 00:00 UTC)"),
        (5, "opened_at", "1960-01-01", "implausible_date", "row", "date before 1970, most likely a placeholder"),
        (6, "client_id", "", "missing_required", "row", "missing required value (expected text)"),
    ]
    assert result.mapped == ("complaint_id", "client_id", "opened_at", "resolved_at", "severity")
    assert list(result.loaded.columns[:3]) == ["complaint_id", "client_id", "opened_at"]
    assert result.loaded.columns[-1] == "_row"


def test_an_unreadable_required_value_is_quarantined_once():
    result = validated({"complaint_id": ["C1", "C2"], "client_id": ["A", "A"], "opened_at": ["2024-01-02", "soon"]})
    assert entries(result) == [(2, "opened_at", "soon", "unparseable", "row",
                                "not a valid date (expected ISO 8601, e.g. 2024-03-31 or 2024-03-31T14:05:00Z)")]


def test_values_at_the_edges_of_their_range_load():
    result = validated({"complaint_id": ["C1", "C2", "C3"], "client_id": ["A", "A", "A"],
                        "opened_at": ["1970-01-01", "2030-01-01", "2024-01-01"], "resolved_at": ["1970-01-01", "", "2024-01-01"],
                        "severity": ["1", "4", "0"], "csat": ["5", "1", "6"], "reopen_count": ["0", "", "-1"]})
    assert result.rows_loaded == 3
    assert [(row, column, check) for row, column, _, check, _, _ in entries(result)] == [
        (3, "csat", "out_of_range"), (3, "reopen_count", "out_of_range"), (3, "severity", "out_of_range")]


def test_a_second_row_with_an_id_already_used_is_quarantined_naming_the_first():
    result = validated({"complaint_id": ["C1", "C1", "C2", "C1"], "client_id": ["A", "B", "A", "C"], "opened_at": ["2024-01-02"] * 4})
    assert listed(result.loaded["complaint_id"]) == ["C1", "C2"]
    reason = "duplicate complaint_id (first seen at row 1; that row was kept)"
    assert entries(result) == [(2, "complaint_id", "C1", "duplicate_id", "row", reason), (4, "complaint_id", "C1", "duplicate_id", "row", reason)]


def test_a_row_already_quarantined_does_not_claim_its_id():
    result = validated({"complaint_id": ["C1", "C1"], "client_id": [None, "B"], "opened_at": ["2024-01-02"] * 2})
    assert listed(result.loaded["client_id"]) == ["B"]
    assert [check for _, _, _, check, _, _ in entries(result)] == ["missing_required"]


def test_exact_duplicates_compare_every_column_and_name_the_first_row():
    result = validated({"complaint_id": ["C1", "C1", "C1", "C2", "C2"], "client_id": ["A", "A", "B", "A", "A"],
                        "opened_at": ["2024-01-02"] * 5, "team": ["x", "x", "x", None, None]})
    assert result.exact_duplicates == 2
    assert [(row, check, reason) for row, _, _, check, _, reason in entries(result)] == [
        (2, "exact_duplicate", "exact duplicate of row 1"),
        (3, "duplicate_id", "duplicate complaint_id (first seen at row 1; that row was kept)"),
        (5, "exact_duplicate", "exact duplicate of row 4"),
    ]


def test_ids_taken_from_row_numbers_do_not_make_rows_distinct():
    result = validated({"client_id": ["A", "A", "A"], "opened_at": ["2024-01-02", "2024-01-02", "2024-01-03"]}, id_from_row=True)
    assert listed(result.loaded["complaint_id"]) == ["export.csv:1", "export.csv:3"]
    assert [(row, reason) for row, _, _, _, _, reason in entries(result)] == [(2, "exact duplicate of row 1")]


def test_a_renewal_date_may_lie_ahead_but_not_before_the_start():
    result = validated({"client_id": ["A", "B"], "contract_start": ["2024-01-01", "2024-01-01"], "contract_end": ["2031-01-01", "2023-01-01"]},
                       table="clients")
    assert listed(result.loaded["contract_end"]) == [UTC("2031-01-01", tz="UTC"), None]
    assert entries(result) == [(2, "contract_end", "2023-01-01", "order", "cell", "contract_end is before contract_start")]


def test_ids_lose_their_invisible_characters_and_declared_blanks_become_missing():
    result = validated({"client_id": ["A\u200b", "B", "\ufeffC", None], "name": ["NA", "?", "n/a", "D"]}, table="clients",
                       profile=Profile("blanks", null_values=("?",)))
    assert listed(result.loaded["client_id"]) == ["A", "B", "C"]
    assert listed(result.loaded["name"]) == ["NA", None, "n/a"]
    assert result.notes == ["export.csv: 2 client_id values held invisible zero-width characters, removed (first at row 1)"]


# --- columns -----------------------------------------------------------------------------


def test_headers_already_canonical_are_found_in_any_case_and_others_kept_under_their_own_name():
    result = validated({"Complaint ID": ["C1"], "client-id": ["A"], "Opened At": ["2024-01-02"], "Notes Here": ["x"]})
    assert result.rows_loaded == 1
    assert result.mapped == ("complaint_id", "client_id", "opened_at")
    assert listed(result.loaded["notes_here"]) == ["x"]


def test_a_profiles_mapping_leaves_other_canonical_headers_unparsed():
    result = validated({"Ticket": ["C1"], "Org": ["A"], "Created": ["2024-01-02"], "opened_at": ["not a date"]},
                       columns={"complaint_id": "Ticket", "client_id": "Org", "opened_at": "Created"})
    assert result.rows_loaded == 1
    assert listed(result.loaded["opened_at"]) == [UTC("2024-01-02", tz="UTC")]
    assert listed(result.loaded["export_opened_at"]) == ["not a date"]


def test_headers_differing_only_in_case_are_refused():
    with pytest.raises(LoadError) as error:
        validated({"Client ID": ["A"], "client_id": ["A"]}, table="clients")
    assert str(error.value) == ("export.csv: the headers 'Client ID' and 'client_id' differ only in case or spacing, so which one "
                                "a profile means is unclear; rename one of them in the export")


def test_a_mapped_header_the_file_lacks_is_named_with_the_closest_headers():
    with pytest.raises(LoadError) as error:
        validated({"Customr": ["A"], "Name": ["x"]}, table="clients", columns={"client_id": "Customer"})
    assert str(error.value) == ("export.csv: the profile names column(s) the file lacks:\n"
                                "  'Customer' (for client_id); closest headers: 'Customr'\n"
                                "headers in the file: 'Customr', 'Name'")


def test_a_missing_required_column_is_named_with_the_closest_headers():
    with pytest.raises(LoadError) as error:
        validated({"complaint_id": ["C1"], "client_id": ["A"], "opened": ["2024-01-02"]})
    assert str(error.value) == ("export.csv: required column(s) missing for the complaints table:\n"
                                "  opened_at: closest headers 'opened'\n"
                                "headers in the file: 'complaint_id', 'client_id', 'opened'\n"
                                "map them in the profile's [complaints.columns] (`client-health profile init FILE` drafts one)")


def test_a_table_with_a_header_and_no_rows_is_refused():
    with pytest.raises(LoadError, match=r"export.csv: has a header but no data rows; export it again with the complaints in it$"):
        validated({"complaint_id": [], "client_id": [], "opened_at": []})
    with pytest.raises(LoadError) as clients:
        validated({"client_id": []}, table="clients")
    assert str(clients.value) == ("export.csv: has a header but no data rows; export it again with the clients in it "
                                  "(or leave the file out: clients are then derived from the complaints)")
    assert validated({"interaction_id": [], "complaint_id": [], "at": []}, table="interactions").rows_read == 0


def test_an_event_log_quarantines_its_bad_events_and_shows_a_bad_value_where_it_was_written():
    spec = {"columns": {"complaint_id": "Ticket", "client_id": "Org", "event_at": "At", "status": "Status"}, "optional_columns": {"csat": "Score"},
            "events": EventLog(ticket="complaint_id", at="event_at", status="status", resolved=("solved",))}
    result = validated({"Ticket": ["T1", "T1", "T2", None, "T5"], "Org": ["A", "A", "B", "C", "D"],
                        "At": ["2024-01-02 09:00", "2024-01-02 10:00", "", "2024-01-05 08:00", "2024-01-01 07:00"],
                        "Status": ["new", "solved", "new", "new", "new"], "Score": ["", "9", "", "", "3"]}, **spec)
    assert (result.rows_read, result.rows_loaded, result.cells_quarantined) == (5, 3, 1)
    assert listed(result.loaded["complaint_id"]) == ["T1", "T5"] and listed(result.loaded["csat"]) == [None, 3]
    assert listed(result.loaded["resolved_at"]) == [UTC("2024-01-02 10:00", tz="UTC"), None]
    # the last event seen is of the events kept: a later one without its ticket does not count
    assert result.last_event == UTC("2024-01-02 10:00", tz="UTC")
    missing_time = "missing required value (expected a date or date-time)"
    assert entries(result) == [
        (2, "csat (Score)", "9", "out_of_range", "cell", "out of range (expected a whole number from 1 to 5)"),
        (3, "event_at (At)", "", "missing_required", "row", missing_time),
        (3, "opened_at", "", "missing_required", "row", missing_time),  # its ticket has no event left
        (4, "complaint_id (Ticket)", "", "missing_required", "row", "missing required value (expected text): an event must name its ticket"),
        (4, "opened_at", "", "missing_required", "row", missing_time),
    ]
    assert '"csat": "9"' in result.quarantine["record"].iloc[0]
    assert set(result.quarantine["table"]) == {"complaints"} and set(result.quarantine["source"]) == {"export.csv"}
    # an unreadable optional value of an event costs that event's cell, where it was written
    result = validated({"Ticket": ["T1", "T1"], "Org": ["A", "A"], "At": ["2024-01-02 09:00", "2024-01-02 10:00"], "Status": ["new", "open"],
                        "Score": ["x", "4"]}, **spec)
    assert entries(result) == [(1, "csat (Score)", "x", "unparseable", "cell", "not a number (expected a whole number from 1 to 5)")]
    assert list(result.quarantine[["table", "source"]].iloc[0]) == ["complaints", "export.csv"]
    with pytest.raises(LoadError, match=r"^export.csv: column event_at writes '13/01/2024 09:00' \(row 1\) day first"):
        validated({"Ticket": ["T1", "T1"], "Org": ["A", "A"], "At": ["13/01/2024 09:00", "01/13/2024 10:00"], "Status": ["new", "open"],
                   "Score": ["", ""]}, **spec, date_format="mixed")
    assert result.cells_quarantined == 1 and listed(result.loaded["csat"]) == [4]


def test_an_event_log_without_a_readable_event_has_seen_nothing():
    spec = {"columns": {"complaint_id": "Ticket", "client_id": "Org", "event_at": "At", "status": "Status"},
            "events": EventLog(ticket="complaint_id", at="event_at", status="status")}
    result = validated({"Ticket": ["T1"], "Org": ["A"], "At": ["soon"], "Status": ["new"]}, **spec)
    assert result.last_event is None and result.rows_loaded == 0
    with pytest.raises(LoadError, match=r"required column\(s\) missing for the complaints table:\n  client_id"):
        validated({"Ticket": ["T1"], "At": ["2024-01-02 09:00"], "Status": ["new"]}, **{**spec, "columns": {
            "complaint_id": "Ticket", "event_at": "At", "status": "Status"}})


def test_what_the_load_report_needs_travels_with_the_result():
    result = validated({"complaint_id": ["C1", "C2"], "client_id": [" A ", "B"], "opened_at": ["2024-01-02", "2024-01-03"],
                        "trigger": ["billing", "weird"]}, encoding="cp1252")
    assert result.encoding == "cp1252"
    assert result.unmapped == {"trigger": {"weird": 1}}
    assert listed(result.loaded["client_id"]) == ["A", "B"]  # text from a file loses its stray spaces
    with pytest.raises(LoadError, match=r"^export.csv: column opened_at writes"):
        validated({"complaint_id": ["C1", "C2"], "client_id": ["A", "B"], "opened_at": ["13/03/2024", "03/13/2024"]}, date_format="mixed")


def test_rows_differing_only_where_one_is_empty_are_not_duplicates():
    result = validated({"client_id": ["A", "B", "A", "B"], "opened_at": ["2024-01-02"] * 4, "team": ["p", "q", "s", None]}, id_from_row=True)
    assert result.exact_duplicates == 0 and result.rows_loaded == 4
    single = validated({"client_id": ["A"], "opened_at": ["2024-01-02"]}, id_from_row=True, source="exports/2024/complaints.csv")
    assert single.exact_duplicates == 0 and listed(single.loaded["complaint_id"]) == ["complaints.csv:1"]


def test_a_value_failing_twice_is_reported_once_and_never_as_missing():
    result = validated({"complaint_id": ["C1", "C2", "C3", "C4"], "client_id": ["A", "A", "A", "A"],
                        "opened_at": ["2024-03-31 01:30", "soon", "2024-01-02", "2024-01-02"],
                        "handling_minutes": ["-5", "", "0", ""], "resolved_at": ["", "", "2024-01-02", "2024-01-01"]}, timezone="Europe/London")
    assert [(row, column, check) for row, column, _, check, _, _ in entries(result)] == [
        (1, "handling_minutes", "out_of_range"), (1, "opened_at", "nonexistent_time"), (2, "opened_at", "unparseable"), (4, "resolved_at", "order")]
    # resolved the moment it was opened is in order
    assert listed(result.loaded["resolved_at"]) == [UTC("2024-01-02", tz="UTC"), None]


def test_ids_of_interactions_lose_their_invisible_characters_without_a_client_column():
    result = validated({"interaction_id": ["I1\u200b", "I2", None], "complaint_id": ["C\u200b1", "C2", "C3"], "at": ["2024-01-02"] * 3}, table="interactions")
    assert listed(result.loaded["interaction_id"]) == ["I1", "I2"] and listed(result.loaded["complaint_id"]) == ["C1", "C2"]
    assert result.notes == ["export.csv: 1 complaint_id values held invisible zero-width characters, removed (first at row 1)",
                            "export.csv: 1 interaction_id values held invisible zero-width characters, removed (first at row 1)"]


def test_mapped_columns_are_only_those_the_export_has():
    result = validated({"Ticket": ["C1"], "Org": ["A"], "Created": ["2024-01-02"], "team": ["Tier 1"]},
                       columns={"complaint_id": "Ticket", "client_id": "Org", "opened_at": "Created"}, optional_columns={"agent": "Owner"})
    assert result.mapped == ("complaint_id", "client_id", "opened_at")
    # a canonical header the profile does not map is kept under its own name, not parsed
    assert listed(result.loaded["export_team"]) == ["Tier 1"] and listed(result.loaded["team"]) == [None]


def test_every_lacking_column_is_named_on_its_own_line():
    with pytest.raises(LoadError) as error:
        validated({"Customr": ["A"], "Nam": ["x"]}, table="clients", columns={"client_id": "Customer", "name": "Name", "segment": "Tier"})
    assert str(error.value) == ("export.csv: the profile names column(s) the file lacks:\n"
                                "  'Customer' (for client_id); closest headers: 'Customr'\n"
                                "  'Name' (for name); closest headers: 'Nam'\n"
                                "  'Tier' (for segment)\n"
                                "headers in the file: 'Customr', 'Nam'")
    with pytest.raises(LoadError) as error:
        validated({"ticket": ["C1"], "clientid": ["A"], "client": ["A"]})
    assert str(error.value) == ("export.csv: required column(s) missing for the complaints table:\n"
                                "  complaint_id: closest headers 'clientid', 'client'\n"
                                "  client_id: closest headers 'clientid', 'client'\n"
                                "  opened_at\n"
                                "headers in the file: 'ticket', 'clientid', 'client'\n"
                                "map them in the profile's [complaints.columns] (`client-health profile init FILE` drafts one)")
