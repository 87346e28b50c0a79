"""Stable pseudonyms for people in evaluator exports: the same person, the same pseudonym.

A keyed hash (HMAC-SHA256) of the user or fellow id, so pseudonyms can't be reversed by
guessing ids without the key; the key lives beside the signing key (created on first use).
Only admins see real ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from application.settings import Settings


class Pseudonymiser:
    """Maps ids to pseudonyms such as ``person-3f9a2c1b0d4e``."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def __call__(self, identity: str | None) -> str | None:
        """The pseudonym of an id (None stays None)."""
        if identity is None:
            return None
        digest = hmac.new(self.key, identity.encode(), hashlib.sha256).hexdigest()
        return f"person-{digest[:12]}"


def load_pseudonymiser(settings: Settings) -> Pseudonymiser:
    """The deployment's pseudonymiser (its key is created on first use, mode 0600)."""
    path = settings.data_dir / "pseudonym-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    return Pseudonymiser(bytes.fromhex(path.read_text().strip()))
