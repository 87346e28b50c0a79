"""The rebuild's fast paths write what the ordinary paths would, and recover from being killed.

``insert_rows`` skips SQLAlchemy's per-row parameter handling (inline conversions on SQLite,
COPY on PostgreSQL) and a rebuild builds the secondary indexes only at its end; these tests pin
down that neither changes what the views hold or leaves them without their indexes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    create_engine,
    inspect,
    select,
)

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.settings import Settings
from application.tracker import ImpactTracker
from read_models.database import create_views_engine
from read_models.projection import insert_rows
from read_models.runner import ProjectionRunner
from read_models.views import all_projections
from tests.postgres import throwaway_database
from tests.read_models.dump import dump_views

ROWS = [
    {
        "id": UUID("12345678-1234-5678-1234-567812345678"),
        "n": 7,
        "big": 2**40,
        "name": "Ward 7",
        "note": None,
        "day": date(2024, 2, 29),
        "moment": datetime(2024, 3, 1, 12, 30),  # no microseconds: still written with them
        "value": 48,  # an int in a float column
        "flag": True,
        "data": {"a": [1, 2.5, None], "b": "x"},
    },
    {
        "id": UUID(int=1),
        "n": -1,
        "big": 0,
        "name": "",
        "note": "a note",
        "day": date(1999, 12, 31),
        "moment": datetime(2016, 1, 1, 0, 0, 0, 1),
        "value": None,
        "flag": False,
        "data": {},
    },
]


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("n", Integer, nullable=False),
        Column("big", BigInteger, nullable=False),
        Column("name", String(20), nullable=False),
        Column("note", Text),
        Column("day", Date, nullable=False),
        Column("moment", DateTime, nullable=False),
        Column("value", Float),
        Column("flag", Boolean, nullable=False),
        Column("data", JSON, nullable=False),
    )


def test_sqlite_bulk_inserts_store_the_same_text_as_sqlalchemy(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'views.sqlite'}")
    metadata = MetaData()
    core, bulk = _table(metadata, "core"), _table(metadata, "bulk")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(core.insert(), ROWS)
        insert_rows(conn, bulk, ROWS)
    with engine.connect() as conn:
        stored = [
            conn.exec_driver_sql(f"SELECT * FROM {name} ORDER BY id").all()
            for name in ("core", "bulk")
        ]
        typed = [conn.execute(select(t).order_by(t.c.id)).all() for t in (core, bulk)]
    engine.dispose()
    assert stored[0] == stored[1]
    assert typed[0] == typed[1]


@pytest.mark.postgres
def test_copy_on_postgresql_stores_what_sqlite_stores(tmp_path: Path) -> None:
    metadata = MetaData()
    table = _table(metadata, "bulk")
    sqlite = create_engine(f"sqlite:///{tmp_path / 'views.sqlite'}")
    with throwaway_database() as url:
        postgres = create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
        read = []
        for engine in (sqlite, postgres):
            metadata.create_all(engine)
            with engine.begin() as conn:
                insert_rows(conn, table, ROWS)
            with engine.connect() as conn:
                read.append(conn.execute(select(table).order_by(table.c.id)).all())
            engine.dispose()
    assert read[0] == read[1]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[ImpactTracker]:
    """An in-memory store holding the demo data twice (a few thousand events)."""
    tracker = create_tracker(Settings(database_url="memory://", data_dir=tmp_path / "store"))
    load_demo(tracker)
    load_demo(tracker)
    yield tracker
    tracker.close()


def _views_engine(settings: Settings, tmp_path: Path, name: str) -> Engine:
    if settings.engine == "postgresql":
        return create_views_engine(settings)
    return create_views_engine(Settings(data_dir=tmp_path / name))


def _missing_indexes(engine: Engine) -> list[str]:
    found = {
        index["name"] for listed in inspect(engine).get_multi_indexes().values() for index in listed
    }
    return [
        str(index.name)
        for projection in all_projections()
        for index in projection.indexes()
        if index.name not in found
    ]


def test_a_rebuild_in_several_pages_equals_views_built_page_by_page(
    shared_settings: Settings, demo: ImpactTracker, tmp_path: Path
) -> None:
    incremental_engine = create_views_engine(Settings(data_dir=tmp_path / "incremental"))
    incremental = ProjectionRunner(demo, incremental_engine, all_projections(), page_size=37)
    incremental.set_up()
    incremental.catch_up()
    engine = _views_engine(shared_settings, tmp_path, "rebuilt")
    rebuilt = ProjectionRunner(demo, engine, all_projections(), rebuild_page_size=101)
    rebuilt.set_up()
    assert rebuilt.rebuild() == demo.head()
    assert rebuilt.positions() == incremental.positions()
    assert dump_views(engine) == dump_views(incremental_engine)
    assert _missing_indexes(engine) == []
    engine.dispose()
    incremental_engine.dispose()


def test_a_rebuild_killed_before_its_indexes_gets_them_back_on_catching_up(
    shared_settings: Settings, demo: ImpactTracker, tmp_path: Path
) -> None:
    engine = _views_engine(shared_settings, tmp_path, "killed")
    runner = ProjectionRunner(demo, engine, all_projections(), page_size=50)
    runner.set_up()
    # What a rebuild leaves when it is killed after some pages: tables without their indexes.
    with engine.begin() as conn:
        for projection in runner.projections.values():
            projection.recreate(conn, indexes=False)
    runner.run_page()
    assert _missing_indexes(engine) != []
    runner.catch_up()
    assert _missing_indexes(engine) == []

    clean_engine = create_views_engine(Settings(data_dir=tmp_path / "clean"))
    clean = ProjectionRunner(demo, clean_engine, all_projections())
    clean.set_up()
    clean.rebuild()
    assert dump_views(engine) == dump_views(clean_engine)
    engine.dispose()
    clean_engine.dispose()


def test_a_following_worker_creates_indexes_a_killed_rebuild_left_out(
    demo: ImpactTracker, tmp_path: Path
) -> None:
    engine = create_views_engine(Settings(data_dir=tmp_path / "views"))
    runner = ProjectionRunner(demo, engine, all_projections(), page_size=200)
    runner.set_up()
    with engine.begin() as conn:
        for projection in runner.projections.values():
            projection.recreate(conn, indexes=False)
    stop = threading.Event()
    worker = threading.Thread(target=runner.follow, args=(stop, 0.01))
    worker.start()
    try:
        runner.wait_for(demo.head(), timeout=60)
        deadline = time.monotonic() + 60
        while _missing_indexes(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join()
    assert _missing_indexes(engine) == []
    engine.dispose()


def test_a_worker_follows_only_the_views_it_was_given(demo: ImpactTracker, tmp_path: Path) -> None:
    """One worker per view (``impact project --follow timeline``): the others stay put."""
    engine = create_views_engine(Settings(data_dir=tmp_path / "views"))
    runner = ProjectionRunner(demo, engine, all_projections(), page_size=200)
    runner.set_up()
    stop = threading.Event()
    worker = threading.Thread(target=runner.follow, args=(stop, 0.01, ["timeline"]))
    worker.start()
    try:
        runner.wait_for(demo.head(), ["timeline"], timeout=60)
    finally:
        stop.set()
        worker.join()
    positions = runner.positions()
    assert positions.pop("timeline") == demo.head()
    assert set(positions.values()) == {0}
    engine.dispose()


def test_setting_up_creates_indexes_a_killed_rebuild_left_out(
    shared_settings: Settings, demo: ImpactTracker, tmp_path: Path
) -> None:
    engine = _views_engine(shared_settings, tmp_path, "views")
    runner = ProjectionRunner(demo, engine, all_projections())
    runner.set_up()
    with engine.begin() as conn:
        for projection in runner.projections.values():
            projection.recreate(conn, indexes=False)
    ProjectionRunner(demo, engine, all_projections()).set_up()
    assert _missing_indexes(engine) == []
    engine.dispose()


def test_a_rebuild_leaves_sqlites_page_cache_as_it_was(demo: ImpactTracker, tmp_path: Path) -> None:
    engine = create_views_engine(Settings(data_dir=tmp_path / "views"))
    runner = ProjectionRunner(demo, engine, all_projections())
    runner.set_up()
    pragmas = ("cache_size", "mmap_size")
    with engine.connect() as conn:
        before = [conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in pragmas]
    runner.rebuild()
    with engine.connect() as conn:
        after = [conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in pragmas]
    engine.dispose()
    assert after == before
    assert int(before[1] or 0) > 0  # the views are read through a memory map
