"""The integrity API: checkpoints say whether a trusted key signed them; consistency proofs.

A sponsor who kept two checkpoints asks for the proof between their sizes and checks it with
nothing but the two signed roots.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.integrity import merkle
from application.integrity.signing import Checkpoint, Signer
from application.settings import Settings
from tests.interfaces.api.world import World, served


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with served(Settings(data_dir=tmp_path)) as w:
        yield w


def _sign(world: World) -> dict[str, Any]:
    """Sign a checkpoint as an admin, once the views hold every event."""
    admin = world.headers("admin")
    assert world.client.get("/api/projects?wait=true", headers=admin).status_code == 200
    made = world.client.post("/api/integrity/checkpoints", headers=admin)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def test_two_kept_checkpoints_are_proved_consistent_from_their_signed_roots(world: World) -> None:
    first = _sign(world)
    world.new_project()
    second = _sign(world)
    assert first["size"] < second["size"]

    answer = world.client.get(
        f"/api/integrity/consistency?first={first['size']}&second={second['size']}",
        headers=world.headers("sponsor"),
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["first_root"], body["second_root"]) == (first["root"], second["root"])
    assert merkle.verify_consistency(
        first["size"], second["size"], first["root"], second["root"], body["proof"]
    )
    assert not merkle.verify_consistency(
        first["size"], second["size"], second["root"], second["root"], body["proof"]
    )


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("first=5&second=3", "first", "first (5) must not be greater than second (3)"),
        ("first=1&second=100000", "second", "fewer than 100000"),
        ("first=-1&second=3", "first", ""),
    ],
)
def test_a_bad_consistency_request_is_refused_naming_the_parameter(
    world: World, query: str, field: str, says: str
) -> None:
    answer = world.client.get(f"/api/integrity/consistency?{query}", headers=world.headers("admin"))
    assert answer.status_code == 422
    body = answer.json()
    assert body["field"].endswith(field)
    assert says in body["detail"]
    assert world.client.get(f"/api/integrity/consistency?{query}").status_code == 401


def test_the_checkpoint_list_says_a_re_signed_checkpoint_is_not_trusted(
    world: World, tmp_path: Path
) -> None:
    made = Checkpoint.model_validate(_sign(world))
    listed = world.client.get("/api/integrity/checkpoints", headers=world.headers("evaluator"))
    assert [c["trusted"] for c in listed.json()] == [True]

    forger = Signer(Ed25519PrivateKey.generate())
    with sqlite3.connect(tmp_path / "views.sqlite") as db:
        db.execute(
            "UPDATE integrity_checkpoints SET public_key = ?, signature = ? WHERE seq = ?",
            (forger.public_key_hex, forger.sign(made.message), made.seq),
        )
    listed = world.client.get("/api/integrity/checkpoints", headers=world.headers("evaluator"))
    assert [(c["public_key"], c["trusted"]) for c in listed.json()] == [
        (forger.public_key_hex, False)
    ]
