"""Organisation impact pages: who adopted what and when, and how far adoption has spread.

Evaluators (and everyone who may read them) see each organisation's part in the projects as it
stands or as it stood at any date on either axis, and each project's spread across organisations
and sectors. Access is the API's: sponsors see only their own organisations, and the projects
they may read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from application.access import require_organisation_reader
from application.errors import NotFoundError
from application.identity.service import User
from domain.values import Role
from interfaces.http.deps import AppServices
from interfaces.http.reading import authorise_read
from interfaces.web.common import AXES, caught_up, parse_as_at
from interfaces.web.forms import FormErrors
from interfaces.web.labels import SECTOR_LABELS
from interfaces.web.session import PageUser
from interfaces.web.templating import is_htmx, render
from read_models.queries.common import AsAt, Axis, PageParams
from read_models.queries.organisations import (
    AdoptionSpread,
    Involvement,
    OrganisationSummary,
    SectorAdoption,
    adoption_by_sector,
    adoption_spread,
    list_organisations,
    organisation_impact,
)
from read_models.queries.programme import list_systems

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
_EVERY = PageParams(page=1, per_page=500)
_BEGAN = {
    "lead": "Began leading",
    "partner": "Joined as a partner in",
    "pilot": "Began piloting",
    "adopter": "Adopted",
}


def _readable_organisations(user: User) -> set[UUID] | None:
    """The organisations whose pages this user may open (None: all of them)."""
    return set(user.organisation_ids) if user.role is Role.SPONSOR else None


def _system_names(engine: Engine) -> dict[UUID, str]:
    return {s.system_id: s.name for s in list_systems(engine, _EVERY).items}


def _sponsors_organisations(
    engine: Engine, mine: set[UUID], sector: str | None
) -> list[OrganisationSummary]:
    """A sponsor's own organisations, found across every page (there may be many organisations)."""
    found: list[OrganisationSummary] = []
    page = 1
    while True:
        batch = list_organisations(engine, PageParams(page=page, per_page=500), sector=sector)
        found += [o for o in batch.items if o.organisation_id in mine]
        if page * batch.per_page >= batch.total:
            return found
        page += 1


def sector_chart(reach: list[SectorAdoption]) -> dict[str, Any]:
    """Vega-Lite: per sector, its organisations beside those that adopted at least one project."""
    values = [
        {"sector": SECTOR_LABELS.get(r.sector, r.sector), "measure": measure, "count": count}
        for r in reach
        for measure, count in (
            ("Organisations", r.organisations),
            ("Adopted a project", r.adopters),
        )
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": "Organisations in each sector, and how many have adopted a project",
        "width": "container",
        "height": 36 * len(reach),  # a fixed height: a band height would drop the container fit
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "sector", "type": "nominal", "title": None},
            "yOffset": {"field": "measure", "sort": ["Organisations", "Adopted a project"]},
            "x": {
                "field": "count",
                "type": "quantitative",
                "title": "Organisations",
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "color": {
                "field": "measure",
                "type": "nominal",
                "title": None,
                "sort": ["Organisations", "Adopted a project"],
                "scale": {"range": ["#aeb7bd", "#005eb8"]},
                "legend": {"orient": "bottom"},
            },
        },
    }


def spread_chart(spread: AdoptionSpread) -> dict[str, Any]:
    """Vega-Lite: organisations so far, stepping up at each adoption's effective date."""
    values = [
        {
            "adopted_on": a.adopted_on.isoformat(),
            "organisations_so_far": a.organisations_so_far,
            "organisation": a.organisation_name,
        }
        for a in spread.adoptions
    ]
    x = {
        "field": "adopted_on",
        "type": "temporal",
        "title": "Adopted (effective date)",
        "scale": {"type": "utc"},
        "axis": {"format": "%b %Y", "tickCount": {"interval": "month"}, "labelOverlap": True},
    }
    y = {
        "field": "organisations_so_far",
        "type": "quantitative",
        "title": "Organisations so far",
        "axis": {"tickMinStep": 1, "format": "d"},
        "scale": {"zero": True},
    }
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": f"Organisations that had adopted {spread.title}, over time",
        "width": "container",
        "data": {"values": values},
        "encoding": {"x": x, "y": y},
        "layer": [
            {"mark": {"type": "line", "interpolate": "step-after", "color": "#005eb8"}},
            {"mark": {"type": "point", "filled": True, "size": 60, "color": "#005eb8"}},
        ],
    }


