"""The organisation impact view: who leads, partners in, pilots and adopts which project, when.

Each involvement is a row with the dates it started and ended on both axes (effective
``from_on``/``to_on``, recorded ``from_at``/``to_at``), so an organisation's portfolio as at any
date, on either axis, is one indexed query; adoption spread is the adopter rows over time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from sqlalchemy import (
    JSON,
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
    and_,
    bindparam,
    update,
)

from application.persistence.ids import as_uuid
from read_models.envelope import Envelope
from read_models.projection import (
    Projection,
    Row,
    RowCache,
    insert_rows,
    update_rows,
)

metadata = MetaData()

organisations = Table(
    "organisation_orgs",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("sector", String(32), nullable=False),
    Column("system_id", Uuid, nullable=False),
    Column("ods_code", String(8)),
    Column("registered_on", Date, nullable=False),
)

projects = Table(
    "organisation_projects",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("cohort_id", Uuid, nullable=False),
    Column("lead_organisation_id", Uuid, nullable=False),
    Column("partners", JSON, nullable=False),  # open partner ids -> version they joined at
    Column("piloting", JSON, nullable=False),  # ids already recorded as piloting
)

involvements = Table(
    "organisation_involvements",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("since_version", Integer, primary_key=True, autoincrement=False),
    Column("scope", String(32)),
    Column("from_on", Date, nullable=False),
    Column("from_at", DateTime, nullable=False),
    Column("to_on", Date),
    Column("to_at", DateTime),
    Index("organisation_involvements_by_org", "organisation_id", "from_on"),
    Index("organisation_involvements_by_role", "role", "from_on"),
    # A project's partners (read access checks): without it SQLite's planner walks every
    # partner row through the role index (10 ms at national scale instead of 0.1).
    Index("organisation_involvements_by_project_role", "project_id", "role"),
)


class OrganisationsProjection(Projection):
    """Organisations and their involvement in projects, on both time axes."""

    name: ClassVar[str] = "organisations"
    version: ClassVar[int] = 2  # 2: an index of involvements by project
    metadata: ClassVar[MetaData] = metadata
    event_types: ClassVar[frozenset[str]] = frozenset(
        {
            "OrganisationRegistered",
            "OrganisationRenamed",
            "ProjectProposed",
            "OrganisationJoined",
            "OrganisationLeft",
            "PilotStarted",
            "ProjectAdopted",
        }
    )

    def apply(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Record organisations and open or close involvements for one page."""
        page = _Page(RowCache(conn, projects, "project_id"))
        page.projects.load(e.originator_id for e in events if e.event_type != "OrganisationRenamed")
        for event in events:
            page.take(event)
        page.write(conn)


@dataclass
class _Page:
    """What one page changes, gathered so each table is written once."""

    projects: RowCache
    new_orgs: list[Row] = field(default_factory=list)
    renamed: list[Row] = field(default_factory=list)
    opened: dict[tuple[object, ...], Row] = field(default_factory=dict)
    closed: list[Row] = field(default_factory=list)

    def take(self, event: Envelope) -> None:
        s = event.state
        kind = event.event_type
        if kind == "OrganisationRegistered":
            self.new_orgs.append(
                {
                    "organisation_id": event.originator_id,
                    "name": s["name"],
                    "sector": s["sector"],
                    "system_id": event.uuid("system_id"),
                    "ods_code": s["ods_code"],
                    "registered_on": event.occurred_on,
                }
            )
        elif kind == "OrganisationRenamed":
            self.renamed.append({"key": event.originator_id, "name": s["name"]})
        elif kind == "ProjectProposed":
            self.projects.add(
                {
                    "project_id": event.originator_id,
                    "title": s["title"],
                    "cohort_id": event.uuid("cohort_id"),
                    "lead_organisation_id": event.uuid("lead_organisation_id"),
                    "partners": dict.fromkeys(s["partner_organisation_ids"], event.version),
                    "piloting": [],
                }
            )
            self.involve(event, s["lead_organisation_id"], "lead")
            for organisation in s["partner_organisation_ids"]:
                self.involve(event, organisation, "partner")
        else:
            project = self.projects.get(event.originator_id)
            if project is not None:
                self.project_event(project, event)
                self.projects.touch(project)

    def project_event(self, project: Row, event: Envelope) -> None:
        s = event.state
        kind = event.event_type
        if kind == "OrganisationJoined":
            project["partners"] = {**project["partners"], s["organisation_id"]: event.version}
            self.involve(event, s["organisation_id"], "partner")
        elif kind == "OrganisationLeft":
            partners = dict(project["partners"])
            since = partners.pop(s["organisation_id"])
            project["partners"] = partners
            key = (event.originator_id, s["organisation_id"], "partner", since)
            ending = {"to_on": event.occurred_on, "to_at": event.recorded_naive}
            if key in self.opened:
                self.opened[key].update(ending)
            else:
                self.closed.append(
                    {
                        "p": event.originator_id,
                        "o": as_uuid(s["organisation_id"]),
                        "v": since,
                        **ending,
                    }
                )
        elif kind == "PilotStarted":
            involved = [str(project["lead_organisation_id"]), *project["partners"]]
            fresh = [o for o in involved if o not in project["piloting"]]
            project["piloting"] = [*project["piloting"], *fresh]
            for organisation in fresh:
                self.involve(event, organisation, "pilot")
        elif kind == "ProjectAdopted":
            self.involve(event, s["organisation_id"], "adopter", s["scope"])

    def involve(
        self, event: Envelope, organisation: str, role: str, scope: str | None = None
    ) -> None:
        self.opened[(event.originator_id, organisation, role, event.version)] = {
            "project_id": event.originator_id,
            "organisation_id": as_uuid(organisation),
            "role": role,
            "since_version": event.version,
            "scope": scope,
            "from_on": event.occurred_on,
            "from_at": event.recorded_naive,
            "to_on": None,
            "to_at": None,
        }

    def write(self, conn: Connection) -> None:
        if self.new_orgs:
            insert_rows(conn, organisations, self.new_orgs)
        update_rows(conn, organisations.c.organisation_id, self.renamed, "name")
        self.projects.flush()
        if self.opened:
            insert_rows(conn, involvements, list(self.opened.values()))
        if self.closed:
            c = involvements.c
            conn.execute(
                update(involvements)
                .where(
                    and_(
                        c.project_id == bindparam("p"),
                        c.organisation_id == bindparam("o"),
                        c.role == "partner",
                        c.since_version == bindparam("v"),
                    )
                )
                .values(to_on=bindparam("to_on"), to_at=bindparam("to_at")),
                self.closed,
            )
