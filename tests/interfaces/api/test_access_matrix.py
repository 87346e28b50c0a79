"""Every endpoint, every role (and a fellow on someone else's project): allowed or refused."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from application.settings import Settings
from domain import commands as c
from domain.values import Sector
from tests.conftest import ADMIN
from tests.interfaces.api.world import ACCOUNTS, World, served

EVERYONE = set(ACCOUNTS)
READERS = EVERYONE - {"stranger"}  # of this project: not a sponsor without a link to it
PEOPLE_READERS = {"admin", "evaluator"}


@dataclass(frozen=True)
class Row:
    """One endpoint: how to call it, and who may."""

    name: str
    method: str
    path: str
    allowed: set[str]
    body: Callable[[World, dict[str, Any]], dict[str, Any]] | None = None
    ok: int = 200
    prepare: Callable[[World, UUID], object] | None = None


def today(_: World, __: dict[str, Any]) -> dict[str, Any]:
    return {"occurred_on": "2024-05-01"}


ROWS = [
    Row("health", "GET", "/api/health", EVERYONE | {"anonymous"}),
    Row("me", "GET", "/api/me", EVERYONE),
    Row("users", "GET", "/api/users", {"admin"}),
    Row(
        "create user",
        "POST",
        "/api/users",
        {"admin"},
        ok=201,
        body=lambda w, ids: {
            "user_id": f"new-{ids['n']}",
            "display_name": "New",
            "role": "evaluator",
        },
    ),
    Row("systems", "GET", "/api/systems", EVERYONE),
    Row("system", "GET", "/api/systems/{system}", EVERYONE),
    Row(
        "register system",
        "POST",
        "/api/systems",
        {"admin"},
        ok=201,
        body=lambda w, ids: {"occurred_on": "2024-01-01", "name": "Another ICS"},
    ),
    Row("organisations", "GET", "/api/organisations", EVERYONE),
    Row("organisation", "GET", "/api/organisations/{trust}", EVERYONE - {"sponsor", "stranger"}),
    Row(
        "organisation impact",
        "GET",
        "/api/organisations/{trust}/impact",
        EVERYONE - {"sponsor", "stranger"},
    ),
    Row(
        "register organisation",
        "POST",
        "/api/organisations",
        {"admin"},
        ok=201,
        body=lambda w, ids: {
            "occurred_on": "2024-01-01",
            "name": "Hospice",
            "sector": "other",
            "system_id": str(ids["system"]),
        },
    ),
    Row(
        "rename organisation",
        "POST",
        "/api/organisations/{trust}/name",
        {"admin"},
        body=lambda w, ids: {"occurred_on": "2024-02-01", "name": f"Trust {ids['n']}"},
    ),
    Row("cohorts", "GET", "/api/cohorts", EVERYONE),
    Row("cohort", "GET", "/api/cohorts/{cohort}", EVERYONE),
    Row(
        "start cohort",
        "POST",
        "/api/cohorts",
        {"admin"},
        ok=201,
        body=lambda w, ids: {
            "occurred_on": "2024-01-01",
            "programme": "20/20",
            "system_id": str(ids["system"]),
            "number": 2,
            "starts_on": "2024-07-01",
            "ends_on": "2025-01-01",
        },
    ),
    Row("fellows", "GET", "/api/fellows", PEOPLE_READERS),
    Row("fellow", "GET", "/api/fellows/{fellow}", PEOPLE_READERS | {"member"}),
    Row(
        "enrol fellow",
        "POST",
        "/api/fellows",
        {"admin"},
        ok=201,
        body=lambda w, ids: {
            "occurred_on": "2024-01-08",
            "cohort_id": str(ids["cohort"]),
            "organisation_id": str(ids["trust"]),
            "role_title": "Nurse",
            "name": f"New Fellow {ids['n']}",
        },
    ),
    Row(
        "erase fellow",
        "POST",
        "/api/fellows/{new_fellow}/erasure",
        {"admin"},
        body=lambda w, ids: {"reason": "requested_by_person"},
    ),
    Row("projects", "GET", "/api/projects", EVERYONE),
    Row(
        "propose",
        "POST",
        "/api/projects",
        {"member", "outsider"},
        ok=201,
        body=lambda w, ids: {
            "occurred_on": "2024-02-01",
            "title": "Another",
            "problem": "p",
            "intended_outcomes": ["o"],
            "cohort_id": str(ids["cohort"]),
            "lead_fellow_id": str(ids["fellow"]),
            "lead_organisation_id": str(ids["trust"]),
        },
    ),
    Row("project", "GET", "/api/projects/{project}", READERS),
    Row("history", "GET", "/api/projects/{project}/history", READERS),
    Row("timeline", "GET", "/api/projects/{project}/timeline?wait=true", READERS),
    Row("measures", "GET", "/api/projects/{project}/measures?wait=true", READERS),
    Row("adoption spread", "GET", "/api/projects/{project}/adoption-spread?wait=true", READERS),
    Row("series", "GET", "/api/measures/{measure}/series?wait=true", READERS),
    Row("portfolio", "GET", "/api/portfolio", EVERYONE),
    Row("time to stage", "GET", "/api/portfolio/time-to-stage", EVERYONE),
    Row(
        "start pilot",
        "POST",
        "/api/projects/{project}/pilots",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "sites": ["B"], "scope": "More"},
    ),
    Row(
        "define measure",
        "POST",
        "/api/projects/{project}/measures",
        {"member"},
        ok=201,
        body=lambda w, ids: {
            "occurred_on": "2024-05-01",
            "name": "Falls",
            "unit": "n",
            "direction": "down",
        },
    ),
    Row(
        "record measurement",
        "POST",
        "/api/projects/{project}/measurements",
        {"member"},
        ok=201,
        body=lambda w, ids: {
            "occurred_on": "2024-05-01",
            "measure_id": str(ids["measure"]),
            "period": "2024-04-01",
            "value": 3,
        },
    ),
    Row(
        "correct",
        "POST",
        "/api/projects/{project}/measurements/{measurement}/corrections",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "value": 21, "reason": "typo"},
    ),
    Row(
        "retract",
        "POST",
        "/api/projects/{project}/measurements/{measurement}/retractions",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "reason": "wrong"},
    ),
    Row(
        "paste",
        "POST",
        "/api/projects/{project}/measurements/pasted",
        {"member"},
        ok=201,
        body=lambda w, ids: {
            "occurred_on": "2024-05-01",
            "measure_id": str(ids["measure"]),
            "first_period": "2024-01-01",
            "pasted": "1\n2",
        },
    ),
    Row(
        "ghost",
        "POST",
        "/api/projects/{project}/measurements/{measurement}/ghost",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "reason": "Outage"},
    ),
    Row(
        "restore",
        "POST",
        "/api/projects/{project}/measurements/{measurement}/restore",
        {"member"},
        body=today,
        prepare=lambda w, p: w.tracker.ghost_measurement(
            ADMIN,
            p,
            c.GhostMeasurement(
                occurred_on=date(2024, 4, 20),
                reason="Outage",
                measurement_id=w.tracker.project(p).measurements[0].measurement_id,
            ),
        ),
    ),
    Row(
        "mark recalculation",
        "POST",
        "/api/projects/{project}/measures/{measure}/recalculations",
        {"member"},
        body=lambda w, ids: {
            "occurred_on": "2024-05-01",
            "from_period": "2024-03-01",
            "reason": "Pilot",
        },
    ),
    Row(
        "remove recalculation",
        "DELETE",
        "/api/projects/{project}/measures/{measure}/recalculations/2024-03-01"
        "?occurred_on=2024-05-01",
        {"member"},
        prepare=lambda w, p: w.tracker.mark_recalculation(
            ADMIN,
            p,
            c.MarkRecalculation(
                occurred_on=date(2024, 4, 20),
                from_period=date(2024, 3, 1),
                reason="Pilot",
                measure_id=w.tracker.project(p).measures[0].measure_id,
            ),
        ),
    ),
    Row(
        "flag astronomical",
        "POST",
        "/api/projects/{project}/measurements/{measurement}/astronomical",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "reason": "Ward closed"},
    ),
    Row(
        "unflag astronomical",
        "DELETE",
        "/api/projects/{project}/measurements/{measurement}/astronomical?occurred_on=2024-05-01",
        {"member"},
        prepare=lambda w, p: w.tracker.flag_astronomical(
            ADMIN,
            p,
            c.FlagAstronomical(
                occurred_on=date(2024, 4, 20),
                reason="Ward closed",
                measurement_id=w.tracker.project(p).measurements[0].measurement_id,
            ),
        ),
    ),
    Row(
        "set baseline",
        "PUT",
        "/api/projects/{project}/measures/{measure}/baseline",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "points": 12, "reason": "Agreed"},
    ),
    Row(
        "clear baseline",
        "DELETE",
        "/api/projects/{project}/measures/{measure}/baseline?occurred_on=2024-05-01",
        {"member"},
        prepare=lambda w, p: w.tracker.set_baseline(
            ADMIN,
            p,
            c.SetBaseline(
                occurred_on=date(2024, 4, 20),
                points=12,
                reason="Agreed",
                measure_id=w.tracker.project(p).measures[0].measure_id,
            ),
        ),
    ),
    Row("chart", "GET", "/api/measures/{measure}/chart?wait=true", READERS),
    Row("checkpoints", "GET", "/api/integrity/checkpoints", EVERYONE),
    Row("consistency", "GET", "/api/integrity/consistency?first=1&second=2", EVERYONE),
    Row("export events", "GET", "/api/exports/events.jsonl", PEOPLE_READERS),
    *[
        Row(f"export {name}.{kind}", "GET", f"/api/exports/{name}.{kind}", PEOPLE_READERS)
        for name in ("projects", "stage_transitions", "organisations", "measures_long")
        for kind in ("csv", "parquet")
    ],
    Row("proof", "GET", "/api/projects/{project}/proof?size=3", READERS),
    Row("sign checkpoint", "POST", "/api/integrity/checkpoints", {"admin"}, ok=201),
    Row(
        "adopt",
        "POST",
        "/api/projects/{project}/adoptions",
        {"member"},
        body=lambda w, ids: {
            "occurred_on": "2024-05-01",
            "organisation_id": str(ids["trust"]),
            "scope": "spread",
        },
    ),
    Row(
        "milestone",
        "POST",
        "/api/projects/{project}/milestones",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "title": "Board"},
    ),
    Row(
        "sign-off",
        "POST",
        "/api/projects/{project}/milestones",
        {"member", "sponsor"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "title": "Signed", "is_sign_off": True},
    ),
    Row(
        "join",
        "POST",
        "/api/projects/{project}/organisations",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "organisation_id": str(ids["other_org"])},
    ),
    Row(
        "leave",
        "POST",
        "/api/projects/{project}/organisations/{council}/departures",
        {"member"},
        body=today,
    ),
    Row(
        "assign sponsor",
        "PUT",
        "/api/projects/{project}/sponsor",
        {"admin"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "sponsor_id": "sponsor-2"},
    ),
    Row(
        "pause",
        "POST",
        "/api/projects/{project}/pause",
        {"member"},
        body=lambda w, ids: {"occurred_on": "2024-05-01", "reason": "Winter"},
    ),
    Row(
        "resume",
        "POST",
        "/api/projects/{project}/resume",
        {"member"},
        body=today,
        prepare=lambda w, p: w.tracker.pause_project(
            ADMIN, p, c.PauseProject(occurred_on=date(2024, 4, 20), reason="Winter")
        ),
    ),
    Row(
        "close",
        "POST",
        "/api/projects/{project}/close",
        {"member"},
        body=lambda w, ids: {
            "occurred_on": "2024-05-01",
            "outcome": "completed",
            "summary": "Done",
        },
    ),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(Settings(data_dir=tmp_path_factory.mktemp("matrix"))) as w:
        yield w


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_each_role_is_allowed_or_refused_as_the_policy_says(world: World, row: Row) -> None:
    counter = iter(range(10_000))
    for who in [*ACCOUNTS, "anonymous"]:
        project, measure, measurement = world.new_project()
        other_org = world.tracker.register_organisation(
            ADMIN,
            c.RegisterOrganisation(
                occurred_on=date(2024, 1, 1),
                name="Partner-to-be",
                sector=Sector.HOUSING,
                system_id=world.programme.system_id,
            ),
        ).aggregate_id
        ids = {
            "project": project,
            "measure": measure,
            "measurement": measurement,
            "system": world.programme.system_id,
            "trust": world.programme.trust_id,
            "council": world.programme.council_id,
            "cohort": world.programme.cohort_id,
            "fellow": world.programme.lead_fellow_id,
            "other_org": other_org,
            "n": next(counter),
        }
        if "{new_fellow}" in row.path:  # erasure is for good: a fresh fellow for each caller
            ids["new_fellow"] = world.tracker.enrol_fellow(
                ADMIN,
                c.EnrolFellow(
                    occurred_on=date(2024, 1, 8),
                    cohort_id=world.programme.cohort_id,
                    organisation_id=world.programme.trust_id,
                    role_title="Nurse",
                    name="To Be Erased",
                ),
            ).aggregate_id
        if row.prepare:
            row.prepare(world, project)
        path = row.path.format(**ids)
        body = row.body(world, ids) if row.body else None
        if row.name == "propose" and who == "outsider":
            body = {**(body or {}), "lead_fellow_id": str(world.programme.other_fellow_id)}
        world.client.cookies.clear()  # bearer clients send no cookies (so no CSRF check)
        response = world.client.request(
            row.method, path, json=body, headers=world.headers(None if who == "anonymous" else who)
        )
        expected = row.ok if who in row.allowed else 401 if who == "anonymous" else 403
        assert response.status_code == expected, (who, row.name, response.text)
        if response.status_code >= 400:
            assert set(response.json()) >= {"error", "detail"}


# Not about data: readiness is for load balancers, sessions are how one signs in and out.
UNLISTED = {("GET", "/api/ready"), ("POST", "/api/session"), ("DELETE", "/api/session")}


def test_every_api_endpoint_has_a_row(world: World) -> None:
    """A new endpoint must say who may call it here, or fail this test."""

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]*\}|\d{4}-\d{2}-\d{2}", "{}", path.split("?", maxsplit=1)[0])

    listed = {(row.method, shape(row.path)) for row in ROWS}
    served = {
        (method.upper(), path)
        for path, operations in world.client.get("/openapi.json").json()["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }
    assert served > UNLISTED
    missing = sorted((m, p) for m, p in served - UNLISTED if (m, shape(p)) not in listed)
    assert missing == []
