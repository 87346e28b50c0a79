"""Backup and restore: identical streams and Merkle root, across engines; bad archives refused.

The archive carries the signed checkpoints; a restore puts them back, and refuses the whole
archive (nothing imported) when one is not signed by a trusted key or disagrees with the
archive's events, even when whoever altered it recomputed the trailer's digest and root.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from application import archive as archive_module
from application.archive import ArchiveError, check_archive, export_archive, import_archive
from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.integrity import merkle
from application.integrity.signing import Checkpoint, TrustedKeys, load_signer, trusted_keys
from application.settings import Settings
from application.tracker import ImpactTracker
from interfaces.cli.main import CommandFailedError, app
from read_models.bootstrap import create_read_side
from read_models.integrity.checkpoints import (
    CheckpointsExistError,
    create_checkpoint,
    list_checkpoints,
    restore_checkpoints,
)
from read_models.integrity.verify import store_leaves, verify
from tests.postgres import throwaway_database
from tests.read_models.dump import dump_views


def store_root(tracker: ImpactTracker) -> tuple[int, str]:
    frontier: merkle.Frontier = []
    count = 0
    for leaf in store_leaves(tracker):
        frontier = merkle.append(frontier, leaf.leaf_hash)
        count += 1
    return count, merkle.root(frontier)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo, with a checkpoint signed part-way through the log and one at its end."""
    data = tmp_path_factory.mktemp("origin")
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    load_demo(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.run_page()
    create_checkpoint(read_side.engine, load_signer(settings))
    read_side.runner.catch_up()
    create_checkpoint(read_side.engine, load_signer(settings))
    path = data / "backup.jsonl.gz"
    export_archive(tracker, path, checkpoints=list_checkpoints(read_side.engine))
    read_side.close()
    tracker.close()
    return data, path


def origin_keys(archive: tuple[Path, Path]) -> TrustedKeys:
    """The keys the origin tracker trusts: its own signing key."""
    return trusted_keys(Settings(data_dir=archive[0]))


def origin_checkpoints(archive: tuple[Path, Path]) -> list[Checkpoint]:
    """The checkpoints the origin keeps."""
    settings = Settings(data_dir=archive[0])
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    kept = list_checkpoints(read_side.engine)
    read_side.close()
    tracker.close()
    return kept


def test_an_archive_restores_identical_streams_root_and_views(
    archive: tuple[Path, Path], shared_settings: Settings
) -> None:
    origin_data, path = archive
    origin = create_tracker(Settings(data_dir=origin_data))
    restored = create_tracker(shared_settings)
    restored_views = create_read_side(shared_settings, restored)
    count = import_archive(
        restored,
        path,
        trusted=origin_keys(archive),
        restore_checkpoints=lambda kept: restore_checkpoints(restored_views.engine, kept),
    )
    assert count == origin.head()
    assert store_root(restored) == store_root(origin)
    project_id, _ = origin.proposed_projects(limit=1)[0]
    assert restored.history(project_id) == origin.history(project_id)

    origin_views = create_read_side(Settings(data_dir=origin_data), origin)
    origin_views.runner.rebuild()
    restored_views.runner.rebuild()
    assert dump_views(restored_views.engine) == dump_views(origin_views.engine)
    kept = list_checkpoints(restored_views.engine)
    assert kept == list_checkpoints(origin_views.engine)
    assert [c.size for c in kept] == [500, origin.head()]
    report = verify(restored, restored_views.engine, origin_keys(archive))
    assert report.ok, report
    assert [ok for _, ok, _ in report.checkpoints] == [True, True]
    assert [p.status for p in report.consistency] == ["consistent"]
    # New checkpoints follow the restored ones (PostgreSQL's serial was moved past them).
    later = create_checkpoint(restored_views.engine, load_signer(shared_settings))
    assert later.seq == kept[-1].seq + 1
    origin_views.close()
    restored_views.close()
    origin.close()
    restored.close()


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back_keeps_the_merkle_root(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    origin_data, path = archive
    origin = create_tracker(Settings(data_dir=origin_data))
    keys = origin_keys(archive)
    with throwaway_database() as url:
        pg = Settings(database_url=url, data_dir=tmp_path / "pg")
        middle = create_tracker(pg)
        middle_views = create_read_side(pg, middle)
        import_archive(
            middle,
            path,
            trusted=keys,
            restore_checkpoints=lambda kept: restore_checkpoints(middle_views.engine, kept),
        )
        again = tmp_path / "again.jsonl.gz"
        export_archive(middle, again, checkpoints=list_checkpoints(middle_views.engine))
        middle_views.close()
        middle.close()
    back_settings = Settings(data_dir=tmp_path / "back")
    back = create_tracker(back_settings)
    back_views = create_read_side(back_settings, back)
    import_archive(
        back,
        again,
        trusted=keys,
        restore_checkpoints=lambda kept: restore_checkpoints(back_views.engine, kept),
    )
    assert list_checkpoints(back_views.engine) == origin_checkpoints(archive)
    back_views.close()
    assert store_root(back) == store_root(origin)
    assert check_archive(again, keys)["merkle_root"] == check_archive(path, keys)["merkle_root"]
    back.close()
    origin.close()


def _rewrite(path: Path, target: Path, change: str) -> Path:
    with gzip.open(path, "rt") as source:
        lines = source.readlines()
    if change == "truncate":
        lines = lines[: len(lines) // 2]
    elif change == "drop-trailer":
        lines = lines[:-1]
    elif change == "alter":
        lines[10] = lines[10].replace('"v":', '"v": ', 1)
    elif change == "swap":
        lines[10], lines[11] = lines[11], lines[10]
    with gzip.open(target, "wt") as out:
        out.writelines(lines)
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("truncate", "truncated"),
        ("drop-trailer", "truncated"),
        ("alter", "altered"),
        ("swap", "altered"),
    ],
)
def test_a_damaged_archive_is_refused_and_nothing_is_imported(
    archive: tuple[Path, Path], tmp_path: Path, change: str, message: str
) -> None:
    damaged = _rewrite(archive[1], tmp_path / "damaged.jsonl.gz", change)
    tracker = create_tracker(Settings(data_dir=tmp_path / "store"))
    keys = origin_keys(archive)
    kept: list[Checkpoint] = []
    with pytest.raises(ArchiveError, match=message):
        import_archive(tracker, damaged, trusted=keys, restore_checkpoints=kept.extend)
    assert tracker.head() == 0
    assert kept == []
    tracker.close()


def test_importing_into_a_store_with_events_is_refused(archive: tuple[Path, Path]) -> None:
    tracker = create_tracker(Settings(data_dir=archive[0]))
    head = tracker.head()
    with pytest.raises(ArchiveError, match="not empty"):
        import_archive(tracker, archive[1])
    assert tracker.head() == head
    tracker.close()


def _retrailered(path: Path, target: Path, change: str) -> Path:
    """The archive changed as a careful intruder would: the trailer's digest and root redone."""
    with gzip.open(path, "rt") as source:
        lines = source.readlines()
    records = [json.loads(line) for line in lines]
    events = [i for i, r in enumerate(records) if "v" in r and "id" in r]
    if change == "alter":
        record = records[events[10]]
        record["state"] = base64.b64encode(base64.b64decode(record["state"]) + b" ").decode()
    elif change == "drop-checkpoint":
        del records[1]
        events = [i - 1 for i in events]
    elif change == "forge-checkpoint":
        records[1]["root"] = "0" * 64
    elif change == "repeat-first-event":  # after every checkpoint's size, so they still hold
        records.insert(events[-1] + 1, dict(records[events[0]]))
        events.append(events[-1] + 1)
    body = [json.dumps(r, separators=(",", ":"), sort_keys=True) + "\n" for r in records[:-1]]
    frontier: merkle.Frontier = []
    for i in events:
        r = records[i]
        state = base64.b64decode(r["state"])
        entry = merkle.entry(uuid.UUID(r["id"]), r["v"], r["topic"], state)
        frontier = merkle.append(frontier, merkle.leaf_hash(entry))
    trailer = records[-1] | {
        "sha256": hashlib.sha256("".join(body).encode()).hexdigest(),
        "merkle_root": merkle.root(frontier),
        "events": len(events),
        "checkpoints": sum(1 for r in records if "checkpoint" in r),
    }
    with gzip.open(target, "wt") as out:
        out.writelines([*body, json.dumps(trailer, sort_keys=True) + "\n"])
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("alter", "checkpoint 1 .* the archive's Merkle root at that size differs from the signed"),
        ("forge-checkpoint", "checkpoint 1 .* the checkpoint's signature does not verify"),
    ],
)
def test_an_archive_altered_with_a_recomputed_trailer_is_refused_by_its_checkpoints(
    archive: tuple[Path, Path], tmp_path: Path, change: str, message: str
) -> None:
    altered = _retrailered(archive[1], tmp_path / "altered.jsonl.gz", change)
    untouched = _retrailered(archive[1], tmp_path / "same.jsonl.gz", "none")
    keys = origin_keys(archive)
    assert check_archive(untouched, keys) == check_archive(archive[1], keys)
    tracker = create_tracker(Settings(data_dir=tmp_path / "store"))
    keys = origin_keys(archive)
    kept: list[Checkpoint] = []
    with pytest.raises(ArchiveError, match=message):
        import_archive(
            tracker, altered, trusted=origin_keys(archive), restore_checkpoints=kept.extend
        )
    assert (tracker.head(), kept) == (0, [])
    tracker.close()


