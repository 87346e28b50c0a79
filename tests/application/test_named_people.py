"""Free text that names fellows is stored sealed under their keys, and erased with any of them."""

from __future__ import annotations

import json
from datetime import date
from uuid import UUID, uuid4

import pytest

from application.bootstrap import create_tracker
from application.errors import InvalidRequestError
from application.named_people import NamedPeople
from application.persistence.recorder import PersonKeyStore
from application.personal_data import (
    ERASED_NAME,
    SealedDataError,
    new_key,
    open_text,
    people_in_text,
    seal_text,
)
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from tests.application.test_erasure import NAME, enrol, keys_of, stored_states
from tests.conftest import ADMIN, FELLOW, Programme, proposal, set_up_programme

OTHER = "Ada Lovelace"


def stored_texts(tracker: ImpactTracker, field: str) -> list[str]:
    return [json.loads(s)[field] for s in stored_states(tracker) if f'"{field}"'.encode() in s]


# -- sealing and opening -----------------------------------------------------------------------


def test_text_sealed_for_several_people_opens_only_while_every_key_is_there() -> None:
    ada, bob = uuid4(), uuid4()
    keys = {ada: new_key(), bob: new_key()}
    token = seal_text(keys, "Agreed by Ada and Bob.")
    assert "Ada" not in token
    assert people_in_text(f"Paused: {token}") == {ada, bob}
    assert open_text(f"Paused: {token}", keys.get) == "Paused: Agreed by Ada and Bob."
    # Sealing is deterministic (a retried command keeps its fingerprint), per set of people.
    assert seal_text(dict(reversed(keys.items())), "Agreed by Ada and Bob.") == token
    assert seal_text({ada: keys[ada]}, "Agreed by Ada and Bob.") != token
    without_bob = {ada: keys[ada]}
    assert open_text(f"Paused: {token}", without_bob.get) == f"Paused: {ERASED_NAME}"
    assert open_text("Plain text.", without_bob.get) == "Plain text."


def test_a_sealed_text_under_other_keys_or_altered_does_not_open() -> None:
    ada = uuid4()
    token = seal_text({ada: new_key()}, "Agreed by Ada.")
    with pytest.raises(SealedDataError):
        open_text(token, lambda _: new_key())
    tampered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(SealedDataError):
        open_text(tampered, lambda _: new_key())


# -- finding who a text names ------------------------------------------------------------------


def test_a_fellow_is_named_by_their_full_name_in_any_case_spacing_or_punctuation(
    tracker: ImpactTracker, programme: Programme
) -> None:
    zeb = enrol(tracker, programme)
    ada = enrol(tracker, programme, name=OTHER, email=None)
    named = tracker.named_people.named_in
    assert named(f"Agreed with {NAME}.") == {zeb}
    assert named("agreed with ZEBEDEE   quintrell apricot") == {zeb}
    assert named(f"{OTHER}, then {NAME.upper()}") == {zeb, ada}
    assert named("Ada Lovelaced the spreadsheet; Zebedee alone is no one") == set()
    assert named("") == set()
    tracker.erase_person(ADMIN, zeb)
    assert named(f"Agreed with {NAME}.") == set()


def test_a_fellow_enrolled_by_another_process_is_found_at_the_next_check(
    programme_settings: tuple[Settings, Programme],
) -> None:
    settings, programme = programme_settings
    first, second = create_tracker(settings), create_tracker(settings)
    try:
        assert first.named_people.named_in(f"With {NAME}") == set()
        zeb = enrol(second, programme)
        assert first.named_people.named_in(f"With {NAME}") == {zeb}
        second.erase_person(ADMIN, zeb)
        assert first.named_people.named_in(f"With {NAME}") == set()
    finally:
        first.close()
        second.close()


@pytest.fixture
def programme_settings(shared_settings: Settings) -> tuple[Settings, Programme]:
    tracker = create_tracker(shared_settings)
    try:
        return shared_settings, set_up_programme(tracker)
    finally:
        tracker.close()


# -- what is stored and what readers see ------------------------------------------------------


def milestone(description: str, day: int = 1) -> c.LogMilestone:
    return c.LogMilestone(occurred_on=date(2024, 2, day), title="Board", description=description)


