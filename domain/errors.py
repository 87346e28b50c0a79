"""Named business-rule refusals.

Exception hierarchy::

    DomainError                        a command refused by a rule; nothing was recorded
    ├── ProjectClosedError             the project is closed: no further changes
    ├── ProjectPausedError             paused projects can't start pilots or record adoptions
    ├── PauseStateError                pause when paused, resume when not paused
    ├── EffectiveDateError             occurred_on more than a day ahead, or before the proposal
    ├── InvalidDateRangeError          an end date on or before its start date
    ├── MeasureNotDefinedError         a measurement for a measure the project hasn't defined
    ├── DuplicateMeasureError          a second measure with the same name
    ├── DuplicateMeasurementError      a second value for the same measure and period
    ├── PeriodStartError               a period given by a day inside it, not its first day
    ├── MeasurementNotFoundError       a correction or retraction of an unknown measurement
    ├── MeasurementRetractedError      a correction or retraction of a retracted measurement
    ├── InvalidMeasurementError        a numerator without a denominator, or the reverse
    ├── AdoptionBeforePilotError       adoption needs a pilot first
    ├── AlreadyAdoptedError            an organisation adopts a project once
    ├── MembershipError                join/leave an organisation that is/isn't a partner
    ├── SponsorUnchangedError          assigning the sponsor the project already has
    ├── ClosureError                   a merged project must name the project it merged into
    ├── ChartSettingError              ghosting twice, restoring what isn't ghosted, a mark twice
    └── PersonErasedError              erasing a fellow whose details are already erased

Each class has a stable ``rule`` code (for API bodies and tests) and a message written for the
fellow who sent the command; ``field`` names the input the rule is about, where there is one.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A command refused by a business rule; nothing was recorded."""

    rule: ClassVar[str] = "domain_rule"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ProjectClosedError(DomainError):
    """The project is closed and takes no further changes."""

    rule = "project_closed"


class ProjectPausedError(DomainError):
    """The project is paused: resume it before starting pilots or recording adoption."""

    rule = "project_paused"


class PauseStateError(DomainError):
    """Pausing a paused project, or resuming one that is not paused."""

    rule = "pause_state"


class EffectiveDateError(DomainError):
    """An effective date more than a day in the future or before the project was proposed."""

    rule = "effective_date"


class InvalidDateRangeError(DomainError):
    """An end date that is not after its start date."""

    rule = "date_range"


class MeasureNotDefinedError(DomainError):
    """A measurement for a measure the project has not defined."""

    rule = "measure_not_defined"


class DuplicateMeasureError(DomainError):
    """A measure whose name the project already uses."""

    rule = "duplicate_measure"


class DuplicateMeasurementError(DomainError):
    """A second value for a measure and period that already has one: correct it instead."""

    rule = "duplicate_measurement"


class PeriodStartError(DomainError):
    """A measurement's period named by a day inside it rather than the period's first day."""

    rule = "period_start"


class MeasurementNotFoundError(DomainError):
    """A correction or retraction that refers to no measurement of this project."""

    rule = "measurement_not_found"


class MeasurementRetractedError(DomainError):
    """A correction or retraction of a measurement that was already retracted."""

    rule = "measurement_retracted"


class InvalidMeasurementError(DomainError):
    """A numerator without a denominator or the reverse (the value's scale is the unit's)."""

    rule = "invalid_measurement"


class AdoptionBeforePilotError(DomainError):
    """Adoption recorded for a project that has not started a pilot."""

    rule = "adoption_before_pilot"


class AlreadyAdoptedError(DomainError):
    """The organisation has already adopted this project."""

    rule = "already_adopted"


class MembershipError(DomainError):
    """Joining an organisation that already partners, or leaving one that doesn't."""

    rule = "membership"


class SponsorUnchangedError(DomainError):
    """Assigning the sponsor the project already has."""

    rule = "sponsor_unchanged"


class ClosureError(DomainError):
    """A closure that is inconsistent, such as a merge into no project."""

    rule = "closure"


class ChartSettingError(DomainError):
    """A chart setting that is already so (or not there to remove)."""

    rule = "chart_setting"


class PersonErasedError(DomainError):
    """The fellow's personal details are already erased."""

    rule = "person_erased"
