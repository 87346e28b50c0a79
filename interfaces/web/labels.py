"""Plain-English labels for the codes the pages show (stages, sectors, event types)."""

from __future__ import annotations

STAGE_LABELS = {
    "proposed": "Proposed",
    "piloted": "Piloted",
    "measured": "Measured",
    "adopted": "Adopted",
}
STATUS_LABELS = {"active": "Active", "paused": "Paused", "closed": "Closed"}
SCOPE_LABELS = {
    "business_as_usual": "Business as usual",
    "spread": "Spread to new sites",
    "partial": "Partly adopted",
}
SECTOR_LABELS = {
    "acute": "Acute hospital",
    "community": "Community health",
    "mental_health": "Mental health",
    "primary_care": "Primary care",
    "ambulance": "Ambulance",
    "police": "Police",
    "fire_and_rescue": "Fire and rescue",
    "local_authority": "Local authority",
    "education": "Education",
    "housing": "Housing",
    "voluntary": "Voluntary sector",
    "integrated_care_board": "Integrated care board",
    "other": "Other",
}
EVENT_LABELS = {
    "ProjectProposed": "Proposed",
    "PilotStarted": "Pilot started",
    "MeasureDefined": "Measure defined",
    "MeasurementRecorded": "Measurement recorded",
    "MeasurementsPasted": "Values pasted",
    "MeasurementCorrected": "Measurement corrected",
    "MeasurementRetracted": "Measurement retracted",
    "ProjectAdopted": "Adopted",
    "MilestoneLogged": "Milestone",
    "OrganisationJoined": "Organisation joined",
    "OrganisationLeft": "Organisation left",
    "SponsorAssigned": "Sponsor assigned",
    "ProjectPaused": "Paused",
    "ProjectResumed": "Resumed",
    "ProjectClosed": "Closed",
    "MeasurementGhosted": "Measurement ghosted",
    "MeasurementRestored": "Measurement restored",
    "RecalculationMarked": "Limits recalculated",
    "RecalculationRemoved": "Recalculation removed",
    "MeasurementFlaggedAstronomical": "Flagged astronomical",
    "MeasurementUnflaggedAstronomical": "Astronomical flag removed",
    "BaselineSet": "Baseline set",
    "BaselineCleared": "Baseline cleared",
}
_STAGE_COLOURS = {"proposed": "grey", "piloted": "blue", "measured": "purple", "adopted": "green"}


def stage_tag_colour(stage: object) -> str:
    """The NHS tag modifier for a stage."""
    return _STAGE_COLOURS.get(str(stage), "grey")
