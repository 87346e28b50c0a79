"""Stable pseudonyms for people in evaluator exports: the same person, the same pseudonym.

A keyed hash (HMAC-SHA256) of the user or fellow id, so pseudonyms can't be reversed by
guessing ids without the key; the key lives beside the signing key (created on first use).
Only admins see real ids.

A fellow can appear under two ids: their fellow id (their own stream, the projects they lead
or join) and the user id of their account (the events they record). An account linked to a
fellow is given the fellow's pseudonym, so an analyst sees one person, not two.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping

from application.identity.service import IdentityService, User
from application.settings import Settings


class Pseudonymiser:
    """Maps ids to pseudonyms such as ``person-3f9a2c1b0d4e``."""

    def __init__(self, key: bytes, aliases: Mapping[str, str] | None = None) -> None:
        self.key = key
        # user id -> the fellow id of the same person, whose pseudonym the user takes
        self.aliases = dict(aliases or {})

    def __call__(self, identity: str | None) -> str | None:
        """The pseudonym of an id (None stays None); a fellow's account shares theirs."""
        if identity is None:
            return None
        identity = self.aliases.get(identity, identity)
        digest = hmac.new(self.key, identity.encode(), hashlib.sha256).hexdigest()
        return f"person-{digest[:12]}"

    def knowing(self, accounts: Iterable[User]) -> Pseudonymiser:
        """The same pseudonymiser, told which accounts belong to which fellows."""
        linked = {u.user_id: str(u.fellow_id) for u in accounts if u.fellow_id is not None}
        return Pseudonymiser(self.key, {**self.aliases, **linked})


def load_pseudonymiser(
    settings: Settings, identity: IdentityService | None = None
) -> Pseudonymiser:
    """The deployment's pseudonymiser (its key is created on first use, mode 0600).

    With the identity service, accounts linked to fellows share their fellow's pseudonym.
    """
    path = settings.data_dir / "pseudonym-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    pseudonymiser = Pseudonymiser(bytes.fromhex(path.read_text().strip()))
    return pseudonymiser if identity is None else pseudonymiser.knowing(identity.list_users())
