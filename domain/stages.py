"""How a project's stage follows from its history: one rule, shared by the aggregate and views."""

from __future__ import annotations

from domain.values import Stage


def derive_stage(*, pilots: int, current_measurements: int, adoptions: int) -> Stage:
    """The furthest stage the counts support.

    Adopted, else measured (piloted with a current measurement), else piloted, else proposed.
    """
    if adoptions:
        return Stage.ADOPTED
    if pilots and current_measurements:
        return Stage.MEASURED
    if pilots:
        return Stage.PILOTED
    return Stage.PROPOSED
