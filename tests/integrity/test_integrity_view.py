"""A view recorded before topics were kept gets the column added, not rebuilt from the store.

Rebuilding would re-record every hash from the store as it is now, which is exactly what the
recorded hashes are there to check; the old rows keep their hashes and say less about what
differs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from application.bootstrap import create_tracker
from application.integrity.signing import trusted_keys
from application.settings import Settings
from read_models.bootstrap import create_read_side
from read_models.integrity.verify import verify
from tests.conftest import set_up_programme


def test_an_old_view_gains_the_topic_column_and_keeps_its_recorded_hashes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    tracker = create_tracker(settings)
    set_up_programme(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    read_side.close()
    with sqlite3.connect(tmp_path / "views.sqlite") as db:
        db.execute("ALTER TABLE integrity_leaves DROP COLUMN topic")  # as recorded before
        recorded = db.execute("SELECT leaf_hash FROM integrity_leaves ORDER BY position").fetchall()
    with sqlite3.connect(tmp_path / "events.sqlite") as db:
        db.execute("UPDATE stored_events SET topic = topic || 'X' WHERE rowid = 2")

    read_side = create_read_side(settings, tracker)
    with read_side.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT leaf_hash, topic FROM integrity_leaves ORDER BY position"
        ).all()
    assert [(r.leaf_hash,) for r in rows] == recorded
    assert {r.topic for r in rows} == {None}
    report = verify(tracker, read_side.engine, trusted_keys(settings))
    (first, *_) = report.problems
    assert first.kind == "altered"
    assert "its stored bytes or topic differ from those hashed when recorded" in first.detail
    read_side.close()
    tracker.close()


def test_an_event_moved_to_another_place_in_the_log_is_named_with_both_places(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    tracker = create_tracker(settings)
    set_up_programme(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    last = tracker.head()
    with sqlite3.connect(tmp_path / "events.sqlite") as db:
        db.execute("UPDATE stored_events SET rowid = ? WHERE rowid = ?", (last + 10, last))

    report = verify(tracker, read_side.engine, trusted_keys(settings))

    (moved,) = report.problems
    assert moved.kind == "reordered"
    assert moved.detail.endswith(
        f"is at notification {last + 10}, but was recorded at notification {last}"
    )
    read_side.close()
    tracker.close()
