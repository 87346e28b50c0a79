"""ImpactTracker: the service layer. One method per command, one ``save()`` each.

Each command method loads what it needs, lets the aggregate apply its rules, and saves all the
resulting events in one transaction, or raises and records nothing.  Commands may carry the
version the caller saw (``expected_version``: stale means ``StaleVersionError``) and an
idempotency key (a retry records nothing and returns the first result).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate, CanMutateAggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import Environment, EnvType, get_topic

from application import views
from application.errors import (
    ApplicationError,
    ConcurrentWriteError,
    IdempotencyKeyReusedError,
    InvalidRequestError,
    NotFoundError,
    StaleVersionError,
    UnknownReferenceError,
)
from application.named_people import NamedPeople, NotificationReader, holds_sealed_text
from application.persistence.mapper import PydanticMapper
from application.persistence.recorder import (
    CommandKey,
    PersonKeyStore,
    StoredOutcome,
    TrackerRecorder,
)
from application.personal_data import PersonKey, new_key, open_all, open_text, seal
from application.results import (
    CohortView,
    CommandResult,
    ErasureResult,
    FellowView,
    HistoryEntry,
    OrganisationView,
    ProjectParties,
    ProjectView,
    SystemView,
)
from domain import commands as c
from domain.errors import DomainError
from domain.events import DomainEvent
from domain.organisation import Organisation
from domain.programme import Cohort, Fellow, HealthSystem
from domain.project import Project
from domain.project_events import ProjectProposed
from domain.values import Actor, ErasureReason, utc_today

A = TypeVar("A", bound=BaseAggregate[UUID])
MAX_IDEMPOTENCY_KEY = 200
MAX_VERSION = 2**62

_KINDS: dict[type[BaseAggregate[UUID]], str] = {
    Project: "project",
    Organisation: "organisation",
    HealthSystem: "system",
    Cohort: "cohort",
    Fellow: "fellow",
}
_BASE_FIELDS = {
    "originator_id",
    "originator_version",
    "timestamp",
    "actor",
    "occurred_on",
    "originator_topic",
}


class ImpactTracker(Application[UUID]):
    """The event-sourced impact tracker: commands in, events stored, state and history out."""

    name = "ImpactTracker"

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Use only the environment built from ``Settings``: storage is chosen by settings."""
        return Environment(name, dict(env or {}))

    @property
    def _side_tables(self) -> TrackerRecorder:
        return cast(TrackerRecorder, self.recorder)

    def close(self) -> None:
        """Close the store, and the SQLite recorder's own writer connection if it has one."""
        close_writer = getattr(self.recorder, "close_writer", None)
        if close_writer is not None:
            close_writer()
        super().close()

    @property
    def _person_keys(self) -> PersonKeyStore:
        return cast(PersonKeyStore, self.recorder)

    @cached_property
    def named_people(self) -> NamedPeople:
        """Which fellows a free text names, to seal it under their keys (and open it)."""
        return NamedPeople(cast(NotificationReader, self.recorder), self._person_keys)

    def open_text(self, text: str, rewrite: Callable[[str, list[UUID]], str] | None = None) -> str:
        """Free text as readers show it: sealed parts opened, or ``[erased]`` (plain as is).

        ``rewrite`` is given each opened part and the fellows it names (for pseudonyms).
        """
        return open_text(text, self._person_keys.person_key, rewrite)

    def _save_aggregate(
        self, aggregate: BaseAggregate[UUID], **kwargs: Any
    ) -> list[Recording[UUID]]:
        """Save one aggregate's pending events as ``Application.save`` does, minus type probes.

        The library's ``save`` asks ``isinstance`` of runtime-checkable protocols of every
        object it is given, which cost more than the rest of collecting the events; here the
        one object is known to be an aggregate, so it goes straight to ``_record``.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        # Free text naming fellows is stored sealed under their keys (application.named_people).
        processing_event.events.extend(self.named_people.seal_all(aggregate.collect_events()))
        processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # deprecated, but the library still calls it
        return recordings

    # -- programme set-up ----------------------------------------------------------------

    def register_system(
        self, actor: Actor, command: c.RegisterSystem, *, idempotency_key: str | None = None
    ) -> CommandResult:
        """Register an integrated care system."""
        return self._create(
            actor, command, idempotency_key, lambda: HealthSystem.register(command, actor)
        )

    def register_organisation(
        self, actor: Actor, command: c.RegisterOrganisation, *, idempotency_key: str | None = None
    ) -> CommandResult:
        """Register an organisation in a known system."""

        def act() -> Organisation:
            self._require(HealthSystem, command.system_id, "system_id")
            return Organisation.register(command, actor)

        return self._create(actor, command, idempotency_key, act)

    def rename_organisation(
        self,
        actor: Actor,
        organisation_id: UUID,
        command: c.RenameOrganisation,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Record an organisation's new name."""
        return self._change(
            Organisation,
            organisation_id,
            actor,
            command,
            lambda o: o.rename(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def start_cohort(
        self, actor: Actor, command: c.StartCohort, *, idempotency_key: str | None = None
    ) -> CommandResult:
        """Start a cohort in a known system."""

        def act() -> Cohort:
            self._require(HealthSystem, command.system_id, "system_id")
            return Cohort.start(command, actor)

        return self._create(actor, command, idempotency_key, act)

    def enrol_fellow(
        self, actor: Actor, command: c.EnrolFellow, *, idempotency_key: str | None = None
    ) -> CommandResult:
        """Enrol a fellow in a known cohort, employed by a known organisation.

        The fellow gets a key of their own, stored with the enrolment in one transaction; the
        name and email reach the event only sealed with it (``application.personal_data``).
        """
        person = PersonKey(uuid4(), new_key(), datetime.now(UTC))

        def act() -> Fellow:
            self._require(Cohort, command.cohort_id, "cohort_id")
            self._require(Organisation, command.organisation_id, "organisation_id")
            return Fellow.enrol(
                actor,
                fellow_id=person.person_id,
                occurred_on=command.occurred_on,
                cohort_id=command.cohort_id,
                organisation_id=command.organisation_id,
                role_title=command.role_title,
                sealed_name=seal(person.key, person.person_id, "name", command.name),
                sealed_email=(
                    seal(person.key, person.person_id, "email", command.email)
                    if command.email
                    else None
                ),
            )

        return self._create(actor, command, idempotency_key, act, new_person_keys=[person])

    def erase_person(
        self,
        actor: Actor,
        fellow_id: UUID,
        reason: ErasureReason = ErasureReason.REQUESTED_BY_PERSON,
    ) -> ErasureResult:
        """Erase a fellow's personal details: record ``FellowErased`` and delete their key.

        The event (which names no one) and the key's deletion commit in one transaction, then
        the database files are purged of the deleted key. Erasing an erased fellow records
        nothing and is not an error: it answers ``already_erased`` and purges again, so a
        retry after a crash or a busy database finishes the job. Linked user accounts are the
        identity service's part (``application.erasure.erase_person`` does both).
        """
        fellow = self._load(Fellow, fellow_id)
        already = fellow.erased
        destroyed = False
        if not already:
            had_key = self._person_keys.person_key(fellow_id) is not None
            fellow.erase(actor, reason, utc_today())
            try:
                self._save(fellow, None, None, shred_person_keys=[fellow_id])
                destroyed = had_key
            except ConcurrentWriteError:
                fellow = self._load(Fellow, fellow_id)
                if not fellow.erased:
                    raise
                already = True  # another erasure got there first
        purged = self._person_keys.purge_deleted_keys()
        assert fellow.erased_on is not None
        assert fellow.erasure_reason is not None
        return ErasureResult(
            fellow_id=fellow_id,
            version=fellow.version,
            erased_on=fellow.erased_on,
            reason=fellow.erasure_reason,
            already_erased=already,
            key_destroyed=destroyed,
            storage_purged=purged,
        )

    # -- projects ------------------------------------------------------------------------

    def propose_project(
        self, actor: Actor, command: c.ProposeProject, *, idempotency_key: str | None = None
    ) -> CommandResult:
        """Propose a project; every cohort, fellow and organisation it names must exist."""

        def act() -> Project:
            self._require(Cohort, command.cohort_id, "cohort_id")
            self._require_fellow_in(command.cohort_id, command.lead_fellow_id, "lead_fellow_id")
            for fellow_id in command.team_fellow_ids:
                self._require_fellow_in(command.cohort_id, fellow_id, "team_fellow_ids")
            self._require(Organisation, command.lead_organisation_id, "lead_organisation_id")
            for organisation_id in command.partner_organisation_ids:
                self._require(Organisation, organisation_id, "partner_organisation_ids")
            return Project.propose(command, actor)

        return self._create(actor, command, idempotency_key, act)

    def start_pilot(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.StartPilot,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Start a pilot."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.start_pilot(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def define_measure(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.DefineMeasure,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Define a measure; the result's ``entity_id`` is the new measure's id."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.define_measure(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def record_measurement(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.RecordMeasurement,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Record a measurement; the result's ``entity_id`` is the new measurement's id."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.record_measurement(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def correct_measurement(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.CorrectMeasurement,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Correct a measurement."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.correct_measurement(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def retract_measurement(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.RetractMeasurement,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Retract a measurement."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.retract_measurement(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def paste_measurements(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.PasteMeasurements,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Record a pasted column of values in one save: all of them or none."""

        def act(project: Project) -> None:
            project.paste_measurements(command, actor)

        return self._change(
            Project,
            project_id,
            actor,
            command,
            act,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def ghost_measurement(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.GhostMeasurement,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Ghost a measurement on its chart."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.ghost_measurement(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def restore_measurement(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.RestoreMeasurement,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Bring a ghosted measurement back."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.restore_measurement(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def flag_astronomical(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.FlagAstronomical,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Flag a measurement as astronomical on its run chart."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.flag_astronomical(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def unflag_astronomical(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.UnflagAstronomical,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Take the astronomical flag off a measurement."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.unflag_astronomical(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def set_baseline(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.SetBaseline,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Fix a measure's limits on its first values (a baseline)."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.set_baseline(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def clear_baseline(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.ClearBaseline,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Calculate a measure's limits from all its values again."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.clear_baseline(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def mark_recalculation(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.MarkRecalculation,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Recalculate a measure's limits from a period."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.mark_recalculation(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def remove_recalculation(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.RemoveRecalculation,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Remove a recalculation point."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.remove_recalculation(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def record_adoption(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.RecordAdoption,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Record adoption by a known organisation."""

        def act(project: Project) -> None:
            self._require(Organisation, command.organisation_id, "organisation_id")
            project.record_adoption(command, actor)

        return self._change(
            Project,
            project_id,
            actor,
            command,
            act,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def log_milestone(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.LogMilestone,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Log a milestone."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.log_milestone(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def join_organisation(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.JoinOrganisation,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Add a known organisation as a partner."""

        def act(project: Project) -> None:
            self._require(Organisation, command.organisation_id, "organisation_id")
            project.join_organisation(command, actor)

        return self._change(
            Project,
            project_id,
            actor,
            command,
            act,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def leave_organisation(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.LeaveOrganisation,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Record a partner organisation leaving."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.leave_organisation(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def assign_sponsor(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.AssignSponsor,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Assign the sponsor."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.assign_sponsor(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def pause_project(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.PauseProject,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Pause the project."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.pause(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def resume_project(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.ResumeProject,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Resume the project."""
        return self._change(
            Project,
            project_id,
            actor,
            command,
            lambda p: p.resume(command, actor),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    def close_project(
        self,
        actor: Actor,
        project_id: UUID,
        command: c.CloseProject,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Close the project; a merge must name an existing project."""

        def act(project: Project) -> None:
            if command.merged_into is not None and command.merged_into != project_id:
                self._require(Project, command.merged_into, "merged_into")
            project.close(command, actor)

        return self._change(
            Project,
            project_id,
            actor,
            command,
            act,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

    # -- queries -------------------------------------------------------------------------

    def project(
        self, project_id: UUID, *, version: int | None = None, as_at: datetime | None = None
    ) -> ProjectView:
        """A project now, at a version, or as it was recorded at a moment (``as_at``).

        Free text naming fellows is opened (or reads ``[erased]``), as in ``history``.
        """
        view = views.project_view(self._load_at(Project, project_id, version, as_at))
        return open_all(view, self.open_text)

    def project_parties(self, project_id: UUID) -> ProjectParties:
        """Who is on a project now (for access checks): cheap, whatever its size."""
        return views.project_parties(self._load(Project, project_id))

    def system(self, system_id: UUID) -> SystemView:
        """A system now."""
        return views.system_view(self._load(HealthSystem, system_id))

    def organisation(
        self, organisation_id: UUID, *, version: int | None = None, as_at: datetime | None = None
    ) -> OrganisationView:
        """An organisation now, at a version, or as recorded at a moment."""
        return views.organisation_view(self._load_at(Organisation, organisation_id, version, as_at))

    def cohort(self, cohort_id: UUID) -> CohortView:
        """A cohort now."""
        return views.cohort_view(self._load(Cohort, cohort_id))

    def fellow(self, fellow_id: UUID) -> FellowView:
        """A fellow now, with name and email opened (or read as erased once the key is gone)."""
        fellow = self._load(Fellow, fellow_id)
        return views.fellow_view(fellow, self._person_keys.person_key(fellow_id))

    def history(self, project_id: UUID) -> list[HistoryEntry]:
        """Every event of a project in order: who, what, about which date, recorded when."""
        self._load(Project, project_id)
        notification_ids = self._side_tables.notification_ids(project_id)
        entries = []
        for event in self.events.get(project_id):
            e = cast(DomainEvent, event)
            entries.append(
                HistoryEntry(
                    version=e.originator_version,
                    notification_id=notification_ids.get(e.originator_version),
                    event_type=type(e).__name__,
                    actor=e.actor,
                    occurred_on=e.occurred_on,
                    recorded_at=e.timestamp,
                    data=e.model_dump(mode="json", exclude=_BASE_FIELDS),
                )
            )
        return open_all(entries, self.open_text)

    def proposed_projects(self, limit: int = 1000) -> list[tuple[UUID, str]]:
        """Ids and titles of projects in proposal order, read from the log by topic.

        A stopgap for the CLI until the read models list projects; it scans only
        ``ProjectProposed`` notifications.
        """
        topic = get_topic(ProjectProposed)
        found = []
        for notification in self.recorder.select_notifications(
            start=None, limit=limit, topics=[topic]
        ):
            event = cast(ProjectProposed, self.mapper.to_domain_event(notification))
            found.append((event.originator_id, event.title))
        return found

    def head(self) -> int:
        """The notification id of the last event recorded (0 for an empty store)."""
        return self.recorder.max_notification_id() or 0

    # -- the command pipeline ------------------------------------------------------------

    def _create(
        self,
        actor: Actor,
        command: c.Command,
        idempotency_key: str | None,
        act: Callable[[], BaseAggregate[UUID]],
        **save_kwargs: Any,
    ) -> CommandResult:
        key = self._command_key(actor, idempotency_key, command, None)
        prior = self._prior_outcome(key)
        if prior is not None:
            return prior
        return self._save(act(), key, None, **save_kwargs)

    def _change(
        self,
        cls: type[A],
        aggregate_id: UUID,
        actor: Actor,
        command: c.Command,
        act: Callable[[A], UUID | None],
        *,
        expected_version: int | None,
        idempotency_key: str | None,
    ) -> CommandResult:
        """Decide the command on the aggregate, first as this process last knew it.

        Reading the stream's newer events before every command (the library's fast-forward)
        costs a query per command, and in the usual case, one process writing, finds nothing.
        So the command is first decided on this process's cached copy; the store still checks
        it, because saving a version another process already recorded fails on the (stream,
        version) key. Then, as after any refusal (which a stale copy may have caused), the
        command is decided again on the stored state, and that answer stands.
        """
        key = self._command_key(actor, idempotency_key, command, aggregate_id)
        prior = self._prior_outcome(key)
        if prior is not None:
            return prior
        cached = self._cached_copy(cls, aggregate_id)
        if cached is not None:
            try:
                return self._decide(cached, act, key, expected_version)
            except (ApplicationError, DomainError):
                pass  # perhaps only stale: decide again on the stored state
        return self._decide(self._load(cls, aggregate_id), act, key, expected_version)

    def _decide(
        self,
        aggregate: A,
        act: Callable[[A], UUID | None],
        key: CommandKey | None,
        expected_version: int | None,
    ) -> CommandResult:
        if expected_version is not None and aggregate.version != expected_version:
            kind = _KINDS[type(aggregate)]
            msg = (
                f"The {kind} has changed since you loaded it (you saw version "
                f"{expected_version}, it is now at version {aggregate.version}). "
                "Reload it and try again."
            )
            raise StaleVersionError(msg)
        entity_id = act(aggregate)
        if key is not None:
            key = CommandKey(key.key, key.fingerprint, entity_id)
        return self._save(aggregate, key, entity_id)

    def _cached_copy(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """A copy of the aggregate as this process last saved or read it, if it has one."""
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            found = cache.get(aggregate_id)
        except KeyError:
            return None
        return copy.deepcopy(found) if isinstance(found, cls) else None

    def _save(
        self,
        aggregate: BaseAggregate[UUID],
        key: CommandKey | None,
        entity_id: UUID | None,
        **save_kwargs: Any,
    ) -> CommandResult:
        """Record the aggregate's pending events, then let the cache keep the saved aggregate.

        The saved aggregate is exactly the stored state at its new version, so it replaces the
        cached one: the next command's fast-forward then finds nothing to read back and
        decode (a pasted column would otherwise be decoded again, event by event).  Whoever
        loads it next gets their own copy; a later write by another process is still found by
        the fast-forward.  The caller may read the aggregate afterwards but must not change it.
        """
        try:
            recordings = self._save_aggregate(aggregate, command_key=key, **save_kwargs)
        except IntegrityError:
            prior = self._prior_outcome(key)
            if prior is not None:
                return prior
            msg = (
                f"Another change to this {_KINDS[type(aggregate)]} was recorded at the same "
                "time; nothing was recorded. Reload it and try again."
            )
            raise ConcurrentWriteError(msg) from None
        result = CommandResult(
            aggregate_id=aggregate.id,
            version=aggregate.version,
            notification_id=recordings[-1].notification.id,
            entity_id=entity_id,
        )
        cache = self.repository.cache
        if cache is not None and self.repository.fastforward:
            if holds_sealed_text(r.domain_event for r in recordings):
                # The aggregate applied the text unsealed: the cache reads the stored form.
                with contextlib.suppress(KeyError):
                    cache.get(aggregate.id, evict=True)
            else:
                cache.put(aggregate.id, aggregate)
        return result

    def _command_key(
        self,
        actor: Actor,
        idempotency_key: str | None,
        command: c.Command,
        target_id: UUID | None,
    ) -> CommandKey | None:
        if idempotency_key is None:
            return None
        if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            msg = f"An idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} characters."
            raise InvalidRequestError(msg, field="Idempotency-Key")
        # Keys are per user: hash the pair so no user id or key can collide with another's.
        scoped = json.dumps([actor.user_id, idempotency_key])
        # Personal fields stay out of the fingerprint: a hash of a name would outlive the
        # person's key (and could be confirmed by guessing), so erasure would not be complete.
        # So does free text that names a fellow (it is stored sealed, application.named_people).
        personal = set(command.personal_fields) | self.named_people.naming_fields(command)
        payload = json.dumps(
            [
                actor.model_dump(mode="json"),
                type(command).__name__,
                str(target_id),
                command.model_dump(mode="json", exclude=personal),
            ],
            sort_keys=True,
        )
        return CommandKey(
            key=hashlib.sha256(scoped.encode()).hexdigest(),
            fingerprint=hashlib.sha256(payload.encode()).hexdigest(),
            entity_id=None,
        )

    def _prior_outcome(self, key: CommandKey | None) -> CommandResult | None:
        if key is None:
            return None
        stored: StoredOutcome | None = self._side_tables.command_outcome(key.key)
        if stored is None:
            return None
        if stored.fingerprint != key.fingerprint:
            msg = "This idempotency key was already used for a different command."
            raise IdempotencyKeyReusedError(msg, field="Idempotency-Key")
        return CommandResult(
            aggregate_id=stored.originator_id,
            version=stored.originator_version,
            notification_id=stored.notification_id,
            entity_id=stored.entity_id,
            replayed=True,
        )

    # -- loading -------------------------------------------------------------------------

    def _load(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        try:
            aggregate: Any = self.repository.get(
                aggregate_id, version=version, projector_func=_project
            )
        except AggregateNotFoundError:
            aggregate = None
        if not isinstance(aggregate, cls) or (version is not None and aggregate.version < version):
            msg = f"There is no {_KINDS[cls]} with id {aggregate_id}"
            msg += f" at version {version}." if version is not None else "."
            raise NotFoundError(msg)
        return aggregate

    def _load_at(
        self, cls: type[A], aggregate_id: UUID, version: int | None, as_at: datetime | None
    ) -> A:
        if version is not None and not 1 <= version <= MAX_VERSION:
            msg = f"A version is a whole number from 1 to {MAX_VERSION}."
            raise InvalidRequestError(msg, field="version")
        if as_at is not None:
            if as_at.tzinfo is None:
                msg = "as_at needs a time zone, for example 2025-03-01T12:00:00Z."
                raise InvalidRequestError(msg, field="as_at")
            try:
                as_at = as_at.astimezone(UTC)
            except OverflowError:
                msg = "as_at is outside the range of dates the tracker can compare."
                raise InvalidRequestError(msg, field="as_at") from None
            found = self._version_recorded_by(aggregate_id, as_at)
            if found is None:
                msg = f"There was no {_KINDS[cls]} with id {aggregate_id} recorded by {as_at}."
                raise NotFoundError(msg)
            version = found if version is None else min(version, found)
        return self._load(cls, aggregate_id, version)

    def _version_recorded_by(self, aggregate_id: UUID, as_at: datetime) -> int | None:
        """The last version of the aggregate recorded at or before ``as_at``, if any.

        Reads the times from the stream's own events; the latest version at or before the
        moment (not the first later one) in case processes' clocks disagreed slightly.
        """
        mapper = cast(PydanticMapper, self.mapper)
        versions = [
            stored.originator_version
            for stored in self.recorder.select_events(aggregate_id)
            if mapper.recorded_at(stored) <= as_at
        ]
        return max(versions, default=None)

    def _require_fellow_in(self, cohort_id: UUID, fellow_id: UUID, field: str) -> None:
        self._require(Fellow, fellow_id, field)
        if self._load(Fellow, fellow_id).cohort_id != cohort_id:
            msg = f"Fellow {fellow_id} is enrolled in another cohort, not this project's."
            raise UnknownReferenceError(msg, field=field)

    def _require(self, cls: type[A], aggregate_id: UUID, field: str) -> None:
        try:
            self._load(cls, aggregate_id)
        except NotFoundError:
            msg = f"There is no {_KINDS[cls]} with id {aggregate_id}."
            raise UnknownReferenceError(msg, field=field) from None


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply events in order: the library's ``project_aggregate`` without its protocol check.

    Every stored event of the tracker is a ``DomainEvent`` (a ``CanMutateAggregate``), which
    the mapper guarantees; the library's per-event ``isinstance`` against a runtime-checkable
    protocol cost more than applying the event.
    """
    for event in events:
        aggregate = cast(CanMutateAggregate[UUID], event).mutate(aggregate)
    return aggregate