def test_a_description_naming_a_fellow_is_stored_sealed_and_read_opened(
    tracker: ImpactTracker, programme: Programme
) -> None:
    zeb = enrol(tracker, programme)
    project = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.log_milestone(FELLOW, project, milestone(f"Agreed with {NAME}."))
    tracker.log_milestone(FELLOW, project, milestone("Nobody named.", 2))
    sealed, plain = stored_texts(tracker, "description")
    assert plain == "Nobody named."
    assert sealed.startswith("[sealed:")
    assert NAME not in sealed
    assert people_in_text(sealed) == {zeb}
    assert all(NAME.encode() not in state for state in stored_states(tracker))
    # The cache never keeps the copy that applied the text unsealed.
    cache = tracker.repository.cache
    cached = cache.get(project) if cache is not None and project in cache.cache else None
    assert cached is None or NAME not in repr(cached.__dict__)
    shown = [m.description for m in tracker.project(project).milestones]
    assert shown == [f"Agreed with {NAME}.", "Nobody named."]
    history = [e.data.get("description") for e in tracker.history(project)]
    assert f"Agreed with {NAME}." in history

    tracker.erase_person(ADMIN, zeb)
    shown = [m.description for m in tracker.project(project).milestones]
    assert shown == [ERASED_NAME, "Nobody named."]
    assert ERASED_NAME in [e.data.get("description") for e in tracker.history(project)]


def test_text_naming_two_fellows_is_erased_with_either(
    tracker: ImpactTracker, programme: Programme
) -> None:
    zeb = enrol(tracker, programme)
    enrol(tracker, programme, name=OTHER, email=None)
    project = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.pause_project(
        FELLOW,
        project,
        c.PauseProject(occurred_on=date(2024, 2, 1), reason=f"{OTHER} and {NAME} both left."),
    )
    (reason,) = stored_texts(tracker, "reason")
    assert len(people_in_text(reason)) == 2
    assert tracker.open_text(reason) == f"{OTHER} and {NAME} both left."
    tracker.erase_person(ADMIN, zeb)
    assert tracker.open_text(reason) == ERASED_NAME


def test_a_retried_command_naming_a_fellow_keeps_its_outcome_and_its_fingerprint_no_text(
    tracker: ImpactTracker, programme: Programme
) -> None:
    enrol(tracker, programme)
    project = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    command = milestone(f"Agreed with {NAME}.")
    first = tracker.log_milestone(FELLOW, project, command, idempotency_key="m-1")
    again = tracker.log_milestone(FELLOW, project, command, idempotency_key="m-1")
    assert again.replayed
    assert again.version == first.version
    # The text is left out of the fingerprint, as names are: a hash would outlive the key.
    other = milestone("Agreed with someone else entirely.")
    assert tracker.log_milestone(FELLOW, project, other, idempotency_key="m-2").version
    renamed = milestone(f"Signed off by {NAME}.")
    assert tracker.log_milestone(FELLOW, project, renamed, idempotency_key="m-1").replayed


def test_the_index_reads_names_only_through_the_people_keys(
    tracker: ImpactTracker, programme: Programme
) -> None:
    zeb = enrol(tracker, programme)
    keys: PersonKeyStore = keys_of(tracker)
    index = NamedPeople(tracker.recorder, keys)  # type: ignore[arg-type]
    assert index.name_of(zeb) == NAME
    assert index.name_of(UUID(int=0)) is None


# -- text that holds something like a token ----------------------------------------------------


def test_text_naming_a_fellow_is_sealed_even_beside_something_like_a_token(
    tracker: ImpactTracker, programme: Programme
) -> None:
    zeb = enrol(tracker, programme)
    project = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    # "[sealed:" once let a text through unsealed, so erasing Zeb left their name readable.
    tracker.log_milestone(FELLOW, project, milestone(f"Agreed with {NAME} [sealed: soon]"))
    assert all(NAME.encode() not in state for state in stored_states(tracker))
    (shown,) = [m.description for m in tracker.project(project).milestones]
    assert shown == f"Agreed with {NAME} [sealed: soon]"
    tracker.erase_person(ADMIN, zeb)
    assert [m.description for m in tracker.project(project).milestones] == [ERASED_NAME]


def test_a_forged_token_in_free_text_is_refused_naming_the_field(
    tracker: ImpactTracker, programme: Programme
) -> None:
    zeb = enrol(tracker, programme)
    project = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    before = tracker.project(project).version
    forged = f"See [sealed:{zeb}:{'A' * 43}]"
    with pytest.raises(InvalidRequestError) as refused:
        tracker.log_milestone(FELLOW, project, milestone(forged))
    assert refused.value.field == "description"
    # Nothing was recorded, so no reader meets a token that can't be opened.
    assert tracker.project(project).version == before


def test_a_sealed_text_holding_another_opens_both_and_erases_with_either() -> None:
    ada, bob = uuid4(), uuid4()
    keys = {ada: new_key(), bob: new_key()}
    inner = seal_text({bob: keys[bob]}, "Bob's note")
    outer = seal_text({ada: keys[ada]}, f"Ada quoted: {inner}")
    assert open_text(outer, keys.get) == "Ada quoted: Bob's note"
    assert open_text(outer, {ada: keys[ada]}.get) == f"Ada quoted: {ERASED_NAME}"
    assert open_text(outer, {bob: keys[bob]}.get) == ERASED_NAME
