"""Property-based API testing from the app's own OpenAPI schema, as each role.

Schemathesis generates requests for every operation (valid and invalid input) and checks that
no response is a 5xx and that every response matches the documented schema and status codes.
Sized for CI: ``EXAMPLES_PER_OPERATION`` for each operation and role, over 2,000 cases in all,
on SQLite; and a smaller run against the PostgreSQL deployment (issue 8: bad input at scale).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from application.settings import Settings
from tests.interfaces.api.world import World, served
from tests.postgres import throwaway_database

EXAMPLES_PER_OPERATION = 13
EXAMPLES_ON_POSTGRES = 8
TOTAL: dict[str, int] = {}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = Path(tmp_path_factory.mktemp("schemathesis"))
    with served(Settings(data_dir=data, projection_poll_seconds=0.05)) as w:
        w.new_project()
        yield w
    print(f"schemathesis cases: {TOTAL} (total {sum(TOTAL.values())})")


@pytest.fixture(scope="module")
def postgres_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = Path(tmp_path_factory.mktemp("schemathesis-pg"))
    with throwaway_database() as url:
        settings = Settings(database_url=url, data_dir=data, projection_poll_seconds=0.05)
        with served(settings) as w:
            w.new_project()
            yield w
    print(f"schemathesis cases on PostgreSQL: {TOTAL}")


@pytest.mark.parametrize("role", ["member", "sponsor", "evaluator", "admin"])
def test_no_input_gets_a_server_error_or_breaks_the_schema(world: World, role: str) -> None:
    _fuzz(world, role, EXAMPLES_PER_OPERATION)
    assert TOTAL[role] >= 500


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["member", "admin"])
def test_no_input_gets_a_server_error_on_the_postgresql_deployment(
    postgres_world: World, role: str
) -> None:
    _fuzz(postgres_world, f"{role} on PostgreSQL", EXAMPLES_ON_POSTGRES, headers_of=role)
    assert TOTAL[f"{role} on PostgreSQL"] >= 300


def _fuzz(world: World, label: str, examples: int, headers_of: str | None = None) -> None:
    role = headers_of or label
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            TOTAL[label] = TOTAL.get(label, 0) + 1
            world.client.cookies.clear()
            case.call_and_validate(
                headers=world.headers(role),
                checks=[
                    checks.not_a_server_error,
                    checks.response_schema_conformance,
                    checks.status_code_conformance,
                ],
            )

        check()
