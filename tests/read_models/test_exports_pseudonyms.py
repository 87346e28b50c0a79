"""Evaluator exports name no one: every id of a person is its pseudonym, one per person.

The demo programme is exported twice, as an admin (real ids) and as an evaluator; walking the
two files side by side shows exactly which values were replaced, and by what.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import domain
from application.bootstrap import create_tracker
from application.demo.accounts import create_demo_accounts
from application.demo.loader import DemoSummary, load_demo
from application.identity.service import IdentityService, create_identity_engine
from application.pseudonyms import Pseudonymiser, load_pseudonymiser
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import programme
from domain.events import DomainEvent
from domain.values import SYSTEM_ACTOR, Role
from read_models.queries.exports import (
    PEOPLE_FIELDS,
    PEOPLE_LIST_FIELDS,
    PERSON_STREAM_EVENTS,
    events_jsonl,
)
from tests.conftest import set_up_programme


@dataclass
class Demo:
    """The demo in a store, its accounts, and the deployment's pseudonymiser."""

    tracker: ImpactTracker
    summary: DemoSummary
    identity: IdentityService
    pseudonym: Pseudonymiser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    settings = Settings(database_url="memory://", data_dir=Path(tmp_path_factory.mktemp("demo")))
    tracker = create_tracker(settings)
    identity = IdentityService(create_identity_engine(settings))
    try:
        summary = load_demo(tracker)
        create_demo_accounts(identity, summary)
        yield Demo(tracker, summary, identity, load_pseudonymiser(settings, identity))
    finally:
        identity.close()
        tracker.close()


def replaced(real: Any, hidden: Any) -> Iterator[tuple[str, str]]:
    """Each (real, pseudonym) pair where two otherwise equal JSON values differ."""
    if isinstance(real, dict):
        assert isinstance(hidden, dict)
        assert real.keys() == hidden.keys()
        for key in real:
            yield from replaced(real[key], hidden[key])
    elif isinstance(real, list):
        assert isinstance(hidden, list)
        assert len(real) == len(hidden)
        for a, b in zip(real, hidden, strict=True):
            yield from replaced(a, b)
    elif real != hidden:
        yield real, hidden


def test_no_real_id_of_a_fellow_or_user_is_left_in_an_evaluator_export(demo: Demo) -> None:
    real_rows = list(events_jsonl(demo.tracker, None))
    text = "\n".join(json.dumps(r) for r in events_jsonl(demo.tracker, demo.pseudonym))
    fellows = {str(f) for f in demo.summary.fellows}
    users = {r["actor"] for r in real_rows if r["actor_role"] != Role.SYSTEM.value}
    users |= {r["data"]["sponsor_id"] for r in real_rows if r["data"].get("sponsor_id")}
    users |= {u.user_id for u in demo.identity.list_users()}
    assert len(fellows) == 180
    assert {"demo-admin", "demo-fellow-001", "demo-sponsor-1", "demo-evaluator"} <= users
    # The admin's export does name them all (so the search below could find them).
    admin_text = "\n".join(json.dumps(r) for r in real_rows)
    assert all(f in admin_text for f in fellows)
    leaked = sorted(i for i in fellows | users if i in text)
    assert leaked == []


def test_the_same_person_has_the_same_pseudonym_everywhere_and_no_one_else_shares_it(
    demo: Demo,
) -> None:
    real_rows = list(events_jsonl(demo.tracker, None))
    hidden_rows = list(events_jsonl(demo.tracker, demo.pseudonym))
    pairs = {pair for a, b in zip(real_rows, hidden_rows, strict=True) for pair in replaced(a, b)}
    pseudonym_of: dict[str, set[str]] = {}
    people_of: dict[str, set[str]] = {}
    for real, hidden in pairs:
        assert re.fullmatch(r"person-[0-9a-f]{12}", hidden), (real, hidden)
        pseudonym_of.setdefault(real, set()).add(hidden)
        people_of.setdefault(hidden, set()).add(real)
    assert all(len(p) == 1 for p in pseudonym_of.values())
    # Only a fellow and their own account share a pseudonym: the demo's fellow 1 and its user.
    shared = [ids for ids in people_of.values() if len(ids) > 1]
    assert shared == [{str(demo.summary.fellows[0]), "demo-fellow-001"}]
    # Each fellow's own stream and the projects naming them carry one pseudonym.
    enrolled = {
        r["stream_id"] for r in hidden_rows if r["event_type"] in {"FellowEnrolled", "FellowErased"}
    }
    named = set()
    for r in hidden_rows:
        if r["event_type"] == "ProjectProposed":
            named |= {r["data"]["lead_fellow_id"], *r["data"]["team_fellow_ids"]}
    assert named
    assert named <= enrolled
    assert len(enrolled) == 180


def test_admins_get_real_ids_and_the_system_stays_the_system(
    memory_tracker: ImpactTracker,
) -> None:
    p = set_up_programme(memory_tracker)
    memory_tracker.erase_person(SYSTEM_ACTOR, p.other_fellow_id)
    pseudonym = Pseudonymiser(bytes(32))
    for hide, expected in ((pseudonym, pseudonym(str(p.other_fellow_id))), (None, None)):
        rows = list(events_jsonl(memory_tracker, hide))
        erased = next(r for r in rows if r["event_type"] == "FellowErased")
        assert erased["stream_id"] == (expected or str(p.other_fellow_id))
        assert (erased["actor"], erased["actor_role"]) == ("system", "system")
        enrolled = {r["stream_id"] for r in rows if r["event_type"] == "FellowEnrolled"}
        assert erased["stream_id"] in enrolled
        assert (str(p.lead_fellow_id) in enrolled) is (hide is None)


def event_classes() -> list[type[DomainEvent]]:
    """Every event class of the domain (each module imported, so none is missed)."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    found: list[type[DomainEvent]] = []
    pending = list(DomainEvent.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith("domain.")]


def test_every_event_field_that_names_a_person_is_pseudonymised() -> None:
    """A new field naming a fellow, sponsor or user must join the export's lists, or fail here."""
    people = re.compile(r"fellow|sponsor|user|person|member|author|owner")
    covered = PEOPLE_FIELDS | PEOPLE_LIST_FIELDS
    naming = {
        (cls.__name__, name)
        for cls in event_classes()
        for name in cls.model_fields
        if people.search(name)
    }
    assert naming
    assert {name for _, name in naming} <= covered, naming
    # Events applied to a Fellow are the fellow's own stream (annotations are strings here).
    fellow_events = {
        cls.__name__
        for cls in event_classes()
        if cls.apply.__annotations__.get("aggregate") in {"Fellow", programme.Fellow}
    }
    assert fellow_events == PERSON_STREAM_EVENTS
