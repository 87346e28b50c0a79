"""Personal data sealed per person, so that erasing a person is deleting one key.

Each fellow gets a random 256-bit key when enrolled, kept in the event store's ``person_keys``
table (written in the same transaction as the enrolment, so there is never an event without
its key). Their name and email are stored in events only as AES-256-GCM ciphertext under that
key: a fresh 96-bit nonce per value, and associated data binding the ciphertext to the person
and the field, so a sealed value copied onto another person or field fails to open instead of
being shown as theirs. Deleting the key (crypto-shredding) leaves the log, and every hash over
it, untouched while making the values unreadable for good.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "aesgcm1:"
NONCE_BYTES = 12
KEY_BITS = 256

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
