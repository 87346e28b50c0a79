"""The tracker's Ed25519 signing key (from settings) and checkpoint signatures.

Outside production a key is created on first use (file mode 0600); in production the key file
must exist, because checkpoints signed by a throwaway key prove nothing.

A checkpoint names the key that signed it, but that name is never evidence: anyone who can
write a checkpoint row can sign it with a key of their own. A checkpoint is trusted only when
its signature holds for one of the *trusted* keys: the public half of the configured signing
key, and the public keys listed in ``IMPACT_TRUSTED_CHECKPOINT_KEYS`` (earlier keys after a
rotation, or the tracker's key on a machine that only verifies).
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import AfterValidator, BaseModel, Field

from application.settings import Settings


class SigningKeyError(Exception):
    """The signing key is missing (in production) or unreadable."""


TrustedKeys = frozenset[str]  # Ed25519 public keys, lower-case hex


def checkpoint_message(size: int, root: str, signed_at: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    return f"impact-tracker checkpoint v1\nsize {size}\nroot {root}\nat {signed_at}\n".encode()


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Checkpoint(BaseModel):
    """A signed statement of the log's size and Merkle root at a time.

    ``public_key`` says which key claims to have signed it; only ``trust`` says whether that
    claim holds for a key this tracker trusts.
    """

    seq: int
    size: Annotated[int, Field(ge=0)]
    root: str
    signed_at: Annotated[datetime, AfterValidator(_as_utc)]
    public_key: str
    signature: str

    @property
    def message(self) -> bytes:
        """What the signature covers."""
        return checkpoint_message(
            self.size, self.root, self.signed_at.replace(tzinfo=None).isoformat()
        )

    def trust(self, trusted: TrustedKeys) -> str | None:
        """Why this checkpoint can't be trusted, or None when a trusted key signed it."""
        return checkpoint_trust(self.public_key, self.message, self.signature, trusted)


class Signer:
    """Signs and checks checkpoints."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key_hex = raw.hex()
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, message: bytes) -> str:
        """A hex signature."""
        return self.key.sign(message).hex()

    @staticmethod
    def verify(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
        """Whether the signature is the key's signature of the message."""
        try:
            public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
            public.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def trusted_keys(settings: Settings) -> TrustedKeys:
    """The keys whose checkpoints this tracker trusts (never creates a key file).

    The signing key's public half when its file exists, and the configured list.
    """
    keys = set(settings.trusted_checkpoint_keys)
    if settings.signing_key_path.exists():
        keys.add(load_signer(settings).public_key_hex)
    return frozenset(keys)


def checkpoint_trust(
    public_key: str, message: bytes, signature: str, trusted: TrustedKeys
) -> str | None:
    """Why a checkpoint can't be trusted, or None when a trusted key signed it."""
    if public_key.lower() not in trusted:
        return (
            f"the checkpoint is signed by key {public_key[:16]}..., which this tracker does "
            "not trust (forged, or from another tracker: see IMPACT_TRUSTED_CHECKPOINT_KEYS)"
        )
    if not Signer.verify(public_key, message, signature):
        return "the checkpoint's signature does not verify"
    return None


def load_signer(settings: Settings) -> Signer:
    """The key from settings; created (0600) on first use outside production."""
    path: Path = settings.signing_key_path
    if not path.exists():
        if settings.environment == "production":
            msg = f"No checkpoint signing key at {path} (set IMPACT_SIGNING_KEY_FILE)."
            raise SigningKeyError(msg)
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        msg = f"{path} is not an Ed25519 private key."
        raise SigningKeyError(msg)
    return Signer(loaded)