def test_an_archive_repeating_an_event_is_refused_before_any_batch_is_written(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    # The repeat sits past the first batch of events: once, the batches before it were
    # written and the store was left half-restored when the repeat broke the unique key.
    repeated = _retrailered(archive[1], tmp_path / "repeated.jsonl.gz", "repeat-first-event")
    tracker = create_tracker(Settings(data_dir=tmp_path / "store"))
    kept: list[Checkpoint] = []
    with pytest.raises(ArchiveError, match="version 1 comes after version 1"):
        import_archive(
            tracker, repeated, trusted=origin_keys(archive), restore_checkpoints=kept.extend
        )
    assert (tracker.head(), kept) == (0, [])
    tracker.close()


def _cut_after_first_batch(path: Path, target: Path) -> Path:
    """The archive with its events after the first batch taken out (nothing else changed)."""
    with gzip.open(path, "rt") as source:
        lines = source.readlines()
    events = [i for i, line in enumerate(lines) if '"v":' in line and '"id":' in line]
    gone = set(events[archive_module.BATCH :])
    with gzip.open(target, "wt") as out:
        out.writelines(line for i, line in enumerate(lines) if i not in gone)
    return target


def test_an_archive_cut_short_after_its_check_is_reported_not_imported_as_whole(
    archive: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "racy.jsonl.gz"
    path.write_bytes(archive[1].read_bytes())
    cut = _cut_after_first_batch(archive[1], tmp_path / "cut.jsonl.gz")
    checked = archive_module._check

    def check_then_cut(*args: object) -> object:
        found = checked(*args)  # type: ignore[arg-type]
        path.write_bytes(cut.read_bytes())
        return found

    monkeypatch.setattr(archive_module, "_check", check_then_cut)
    tracker = create_tracker(Settings(data_dir=tmp_path / "store"))
    with pytest.raises(ArchiveError, match="changed while it was imported: it ends after 1000"):
        import_archive(
            tracker, path, trusted=origin_keys(archive), restore_checkpoints=lambda _: None
        )
    tracker.close()


def test_an_archive_changed_after_its_check_imports_nothing_unchecked(
    archive: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The archive is read twice, to check it and then to write it: whoever can write the
    # file between the two reads must not get events in that were never checked.
    path = tmp_path / "racy.jsonl.gz"
    path.write_bytes(archive[1].read_bytes())
    forged = _retrailered(archive[1], tmp_path / "forged.jsonl.gz", "alter")
    checked = archive_module._check

    def check_then_swap(*args: object) -> object:
        found = checked(*args)  # type: ignore[arg-type]
        path.write_bytes(forged.read_bytes())
        return found

    monkeypatch.setattr(archive_module, "_check", check_then_swap)
    tracker = create_tracker(Settings(data_dir=tmp_path / "store"))
    with pytest.raises(ArchiveError, match="changed while it was imported"):
        import_archive(
            tracker, path, trusted=origin_keys(archive), restore_checkpoints=lambda _: None
        )
    # The altered event is in the first batch: nothing at all is written.
    stored = {
        (n.originator_id, n.originator_version, n.state)
        for n in tracker.recorder.select_notifications(start=1, limit=10_000)
    }
    with gzip.open(forged, "rt") as source:
        records = [json.loads(line) for line in source]
    altered = [r for r in records if "v" in r and "id" in r][10]
    state = base64.b64decode(altered["state"])
    assert (uuid.UUID(altered["id"]), altered["v"], state) not in stored
    assert tracker.head() == 0
    tracker.close()


@pytest.mark.parametrize("line", ["[1]", "1", '"text"', "null"])
def test_an_archive_line_that_is_not_a_record_is_refused_as_unreadable(
    archive: tuple[Path, Path], tmp_path: Path, line: str
) -> None:
    with gzip.open(archive[1], "rt") as source:
        lines = source.readlines()
    odd = tmp_path / "odd.jsonl.gz"
    with gzip.open(odd, "wt") as out:
        out.writelines([lines[0], line + "\n", *lines[1:]])
    with pytest.raises(ArchiveError, match="can't be read"):
        check_archive(odd, origin_keys(archive))


def test_checkpoints_signed_by_a_key_the_tracker_does_not_trust_are_refused(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    tracker = create_tracker(Settings(data_dir=tmp_path / "store"))
    kept: list[Checkpoint] = []
    with pytest.raises(ArchiveError, match="which this tracker does not trust"):
        import_archive(tracker, archive[1], trusted=frozenset(), restore_checkpoints=kept.extend)
    with pytest.raises(ArchiveError, match="nowhere to restore them"):
        import_archive(tracker, archive[1], trusted=origin_keys(archive))
    assert (tracker.head(), kept) == (0, [])
    tracker.close()


def test_a_views_database_that_keeps_checkpoints_already_is_refused_before_any_event(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "store")
    tracker = create_tracker(settings)
    views = create_read_side(settings, tracker)
    create_checkpoint(views.engine, load_signer(settings))  # of the empty log that was here
    with pytest.raises(CheckpointsExistError, match="already keeps 1 checkpoint"):
        import_archive(
            tracker,
            archive[1],
            trusted=origin_keys(archive),
            restore_checkpoints=lambda kept: restore_checkpoints(views.engine, kept),
        )
    assert tracker.head() == 0
    assert len(list_checkpoints(views.engine)) == 1
    views.close()
    tracker.close()


def _impact(data: Path, *args: str, **env: str) -> tuple[int, str]:
    """Run the CLI in-process: (exit code, its output, and the refusal it raised if any)."""
    result = CliRunner().invoke(app, list(args), env={"IMPACT_DATA_DIR": str(data), **env})
    refusal = result.exception if isinstance(result.exception, CommandFailedError) else ""
    return result.exit_code, " ".join(f"{result.output} {refusal}".split())


def test_export_all_and_import_carry_the_checkpoints_from_the_command_line(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    origin = archive[0]
    backup = tmp_path / "cli.jsonl.gz"
    code, output = _impact(origin, "export", "--all", str(backup))
    assert code == 0, output
    assert "events and 2 signed checkpoint(s)" in output

    # On a new machine without the tracker's key nothing is trusted: nothing is imported.
    code, output = _impact(tmp_path / "bare", "import", str(backup))
    assert code == 1
    assert "nothing imported: checkpoint 1 (500 events): the checkpoint is signed by key" in output
    bare = create_tracker(Settings(data_dir=tmp_path / "bare"))
    assert bare.head() == 0
    bare.close()

    key = str(Settings(data_dir=origin).signing_key_path)
    code, output = _impact(tmp_path / "new", "import", str(backup), IMPACT_SIGNING_KEY_FILE=key)
    assert code == 0, output
    assert "events and 2 signed checkpoint(s)" in output
    code, output = _impact(tmp_path / "new", "verify", IMPACT_SIGNING_KEY_FILE=key)
    assert code == 0, output
    assert "checkpoint 1 -> 2: consistent" in output


def test_a_backup_to_a_file_that_cannot_be_written_is_refused_in_words(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    target = tmp_path / "no such folder" / "backup.jsonl.gz"
    code, output = _impact(archive[0], "export", "--all", str(target))
    assert code == 1
    assert f"can't write the archive {target}" in output
