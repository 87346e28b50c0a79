"""Erasure by crypto-shredding: names and emails sealed per person, erased by deleting the key.

The storage tests look for the plaintext (and the key) in the database files themselves: every
SQLite file under the data directory, write-ahead logs included, and a ``pg_dump`` of the
PostgreSQL database.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.archive import export_archive, import_archive
from application.bootstrap import create_tracker
from application.erasure import erase_person
from application.identity.service import (
    ERASED_DISPLAY_NAME,
    IdentityService,
    NewUser,
    create_identity_engine,
)
from application.integrity.signing import load_signer, trusted_keys
from application.persistence.recorder import PersonKeyStore
from application.personal_data import (
    ERASED_NAME,
    SealedDataError,
    new_key,
    seal,
    unseal,
)
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.errors import PersonErasedError
from domain.programme import Fellow, FellowEnrolled, FellowErased
from domain.values import ErasureReason, Role
from read_models.bootstrap import ReadSide, create_read_side
from read_models.integrity.checkpoints import create_checkpoint
from read_models.integrity.verify import verify
from read_models.queries.exports import events_jsonl
from tests.conftest import ADMIN, FELLOW, START, Programme, proposal, set_up_programme
from tests.read_models.dump import dump_views

NAME = "Zebedee Quintrell-Apricot"
EMAIL = "zebedee.quintrell-apricot@example.org"
FIXTURE = Path(__file__).parent.parent / "fixtures" / "fellow_enrolled_v1.json"


def keys_of(tracker: ImpactTracker) -> PersonKeyStore:
    return cast(PersonKeyStore, tracker.recorder)


def enrol(tracker: ImpactTracker, programme: Programme, **changes: Any) -> UUID:
    fields: dict[str, Any] = {
        "occurred_on": START,
        "cohort_id": programme.cohort_id,
        "organisation_id": programme.trust_id,
        "role_title": "Discharge coordinator",
        "name": NAME,
        "email": EMAIL,
    }
    fields.update(changes)
    return tracker.enrol_fellow(ADMIN, c.EnrolFellow.model_validate(fields)).aggregate_id


def stored_states(tracker: ImpactTracker) -> list[bytes]:
    return [n.state for n in tracker.recorder.select_notifications(start=1, limit=10_000)]


# -- sealing ---------------------------------------------------------------------------------


def test_a_sealed_value_opens_only_for_its_person_and_field() -> None:
    key, person = new_key(), uuid4()
    sealed = seal(key, person, "name", NAME)
    assert NAME not in sealed
    assert sealed != seal(key, person, "name", NAME)  # a fresh nonce every time
    assert unseal(key, person, "name", sealed) == NAME
    for wrong_key, wrong_person, wrong_field in [
        (new_key(), person, "name"),
        (key, uuid4(), "name"),
        (key, person, "email"),
    ]:
        with pytest.raises(SealedDataError):
            unseal(wrong_key, wrong_person, wrong_field, sealed)


# -- every engine ----------------------------------------------------------------------------


def test_a_fellow_reads_back_in_clear_but_is_stored_only_sealed(
    tracker: ImpactTracker, programme: Programme
) -> None:
    fellow_id = enrol(tracker, programme)

    found = tracker.fellow(fellow_id)
    assert (found.name, found.email, found.erased) == (NAME, EMAIL, False)
    (event,) = [e for e in tracker.events.get(fellow_id) if isinstance(e, FellowEnrolled)]
    assert event.sealed_name is not None
    assert event.sealed_name.startswith("aesgcm1:")
    for state in stored_states(tracker):
        assert NAME.encode() not in state
        assert EMAIL.encode() not in state


def test_an_email_is_optional_and_a_name_is_required(
    tracker: ImpactTracker, programme: Programme
) -> None:
    fellow_id = enrol(tracker, programme, email=None)
    assert (tracker.fellow(fellow_id).name, tracker.fellow(fellow_id).email) == (NAME, None)
    with pytest.raises(ValueError, match="name"):
        c.EnrolFellow(
            occurred_on=START,
            cohort_id=programme.cohort_id,
            organisation_id=programme.trust_id,
            role_title="Nurse",
        )  # type: ignore[call-arg]


def test_erasing_a_fellow_records_no_personal_data_and_reads_as_erased(
    tracker: ImpactTracker, programme: Programme
) -> None:
    fellow_id = enrol(tracker, programme)
    project_id = tracker.propose_project(
        FELLOW, proposal(programme, lead_fellow_id=fellow_id)
    ).aggregate_id
    head = tracker.head()

    result = tracker.erase_person(ADMIN, fellow_id, ErasureReason.REQUESTED_BY_PERSON)

    assert (result.already_erased, result.key_destroyed, result.storage_purged) == (
        False,
        True,
        True,
    )
    assert tracker.head() == head + 1
    erased = tracker.fellow(fellow_id)
    assert (erased.name, erased.email, erased.erased) == (ERASED_NAME, None, True)
    assert erased.erased_on == result.erased_on
    assert keys_of(tracker).person_key(fellow_id) is None
    last = list(tracker.events.get(fellow_id))[-1]
    assert isinstance(last, FellowErased)
    assert set(last.model_dump()) == {
        "originator_id",
        "originator_version",
        "timestamp",
        "actor",
        "occurred_on",
        "reason",
    }
    # The project they lead is untouched: it refers to them by id only.
    assert tracker.project(project_id).lead_fellow_id == fellow_id


def test_erasing_twice_records_nothing_new(tracker: ImpactTracker, programme: Programme) -> None:
    fellow_id = enrol(tracker, programme)
    first = tracker.erase_person(ADMIN, fellow_id, ErasureReason.ENROLLED_IN_ERROR)
    head = tracker.head()

    again = tracker.erase_person(ADMIN, fellow_id, ErasureReason.REQUESTED_BY_PERSON)

    assert tracker.head() == head
    assert again.already_erased
    assert not again.key_destroyed
    assert (again.version, again.erased_on, again.reason) == (
        first.version,
        first.erased_on,
        ErasureReason.ENROLLED_IN_ERROR,
    )


def test_the_aggregate_refuses_a_second_erasure(
    tracker: ImpactTracker, programme: Programme
) -> None:
    fellow_id = enrol(tracker, programme)
    tracker.erase_person(ADMIN, fellow_id)
    fellow: object = tracker.repository.get(fellow_id)
    assert isinstance(fellow, Fellow)
    with pytest.raises(PersonErasedError):
        fellow.erase(ADMIN, ErasureReason.REQUESTED_BY_PERSON, date(2024, 6, 1))


def test_a_stored_version_1_enrolment_loads_without_a_name_and_can_be_erased(
    tracker: ImpactTracker, programme: Programme
) -> None:
    fixture = json.loads(FIXTURE.read_text())
    state = (
        json.dumps(fixture["state"])
        .replace("COHORT_ID", str(programme.cohort_id))
        .replace("ORGANISATION_ID", str(programme.trust_id))
    )
    fellow_id = uuid4()
    tracker.recorder.insert_events([StoredEvent(fellow_id, 1, fixture["topic"], state.encode())])

    old = tracker.fellow(fellow_id)
    assert (old.role_title, old.name, old.email, old.erased) == (
        "Community matron",
        None,
        None,
        False,
    )
    result = tracker.erase_person(ADMIN, fellow_id)
    assert (result.already_erased, result.key_destroyed) == (False, False)
    assert tracker.fellow(fellow_id).name == ERASED_NAME


def test_an_idempotent_retry_of_an_enrolment_stores_one_key_and_no_hash_of_the_name(
    tracker: ImpactTracker, programme: Programme
) -> None:
    command = c.EnrolFellow(
        occurred_on=START,
        cohort_id=programme.cohort_id,
        organisation_id=programme.trust_id,
        role_title="Nurse",
        name=NAME,
        email=EMAIL,
    )
    first = tracker.enrol_fellow(ADMIN, command, idempotency_key="enrol-zq")
    keys = len(keys_of(tracker).person_keys())
    again = tracker.enrol_fellow(ADMIN, command, idempotency_key="enrol-zq")
    assert again.replayed
    assert again.aggregate_id == first.aggregate_id
    assert len(keys_of(tracker).person_keys()) == keys
    # The fingerprint leaves personal fields out: a different name is the same command.
    renamed = command.model_copy(update={"name": "Someone Else"})
    assert tracker.enrol_fellow(ADMIN, renamed, idempotency_key="enrol-zq").replayed


def test_evaluator_exports_carry_neither_names_nor_their_ciphertext(
    tracker: ImpactTracker, programme: Programme
) -> None:
    enrol(tracker, programme)
    rows = list(events_jsonl(tracker, lambda value: value and f"p-{value}"))
    enrolments = [r for r in rows if r["event_type"] == "FellowEnrolled"]
    assert enrolments
    for row in enrolments:
        assert "sealed_name" not in row["data"]
        assert "sealed_email" not in row["data"]
    assert NAME not in json.dumps(rows)


def test_a_backup_carries_the_keys_but_not_an_erased_persons(
    tracker: ImpactTracker, programme: Programme, tmp_path: Path
) -> None:
    kept = enrol(tracker, programme, name="Kept Person", email=None)
    gone = enrol(tracker, programme)
    tracker.erase_person(ADMIN, gone)
    archive = tmp_path / "backup.jsonl.gz"
    export_archive(tracker, archive)

    restored = create_tracker(Settings(database_url="memory://", data_dir=tmp_path / "restored"))
    try:
        import_archive(restored, archive)
        assert restored.fellow(kept).name == "Kept Person"
        assert restored.fellow(gone).name == ERASED_NAME
        assert keys_of(restored).person_key(gone) is None
    finally:
        restored.close()


# -- what is left in the database files (SQLite and PostgreSQL) ------------------------------


@dataclass
class Store:
    """A tracker, its views and its identity database on one engine."""

    settings: Settings
    tracker: ImpactTracker
    read_side: ReadSide
    identity: IdentityService
    programme: Programme


@pytest.fixture
def store(shared_settings: Settings) -> Iterator[Store]:
    tracker = create_tracker(shared_settings)
    read_side = create_read_side(shared_settings, tracker)
    identity = IdentityService(create_identity_engine(shared_settings))
    try:
        yield Store(shared_settings, tracker, read_side, identity, set_up_programme(tracker))
    finally:
        identity.close()
        read_side.close()
        tracker.close()


def sqlite_files_containing(data_dir: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """For each needle, the files under ``data_dir`` whose bytes contain it."""
    found: dict[str, list[str]] = {label: [] for label in needles}
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            for label, needle in needles.items():
                if needle in content:
                    found[label].append(path.name)
    return found


def postgres_dump(url: str) -> str:
    return subprocess.run(
        ["pg_dump", "--data-only", f"--dbname={url}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def postgres_heap_pages(url: str, table: str) -> bytes:
    """Every page of a table's heap, dead tuples included (pageinspect, as a superuser)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        row = conn.execute("SELECT pg_relation_size(%s::regclass) / 8192", (table,)).fetchone()
        assert row is not None
        pages = [
            conn.execute("SELECT get_raw_page(%s, %s)", (table, number)).fetchone()
            for number in range(int(row[0]))
        ]
    return b"".join(bytes(page[0]) for page in pages if page)


