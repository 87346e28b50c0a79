"""Free text that names people, sealed under their keys so that erasing them erases it too.

A note, reason, milestone description or closing summary may name a fellow ("Agreed with Ada
Lovelace"). Erasing that fellow must leave no readable copy of their name, so before events
are stored the application (not the domain, which never sees keys) looks for the enrolled
fellows each free-text field names, and stores the field sealed under all their keys
(``personal_data.seal_text``); text naming nobody stays plain. The views copy the stored form,
so they hold only the sealed text; readers open it with ``open_text``, or read ``[erased]``.

A fellow is "named" when the words of their full name appear in the text, in order and
whole, in any case and with any spacing or punctuation between them. The names are opened
from the fellows' sealed details once and kept in memory; each check first reads the
enrolments and erasures recorded since the last one (by any process), so a fellow enrolled
elsewhere a moment ago is found too, and an erased one is forgotten.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from application.errors import InvalidRequestError
from application.persistence.recorder import PersonKeyStore
from application.personal_data import TEXT_TOKEN, SealedDataError, open_text, seal_text, unseal
from domain.events import DomainEvent
from domain.programme import FellowEnrolled, FellowErased

# The event fields that hold free text a person writes (on any event that has them).
FREE_TEXT_FIELDS = ("note", "reason", "description", "summary")
PAGE = 1000
E = TypeVar("E")
_TOPICS = [get_topic(FellowEnrolled), get_topic(FellowErased)]


class NotificationReader(Protocol):
    """The part of the event store's recorder the index reads."""

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Any = ()
    ) -> list[Notification]:
        """Notifications from ``start`` (to ``stop``), of these topics."""

    def max_notification_id(self) -> int | None:
        """The last notification's id."""


class NamedPeople:
    """Which enrolled fellows a text names, and the text sealed under their keys."""

    def __init__(self, recorder: NotificationReader, keys: PersonKeyStore) -> None:
        self._recorder = recorder
        self._keys = keys
        self._names: dict[UUID, str] = {}
        self._read_to = 0
        self._by_name: dict[tuple[str, ...], set[UUID]] = {}
        self._by_first_word: dict[str, list[tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def named_in(self, text: str) -> set[UUID]:
        """The enrolled, unerased fellows whose full name the text contains."""
        words = _words(text)
        if not words:
            return set()
        with self._lock:
            self._catch_up()
            return self._named(words)

    def naming_fields(self, values: Any) -> set[str]:
        """Which free-text fields of a command (or event) name fellows."""
        texts = {f: getattr(values, f) for f in text_fields(type(values))}
        return {f for f, text in texts.items() if isinstance(text, str) and self.named_in(text)}

    def seal_all(self, events: Iterable[E]) -> list[E]:
        """The events, each free-text field that names fellows sealed under their keys.

        Text naming nobody (or only the erased) stays plain, and so does text whose only
        names are inside tokens it already holds (a summary quoting a sealed reason); text
        naming fellows outside its tokens is sealed whole, tokens and all (readers open the
        inner ones too). The index is brought up to date once for the whole batch.
        """
        events = list(events)
        texts = [
            (n, f, v)
            for n, event in enumerate(events)
            for f in text_fields(type(event))
            if isinstance(v := getattr(event, f), str) and _words(v)
        ]
        if not texts:
            return events
        changes: dict[int, dict[str, str]] = {}
        with self._lock:
            self._catch_up()
            for n, field, text in texts:
                # Judge the text around any tokens it holds: a token is sealed already, but
                # "[sealed:" beside a name must not let that name through in the clear.
                people = self._named(_words(self._outside_tokens(field, text)))
                keys = {p: k for p in people if (k := self._keys.person_key(p)) is not None}
                if keys:
                    changes.setdefault(n, {})[field] = seal_text(keys, text)
        return [
            cast(E, cast(DomainEvent, event).model_copy(update=changes[n]))
            if n in changes
            else event
            for n, event in enumerate(events)
        ]

    def _outside_tokens(self, field: str, text: str) -> str:
        """The text with its sealed tokens taken out, once each is known to open.

        Tokens come from stored events (a summary quoting a sealed reason); one typed or
        pasted in that doesn't open with its people's keys would fail every reader that
        meets it, so it is refused, naming the field, before anything is recorded.
        """
        if "[sealed:" not in text:
            return text
        try:
            open_text(text, self._keys.person_key)
        except SealedDataError:
            msg = (
                f"The {field} holds text in the form [sealed:...:...] that this tracker did "
                "not seal; remove it."
            )
            raise InvalidRequestError(msg, field=field) from None
        return TEXT_TOKEN.sub(" ", text)

    def _named(self, words: list[str]) -> set[UUID]:
        found: set[UUID] = set()
        for i, word in enumerate(words):
            for name in self._by_first_word.get(word, ()):
                if tuple(words[i : i + len(name)]) == name:
                    found |= self._by_name[name]
        return found

    def name_of(self, person: UUID) -> str | None:
        """An enrolled, unerased fellow's name, as this index knows it."""
        with self._lock:
            self._catch_up()
            return self._names.get(person)

    def _catch_up(self) -> None:
        """Read the enrolments and erasures recorded since the last look (by any process)."""
        head = self._recorder.max_notification_id() or 0
        if head <= self._read_to:
            return
        start, changed = self._read_to + 1, False
        while page := self._recorder.select_notifications(
            start=start, limit=PAGE, stop=head, topics=_TOPICS
        ):
            for notification in page:
                changed |= self._apply(notification)
            start = page[-1].id + 1
        self._read_to = head
        if changed:
            self._compile()

    def _apply(self, notification: Notification) -> bool:
        person = UUID(str(notification.originator_id))
        if notification.topic == _TOPICS[1]:
            return self._names.pop(person, None) is not None
        sealed = json.loads(notification.state).get("sealed_name")
        key = self._keys.person_key(person)
        if not sealed or key is None:
            return False
        try:
            self._names[person] = unseal(key, person, "name", sealed)
        except SealedDataError:
            return False
        return True

    def _compile(self) -> None:
        self._by_name = {}
        self._by_first_word = {}
        for person, name in self._names.items():
            words = tuple(_words(name))
            if words:
                self._by_name.setdefault(words, set()).add(person)
        for words in self._by_name:
            self._by_first_word.setdefault(words[0], []).append(words)


_TEXT_FIELDS: dict[type, tuple[str, ...]] = {}


def text_fields(cls: type) -> tuple[str, ...]:
    """The free-text fields a command or event class has (looked up once per class).

    Asking each object for every field name instead made pydantic raise and catch an
    ``AttributeError`` for each absent one, on every command's events.
    """
    found = _TEXT_FIELDS.get(cls)
    if found is None:
        declared = getattr(cls, "model_fields", None) or {}
        found = _TEXT_FIELDS[cls] = tuple(f for f in FREE_TEXT_FIELDS if f in declared)
    return found


def _words(text: str) -> list[str]:
    """A text's words as names are compared: case folded, punctuation and spacing ignored.

    So "ada lovelace", "Ada  Lovelace" and "ADA LOVELACE." all name Ada Lovelace, while
    "Ada Lovelaced" names no one.
    """
    return re.findall(r"\w+", text.casefold())


def holds_sealed_text(events: Iterable[Any]) -> bool:
    """Whether any of the events carries a sealed free-text field."""
    return any(
        "[sealed:" in value
        for event in events
        for field in text_fields(type(event))
        if isinstance(value := getattr(event, field), str)
    )