@router.get("/organisations", response_class=HTMLResponse)
def index(
    request: Request,
    user: PageUser,
    svc: AppServices,
    sector: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Every organisation the user may see, by sector (htmx re-renders the table as it changes)."""
    engine = svc.read_side.engine
    errors = FormErrors()
    chosen = sector if sector in SECTOR_LABELS else None
    if sector and chosen is None:
        errors.add("sector", "Choose a sector from the list")
    mine = _readable_organisations(user)
    if mine is None:
        found = list_organisations(engine, PageParams(page=page, per_page=PER_PAGE), sector=chosen)
        rows, total = found.items, found.total
    else:
        rows = _sponsors_organisations(engine, mine, chosen)
        total, page = len(rows), 1
    reach = adoption_by_sector(engine)
    return render(
        request,
        "organisations/index.html",
        {
            "organisations": rows,
            "total": total,
            "page": page,
            "pages": max(1, (total + PER_PAGE - 1) // PER_PAGE),
            "query": f"sector={chosen}&" if chosen else "",
            "values": {"sector": chosen or ""},
            "errors": errors,
            "sectors": list(SECTOR_LABELS.items()),
            "systems": _system_names(engine),
            "reach": reach,
            "reach_spec": sector_chart(reach),
            "adopting_organisations": sum(r.adopters for r in reach),
        },
        fragment="organisations/_table.html",
    )


@dataclass(frozen=True)
class TimelineEntry:
    """The start of an organisation's involvement in a project."""

    occurred_on: date
    recorded_at: datetime
    text: str
    project_id: UUID
    project_title: str
    role: str


def impact_timeline(rows: list[Involvement]) -> list[TimelineEntry]:
    """When each involvement began, oldest first by effective date, then by when recorded.

    Ends are left to the tables: in an as-at view they fall after the date, so a timeline of
    the organisation as it stood would not yet hold them.
    """
    entries = [
        TimelineEntry(
            occurred_on=row.from_on,
            recorded_at=row.from_at,
            text=_BEGAN.get(row.role, row.role),
            project_id=row.project_id,
            project_title=row.project_title,
            role=row.role,
        )
        for row in rows
    ]
    return sorted(entries, key=lambda e: (e.occurred_on, e.recorded_at, e.project_title))


def _known_ends(rows: list[Involvement], as_at: AsAt | None) -> list[Involvement]:
    """On the recorded axis an end recorded later was not known then, so it is not shown."""
    if as_at is None or as_at.axis is Axis.EFFECTIVE:
        return rows
    return [r.model_copy(update={"to_on": None, "to_at": None}) for r in rows]


@router.get("/organisations/{organisation_id}", response_class=HTMLResponse)
def show(
    request: Request,
    organisation_id: UUID,
    user: PageUser,
    svc: AppServices,
    at: Annotated[str, Query(max_length=40)] = "",
    axis: Annotated[str, Query(max_length=20)] = Axis.EFFECTIVE.value,
) -> Response:
    """An organisation's impact timeline, now or as at a date (htmx swaps only the impact)."""
    require_organisation_reader(user, organisation_id)
    svc.tracker.organisation(organisation_id)  # an unknown id is a 404, as in the API
    engine = svc.read_side.engine
    errors = FormErrors()
    as_at = parse_as_at(at, axis, errors)
    impact = organisation_impact(engine, organisation_id, as_at)
    if impact is None:
        msg = "The views have not seen this organisation yet; refresh in a moment."
        raise NotFoundError(msg)
    groups = [
        (key, title, _known_ends(rows, as_at))
        for key, title, rows in (
            ("leads", "Leads", impact.leads),
            ("partners", "Partner in", impact.partners_in),
            ("pilots", "Pilots", impact.pilots),
            ("adopted", "Has adopted", impact.adopted),
        )
    ]
    return render(
        request,
        "organisations/show.html",
        {
            "impact": impact,
            "organisation": impact.organisation,
            "system_name": _system_names(engine).get(impact.organisation.system_id, ""),
            "as_at": as_at,
            "groups": groups,
            "timeline": impact_timeline([row for _, _, rows in groups for row in rows]),
            "values": {"at": at, "axis": axis if axis in {a.value for a in Axis} else ""},
            "errors": errors,
            "axes": AXES,
        },
        fragment="organisations/_impact.html",
    )


@router.get("/projects/{project_id}/spread", response_class=HTMLResponse)
def spread(request: Request, project_id: UUID, user: PageUser, svc: AppServices) -> Response:
    """Which organisations adopted a project, when, and how many so far; the sectors it reached.

    htmx asks again when the live stream says the project changed: that answer waits for the
    views to hold the change, so the adoption just recorded is in it.
    """
    authorise_read(user, project_id, svc.tracker, svc.read_side.engine)
    engine = caught_up(svc, svc.tracker.head()) if is_htmx(request) else svc.read_side.engine
    found = adoption_spread(engine, project_id)
    if found is None:
        msg = "The views have not seen this project yet; refresh in a moment."
        raise NotFoundError(msg)
    return render(
        request,
        "organisations/spread.html",
        {
            "spread": found,
            "spec": spread_chart(found),
            "linkable": _readable_organisations(user),
            "adopting_sectors": sorted({a.sector for a in found.adoptions}),
        },
        fragment="organisations/_spread.html",
    )
