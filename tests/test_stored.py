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
