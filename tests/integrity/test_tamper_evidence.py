"""Tamper evidence: 100 random single changes to the event database, each one detected.

The demo programme is recorded, the integrity view caught up and a checkpoint signed; then,
on a copy of the SQLite files, one change is made with plain SQL — a byte of a stored event
altered, an event deleted, two events swapped, or a forged event inserted — and ``verify``
must fail, name the kind of change and the right stream and version, and reject the checkpoint.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.integrity import merkle
from application.integrity.signing import load_signer
from application.settings import Settings
from read_models.bootstrap import create_read_side
from read_models.integrity.checkpoints import create_checkpoint
from read_models.integrity.verify import Report, verify

TRIALS = 100
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pristine")
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    load_demo(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    create_checkpoint(read_side.engine, load_signer(settings))
    read_side.close()
    tracker.close()
    return data


def _verify(data: Path) -> Report:
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    try:
        return verify(tracker, read_side.engine)
    finally:
        read_side.close()
        tracker.close()


def _copy(pristine: Path, target: Path) -> Path:
    shutil.copytree(pristine, target)
    return target


def _key(db: sqlite3.Connection, rowid: int) -> tuple[uuid.UUID, int]:
    originator, version = db.execute(
        "SELECT originator_id, originator_version FROM stored_events WHERE rowid = ?", (rowid,)
    ).fetchone()
    return uuid.UUID(originator), version


def _alter(db: sqlite3.Connection, rng: random.Random, rowid: int) -> set[tuple[uuid.UUID, int]]:
    (state,) = db.execute("SELECT state FROM stored_events WHERE rowid = ?", (rowid,)).fetchone()
    changed = bytearray(state)
    at = rng.randrange(len(changed))
    changed[at] ^= 1 << rng.randrange(8)
    db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(changed), rowid))
    return {_key(db, rowid)}


def _delete(db: sqlite3.Connection, _: random.Random, rowid: int) -> set[tuple[uuid.UUID, int]]:
    key = _key(db, rowid)
    db.execute("DELETE FROM stored_events WHERE rowid = ?", (rowid,))
    return {key}


def _swap(db: sqlite3.Connection, rng: random.Random, rowid: int) -> set[tuple[uuid.UUID, int]]:
    (last,) = db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
    other = rng.choice([r for r in range(1, last + 1) if r != rowid])
    keys = {_key(db, rowid), _key(db, other)}
    db.execute("UPDATE stored_events SET rowid = -1 WHERE rowid = ?", (rowid,))
    db.execute("UPDATE stored_events SET rowid = ? WHERE rowid = ?", (rowid, other))
    db.execute("UPDATE stored_events SET rowid = ? WHERE rowid = -1", (other,))
    return keys


def _insert(db: sqlite3.Connection, _: random.Random, rowid: int) -> set[tuple[uuid.UUID, int]]:
    topic, state = db.execute(
        "SELECT topic, state FROM stored_events WHERE rowid = ?", (rowid,)
    ).fetchone()
    forged = uuid.uuid4()
    db.execute("UPDATE stored_events SET rowid = rowid + 1000000 WHERE rowid >= ?", (rowid,))
    db.execute("UPDATE stored_events SET rowid = rowid - 999999 WHERE rowid >= 1000000")
    db.execute(
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, "
        "state) VALUES (?, ?, 1, ?, ?)",
        (rowid, forged.hex, topic, state),
    )
    return {(forged, 1)}


CHANGES = {"altered": _alter, "deleted": _delete, "reordered": _swap, "inserted": _insert}


def test_an_untouched_store_verifies(pristine: Path) -> None:
    report = _verify(pristine)
    assert report.ok, report.problems
    assert report.events == report.recorded > 1000
    assert [ok for _, ok, _ in report.checkpoints] == [True]


@pytest.fixture(scope="module")
def trials(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trials")


@pytest.mark.parametrize("trial", range(TRIALS))
def test_every_single_change_is_detected_and_named(
    pristine: Path, trials: Path, trial: int
) -> None:
    rng = random.Random(trial)
    kind = list(CHANGES)[trial % len(CHANGES)]
    data = _copy(pristine, trials / str(trial))
    db = sqlite3.connect(data / "events.sqlite")
    (last,) = db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()
    touched = CHANGES[kind](db, rng, rng.randint(1, last))
    db.commit()
    db.close()

    report = _verify(data)
    assert not report.ok
    named = [p for p in report.problems if p.kind in CHANGES]
    assert named, report.problems
    assert named[0].kind == kind, (kind, report.problems)
    assert (named[0].originator_id, named[0].version) in touched
    assert [ok for _, ok, _ in report.checkpoints] == [False]
    shutil.rmtree(data)


def test_the_tree_root_is_rfc_6962s_and_paths_prove_inclusion() -> None:
    leaves = [merkle.leaf_hash(bytes([n])) for n in range(13)]
    frontier: merkle.Frontier = []
    for leaf in leaves:
        frontier = merkle.append(frontier, leaf)
    assert merkle.root(frontier) == merkle.tree_root(leaves)
    for index, leaf in enumerate(leaves):
        path = merkle.inclusion_path(leaves, index)
        assert merkle.root_from_path(leaf, index, len(leaves), path) == merkle.tree_root(leaves)
    assert merkle.root_from_path(
        leaves[0], 1, len(leaves), merkle.inclusion_path(leaves, 1)
    ) != merkle.tree_root(leaves)


def test_a_sponsor_proves_a_project_against_a_saved_checkpoint(
    pristine: Path, tmp_path: Path
) -> None:
    from read_models.integrity.checkpoints import list_checkpoints
    from read_models.integrity.proofs import check_proof, project_proof

    data = _copy(pristine, tmp_path / "copy")
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    (saved,) = list_checkpoints(read_side.engine)
    project_id, _ = tracker.proposed_projects(limit=1)[0]
    proof = project_proof(tracker, project_id, saved.size)
    assert len(proof.proofs) > 20
    assert check_proof(proof, saved) == []

    db = sqlite3.connect(data / "events.sqlite")
    rowid = db.execute(
        "SELECT rowid FROM stored_events WHERE originator_id = ? AND originator_version = 5",
        (project_id.hex,),
    ).fetchone()[0]
    _alter(db, random.Random(1), rowid)
    db.commit()
    db.close()
    failures = check_proof(project_proof(tracker, project_id, saved.size), saved)
    # The altered leaf changes the hashes on every other event's path too: all fail.
    changed = f"version 5 (notification {rowid}) does not lead to the signed root: "
    assert changed + "it was changed or moved" in failures
    assert len(failures) == len(proof.proofs)
    forged = saved.model_copy(update={"root": "0" * 64})
    assert "the checkpoint's signature does not verify" in check_proof(proof, forged)
    read_side.close()
    tracker.close()
