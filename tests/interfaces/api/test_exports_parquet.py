"""The .parquet downloads: the same rows as the .csv ones, typed, with the same filters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from application.settings import Settings
from read_models.queries import parquet
from tests.interfaces.api.world import World, served
from tests.read_models.test_exports_oracle import (
    Scenario,
    assert_parquet_is_the_csv,
    record_scenario,
)

TABLES = ["stage_transitions", "projects", "organisations", "measures_long"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Scenario]]:
    data = Path(tmp_path_factory.mktemp("parquet"))
    with served(Settings(data_dir=data, projection_poll_seconds=0.05)) as w:
        yield w, record_scenario(w.tracker, w.programme)


@pytest.mark.parametrize("table", TABLES)
def test_each_parquet_download_holds_the_csv_downloads_rows(
    world: tuple[World, Scenario], table: str
) -> None:
    w, _ = world
    query = {"wait": "true"}
    if table != "organisations":
        query["cohort_id"] = str(w.programme.cohort_id)
    got = {
        kind: w.client.get(
            f"/api/exports/{table}.{kind}", params=query, headers=w.headers("evaluator")
        )
        for kind in ("csv", "parquet")
    }
    assert [r.status_code for r in got.values()] == [200, 200]
    assert got["parquet"].headers["content-type"] == "application/vnd.apache.parquet"
    disposition = got["parquet"].headers["content-disposition"]
    assert disposition == f'attachment; filename="{table}.parquet"'
    assert assert_parquet_is_the_csv(got["parquet"].content, got["csv"].text)


def test_parquet_is_for_evaluators_and_admins_only(world: tuple[World, Scenario]) -> None:
    w, _ = world
    answer = w.client.get("/api/exports/projects.parquet", headers=w.headers("member"))
    assert answer.status_code == 403


def test_without_pyarrow_a_parquet_download_is_a_501_naming_the_extra(
    world: tuple[World, Scenario], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, _ = world
    monkeypatch.setattr(parquet, "parquet_available", lambda: False)
    answer = w.client.get("/api/exports/projects.parquet", headers=w.headers("evaluator"))
    assert answer.status_code == 501
    assert "'parquet' extra" in answer.json()["detail"]
    assert w.client.get("/api/exports/projects.csv", headers=w.headers("evaluator")).is_success


def test_the_openapi_document_lists_the_same_filters_for_both_formats(
    world: tuple[World, Scenario],
) -> None:
    w, _ = world
    paths = w.client.get("/openapi.json").json()["paths"]
    for table in TABLES:
        csv_route, parquet_route = (
            paths[f"/api/exports/{table}.{k}"]["get"] for k in ("csv", "parquet")
        )
        names = [{p["name"] for p in r["parameters"]} for r in (csv_route, parquet_route)]
        assert names[0] == names[1], table
        assert "application/vnd.apache.parquet" in parquet_route["responses"]["200"]["content"]
