"""Project pages: search, propose, a project's page, and the pages of its commands."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from application.access import AccessDeniedError, can_write_project, is_member, require_can_propose
from application.errors import NotFoundError
from application.identity.service import User
from application.results import ProjectView
from domain import commands as c
from domain.values import AdoptionScope, Frequency, ImprovementDirection, Role, Stage
from interfaces.http.commands import authorise
from interfaces.http.deps import AppServices
from interfaces.web.actions import ACTIONS, FELLOW_ACTIONS, ROW_ACTIONS, Action, lines
from interfaces.web.choices import (
    cohort_options,
    fellow_options,
    organisation_names,
    organisation_options,
    sponsor_options,
)
from interfaces.web.common import caught_up, readable_project, today
from interfaces.web.forms import FormErrors, attempt, parse
from interfaces.web.labels import SCOPE_LABELS, STAGE_LABELS
from interfaces.web.periods import PeriodInput, period_input, period_label
from interfaces.web.routers.charts import card_chart
from interfaces.web.session import PageUser
from interfaces.web.templating import render
from read_models.queries.common import PageParams
from read_models.queries.timeline import ProjectTimeline, list_projects, project_timeline

router = APIRouter(include_in_schema=False)

PROPOSAL_LABELS = {
    "title": "Project title",
    "problem": "The problem it addresses",
    "intended_outcomes": "Intended outcomes",
    "cohort_id": "Cohort",
    "lead_fellow_id": "Lead fellow",
    "team_fellow_ids": "Team",
    "lead_organisation_id": "Lead organisation",
    "partner_organisation_ids": "Partner organisations",
    "sponsor_id": "Sponsor",
    "occurred_on": "Date proposed",
}


def _visible_to(user: User) -> tuple[str, list[UUID]] | None:
    return (user.user_id, user.organisation_ids) if user.role is Role.SPONSOR else None


@router.get("/projects", response_class=HTMLResponse)
def search(
    request: Request,
    user: PageUser,
    svc: AppServices,
    q: Annotated[str, Query(max_length=200)] = "",
    organisation_id: Annotated[str, Query(max_length=40)] = "",
    cohort_id: Annotated[str, Query(max_length=40)] = "",
    stage: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Search projects as you type (htmx), or with the form's button (no JavaScript)."""
    engine = svc.read_side.engine
    filters = {"q": q, "organisation_id": organisation_id, "cohort_id": cohort_id, "stage": stage}
    errors = FormErrors()
    ids: dict[str, UUID | None] = {}
    for name in ("organisation_id", "cohort_id"):
        try:
            ids[name] = UUID(filters[name]) if filters[name] else None
        except ValueError:
            errors.add(name, "Choose from the list")
            ids[name] = None
    chosen_stage = Stage(stage) if stage in STAGE_LABELS else None
    projects = list_projects(
        engine,
        PageParams(page=page, per_page=25),
        search=q or None,
        cohort_id=ids["cohort_id"],
        stage=chosen_stage,
        organisation_id=ids["organisation_id"],
        visible_to=_visible_to(user),
    )
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "projects/index.html",
        {
            "projects": projects,
            "values": filters,
            "errors": errors,
            "query": query,
            "org_names": organisation_names(engine),
            "organisations": _searchable_organisations(engine, user),
            "cohorts": cohort_options(engine),
            "stages": list(STAGE_LABELS.items()),
        },
        fragment="projects/_results.html",
    )


def _searchable_organisations(engine: Engine, user: User) -> list[tuple[str, str]]:
    """Every organisation, but a sponsor's own only (as the organisation pages and API)."""
    options = organisation_options(engine)
    if user.role is Role.SPONSOR:
        mine = {str(o) for o in user.organisation_ids}
        options = [(value, text) for value, text in options if value in mine]
    return options


def _proposal_context(svc: AppServices, user: User, values: dict[str, Any]) -> dict[str, Any]:
    engine = svc.read_side.engine
    fellow = svc.tracker.fellow(user.fellow_id) if user.fellow_id else None
    names = organisation_names(engine)
    team = (
        [
            (v, t)
            for v, t in fellow_options(engine, fellow.cohort_id, names)
            if v != str(user.fellow_id)
        ]
        if fellow
        else []
    )
    return {
        "values": values,
        "fellow": fellow,
        "cohorts": cohort_options(engine),
        "organisations": organisation_options(engine),
        "team_options": team,
        "sponsors": sponsor_options(svc.identity),
        "form_key": uuid4().hex,
    }


def _require_fellow(user: User) -> None:
    if user.role is not Role.FELLOW or user.fellow_id is None:
        msg = "Only fellows can propose projects."
        raise AccessDeniedError(msg)


