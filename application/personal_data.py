"""Personal data sealed per person, so that erasing a person is deleting one key.

Each fellow gets a random 256-bit key when enrolled, kept in the event store's ``person_keys``
table (written in the same transaction as the enrolment, so there is never an event without
its key). Their name and email are stored in events only as AES-256-GCM ciphertext under that
key: a fresh 96-bit nonce per value, and associated data binding the ciphertext to the person
and the field, so a sealed value copied onto another person or field fails to open instead of
being shown as theirs. Deleting the key (crypto-shredding) leaves the log, and every hash over
it, untouched while making the values unreadable for good.

Free text that names fellows (a note, a reason) is sealed too, under a key derived from all
their keys (``seal_text``; ``application.named_people`` decides when), so erasing any one of
them makes it unreadable.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel

PREFIX = "aesgcm1:"
NONCE_BYTES = 12
KEY_BITS = 256
T = TypeVar("T")

# How erased details read everywhere (the API, the CLI, the web pages).
ERASED_NAME = "[erased]"
ERASED_EMAIL: str | None = None


class SealedDataError(Exception):
    """A sealed value that does not open with its person's key: corrupted or misplaced."""


@dataclass(frozen=True)
class PersonKey:
    """One person's data key, as the ``person_keys`` table keeps it."""

    person_id: UUID
    key: bytes
    created_at: datetime


@dataclass(frozen=True)
class OpenedDetails:
    """A fellow's details as a reader sees them."""

    name: str | None
    email: str | None
    erased: bool


def new_key() -> bytes:
    """A fresh random AES-256 key for one person."""
    return AESGCM.generate_key(bit_length=KEY_BITS)


def _associated_data(person_id: UUID, field: str) -> bytes:
    return f"impact-tracker/person/{person_id}/{field}".encode()


