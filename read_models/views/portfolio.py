"""The portfolio view: every project's stage on both time axes, grouped by cohort, system, sector.

For *as effective on D* each project keeps the dates its stages took effect (first pilot, first
adoption) and each measurement's span of effect (recorded until retracted); for *as recorded by
T* it keeps every stage change with its recorded time.  Both are answered by indexed SQL over
these tables (see ``read_models.queries.portfolio``), never by replaying the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)

from application.persistence.ids import parse_uuid
from read_models.envelope import Envelope
from read_models.progress import advance, new_progress
from read_models.projection import (
    Projection,
    Row,
    RowCache,
    insert_rows,
    update_rows,
)

metadata = MetaData()

systems = Table(
    "portfolio_systems",
    metadata,
    Column("system_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
)

cohorts = Table(
    "portfolio_cohorts",
    metadata,
    Column("cohort_id", Uuid, primary_key=True),
    Column("system_id", Uuid, nullable=False),
    Column("programme", String(200), nullable=False),
    Column("number", Integer, nullable=False),
    Column("starts_on", Date, nullable=False),
)

organisations = Table(
    "portfolio_organisations",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("sector", String(32), nullable=False),
)

fellows = Table(
    "portfolio_fellows",
    metadata,
    Column("fellow_id", Uuid, primary_key=True),
    Column("cohort_id", Uuid, nullable=False, index=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("role_title", String(200), nullable=False),
)

projects = Table(
    "portfolio_projects",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("cohort_id", Uuid, nullable=False),
    Column("lead_organisation_id", Uuid, nullable=False),
    Column("proposed_on", Date, nullable=False),
    Column("proposed_at", DateTime, nullable=False),
    Column("piloted_on", Date),
    Column("adopted_on", Date),
    Column("stage", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("pilots", Integer, nullable=False),
    Column("current_measurements", Integer, nullable=False),
    Column("adoptions", Integer, nullable=False),
    Column("stage_changes", Integer, nullable=False),
    Index("portfolio_projects_by_proposal", "proposed_on"),
    Index("portfolio_projects_by_cohort", "cohort_id"),
)

stage_changes = Table(
    "portfolio_stage_changes",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("stage", String(16), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("portfolio_stage_changes_by_time", "recorded_at", "project_id", "seq"),
)

measurement_spans = Table(
    "portfolio_measurement_spans",
    metadata,
    Column("measurement_id", Uuid, primary_key=True),
    Column("project_id", Uuid, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Index("portfolio_spans_by_project", "project_id", "valid_from"),
)


class PortfolioProjection(Projection):
    """Stage dates, stage changes and measurement spans of every project, with groupings."""

    name: ClassVar[str] = "portfolio"
    version: ClassVar[int] = 2  # 2: fellows are listed (version 1 never asked for them)
    metadata: ClassVar[MetaData] = metadata
    event_types: ClassVar[frozenset[str]] = frozenset(
        {
            "FellowEnrolled",
            "SystemRegistered",
            "CohortStarted",
            "OrganisationRegistered",
            "OrganisationRenamed",
            "ProjectProposed",
            "PilotStarted",
            "MeasurementRecorded",
            "MeasurementsPasted",
            "MeasurementRetracted",
            "ProjectAdopted",
            "ProjectPaused",
            "ProjectResumed",
            "ProjectClosed",
        }
    )

    def apply(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Update reference rows, project rows, stage changes and spans for one page."""
        page = _Page(RowCache(conn, projects, "project_id"))
        page.projects.load(e.originator_id for e in events)
        for event in events:
            if event.event_type in _REFERENCE:
                page.reference(event)
            else:
                page.project_event(event)
        page.write(conn)


_REFERENCE = frozenset(
    {
        "SystemRegistered",
        "CohortStarted",
        "OrganisationRegistered",
        "OrganisationRenamed",
        "FellowEnrolled",
    }
)