@router.get("/projects/new", response_class=HTMLResponse)
def proposal_form(request: Request, user: PageUser, svc: AppServices) -> Response:
    """The proposal form, filled in with the fellow's cohort and organisation."""
    _require_fellow(user)
    fellow = svc.tracker.fellow(user.fellow_id) if user.fellow_id else None
    values: dict[str, Any] = {"occurred_on": today()}
    if fellow:
        values |= {
            "cohort_id": str(fellow.cohort_id),
            "lead_organisation_id": str(fellow.organisation_id),
        }
    context = _proposal_context(svc, user, values)
    return render(request, "projects/new.html", {**context, "errors": None, "chosen": set()})


@router.post("/projects")
async def propose(request: Request, user: PageUser, svc: AppServices) -> Response:
    """Propose: all of it is recorded, or nothing and the form says what to change."""
    _require_fellow(user)
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "csrftoken"}
    key = values.pop("idempotency_key", "")[:200] or None
    team = [str(v) for v in form.getlist("team_fellow_ids")]
    partners = [str(v) for v in form.getlist("partner_organisation_ids")]
    data = {
        **values,
        "lead_fellow_id": str(user.fellow_id),
        "intended_outcomes": lines(values.get("intended_outcomes")),
        "team_fellow_ids": team,
        "partner_organisation_ids": partners,
    }
    command = parse(c.ProposeProject, data, PROPOSAL_LABELS, "title")
    result = None
    if isinstance(command, c.ProposeProject):
        proposal = command

        def act() -> None:
            nonlocal result
            require_can_propose(user, proposal)
            result = svc.tracker.propose_project(user.actor, proposal, idempotency_key=key)

        errors = attempt(act, fallback_field="title")
    else:
        errors = command
    if errors or result is None:
        context = _proposal_context(svc, user, values)
        return render(
            request,
            "projects/new.html",
            {**context, "errors": errors, "chosen": {*team, *partners}},
            status_code=422,
        )
    return RedirectResponse(
        f"/projects/{result.aggregate_id}?done=proposed&after={result.notification_id}",
        status_code=303,
    )


def available_actions(user: User, project: ProjectView) -> list[Action]:
    """The command pages this user may open on this project (no others are offered)."""
    if project.status.value == "closed":
        return []
    if user.role is Role.FELLOW and is_member(user, project):
        slugs: tuple[str, ...] = FELLOW_ACTIONS
        if not project.measures:
            slugs = tuple(s for s in slugs if s not in {"measurement", "paste"})
        return [ACTIONS[s] for s in slugs]
    probe = c.LogMilestone(occurred_on=project.proposed_on, title="x", is_sign_off=True)
    if user.role is Role.SPONSOR and can_write_project(user, project, probe):
        return [ACTIONS["sign-off"]]
    return []


