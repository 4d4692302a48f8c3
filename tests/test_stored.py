"""A saved history left where it is: what it knew at a moment, the complaints of chosen
clients and the reviews built on it are those of the same history read into memory."""

import pandas as pd
import pytest

from analytics.features import StoredHistory, data_end, open_history
from analytics.io import History
from analytics.models import ChurnModel

MOMENT = "2025-03-15 12:00"


@pytest.fixture(scope="module")
def saved(sample_history, tmp_path_factory):
    return sample_history.save(tmp_path_factory.mktemp("stored") / "history")


@pytest.mark.parametrize("moment", [None, MOMENT])
def test_what_a_stored_history_knew_is_what_the_history_in_memory_knew(saved, moment):
    """Complaints opened later disappear, later responses and resolutions (and what comes
    with a resolution) are unknown, clients ended later are active: engine masks and
    pandas agree, for every column's recording, the span, where the data ends and the
    tables of chosen clients, in their saved order."""
    in_memory, stored = History.read(saved), StoredHistory(saved)
    if moment is not None:
        in_memory, stored = in_memory.as_of(moment), stored.as_of(moment)
        assert stored.complaint_count < len(History.read(saved).complaints)
    assert stored.complaint_count == len(in_memory.complaints) and stored.span == in_memory.span
    assert data_end(stored) == data_end(in_memory)
    pd.testing.assert_frame_equal(stored.clients, in_memory.clients)
    for table in ("clients", "complaints", "interactions"):
        columns = getattr(in_memory, table).columns
        assert [stored.has(c, table=table) for c in columns] == [in_memory.has(c, table=table) for c in columns]
    chosen = in_memory.clients["client_id"].iloc[::7]
    ours, theirs = stored.of_clients(chosen), in_memory.of_clients(chosen)
    assert len(ours.complaints) > 1_000 and ours.complaints["resolved_at"].isna().any()
    for table in ("clients", "complaints", "interactions"):
        pd.testing.assert_frame_equal(getattr(ours, table), getattr(theirs, table))
    sample = stored.whole_clients(3_000, random_state=4)
    pd.testing.assert_frame_equal(sample.complaints, in_memory.whole_clients(3_000, random_state=4).complaints)
    with pytest.raises(AttributeError, match="keeps its complaints where they are"):
        stored.complaints  # noqa: B018 - the message is what is tested


def test_the_quarterly_review_and_the_relationship_review_of_a_stored_history_are_those_in_memory(saved):
    in_memory, stored = History.read(saved), open_history(saved)
    assert isinstance(stored, StoredHistory)
    ours = quarterly_review_of(stored)
    theirs = quarterly_review_of(in_memory)
    for name in ("clients", "kpis", "last_quarter"):
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(theirs, name))
    for name in ("table", "alerts", "open_complaints"):
        pd.testing.assert_frame_equal(getattr(ours.actions, name), getattr(theirs.actions, name))
    assert len(ours.actions.open_complaints) > 0 and ours.actions.table["next_step"].notna().all()
    assert ours.headline() == theirs.headline() and ours.notes == theirs.notes
    from analytics.review import relationship_review

    ours, theirs = relationship_review(stored), relationship_review(in_memory)
    pd.testing.assert_frame_equal(ours.clients, theirs.clients)
    assert ours.computed_on == theirs.computed_on
    leaving = theirs.clients.loc[theirs.clients["recommendation"] == "consider_exit", "client_id"].iloc[0]
    assert ours.memo(leaving) == theirs.memo(leaving) and "complaints" in theirs.memo(leaving)


def quarterly_review_of(history):
    from analytics.quarterly import quarterly_review

    return quarterly_review(history, "2025Q3", model=ChurnModel(kind="logistic"), bootstrap=20)


def test_open_history_loads_an_export_and_leaves_a_saved_history_where_it_is(saved, sample_history):
    from analytics.datasets import SAMPLE_FOLDER

    loaded = open_history(SAMPLE_FOLDER)
    assert isinstance(loaded, History) and loaded.complaints.equals(sample_history.complaints)
    assert repr(open_history(saved)).endswith(": 3,000 clients, 13,119 complaints)")
    # a URL of shared storage is a saved history for Spark to read, not a database
    with pytest.raises(ValueError, match="at a URL is read by Spark"):
        open_history(saved.as_uri())