@dataclass
class _Page:
    """What one page changes, gathered so each table is written once."""

    projects: RowCache
    inserts: dict[Table, list[Row]] = field(
        default_factory=lambda: {
            t: [] for t in (systems, cohorts, organisations, fellows, stage_changes)
        }
    )
    renamed: list[Row] = field(default_factory=list)
    new_spans: dict[str, Row] = field(default_factory=dict)
    ended_spans: list[Row] = field(default_factory=list)

    def reference(self, event: Envelope) -> None:
        s = event.state
        if event.event_type == "SystemRegistered":
            self.inserts[systems].append({"system_id": event.originator_id, "name": s["name"]})
        elif event.event_type == "CohortStarted":
            self.inserts[cohorts].append(
                {
                    "cohort_id": event.originator_id,
                    "system_id": event.uuid("system_id"),
                    "programme": s["programme"],
                    "number": s["number"],
                    "starts_on": event.day("starts_on"),
                }
            )
        elif event.event_type == "FellowEnrolled":
            self.inserts[fellows].append(
                {
                    "fellow_id": event.originator_id,
                    "cohort_id": event.uuid("cohort_id"),
                    "organisation_id": event.uuid("organisation_id"),
                    "role_title": s["role_title"],
                }
            )
        elif event.event_type == "OrganisationRegistered":
            self.inserts[organisations].append(
                {"organisation_id": event.originator_id, "name": s["name"], "sector": s["sector"]}
            )
        else:
            self.renamed.append({"key": event.originator_id, "name": s["name"]})

    def project_event(self, event: Envelope) -> None:
        kind = event.event_type
        if kind == "ProjectProposed":
            row = self.projects.add(_proposed(event))
        else:
            found = self.projects.get(event.originator_id)
            if found is None:
                return
            row = found
        if kind == "PilotStarted":
            row["piloted_on"] = _earliest(row["piloted_on"], event.occurred_on)
        elif kind == "ProjectAdopted":
            row["adopted_on"] = _earliest(row["adopted_on"], event.occurred_on)
        elif kind == "MeasurementRecorded":
            self.new_spans[event.state["measurement_id"]] = {
                "measurement_id": event.uuid("measurement_id"),
                "project_id": event.originator_id,
                "valid_from": event.occurred_on,
                "valid_to": None,
            }
        elif kind == "MeasurementsPasted":  # a span per value, as if each were recorded
            for pasted in event.state["values"]:
                self.new_spans[pasted["measurement_id"]] = {
                    "measurement_id": parse_uuid(pasted["measurement_id"]),
                    "project_id": event.originator_id,
                    "valid_from": event.occurred_on,
                    "valid_to": None,
                }
        elif kind == "MeasurementRetracted":
            pending = self.new_spans.get(event.state["measurement_id"])
            if pending is not None:
                pending["valid_to"] = event.occurred_on
            else:
                self.ended_spans.append(
                    {"key": event.uuid("measurement_id"), "valid_to": event.occurred_on}
                )
        if advance(row, event) or kind == "ProjectProposed":
            row["stage_changes"] += 1
            self.inserts[stage_changes].append(
                {
                    "project_id": event.originator_id,
                    "seq": row["stage_changes"],
                    "stage": row["stage"],
                    "occurred_on": event.occurred_on,
                    "recorded_at": event.recorded_naive,
                }
            )
        self.projects.touch(row)

    def write(self, conn: Connection) -> None:
        for table in (systems, cohorts, organisations, fellows):
            if self.inserts[table]:
                insert_rows(conn, table, self.inserts[table])
        update_rows(conn, organisations.c.organisation_id, self.renamed, "name")
        self.projects.flush()
        if self.inserts[stage_changes]:
            insert_rows(conn, stage_changes, self.inserts[stage_changes])
        if self.new_spans:
            insert_rows(conn, measurement_spans, list(self.new_spans.values()))
        update_rows(conn, measurement_spans.c.measurement_id, self.ended_spans, "valid_to")


def _proposed(event: Envelope) -> Row:
    s = event.state
    return {
        "project_id": event.originator_id,
        "title": s["title"],
        "cohort_id": event.uuid("cohort_id"),
        "lead_organisation_id": event.uuid("lead_organisation_id"),
        "proposed_on": event.occurred_on,
        "proposed_at": event.recorded_naive,
        "piloted_on": None,
        "adopted_on": None,
        "stage_changes": 0,
        **new_progress(),
    }


def _earliest(current: date | None, candidate: date) -> date:
    return candidate if current is None or candidate < current else current
