"""The tracker's Ed25519 signing key (from settings) and checkpoint signatures.

Outside production a key is created on first use (file mode 0600); in production the key file
must exist, because checkpoints signed by a throwaway key prove nothing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from application.settings import Settings


class SigningKeyError(Exception):
    """The signing key is missing (in production) or unreadable."""


def checkpoint_message(size: int, root: str, signed_at: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    return f"impact-tracker checkpoint v1\nsize {size}\nroot {root}\nat {signed_at}\n".encode()


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
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        try:
            public.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True


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