def test_the_workshop_of_a_stored_history_is_the_workshop_in_memory(saved):
    """Counts, rates and curves found in the engine, the parts fitted in memory on the same
    whole clients (fewer complaints than the history's, so a sample), and the open
    complaints' advice: equal, part by part, and the notes say what the sample was."""
    from analytics.rootcause import root_cause_workshop

    ours, theirs = (parts_of(root_cause_workshop(history, bootstrap=20, measured_complaints=5_000)) for history in (open_history(saved), History.read(saved)))
    assert ours.keys() == theirs.keys() and len(ours) > 20
    for name, part in theirs.items():
        if isinstance(part, pd.DataFrame):
            pd.testing.assert_frame_equal(ours[name], part, obj=name)
        else:
            assert ours[name] == part, name
    assert theirs["by_count"]["complaints"].sum() == 13_119 and theirs["risk"]["train_complaints"] + theirs["risk"]["test_complaints"] < 5_000
    measured = History.read(saved).whole_clients(5_000)  # whole clients holding about 5,000 of the 13,119 complaints
    sample = f"the complaints of a random {len(measured.clients):,} of 3,000 clients ({len(measured.complaints):,} complaints)"
    assert all(any(sample in note for note in theirs["notes"][section]) for section in ("repeats", "next_action", "text"))
    assert theirs["sample"] == sample and sample in theirs["topics_caption"] and sample in theirs["inferred_caption"]  # shown beside them
    assert len(theirs["open"]) == (History.read(saved).complaints[["resolved_at", "closed_at"]].isna().all(axis=1)).sum()


def parts_of(workshop) -> dict:
    """Every table, figure's data and sentence of a workshop, by name."""
    w = workshop
    return {"by_count": w.by_count.table, "by_cost": w.by_cost.table, "trend": w.trend, "repeat_rates": w.repeat_rates,
            **{f"curve_{k}": v.table for k, v in w.repeat_curves.items()}, **{f"curves_{k}": v.curves for k, v in w.repeat_curves.items()},
            "risk": w.repeat_risk.metrics, "effects": w.effects.table, "subgroups": w.next_action.summary(), "open": w.open_advice.table,
            "public": w.public[0], "public_how": w.public[1], "topics": w.topics.terms, "inferred": w.inferred.table,
            **{f"disputes_{k}": v for k, v in w.disputes.items()}, "most": w.disputed_most, "abuse": w.abuse, "notes": w.notes,
            "headline": w.headline(), "claims": w.claims(), "sample": w.sample,
            "topics_caption": w.topics_table().caption, "inferred_caption": w.inferred_table().caption}


@pytest.mark.parametrize("moment", [None, MOMENT])
def test_the_quality_report_s_counts_of_a_stored_history_are_those_in_memory(sample_history, tmp_path, moment):
    """Completeness, volume and the rows set aside, of an export loaded with defects and saved."""
    from analytics.io import load_history
    from analytics.quality import completeness, volume_plot
    from analytics.sample import write_export

    write_export(sample_history, tmp_path / "export", defects=0.01)
    saved = load_history(tmp_path / "export").save(tmp_path / "saved")
    in_memory, stored = History.read(saved), StoredHistory(saved)
    assert len(stored.quarantine) > 100
    if moment is not None:
        in_memory, stored = in_memory.as_of(moment), stored.as_of(moment)
    pd.testing.assert_frame_equal(completeness(stored), completeness(in_memory))
    ours, theirs = volume_plot(stored).data[0], volume_plot(in_memory).data[0]
    assert list(ours.x) == list(theirs.x) and list(ours.y) == list(theirs.y) and sum(theirs.y) == len(in_memory.complaints)
    pd.testing.assert_frame_equal(stored.quarantine, in_memory.quarantine, check_dtype=False)
