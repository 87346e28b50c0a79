"""``impact verify`` as an operator runs it: exit 1 on any change, naming the event and what.

Also: checkpoints count only when a trusted key signed them (a forged one, re-signed with a
fresh key, is reported and never shown as verified), and each checkpoint is checked against
its successor with an RFC 6962 consistency proof.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from application.bootstrap import create_tracker
from application.integrity.signing import Signer, load_signer, trusted_keys
from application.settings import Settings
from domain import commands as c
from interfaces.cli.main import app
from interfaces.web.routers.audit import integrity_of
from read_models.bootstrap import create_read_side
from read_models.integrity.checkpoints import create_checkpoint, list_checkpoints
from tests.conftest import FELLOW, START
from tests.integrity.tampering import CHANGES, copy_store, tamper, verify_data
from tests.integrity.test_archive import store_root

pytestmark = pytest.mark.slow


def impact(data: Path, *args: str, **env: str) -> tuple[int, str]:
    """Run the CLI in-process: (exit code, stdout and stderr with line wrapping undone)."""
    result = CliRunner().invoke(
        app, list(args), env={"IMPACT_DATA_DIR": str(data), "COLUMNS": "300", **env}
    )
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize("name", list(CHANGES))
def test_verify_exits_1_and_says_which_event_changed_and_how(
    pristine: Path, tmp_path: Path, name: str
) -> None:
    change, kind, says = CHANGES[name]
    data = copy_store(pristine, tmp_path / "data")
    touched = tamper(data, change, random.Random(7))

    code, output = impact(data, "verify")

    assert code == 1, output
    reported = output.split(f"{kind}: ", 1)[1]
    assert reported.index(says) < 300, reported[:300]
    assert any(reported.startswith(f"stream {s} version {v}") for s, v in touched), reported
    assert "checkpoint 1 (" in output
    assert "FAILED" in output
    assert "The log is intact" not in output


def events_in(data: Path) -> int:
    """How many events the SQLite store under ``data`` holds."""
    with sqlite3.connect(data / "events.sqlite") as db:
        count: int = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
    return count


def test_an_untouched_store_is_intact_and_says_what_was_checked(pristine: Path) -> None:
    n = events_in(pristine)
    code, output = impact(pristine, "verify")
    assert code == 0, output
    assert f"Checked {n} stored events against {n} recorded." in output
    assert f"checkpoint 1 ({n} events): ok signed by a trusted key" in output
    assert output.endswith("The log is intact.")


def test_verifying_an_empty_store_says_there_was_nothing_to_verify(tmp_path: Path) -> None:
    code, output = impact(tmp_path / "empty", "verify")
    assert code == 0, output
    assert output == "The event store is empty and no checkpoint was signed: nothing to verify."


def _forge_latest_checkpoint(data: Path, root: str | None = None) -> str:
    """Re-sign the latest checkpoint row in the views database with a fresh key; its key."""
    settings = Settings(data_dir=data)
    engine = create_read_side(settings, create_tracker(settings)).engine
    latest = list_checkpoints(engine)[-1]
    engine.dispose()
    forged = latest.model_copy(update={"root": root or latest.root})
    forger = Signer(Ed25519PrivateKey.generate())
    with sqlite3.connect(data / "views.sqlite") as db:
        db.execute(
            "UPDATE integrity_checkpoints SET root = ?, public_key = ?, signature = ? "
            "WHERE seq = ?",
            (forged.root, forger.public_key_hex, forger.sign(forged.message), latest.seq),
        )
    return forger.public_key_hex


def test_a_checkpoint_re_signed_with_a_fresh_key_is_reported_as_untrusted(
    pristine: Path, tmp_path: Path
) -> None:
    data = copy_store(pristine, tmp_path / "data")
    forger = _forge_latest_checkpoint(data)

    report = verify_data(data)
    assert not report.ok
    ((checkpoint, ok, detail),) = report.checkpoints
    assert not ok
    assert f"signed by key {forger[:16]}..., which this tracker does not trust" in detail
    code, output = impact(data, "verify")
    assert code == 1
    signed = f"checkpoint 1 ({events_in(data)} events): FAILED the checkpoint is signed by key"
    assert signed in output

    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    project_id, _ = tracker.proposed_projects(limit=1)[0]
    total = len(tracker.history(project_id))
    verdict = integrity_of(tracker, [checkpoint], project_id, total, trusted_keys(settings))
    assert verdict.state == "failed"
    assert "which this tracker does not trust" in verdict.failures[0]
    tracker.close()

    # After a key rotation the operator lists the other key as trusted: then it holds.
    code, output = impact(data, "verify", IMPACT_TRUSTED_CHECKPOINT_KEYS=forger)
    assert code == 0, output


def test_a_forged_checkpoint_over_a_tampered_store_is_still_caught(
    pristine: Path, tmp_path: Path
) -> None:
    data = copy_store(pristine, tmp_path / "data")
    tamper(data, CHANGES["bytes"][0], random.Random(3))
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    _, tampered_root = store_root(tracker)
    tracker.close()
    _forge_latest_checkpoint(data, root=tampered_root)

    code, output = impact(data, "verify")
    assert code == 1
    assert "altered: stream" in output
    assert "FAILED the checkpoint is signed by key" in output


def _record_more(data: Path, sign: bool = True) -> None:
    """Record a milestone on the first project, catch the views up and (maybe) sign."""
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    project_id, _ = tracker.proposed_projects(limit=1)[0]
    tracker.log_milestone(
        FELLOW, project_id, c.LogMilestone(occurred_on=START, title="Later", description="")
    )
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    if sign:
        create_checkpoint(read_side.engine, load_signer(settings))
    read_side.close()
    tracker.close()


def test_each_checkpoint_is_consistent_with_its_successor(pristine: Path, tmp_path: Path) -> None:
    data = copy_store(pristine, tmp_path / "data")
    _record_more(data)
    code, output = impact(data, "verify")
    assert code == 0, output
    assert "checkpoint 1 -> 2: consistent (proved from the store)" in output

    # The store altered within both: both roots fail, but the recorded hashes still prove the
    # two signed histories consistent, so the fault is the store's, not a rewritten history.
    tamper(data, CHANGES["bytes"][0], random.Random(5))
    code, output = impact(data, "verify")
    assert code == 1
    assert (
        "checkpoint 1 -> 2: consistent (proved from the hashes recorded as the events were written)"
    ) in output


def test_a_history_rewritten_and_re_signed_with_the_trackers_own_key_is_inconsistent(
    pristine: Path, tmp_path: Path
) -> None:
    data = copy_store(pristine, tmp_path / "data")
    with sqlite3.connect(data / "events.sqlite") as db:  # a change that still decodes
        rowid, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%:MilestoneLogged'"
        ).fetchone()
        forged = state.replace(b'"description":"', b'"description":"Forged. ', 1)
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (forged, rowid))
    # The intruder has the key: they rebuild the integrity view from the altered store and
    # sign a new checkpoint over it. Only the earlier checkpoint remembers the old history.
    code, output = impact(data, "rebuild", "integrity")
    assert code == 0, output
    n = events_in(data)
    _record_more(data)

    code, output = impact(data, "verify")

    assert code == 1
    assert f"checkpoint 1 ({n} events): FAILED" in output
    assert f"checkpoint 2 ({n + 1} events): ok" in output
    assert "checkpoint 1 -> 2: INCONSISTENT (no log extends both" in output
