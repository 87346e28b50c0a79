"""Periodic checkpoints: the follower signs once the interval has passed and the log has grown.

The clock is injected, so nothing here waits or depends on how fast the machine is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from application.bootstrap import create_tracker
from application.integrity.signing import load_signer
from application.settings import Settings
from application.tracker import ImpactTracker
from read_models.bootstrap import ReadSide, create_read_side
from read_models.integrity.checkpoints import (
    PeriodicCheckpoints,
    create_checkpoint,
    list_checkpoints,
)
from tests.conftest import FELLOW, Programme, proposal, set_up_programme

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        """Move to ``seconds`` after T0."""
        self.now = T0 + timedelta(seconds=seconds)


@dataclass
class Store:
    """A small programme on SQLite, its views caught up."""

    settings: Settings
    tracker: ImpactTracker
    read_side: ReadSide
    programme: Programme

    def grow(self) -> None:
        """Record one more event and bring the views up to date."""
        self.tracker.propose_project(FELLOW, proposal(self.programme))
        self.read_side.runner.catch_up()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    settings = Settings(data_dir=tmp_path)
    tracker = create_tracker(settings)
    programme = set_up_programme(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    yield Store(settings, tracker, read_side, programme)
    read_side.close()
    tracker.close()


def test_a_checkpoint_is_signed_when_due_and_only_if_the_log_grew(store: Store) -> None:
    clock = Clock()
    periodic = PeriodicCheckpoints(
        store.read_side.engine, lambda: load_signer(store.settings), every_seconds=60, clock=clock
    )

    first = periodic.tick()
    assert first is not None
    assert (first.size, first.signed_at) == (store.tracker.head(), T0)

    store.grow()
    clock.at(59)
    assert periodic.tick() is None  # grown, but not yet due
    clock.at(60)
    second = periodic.tick()
    assert second is not None
    assert (second.size, second.signed_at) == (store.tracker.head(), T0 + timedelta(seconds=60))

    clock.at(200)
    assert periodic.tick() is None  # due, but nothing new to sign
    assert [c.seq for c in list_checkpoints(store.read_side.engine)] == [first.seq, second.seq]


def test_the_interval_runs_from_the_latest_checkpoint_whoever_signed_it(store: Store) -> None:
    clock = Clock()
    clock.at(1000)
    signer = load_signer(store.settings)
    create_checkpoint(store.read_side.engine, signer, signed_at=clock())  # e.g. on demand
    store.grow()
    periodic = PeriodicCheckpoints(store.read_side.engine, lambda: signer, 60, clock=clock)
    clock.at(1030)
    assert periodic.tick() is None
    clock.at(1060)
    assert periodic.tick() is not None


def test_the_follower_signs_on_its_rounds_when_the_setting_is_on(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, checkpoint_every_seconds=1)
    tracker = create_tracker(settings)
    set_up_programme(tracker)
    read_side = create_read_side(settings, tracker)
    stop = threading.Event()
    read_side.runner.ticks.append(stop.set)  # one round, then stop
    read_side.runner.follow(stop, poll_seconds=0.01)

    (made,) = list_checkpoints(read_side.engine)
    assert made.size == tracker.head()
    read_side.close()
    tracker.close()


def test_periodic_checkpoints_are_off_unless_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    assert read_side.runner.ticks == []
    read_side.close()
    tracker.close()
