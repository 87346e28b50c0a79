"""Fellows' names over the API: who sees them, and erasure (admins only, for good)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from application.identity.service import NewUser
from application.settings import Settings
from domain import commands as c
from domain.values import Role
from tests.conftest import ADMIN
from tests.interfaces.api.world import World, served

NAME = "Zebedee Quintrell-Apricot"
EMAIL = "zebedee.quintrell-apricot@example.org"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(Settings(data_dir=Path(tmp_path_factory.mktemp("erasure")))) as w:
        yield w


def fellow_with_account(world: World, user_id: str) -> tuple[UUID, str]:
    """A newly enrolled fellow with a signed-in account: (fellow id, bearer token)."""
    fellow_id = world.tracker.enrol_fellow(
        ADMIN,
        c.EnrolFellow(
            occurred_on=date(2024, 1, 8),
            cohort_id=world.programme.cohort_id,
            organisation_id=world.programme.trust_id,
            role_title="Discharge coordinator",
            name=NAME,
            email=EMAIL,
        ),
    ).aggregate_id
    world.identity.create_user(
        NewUser(user_id=user_id, display_name=NAME, role=Role.FELLOW, fellow_id=fellow_id)
    )
    return fellow_id, world.identity.create_token(user_id)


def test_names_are_shown_to_admins_and_the_fellow_themself_only(world: World) -> None:
    fellow_id, token = fellow_with_account(world, "zq-reader")
    path = f"/api/fellows/{fellow_id}"

    for headers in (world.headers("admin"), {"Authorization": f"Bearer {token}"}):
        shown = world.client.get(path, headers=headers)
        assert shown.status_code == 200
        assert (shown.json()["name"], shown.json()["email"]) == (NAME, EMAIL)
    hidden = world.client.get(path, headers=world.headers("evaluator"))
    assert hidden.status_code == 200
    assert (hidden.json()["name"], hidden.json()["email"]) == (None, None)
    assert hidden.json()["role_title"] == "Discharge coordinator"
    assert NAME not in hidden.text


def test_an_admin_erases_a_fellow_who_then_reads_as_erased(world: World) -> None:
    fellow_id, token = fellow_with_account(world, "zq-erased")

    response = world.client.post(
        f"/api/fellows/{fellow_id}/erasure",
        json={"reason": "requested_by_person"},
        headers=world.headers("admin"),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fellow_id"] == str(fellow_id)
    assert (body["already_erased"], body["key_destroyed"], body["storage_purged"]) == (
        False,
        True,
        True,
    )
    assert body["accounts_anonymised"] == ["zq-erased"]
    shown = world.client.get(f"/api/fellows/{fellow_id}", headers=world.headers("admin")).json()
    assert (shown["name"], shown["email"], shown["erased"]) == ("[erased]", None, True)
    assert NAME not in str(shown)
    signed_out = world.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert signed_out.status_code == 401
    users = world.client.get("/api/users", headers=world.headers("admin")).json()
    (account,) = [u for u in users if u["user_id"] == "zq-erased"]
    assert account["display_name"] == "Erased person"

    again = world.client.post(
        f"/api/fellows/{fellow_id}/erasure",
        json={"reason": "requested_by_person"},
        headers=world.headers("admin"),
    )
    assert again.status_code == 200
    assert again.json()["already_erased"] is True


@pytest.mark.parametrize("who", ["evaluator", "member", "sponsor", "self"])
def test_erasure_is_refused_to_everyone_but_admins(world: World, who: str) -> None:
    fellow_id, token = fellow_with_account(world, f"zq-{who}")
    headers = {"Authorization": f"Bearer {token}"} if who == "self" else world.headers(who)
    head = world.tracker.head()

    response = world.client.post(
        f"/api/fellows/{fellow_id}/erasure", json={"reason": "requested_by_person"}, headers=headers
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert world.tracker.head() == head
    assert world.tracker.fellow(fellow_id).name == NAME


def test_erasing_an_unknown_fellow_or_with_a_free_text_reason_is_refused(world: World) -> None:
    fellow_id, _ = fellow_with_account(world, "zq-kept")
    unknown = world.client.post(
        f"/api/fellows/{uuid4()}/erasure",
        json={"reason": "requested_by_person"},
        headers=world.headers("admin"),
    )
    assert unknown.status_code == 404
    free_text = world.client.post(
        f"/api/fellows/{fellow_id}/erasure",
        json={"reason": f"{NAME} asked us to"},
        headers=world.headers("admin"),
    )
    assert free_text.status_code == 422
    assert free_text.json()["field"] == "reason"
    assert world.tracker.fellow(fellow_id).erased is False


def test_the_erasure_endpoint_is_documented_with_an_example(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    operation = schema["paths"]["/api/fellows/{fellow_id}/erasure"]["post"]
    assert "admins" in operation["description"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rsplit("/", 1)[-1]]
    assert component["examples"] == [{"reason": "requested_by_person"}]
    assert {"200", "403", "404"} <= set(operation["responses"])