DONE = {"proposed": "Project proposed"} | {a.slug: a.done for a in ACTIONS.values()}


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def show(
    request: Request,
    project_id: UUID,
    user: PageUser,
    svc: AppServices,
    done: Annotated[str | None, Query(max_length=40)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> Response:
    """A project now: its stage, measures, adoption and timeline, and what the user can do."""
    return _project_page(request, svc, user, project_id, done=done, after=after)


TIMELINE_PAGE = 500


def _latest_timeline(engine: Engine, project_id: UUID) -> ProjectTimeline | None:
    """The timeline with its newest events: the last page (the audit view has every one)."""
    first = project_timeline(engine, project_id, None, PageParams(page=1, per_page=TIMELINE_PAGE))
    if first is None or first.entries.total <= TIMELINE_PAGE:
        return first
    last = -(-first.entries.total // TIMELINE_PAGE)
    return project_timeline(engine, project_id, None, PageParams(page=last, per_page=TIMELINE_PAGE))


def _project_page(
    request: Request,
    svc: AppServices,
    user: User,
    project_id: UUID,
    *,
    done: str | None,
    after: int | None,
) -> Response:
    project = readable_project(svc, user, project_id)
    offered = available_actions(user, project)
    engine = caught_up(svc, after)
    timeline = _latest_timeline(engine, project_id)
    return render(
        request,
        "projects/show.html",
        {
            "project": project,
            "timeline": timeline,
            "org_names": organisation_names(engine),
            "actions": offered,
            "can_edit": any(a.slug == "measurement" for a in offered),
            "charts": {m.measure_id: card_chart(engine, m.measure_id) for m in project.measures},
            "done": DONE.get(done or ""),
        },
        fragment="projects/_state.html",
    )


@router.get("/projects/{project_id}/state", response_class=HTMLResponse)
def state_fragment(
    request: Request, project_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """The page's changing part alone: what the live stream asks for when someone records."""
    return _project_page(request, svc, user, project_id, done=None, after=svc.tracker.head())


def _action_context(
    svc: AppServices, project: ProjectView, action: Action, values: dict[str, Any]
) -> dict[str, Any]:
    engine = svc.read_side.engine
    names = organisation_names(engine)
    current = [m for m in project.measurements if not m.retracted]
    measures = {m.measure_id: m for m in project.measures}
    if not values.get("measure_id") and len(project.measures) == 1:
        values = {**values, "measure_id": str(project.measures[0].measure_id)}
    period = _period_field(project, action, values)
    if period is not None and action.period_field:  # shown as its input takes it
        values = {**values, action.period_field: period.value}
    return {
        "project": project,
        "action": action,
        "form_key": uuid4().hex,
        "values": {"occurred_on": today(), **values},
        "period": period,
        "measures": [(str(m.measure_id), f"{m.name} ({m.unit})") for m in project.measures],
        "measurements": [
            (
                str(m.measurement_id),
                f"{measures[m.measure_id].name}, "
                f"{period_label(m.period, measures[m.measure_id].frequency)}: {m.value:g}",
            )
            for m in current
        ],
        "organisations": [(str(k), v) for k, v in sorted(names.items(), key=lambda kv: kv[1])],
        "scopes": list(SCOPE_LABELS.items()),
        "directions": [
            (ImprovementDirection.UP.value, "Up is better"),
            (ImprovementDirection.DOWN.value, "Down is better"),
            (ImprovementDirection.NEITHER.value, "Neither"),
        ],
        "frequencies": [(f.value, f.value.capitalize()) for f in Frequency],
        "adoption_scopes": [(s.value, SCOPE_LABELS[s.value]) for s in AdoptionScope],
    }


def _period_field(
    project: ProjectView, action: Action, values: dict[str, Any]
) -> PeriodInput | None:
    """The period input of the measurement forms, as the chosen measure's frequency asks.

    Without a chosen measure (no JavaScript to swap the field when one is picked) it fits
    every measure of the project: one input if they share a frequency, else a text input.
    """
    if action.period_field is None:
        return None
    chosen = [m for m in project.measures if str(m.measure_id) == values.get("measure_id")]
    return period_input(
        [m.frequency for m in chosen or project.measures],
        label=action.labels[action.period_field],
        value=values.get(action.period_field),
        first_line=action.slug == "paste",
    )


def _action(slug: str, user: User, project: ProjectView) -> Action:
    offered = {a.slug: a for a in available_actions(user, project)}
    if "measurement" in offered:
        offered |= {s: ACTIONS[s] for s in ROW_ACTIONS}
    if slug in offered:
        return offered[slug]
    if slug in ACTIONS:
        msg = "You can't make that change to this project."
        raise AccessDeniedError(msg)
    msg = "There is no such page."
    raise NotFoundError(msg)


@router.get("/projects/{project_id}/{slug}", response_class=HTMLResponse)
def action_form(
    request: Request,
    project_id: UUID,
    slug: str,
    user: PageUser,
    svc: AppServices,
    measure_id: Annotated[str, Query(max_length=40)] = "",
    measurement_id: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """One command's form (offered only to users who may send it)."""
    project = readable_project(svc, user, project_id)
    action = _action(slug, user, project)
    values = {"measure_id": measure_id, "measurement_id": measurement_id}
    context = _action_context(svc, project, action, values)
    return render(request, f"projects/actions/{action.slug}.html", {**context, "errors": None})


@router.post("/projects/{project_id}/{slug}")
async def act(
    request: Request, project_id: UUID, slug: str, user: PageUser, svc: AppServices
) -> Response:
    """Send the command; 303 back to the project page, which waits for the views to show it.

    The form's idempotency key makes a double submit record once; changes to one measurement
    also carry the version the form was opened at, and are refused if the project moved on.
    """
    project = readable_project(svc, user, project_id)
    action = _action(slug, user, project)
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "csrftoken"}
    seen = values.pop("version", "")
    key = values.pop("idempotency_key", "")[:200] or None
    expected = int(seen) if action.checks_version and seen.isdigit() else None
    command = parse(action.command, action.prepare(values), action.labels, action.main_field)
    result = None
    if isinstance(command, FormErrors):
        errors: FormErrors | None = command
    else:
        parsed = command

        def send() -> None:
            nonlocal result
            authorise(svc.tracker, user, project_id, parsed)
            result = action.send(svc.tracker, user.actor, project_id, parsed, expected, key)

        errors = attempt(send, fallback_field=action.main_field)
    if errors or result is None:
        context = _action_context(svc, svc.tracker.project(project_id), action, values)
        return render(
            request,
            f"projects/actions/{action.slug}.html",
            {**context, "errors": errors},
            status_code=422,
        )
    return RedirectResponse(
        f"/projects/{project_id}?done={action.slug}&after={result.notification_id}",
        status_code=303,
    )