def test_after_erasure_no_plaintext_or_key_remains_and_the_log_still_verifies(
    store: Store,
) -> None:
    tracker, identity, views = store.tracker, store.identity, store.read_side
    fellow_id = enrol(tracker, store.programme)
    identity.create_user(
        NewUser(
            user_id="fellow-zq",
            display_name=NAME,
            role=Role.FELLOW,
            fellow_id=fellow_id,
            password="a long enough password",
        )
    )
    token = identity.create_token("fellow-zq")
    session = identity.start_session("fellow-zq")
    key = keys_of(tracker).person_key(fellow_id)
    assert key is not None
    # Free text naming the fellow is sealed under their key; text naming no one stays plain.
    project = tracker.propose_project(FELLOW, proposal(store.programme)).aggregate_id
    for description in (f"Wexbury review chaired by {NAME}.", "Ottery review, no one named."):
        milestone = c.LogMilestone(
            occurred_on=date(2024, 2, 1), title="Review", description=description
        )
        tracker.log_milestone(FELLOW, project, milestone)
    views.runner.catch_up()
    signed = create_checkpoint(views.engine, load_signer(store.settings))
    before = dump_views(views.engine)
    assert "[sealed:" in json.dumps(before, default=str), "the views hold the sealed text"
    needles = {
        "name": NAME.encode(),
        "email": EMAIL.encode(),
        "key": key,
        "named text": b"Wexbury",
        "plain text": b"Ottery",
    }
    if store.settings.engine == "sqlite":
        present = sqlite_files_containing(store.settings.data_dir, needles)
        assert present["key"], "the key is in the events database before erasure"
        assert present["name"], "the account's display name is in the identity database"
        # (so the search would find text left plain, in the store and the views alike)
        assert {name.split(".")[0] for name in present["plain text"]} >= {"events", "views"}
        assert present["named text"] == [], "sealed from the start"
    else:
        assert store.settings.database_url is not None
        dump = postgres_dump(store.settings.database_url)
        assert key.hex() in dump, "the key is in the database before erasure"
        assert NAME in dump, "the account's display name is in the database"
        assert "Ottery" in dump
        assert "Wexbury" not in dump

    result = erase_person(tracker, identity, ADMIN, fellow_id, ErasureReason.REQUESTED_BY_PERSON)

    assert result.key_destroyed
    assert result.storage_purged
    assert result.accounts_anonymised == ["fellow-zq"]
    erased = tracker.fellow(fellow_id)
    assert (erased.name, erased.email, erased.erased) == (ERASED_NAME, None, True)
    descriptions = [m.description for m in tracker.project(project).milestones]
    assert descriptions == [ERASED_NAME, "Ottery review, no one named."]
    account = identity.get_user("fellow-zq")
    assert account is not None
    assert (account.display_name, account.disabled) == (ERASED_DISPLAY_NAME, True)
    assert identity.user_for_token(token) is None
    assert identity.user_for_session(session) is None

    # The stored events are untouched: every hash and the earlier checkpoint still verify.
    views.runner.catch_up()
    report = verify(tracker, views.engine, trusted_keys(store.settings))
    assert report.ok, report.problems
    assert [(made.seq, ok) for made, ok, _ in report.checkpoints] == [(signed.seq, True)]

    # Views rebuilt from scratch equal the incremental ones, and the erasure changed none but
    # the integrity view's (one more leaf).
    incremental = dump_views(views.engine)
    views.runner.rebuild()
    assert dump_views(views.engine) == incremental
    changed = {t for t in incremental if incremental[t] != before[t]}
    assert changed <= {t for t in incremental if t.startswith("integrity")}

    if store.settings.engine == "sqlite":
        present = sqlite_files_containing(store.settings.data_dir, needles)
        assert {label: files for label, files in present.items() if label != "plain text"} == {
            "name": [],
            "email": [],
            "key": [],
            "named text": [],
        }
    else:
        assert store.settings.database_url is not None
        dump = postgres_dump(store.settings.database_url)
        assert NAME not in dump
        assert EMAIL not in dump
        assert key.hex() not in dump
        assert "Quintrell" not in dump
        assert "Wexbury" not in dump
        # Not even as a dead tuple in the tables' pages, which pg_dump would not show.
        assert key not in postgres_heap_pages(store.settings.database_url, "person_keys")
        assert NAME.encode() not in postgres_heap_pages(
            store.settings.database_url, "identity_users"
        )
        with psycopg.connect(store.settings.database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM person_keys WHERE person_id = %s", (fellow_id,)
            ).fetchone()
        assert row == (0,)


def test_the_key_table_is_created_with_the_rest_of_the_schema(shared_settings: Settings) -> None:
    tracker = create_tracker(shared_settings)
    try:
        assert keys_of(tracker).person_keys() == []
    finally:
        tracker.close()
    if shared_settings.engine == "postgresql":
        assert shared_settings.database_url is not None
        with psycopg.connect(shared_settings.database_url) as conn:
            columns = conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'person_keys' ORDER BY ordinal_position"
            ).fetchall()
        assert [c for (c,) in columns] == ["person_id", "key", "created_at"]


def test_stored_enrolments_name_their_sealed_fields_only(
    tracker: ImpactTracker, programme: Programme
) -> None:
    enrol(tracker, programme)
    topic = get_topic(FellowEnrolled)
    states = [
        json.loads(n.state)
        for n in tracker.recorder.select_notifications(start=1, limit=100, topics=[topic])
    ]
    assert states
    for state in states:
        assert "name" not in state
        assert "email" not in state
        assert state["class_version"] == 2