def seal(key: bytes, person_id: UUID, field: str, plaintext: str) -> str:
    """Encrypt one value of a person's field as an opaque string events can carry."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _associated_data(person_id, field))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(key: bytes, person_id: UUID, field: str, sealed: str) -> str:
    """Decrypt a value sealed by ``seal`` for the same person and field."""
    if not sealed.startswith(PREFIX):
        msg = f"The {field} of {person_id} is not a sealed value this tracker can read."
        raise SealedDataError(msg)
    body = sealed.removeprefix(PREFIX)
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    nonce, ciphertext = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _associated_data(person_id, field))
    except InvalidTag:
        msg = f"The {field} of {person_id} does not open with their key (altered or misplaced)."
        raise SealedDataError(msg) from None
    return plaintext.decode()


def open_details(
    person_id: UUID,
    key: bytes | None,
    sealed_name: str | None,
    sealed_email: str | None,
    *,
    erased: bool,
) -> OpenedDetails:
    """A person's name and email, or the erased placeholders once the key is gone.

    A person recorded before names were (no sealed values, no key) reads as name ``None``, not
    erased. A sealed value whose key is missing reads as erased: the key is the only way in.
    """
    if erased or ((sealed_name or sealed_email) and key is None):
        return OpenedDetails(name=ERASED_NAME, email=ERASED_EMAIL, erased=True)
    if key is None:
        return OpenedDetails(name=None, email=None, erased=False)
    return OpenedDetails(
        name=unseal(key, person_id, "name", sealed_name) if sealed_name else None,
        email=unseal(key, person_id, "email", sealed_email) if sealed_email else None,
        erased=False,
    )


# -- free text that names people -------------------------------------------------------------
#
# A note or reason that names fellows is sealed under a key derived from all their keys, so
# erasing any one of them makes it unreadable (their name is in it, and the text can't be
# opened for the others without reopening it for them). The token says whose keys it needs;
# it is self-delimiting, so a reader can open it inside a longer string (a timeline summary
# such as "Paused: <token>"). Sealing is deterministic (AES-SIV): the same text naming the same
# people seals to the same token, so a retried command keeps its idempotency fingerprint.

TEXT_TOKEN = re.compile(r"\[sealed:([0-9a-f-]{36}(?:\+[0-9a-f-]{36})*):([A-Za-z0-9_-]+)\]")
_TEXT_CONTEXT = b"impact-tracker/free-text/v1/"


def _text_key(keys: list[tuple[UUID, bytes]]) -> tuple[bytes, bytes]:
    """The AES-SIV key for text naming these people, and the associated data binding them."""
    people = "+".join(str(person) for person, _ in keys).encode()
    derived = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=None, info=_TEXT_CONTEXT + people
    ).derive(b"".join(key for _, key in keys))
    return derived, _TEXT_CONTEXT + people


def seal_text(keys: dict[UUID, bytes], plaintext: str) -> str:
    """Seal text naming these people (their ids and keys) as a token to store in its place."""
    ordered = sorted(keys.items(), key=lambda item: str(item[0]))
    key, bound = _text_key(ordered)
    sealed = AESSIV(key).encrypt(plaintext.encode(), [bound])
    people = "+".join(str(person) for person, _ in ordered)
    body = base64.urlsafe_b64encode(sealed).decode().rstrip("=")
    return f"[sealed:{people}:{body}]"


def people_in_text(text: str) -> set[UUID]:
    """The people whose keys the sealed tokens in a text need."""
    return {UUID(p) for m in TEXT_TOKEN.finditer(text) for p in m.group(1).split("+")}


def open_text(
    text: str,
    key_of: Callable[[UUID], bytes | None],
    rewrite: Callable[[str, list[UUID]], str] | None = None,
) -> str:
    """The text with each sealed token opened, or ``ERASED_NAME`` if any key is gone.

    ``rewrite`` is given each opened text and the people it names (an evaluator's export puts
    their pseudonyms in place of their names). Text with no token comes back unchanged, so
    readers can pass every string through.
    """
    if "[sealed:" not in text:
        return text

    def opened(match: re.Match[str]) -> str:
        people = [UUID(p) for p in match.group(1).split("+")]
        keys = [(person, key_of(person)) for person in people]
        present = [(person, key) for person, key in keys if key is not None]
        if len(present) < len(keys):
            return ERASED_NAME
        key, bound = _text_key(present)
        body = match.group(2)
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            plaintext = AESSIV(key).decrypt(raw, [bound]).decode()
        except InvalidTag:
            msg = "A sealed text does not open with its people's keys (altered or misplaced)."
            raise SealedDataError(msg) from None
        if "[sealed:" in plaintext:  # text sealed whole around a token it quoted
            plaintext = open_text(plaintext, key_of, rewrite)
        return rewrite(plaintext, people) if rewrite is not None else plaintext

    return TEXT_TOKEN.sub(opened, text)


def open_all(value: T, open_one: Callable[[str], str]) -> T:
    """Every sealed text inside a value opened: strings, lists, dicts and pydantic models.

    What holds no sealed text comes back as the same object, so the common case costs a scan.
    """
    if isinstance(value, str):
        return cast(T, open_one(value))
    if isinstance(value, BaseModel):
        changes = {}
        for name in type(value).model_fields:
            field = getattr(value, name)
            opened = open_all(field, open_one)
            if opened is not field:
                changes[name] = opened
        return value.model_copy(update=changes) if changes else value
    if isinstance(value, list):
        items = [open_all(item, open_one) for item in value]
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else cast(T, items)
    if isinstance(value, dict):
        entries = {key: open_all(item, open_one) for key, item in value.items()}
        same = all(entries[key] is item for key, item in value.items())
        return value if same else cast(T, entries)
    return value


# The opener of the request being served (set by the web application for each request, to
# its tracker's ``open_text``), so the pages and JSON it renders from the views open sealed
# text without every query taking the key store.
TEXT_OPENER: ContextVar[Callable[[str], str] | None] = ContextVar("text_opener", default=None)
