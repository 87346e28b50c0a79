"""Tamper evidence: 100 random single changes to the event database, each one detected.

The demo programme is recorded, the integrity view caught up and a checkpoint signed; then,
on a copy of the SQLite files, one change is made with plain SQL — a byte of a stored event
altered, its topic or version number changed, an event deleted, two events swapped, or a
forged event inserted into a new or an existing stream — and ``verify`` must fail, name the
kind of change, what differs, and the right stream and version, and reject the checkpoint.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from application.bootstrap import create_tracker
from application.integrity import merkle
from application.integrity.signing import trusted_keys
from application.settings import Settings
from read_models.bootstrap import create_read_side
from tests.integrity.tampering import CHANGES, KINDS, alter_bytes, copy_store, tamper, verify_data

TRIALS = 100
pytestmark = pytest.mark.slow


def test_an_untouched_store_verifies(pristine: Path) -> None:
    report = verify_data(pristine)
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
    change, kind, says = CHANGES[list(CHANGES)[trial % len(CHANGES)]]
    data = copy_store(pristine, trials / str(trial))
    touched = tamper(data, change, rng)

    report = verify_data(data)
    assert not report.ok
    named = [p for p in report.problems if p.kind in KINDS]
    assert named, report.problems
    assert named[0].kind == kind, (kind, report.problems)
    assert says in named[0].detail, (says, named[0])
    assert (named[0].originator_id, named[0].version) in touched
    originator, version = named[0].originator_id, named[0].version
    assert f"stream {originator} version {version}" in named[0].detail
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

    data = copy_store(pristine, tmp_path / "copy")
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    (saved,) = list_checkpoints(read_side.engine)
    project_id, _ = tracker.proposed_projects(limit=1)[0]
    proof = project_proof(tracker, project_id, saved.size)
    assert len(proof.proofs) > 20
    trusted = trusted_keys(settings)
    assert check_proof(proof, saved, trusted) == []

    db = sqlite3.connect(data / "events.sqlite")
    rowid = db.execute(
        "SELECT rowid FROM stored_events WHERE originator_id = ? AND originator_version = 5",
        (project_id.hex,),
    ).fetchone()[0]
    alter_bytes(db, random.Random(1), rowid)
    db.commit()
    db.close()
    failures = check_proof(project_proof(tracker, project_id, saved.size), saved, trusted)
    # The altered leaf changes the hashes on every other event's path too: all fail.
    changed = f"version 5 (notification {rowid}) does not lead to the signed root: "
    assert changed + "it was changed or moved" in failures
    assert len(failures) == len(proof.proofs)
    forged = saved.model_copy(update={"root": "0" * 64})
    assert "the checkpoint's signature does not verify" in check_proof(proof, forged, trusted)
    read_side.close()
    tracker.close()


def test_a_projects_proof_gives_the_rfcs_audit_paths_at_every_size(pristine: Path) -> None:
    from read_models.integrity.proofs import project_proof
    from read_models.integrity.verify import store_leaves

    tracker = create_tracker(Settings(data_dir=pristine))
    leaves = [leaf.leaf_hash for leaf in store_leaves(tracker)]
    project_id, _ = tracker.proposed_projects(limit=1)[0]
    first = next(
        i for i, leaf in enumerate(store_leaves(tracker)) if leaf.originator_id == project_id
    )
    for size in (first + 1, first + 2, 64, 1000, len(leaves) - 1, len(leaves), len(leaves) + 5):
        proof = project_proof(tracker, project_id, size)
        held = leaves[:size]
        assert (proof.size, proof.root) == (len(held), merkle.tree_root(held))
        assert proof.proofs
        for item in proof.proofs:
            assert item.leaf_hash == held[item.position]
            assert item.path == merkle.inclusion_path(held, item.position), (size, item.position)
            implied = merkle.root_from_path(item.leaf_hash, item.position, len(held), item.path)
            assert implied == proof.root
    assert project_proof(tracker, project_id, first).proofs == []
    tracker.close()


def test_a_proof_for_no_events_is_empty_and_a_negative_size_is_no_checkpoint(
    pristine: Path,
) -> None:
    from pydantic import ValidationError

    from application.integrity.signing import Checkpoint
    from read_models.integrity.proofs import project_proof

    tracker = create_tracker(Settings(data_dir=pristine))
    project_id, _ = tracker.proposed_projects(limit=1)[0]
    for size in (0, -5):
        proof = project_proof(tracker, project_id, size)
        assert (proof.size, proof.root, proof.proofs) == (0, merkle.EMPTY_ROOT, [])
    tracker.close()
    with pytest.raises(ValidationError, match="size"):
        Checkpoint(
            seq=1,
            size=-1,
            root=merkle.EMPTY_ROOT,
            signed_at=datetime(2024, 1, 1, tzinfo=UTC),
            public_key="0" * 64,
            signature="0" * 128,
        )
