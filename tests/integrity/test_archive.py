"""Backup and restore: identical streams and Merkle root, across engines; bad archives refused."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from application.archive import ArchiveError, check_archive, export_archive, import_archive
from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.integrity import merkle
from application.settings import Settings
from application.tracker import ImpactTracker
from read_models.bootstrap import create_read_side
from read_models.integrity.verify import store_leaves
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
    data = tmp_path_factory.mktemp("origin")
    tracker = create_tracker(Settings(data_dir=data))
    load_demo(tracker)
    path = data / "backup.jsonl.gz"
    export_archive(tracker, path)
    tracker.close()
    return data, path


def test_an_archive_restores_identical_streams_root_and_views(
    archive: tuple[Path, Path], shared_settings: Settings
) -> None:
    origin_data, path = archive
    origin = create_tracker(Settings(data_dir=origin_data))
    restored = create_tracker(shared_settings)
    assert import_archive(restored, path) == origin.head()
    assert store_root(restored) == store_root(origin)
    project_id, _ = origin.proposed_projects(limit=1)[0]
    assert restored.history(project_id) == origin.history(project_id)

    origin_views = create_read_side(Settings(data_dir=origin_data), origin)
    restored_views = create_read_side(shared_settings, restored)
    origin_views.runner.rebuild()
    restored_views.runner.rebuild()
    assert dump_views(restored_views.engine) == dump_views(origin_views.engine)
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
    with throwaway_database() as url:
        middle = create_tracker(Settings(database_url=url, data_dir=tmp_path / "pg"))
        import_archive(middle, path)
        again = tmp_path / "again.jsonl.gz"
        export_archive(middle, again)
        middle.close()
    back = create_tracker(Settings(data_dir=tmp_path / "back"))
    import_archive(back, again)
    assert store_root(back) == store_root(origin)
    assert check_archive(again)["merkle_root"] == check_archive(path)["merkle_root"]
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
    with pytest.raises(ArchiveError, match=message):
        import_archive(tracker, damaged)
    assert tracker.head() == 0
    tracker.close()


def test_importing_into_a_store_with_events_is_refused(archive: tuple[Path, Path]) -> None:
    tracker = create_tracker(Settings(data_dir=archive[0]))
    head = tracker.head()
    with pytest.raises(ArchiveError, match="not empty"):
        import_archive(tracker, archive[1])
    assert tracker.head() == head
    tracker.close()
